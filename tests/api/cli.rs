//! The command line, run as a separate process.

use std::{io::Write, process::Command};

use serde_json::{json, Value};

/// CKB's signature vectors: parameters, apiKey, the string to sign and the sign.
fn vectors() -> Vec<(Value, &'static str, &'static str, &'static str)> {
    vec![
        (
            json!({ "apiKey": "YOUR_API_KEY", "timestamp": 1710000000, "phone": "13800000000", "name": "张三", "source": "微信广告" }),
            "YOUR_API_KEY",
            "张三13800000000微信广告1710000000",
            "de9cdd9cae7bdabef299eccc2f4d9e33",
        ),
        (
            json!({ "name": "张三", "phone": "13800000000", "siteTags": "新客,女装", "source": "测试", "timestamp": "1710000000" }),
            "abcde-12345-fghij-67890-klmno",
            "张三13800000000新客,女装测试1710000000",
            "308a38e8947fc36922608a5cdcbed233",
        ),
        (
            json!({
                "apiKey": "k1", "sign": "00000000000000000000000000000000", "timestamp": 1710000000,
                "wechatId": "wxid_abcdefg123", "phone": "13800000001", "name": "李四", "remark": "", "source": null,
                "portrait": { "type": 1, "source": 0, "uniqueId": "site_1" }
            }),
            "k1",
            "李四138000000011710000000wxid_abcdefg123",
            "fb23346cc6f48be9442047c7c4b95c22",
        ),
    ]
}

fn sign_with_cli(params: &Value, api_key: &str) -> Value {
    let mut child = Command::new(env!("CARGO_BIN_EXE_partner-gateway"))
        .args(["ckb", "sign", "--api-key", api_key])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("partner-gateway runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(params.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "ckb sign failed");
    serde_json::from_slice(&output.stdout).expect("ckb sign prints JSON")
}

#[test]
fn ckb_sign_reproduces_every_vector() {
    for (params, api_key, string_to_sign, sign) in vectors() {
        let output = sign_with_cli(&params, api_key);
        assert_eq!(output["stringToSign"], string_to_sign);
        assert_eq!(output["sign"], sign);
    }
}

#[test]
fn ckb_sign_rejects_a_list_value() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_partner-gateway"))
        .args(["ckb", "sign", "--api-key", "k"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"tags": ["a", "b"], "timestamp": 1}"#)
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("tags"));
}

#[test]
fn export_schema_prints_the_committed_schema() {
    let output = Command::new(env!("CARGO_BIN_EXE_partner-gateway"))
        .arg("export-schema")
        .output()
        .unwrap();
    assert!(output.status.success());
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), committed);
}

/// Runs the gateway in `dir` with `args`, with DATABASE_URL unset so that only `args` name the
/// database.
fn run_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_partner-gateway"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .output()
        .expect("partner-gateway runs")
}

#[test]
fn migrate_status_rejects_missing_database() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing/dir/x.db");
    let url = format!("sqlite://{}?mode=rwc", missing.display());
    let output = run_in(dir.path(), &["migrate", "status", "--database-url", &url]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!("no database at {}", missing.display())),
        "stderr: {stderr}"
    );
    assert!(!dir.path().join("missing").exists());
}

#[test]
fn migrate_status_leaves_default_path_alone() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(dir.path(), &["migrate", "status"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "stderr: {stderr}");
    assert!(
        stderr.contains("no database at data/partner-gateway.db"),
        "stderr: {stderr}"
    );
    assert!(!dir.path().join("data").exists());
}

#[test]
fn migrate_apply_creates_database_for_status() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new/x.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());

    let apply = run_in(dir.path(), &["migrate", "apply", "--database-url", &url]);
    assert!(
        apply.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&apply.stderr)
    );
    assert!(path.exists());

    let status = run_in(dir.path(), &["migrate", "status", "--database-url", &url]);
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(stdout.contains("applied"), "stdout: {stdout}");
    assert!(!stdout.contains("pending"), "stdout: {stdout}");
}

#[test]
fn database_commands_reject_unsupported_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let commands: [&[&str]; 5] = [
        &["migrate", "status"],
        &["migrate", "apply"],
        &["token", "list"],
        &["generate", "--matches", "1"],
        &["recount-stats"],
    ];
    for command in commands {
        let args = [command, &["--database-url", "mysql://x"]].concat();
        let output = run_in(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{command:?}: {stderr}");
        assert!(
            stderr.contains("invalid DATABASE_URL: expected sqlite://PATH or postgres://"),
            "{command:?}: {stderr}"
        );
        assert!(!stderr.contains("PostgreSQL"), "{command:?}: {stderr}");
    }
}

#[test]
fn connection_error_prints_each_cause_once() {
    // A port that was free a moment ago, so the connection is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://user:password@127.0.0.1:{port}/db");
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(dir.path(), &["migrate", "status", "--database-url", &url]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "stderr: {stderr}");
    assert!(
        stderr.contains("failed to connect to PostgreSQL"),
        "stderr: {stderr}"
    );
    let causes: Vec<&str> = stderr.trim().split(": ").collect();
    for (i, cause) in causes.iter().enumerate().skip(1) {
        assert_ne!(*cause, causes[i - 1], "stderr: {stderr}");
    }
}

/// Runs the gateway with `args` and the environment variable `name` set to `value`.
fn run_with_env(args: &[&str], name: &str, value: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_partner-gateway"))
        .args(args)
        .current_dir(dir.path())
        .env(name, value)
        .output()
        .expect("partner-gateway runs")
}

#[test]
fn invalid_env_value_names_variable() {
    let cases = [
        ("PGW_MAX_DEPTH", "abc", "--max-depth <MAX_DEPTH>"),
        (
            "PGW_TOKEN_CACHE_MS",
            "-1",
            "--token-cache-ms <TOKEN_CACHE_MS>",
        ),
        ("PGW_GRAPHIQL", "maybe", "--graphiql <GRAPHIQL>"),
        ("PGW_LOG_FORMAT", "xml", "--log-format <LOG_FORMAT>"),
    ];
    for (name, value, flag) in cases {
        let output = run_with_env(&["serve"], name, value);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "invalid value '{value}' for '{flag}' (set by {name})"
            )),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn invalid_env_value_names_subcommand_variable() {
    // `--seed` exists in several subcommands, each with its own variable.
    let output = run_with_env(&["demo"], "PGW_DEMO_SEED", "x");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("(set by PGW_DEMO_SEED)"),
        "stderr: {stderr}"
    );
}

#[test]
fn invalid_flag_value_keeps_clap_message() {
    // The flag wins over the variable, so the message must not blame the variable.
    let output = run_with_env(&["serve", "--max-depth", "abc"], "PGW_MAX_DEPTH", "abc");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("invalid value 'abc' for '--max-depth <MAX_DEPTH>': invalid digit"),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains("PGW_MAX_DEPTH"), "stderr: {stderr}");
}

#[test]
fn settings_reject_zero_backoff() {
    let settings =
        partner_gateway::config::Settings::try_from_args(["serve", "--lead-backoff-ms", "0"])
            .expect("0 parses as a number");
    let error = settings.validate().expect_err("0 ms is not a backoff");
    assert_eq!(
        error.to_string(),
        "invalid PGW_LEAD_BACKOFF_MS: must be greater than 0"
    );
}

#[test]
fn invalid_rust_log_stops_command() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let args = ["migrate", "apply", "--database-url", &url];

    let output = Command::new(env!("CARGO_BIN_EXE_partner-gateway"))
        .args(args)
        .env("RUST_LOG", "[[[")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "stderr: {stderr}");
    assert!(
        stderr.contains("invalid RUST_LOG \"[[[\""),
        "stderr: {stderr}"
    );
    assert!(!path.exists());

    let output = Command::new(env!("CARGO_BIN_EXE_partner-gateway"))
        .args(args)
        .env("RUST_LOG", "warn,partner_gateway=debug")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn ckb_sim_rejects_rate_outside_range() {
    let dir = tempfile::tempdir().unwrap();
    let plans = dir.path().join("plans.json").display().to_string();
    for flag in ["--error-rate", "--timeout-rate", "--drop-rate"] {
        for value in ["5", "-0.1", "NaN", "half"] {
            let output = run_in(dir.path(), &["ckb-sim", "--plans", &plans, flag, value]);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{flag} {value}: {stderr}");
            assert!(
                stderr.contains(&format!("invalid value '{value}' for '{flag}")),
                "{flag} {value}: {stderr}"
            );
            assert!(
                stderr.contains("expected a number from 0 to 1"),
                "{flag} {value}: {stderr}"
            );
        }
    }
}

#[test]
fn ckb_sim_rate_from_env_names_variable() {
    let output = run_with_env(
        &["ckb-sim", "--plans", "plans.json"],
        "CKB_SIM_ERROR_RATE",
        "5",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("(set by CKB_SIM_ERROR_RATE): expected a number from 0 to 1"),
        "stderr: {stderr}"
    );
}

#[test]
fn ckb_sim_rejects_rates_above_one_in_sum() {
    let dir = tempfile::tempdir().unwrap();
    let plans = dir.path().join("plans.json").display().to_string();
    let args = [
        "ckb-sim",
        "--plans",
        &plans,
        "--error-rate",
        "0.6",
        "--timeout-rate",
        "0.5",
    ];
    let output = run_in(dir.path(), &args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "stderr: {stderr}");
    assert!(stderr.contains("invalid fault rates"), "stderr: {stderr}");
    assert!(stderr.contains("add up to 1.1"), "stderr: {stderr}");
}

#[test]
fn second_demo_leaves_running_demo_data() {
    use std::{
        io::{BufRead, BufReader},
        os::unix::fs::MetadataExt,
    };

    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut first = Command::new(env!("CARGO_BIN_EXE_partner-gateway"))
        .arg("demo")
        .current_dir(dir.path())
        .env("PGW_LISTEN", &listen)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The demo prints its tokens once its data is in place.
    let ready = BufReader::new(first.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("ADMIN token"));
    assert!(ready, "the first demo did not start");
    let database = dir.path().join("data/demo.db");
    let inode = std::fs::metadata(&database).unwrap().ino();

    // The same port, then another port on the same database: both fail, and the running
    // demo keeps its database file.
    for listen in [listen.clone(), "127.0.0.1:0".to_owned()] {
        let second = Command::new(env!("CARGO_BIN_EXE_partner-gateway"))
            .arg("demo")
            .current_dir(dir.path())
            .env("PGW_LISTEN", &listen)
            .output()
            .unwrap();
        assert!(!second.status.success());
        let stderr = String::from_utf8_lossy(&second.stderr);
        assert!(
            stderr.contains("PGW_LISTEN") || stderr.contains("another demo is running"),
            "{stderr}"
        );
        assert_eq!(std::fs::metadata(&database).unwrap().ino(), inode);
    }
    first.kill().unwrap();
    first.wait().unwrap();
}

#[test]
fn reading_commands_reject_missing_database() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo.db");
    let url = format!("sqlite://{}?mode=rwc", missing.display());
    for args in [
        vec!["token", "list"],
        vec!["token", "revoke", "--id", "1"],
        vec!["recount-stats"],
    ] {
        let mut args = args.clone();
        args.extend(["--database-url", &url]);
        let output = run_in(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}: {stderr}");
        assert!(stderr.contains("no database at"), "{args:?}: {stderr}");
        assert!(!missing.exists(), "{args:?} created the database");
    }
}

#[test]
fn settings_reject_durations_over_a_day() {
    for (flag, value, name) in [
        (
            "--shutdown-timeout-secs",
            "18446744073709551615",
            "PGW_SHUTDOWN_TIMEOUT_SECS",
        ),
        (
            "--lead-lease-secs",
            "18446744073709552",
            "PGW_LEAD_LEASE_SECS",
        ),
        ("--ckb-timeout-ms", "86400001", "PGW_CKB_TIMEOUT_MS"),
    ] {
        let settings = partner_gateway::config::Settings::try_from_args(["serve", flag, value])
            .expect("the value parses as a number");
        let error = settings.validate().expect_err("more than a day");
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("invalid {name}: {value} ")),
            "{message}"
        );
        assert!(message.contains("more than the maximum"), "{message}");
    }
}

#[test]
fn generate_refuses_a_database_with_data() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("g.db").display());
    let generate = ["generate", "--matches", "100", "--database-url", &url];
    assert!(run_in(dir.path(), &generate).status.success());
    let again = run_in(dir.path(), &generate);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success());
    assert!(
        stderr.contains("generate fills an empty database only"),
        "{stderr}"
    );
}

#[test]
fn backoff_maximum_error_shows_both_values() {
    let settings = partner_gateway::config::Settings::try_from_args([
        "serve",
        "--lead-backoff-ms",
        "500",
        "--lead-backoff-max-ms",
        "100",
    ])
    .unwrap();
    let message = settings.validate().unwrap_err().to_string();
    assert!(
        message.contains("100 ms is less than PGW_LEAD_BACKOFF_MS (500 ms)"),
        "{message}"
    );
}
