//! The test harness: a real gateway on a loopback port with a fresh database.
//!
//! Each test gets its own SQLite file in a temporary folder, or, when `TEST_DATABASE_URL`
//! names a PostgreSQL server, its own freshly created PostgreSQL database, which is dropped
//! when the test ends. Set `TEST_LOG=1` to see the gateway's logs.

use std::sync::{Mutex, Once};

use partner_gateway::{
    app::App,
    auth,
    ckb::simulator::{self, SimPlan, SimulatorConfig, SimulatorHandle},
    config::Settings,
    demo::{self, DemoSize},
    domain::Role,
    state::AppState,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Settings of the tests that count the SQL statements of one request.
///
/// The DataLoader waits 100 ms instead of 1 ms: in a debug build on a two-core machine,
/// gathering the ids of a page of 50 matches took more than 5 ms in some runs, which split
/// them over two statements. The lead delivery worker and the friend-status sync are off, because
/// the statements of their polls would be counted as well, and so is the token cache, so that
/// every request looks its token up.
pub const STATEMENT_COUNT_SETTINGS: [&str; 8] = [
    "--dataloader-delay-ms",
    "100",
    "--outbox-worker",
    "false",
    "--friend-sync-secs",
    "0",
    "--token-cache-ms",
    "0",
];

pub struct TestApp {
    app: Option<App>,
    database_url: String,
    pub base: String,
    pub client: reqwest::Client,
    pub admin: String,
    pub service: String,
    pub integrator: String,
    _database: TestDatabase,
    _dir: tempfile::TempDir,
}

static LOGS: Once = Once::new();

/// Everything every gateway in this test process logged, at debug level and above.
static CAPTURED: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct CaptureWriter;

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURED.lock().unwrap().extend_from_slice(buf);
        if std::env::var("TEST_LOG").is_ok() {
            std::io::stderr().write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs a subscriber that captures the logs of every test in this process, so that a test
/// can search them for personal data and secrets. `TEST_LOG=1` also prints them.
fn init_logs() {
    LOGS.call_once(|| {
        use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};
        let filter = EnvFilter::new(format!(
            "{},partner_gateway=debug",
            partner_gateway::telemetry::DEFAULT_FILTER
        ));
        tracing_subscriber::registry()
            .with(filter)
            .with(fmt::layer().with_ansi(false).with_writer(|| CaptureWriter))
            .init();
    });
}

/// The logs captured so far, from every test of this process.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&CAPTURED.lock().unwrap()).into_owned()
}

/// The database of one test: a fresh PostgreSQL database when `TEST_DATABASE_URL` is set,
/// otherwise a SQLite file in the test's temporary folder.
pub struct TestDatabase {
    pub url: String,
    postgres: Option<PostgresDatabase>,
}

/// A PostgreSQL database created for one test, and the server URL to drop it through.
struct PostgresDatabase {
    server: String,
    name: String,
}

impl TestDatabase {
    pub async fn create(dir: &std::path::Path) -> TestDatabase {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(server) if server.starts_with("postgres") => {
                use sea_orm::{ConnectionTrait, Database};
                let name = format!("pgw_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(&server)
                    .await
                    .expect("TEST_DATABASE_URL must point at a reachable PostgreSQL server");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("the TEST_DATABASE_URL user must be allowed to create databases");
                admin.close().await.ok();
                let (base, _) = server
                    .rsplit_once('/')
                    .expect("TEST_DATABASE_URL ends with /DATABASE");
                TestDatabase {
                    url: format!("{base}/{name}"),
                    postgres: Some(PostgresDatabase { server, name }),
                }
            }
            _ => TestDatabase {
                url: format!("sqlite://{}?mode=rwc", dir.join("test.db").display()),
                postgres: None,
            },
        }
    }
}

/// Drops the test's PostgreSQL database, unless `TEST_KEEP_DATABASES=1` keeps it for inspection.
///
/// Dropping here, instead of in a cleanup step of CI, also runs when a test panics, and keeps a
/// long-lived server that developers test against from filling up. A killed test process skips
/// it: CI deletes its whole throwaway cluster with `.ci/postgres-stop`, and elsewhere the
/// leftover `pgw_test_*` databases need a `DROP DATABASE` by hand.
impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(PostgresDatabase { server, name }) = self.postgres.take() else {
            return;
        };
        if std::env::var("TEST_KEEP_DATABASES").is_ok_and(|keep| keep == "1") {
            eprintln!("kept the test database {name}");
            return;
        }
        // Drop runs inside the test's Tokio runtime, which cannot block on a future, so the
        // statement runs on a thread with a runtime of its own. FORCE (PostgreSQL 13 and later)
        // closes the gateway's pooled connections, which are still open at this point.
        let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        let outcome = std::thread::spawn(move || -> Result<(), String> {
            use sea_orm::{ConnectionTrait, Database};
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(async {
                let admin = Database::connect(&server)
                    .await
                    .map_err(|error| error.to_string())?;
                let dropped = admin.execute_unprepared(&statement).await;
                admin.close().await.ok();
                dropped.map(|_| ()).map_err(|error| error.to_string())
            })
        })
        .join();
        // A panic here would abort a test that is already unwinding, so failures are printed.
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                eprintln!("failed to drop the test database {name}: {error}; drop it by hand")
            }
            Err(_) => {
                eprintln!(
                    "failed to drop the test database {name}: the thread panicked; drop it by hand"
                )
            }
        }
    }
}

async fn start_app(database_url: &str, extra: &[&str]) -> App {
    let mut args = vec![
        "test",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        database_url,
    ];
    args.extend_from_slice(extra);
    let settings = Settings::try_from_args(args).expect("valid test settings");
    let state = App::build_state(settings).await.expect("gateway state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("loopback port");
    App::start_with(listener, state)
        .await
        .expect("gateway starts")
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// Starts a gateway with extra command-line settings, such as `["--max-batch", "5"]`.
    pub async fn spawn_with(extra: &[&str]) -> TestApp {
        init_logs();
        let dir = tempfile::tempdir().expect("temporary folder");
        let database = TestDatabase::create(dir.path()).await;
        let database_url = database.url.clone();
        let app = start_app(&database_url, extra).await;
        let base = format!("http://{}", app.addr());
        let db = &app.state().db;
        let (_, admin) = auth::create_token(db, Role::Admin, "test-admin")
            .await
            .unwrap();
        let (_, service) = auth::create_token(db, Role::Service, "test-service")
            .await
            .unwrap();
        let (_, integrator) = auth::create_token(db, Role::Integrator, "test-integrator")
            .await
            .unwrap();
        TestApp {
            app: Some(app),
            database_url,
            base,
            client: reqwest::Client::new(),
            admin,
            service,
            integrator,
            _database: database,
            _dir: dir,
        }
    }

    /// Stops the gateway and starts it again on the same database, as after a crash or a
    /// deploy; the tokens stay valid.
    pub async fn restart(mut self, extra: &[&str]) -> TestApp {
        if let Some(app) = self.app.take() {
            app.shutdown().await;
        }
        let app = start_app(&self.database_url, extra).await;
        self.base = format!("http://{}", app.addr());
        self.app = Some(app);
        self
    }

    pub fn state(&self) -> &AppState {
        self.app.as_ref().expect("app running").state()
    }

    /// SQL statements run so far by this gateway.
    pub fn statements(&self) -> u64 {
        self.state().statements.get()
    }

    /// Fills the database with generated data.
    pub async fn seed(&self, size: DemoSize) {
        demo::generate(&self.state().db, size, 7, &demo::DemoOptions::default())
            .await
            .expect("demo data");
    }

    /// Posts a GraphQL request and returns the status and the JSON body.
    pub async fn post(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.base))
            .header("content-type", "application/json")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let body = response.json().await.expect("JSON body");
        (status, body)
    }

    /// Posts a GraphQL request that must succeed, and returns its `data`.
    pub async fn query(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(Some(token), query, variables).await;
        assert_eq!(status, StatusCode::OK, "body: {body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Posts a GraphQL request that must fail, and returns its first error's code and message.
    pub async fn query_error(
        &self,
        token: &str,
        query: &str,
        variables: Value,
    ) -> (String, String) {
        let (_, body) = self.post(Some(token), query, variables).await;
        let error = &body["errors"][0];
        assert!(!error.is_null(), "expected an error: {body}");
        (
            error["extensions"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            error["message"].as_str().unwrap_or_default().to_owned(),
        )
    }

    /// Creates a member and returns its id.
    pub async fn create_member(
        &self,
        nickname: &str,
        phone: Option<&str>,
        tags: &[&str],
    ) -> String {
        let data = self
            .query(
                &self.admin,
                "mutation($input: MemberInput!) { createMember(input: $input) { id } }",
                json!({ "input": { "nickname": nickname, "phone": phone, "tags": tags } }),
            )
            .await;
        data["createMember"]["id"].as_str().unwrap().to_owned()
    }

    /// Creates a partner pool and returns its id.
    pub async fn create_pool(&self, input: Value) -> String {
        let data = self
            .query(&self.admin, "mutation($input: CreatePartnerPoolInput!) { createPartnerPool(input: $input) { id } }", json!({ "input": input }))
            .await;
        data["createPartnerPool"]["id"].as_str().unwrap().to_owned()
    }

    /// Adds a CKB plan and returns its id.
    pub async fn create_plan(
        &self,
        name: &str,
        api_key: &str,
        endpoint: &str,
        purpose: &str,
        is_default: bool,
    ) -> String {
        let data = self
            .query(
                &self.admin,
                "mutation($input: CreateCkbPlanInput!) { createCkbPlan(input: $input) { id } }",
                json!({ "input": { "name": name, "apiKey": api_key, "endpoint": endpoint, "purpose": purpose, "isDefault": is_default } }),
            )
            .await;
        data["createCkbPlan"]["id"].as_str().unwrap().to_owned()
    }

    pub async fn shutdown(mut self) {
        if let Some(app) = self.app.take() {
            app.shutdown().await;
        }
    }
}

/// The apiKey of the simulator's plan in [`spawn_ckb`].
pub const CKB_KEY: &str = "abcde-12345-fghij-67890-klmno";
/// CKB's id of that plan.
pub const CKB_PLAN_ID: i64 = 501;

/// Starts a CKB simulator on a loopback port with one plan, [`CKB_KEY`].
pub async fn spawn_ckb() -> SimulatorHandle {
    spawn_ckb_with(SimulatorConfig::default()).await
}

/// Starts a CKB simulator with `config`, adding the [`CKB_KEY`] plan if it has no plans.
pub async fn spawn_ckb_with(mut config: SimulatorConfig) -> SimulatorHandle {
    if config.plans.is_empty() {
        config.plans.push(SimPlan {
            id: CKB_PLAN_ID,
            name: "找伙伴测试".into(),
            api_key: CKB_KEY.into(),
            enabled: true,
            has_messages: true,
            scene_id: 1,
        });
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("loopback port");
    simulator::spawn(config, listener)
        .await
        .expect("simulator starts")
}

/// Settings that make deliveries and retries fast enough for tests.
pub const FAST_DELIVERY: &[&str] = &[
    "--lead-backoff-ms",
    "50",
    "--lead-backoff-max-ms",
    "200",
    "--outbox-poll-ms",
    "50",
    "--lead-max-attempts",
    "3",
    "--ckb-timeout-ms",
    "1000",
    "--lead-lease-secs",
    "2",
    "--lead-wait-ms",
    "3000",
    "--rate-leads-per-minute",
    "100000",
];

/// Polls `check` every 50 ms until it returns true or `seconds` pass.
pub async fn eventually<F, Fut>(seconds: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

/// A gateway running as its own process, for tests that signal or kill it.
pub struct GatewayProcess {
    child: std::process::Child,
    pub base: String,
}

impl GatewayProcess {
    /// Starts `partner-gateway serve` on a free loopback port and waits until it answers.
    pub async fn start(database_url: &str, extra: &[&str]) -> GatewayProcess {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let listen = format!("127.0.0.1:{port}");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_partner-gateway"))
            .arg("serve")
            .args(["--listen", &listen, "--database-url", database_url])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("partner-gateway starts");
        let base = format!("http://{listen}");
        let client = reqwest::Client::new();
        let up = eventually(30, || async {
            client.get(format!("{base}/healthz")).send().await.is_ok()
        })
        .await;
        assert!(
            up,
            "the gateway process did not start answering on {listen}"
        );
        GatewayProcess { child, base }
    }

    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    pub fn sigterm(&self) {
        self.signal("-TERM");
    }

    pub fn sigkill(&self) {
        self.signal("-KILL");
    }

    /// Waits for the process to exit and returns whether it exited successfully.
    pub async fn wait(mut self) -> bool {
        tokio::task::spawn_blocking(move || self.child.wait().map(|s| s.success()).unwrap_or(false))
            .await
            .unwrap()
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates a token with the command line, as an operator would, and returns it.
pub fn cli_token(database_url: &str, role: &str, name: &str) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_partner-gateway"))
        .args([
            "token",
            "create",
            "--role",
            role,
            "--name",
            name,
            "--database-url",
            database_url,
        ])
        .output()
        .expect("partner-gateway runs");
    assert!(
        output.status.success(),
        "token create failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A database for a test that runs gateway processes; keep the first value alive while the
/// processes run, since dropping it deletes the database.
pub async fn process_database() -> ((tempfile::TempDir, TestDatabase), String) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let database = TestDatabase::create(dir.path()).await;
    let url = database.url.clone();
    ((dir, database), url)
}

/// Posts a GraphQL request to a gateway at `base`; `None` when the connection failed.
pub async fn post_to(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Option<(StatusCode, Value)> {
    let response = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .ok()?;
    let status = response.status();
    let body = response.json().await.ok()?;
    Some((status, body))
}
