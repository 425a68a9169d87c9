//! The harness: the demo data behind a real gateway, the CKB simulator, and headless Chromium
//! driven through ChromeDriver, all on 127.0.0.1.
//!
//! Chromium starts with background networking, sync and component updates off, and with a host
//! resolver rule that resolves no name but 127.0.0.1, so a page that reached for a CDN would
//! fail visibly instead of loading it.

use std::{
    collections::HashMap,
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use fantoccini::{wd::WebDriverCompatibleCommand, Client, ClientBuilder, Locator};
use partner_gateway::{
    app::App,
    auth,
    ckb::simulator::{self, ClockConfig, SimPlan, SimulatorConfig, SimulatorHandle},
    config::Settings,
    demo::{self, DemoOptions, DemoSize, LeadMode},
    domain::Role,
};
use serde_json::{json, Value};

/// A gateway on the demo data, with its CKB simulator.
pub struct Gateway {
    pub app: App,
    pub simulator: SimulatorHandle,
    pub base: String,
    pub admin: String,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn init_logs() {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(partner_gateway::telemetry::DEFAULT_FILTER)
            .with_test_writer()
            .try_init();
    }
}

impl Gateway {
    /// Starts the CKB simulator with the demo's plans and a gateway on a fresh SQLite file with
    /// the demo data. Then it waits until every demo lead is delivered, moves CKB's status
    /// clock three steps and reads the friend statuses back once. The clock then stays stopped
    /// and CKB's numbers are cached for an hour, so the numbers stay still during a test.
    pub async fn start(extra: &[&str]) -> Gateway {
        init_logs();
        let simulator = start_simulator().await;
        let dir = tempfile::tempdir().expect("temporary folder");
        let database_url = format!("sqlite://{}?mode=rwc", dir.path().join("demo.db").display());
        let account = simulator::SimAccount::default();
        let mut args = vec![
            "test",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &database_url,
            "--ckb-account",
            &account.account,
            "--ckb-password",
            &account.password,
            "--ckb-stats-ttl-secs",
            "3600",
            "--friend-sync-secs",
            "0",
            "--outbox-poll-ms",
            "50",
            "--rate-reads-per-minute",
            "100000",
            "--rate-writes-per-minute",
            "100000",
        ];
        args.extend_from_slice(extra);
        let settings = Settings::try_from_args(args).expect("valid test settings");
        let state = App::build_state(settings).await.expect("gateway state");

        let options = DemoOptions {
            endpoint: simulator.base_url(),
            leads: LeadMode::Pending,
        };
        demo::generate(&state.db, DemoSize::default(), 20261204, &options)
            .await
            .expect("demo data");
        let (_, admin) = auth::create_token(&state.db, Role::Admin, "browser-test-admin")
            .await
            .expect("admin token");

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("loopback port");
        let app = App::start_with(listener, state)
            .await
            .expect("gateway starts");
        let gateway = Gateway {
            base: format!("http://{}", app.addr()),
            app,
            simulator,
            admin,
            http: reqwest::Client::new(),
            _dir: dir,
        };
        gateway.settle().await;
        gateway
    }

    async fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let data = self
                .query(
                    "{ ckbLeads(first: 1, filter: { deliveryStatus: PENDING }) { totalCount } }",
                    json!({}),
                )
                .await;
            if data["ckbLeads"]["totalCount"] == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "demo leads still PENDING after 180 s: {data}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        for _ in 0..3 {
            self.simulator.advance();
        }
        self.app
            .state()
            .friend_sync
            .run_once()
            .await
            .expect("friend-status sync");
    }

    /// Posts a GraphQL request with the admin token; it must succeed. Returns `data`.
    pub async fn query(&self, query: &str, variables: Value) -> Value {
        let response = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(&self.admin)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request sent");
        let body: Value = response.json().await.expect("JSON body");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    pub async fn shutdown(self) {
        self.app.shutdown().await;
        self.simulator.shutdown().await;
    }
}

async fn start_simulator() -> SimulatorHandle {
    let plans = demo::DEMO_PLANS
        .iter()
        .map(|(id, name, _, _, remote)| SimPlan {
            id: *remote,
            name: name.to_string(),
            api_key: demo::demo_api_key(*id),
            enabled: true,
            has_messages: true,
            scene_id: 1,
        })
        .collect();
    let config = SimulatorConfig {
        plans,
        clock: ClockConfig {
            tick: None,
            ..ClockConfig::default()
        },
        seed: 1,
        ..SimulatorConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("loopback port");
    simulator::spawn(config, listener)
        .await
        .expect("simulator starts")
}

/// ChromeDriver and one headless Chromium session.
pub struct Browser {
    pub client: Client,
    driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

fn program(variable: &str, default: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| default.to_owned())
}

impl Browser {
    /// Starts ChromeDriver on a free loopback port and opens a headless Chromium session with
    /// a new empty profile. `CHROMEDRIVER` and `CHROMIUM` override the programs' paths.
    pub async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("free loopback port")
            .port();
        let chromedriver = program("CHROMEDRIVER", "/usr/bin/chromedriver");
        let driver = tokio::process::Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| {
                panic!("failed to start {chromedriver}: {error}; install chromium-driver or set CHROMEDRIVER")
            });
        let webdriver = format!("http://127.0.0.1:{port}/");
        wait_for_driver(&webdriver).await;

        let profile = tempfile::tempdir().expect("profile folder");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": program("CHROMIUM", "/usr/bin/chromium"),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-default-apps",
                    "--disable-extensions",
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                    "--window-size=1440,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
            "goog:loggingPrefs": { "browser": "ALL", "performance": "ALL" },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("the capabilities are a JSON object")
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&webdriver)
            .await
            .expect("Chromium session starts");
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Ends the session, which stops Chromium, then stops ChromeDriver.
    pub async fn close(mut self) {
        if let Err(error) = self.client.close().await {
            eprintln!("closing the Chromium session failed: {error}");
        }
        let _ = self.driver.kill().await;
    }

    /// Runs a script in the page and returns its result.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|error| panic!("script failed: {error}\n{script}"))
    }

    /// Polls `script` every 100 ms until it returns true, for at most `seconds`.
    pub async fn wait_until(&self, description: &str, seconds: u64, script: &str) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            if self.eval(script).await == Value::Bool(true) {
                return;
            }
            if Instant::now() >= deadline {
                let page = self
                    .eval("return document.body.innerText.slice(0, 3000);")
                    .await;
                panic!("timed out after {seconds} s waiting for {description}; the page shows:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no element {css}: {error}"))
            .click()
            .await
            .unwrap_or_else(|error| panic!("clicking {css} failed: {error}"));
    }

    /// Lists every URL the page loaded, from the Resource Timing API: the document and each
    /// resource it fetched.
    pub async fn loaded_urls(&self) -> Vec<String> {
        let urls = self
            .eval(
                "return [location.href]
                    .concat(performance.getEntriesByType('navigation').map(e => e.name))
                    .concat(performance.getEntriesByType('resource').map(e => e.name));",
            )
            .await;
        serde_json::from_value(urls).expect("a list of URLs")
    }

    /// Reads and empties one of ChromeDriver's logs (`browser` for the console, `performance`
    /// for the DevTools events).
    pub async fn log(&self, kind: &'static str) -> Vec<Value> {
        let entries = self
            .client
            .issue_cmd(GetLog(kind))
            .await
            .unwrap_or_else(|error| panic!("reading the {kind} log failed: {error}"));
        serde_json::from_value(entries).expect("a list of log entries")
    }

    /// Lists the URL of every request the browser sent, failed ones included, from the
    /// DevTools Network events in the performance log.
    ///
    /// Chromium's own start page (`chrome://new-tab-page…`) loads `chrome://` files from the
    /// browser itself before the test navigates. Those requests never reach a network, so
    /// requests of a `chrome://` document for a `chrome://` URL are left out.
    pub async fn requested_urls(&self) -> Vec<String> {
        let mut urls = Vec::new();
        for entry in self.log("performance").await {
            let Some(message) = entry["message"].as_str() else {
                continue;
            };
            let event: Value = serde_json::from_str(message).expect("a DevTools event");
            let params = &event["message"]["params"];
            let (url, document) = match event["message"]["method"].as_str() {
                Some("Network.requestWillBeSent") => (
                    params["request"]["url"].as_str(),
                    params["documentURL"].as_str(),
                ),
                Some("Network.webSocketCreated") => (params["url"].as_str(), None),
                _ => (None, None),
            };
            let Some(url) = url else {
                continue;
            };
            let internal = url.starts_with("chrome://")
                && document.is_some_and(|document| document.starts_with("chrome://"));
            if !internal {
                urls.push(url.to_owned());
            }
        }
        urls
    }

    /// Saves a PNG of the whole page, beyond the window too, under
    /// target/test-output/browser/, and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let result = self
            .client
            .issue_cmd(Cdp {
                command: "Page.captureScreenshot",
                params: json!({ "format": "png", "captureBeyondViewport": true }),
            })
            .await
            .expect("screenshot taken");
        let png = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            result["data"].as_str().expect("screenshot data"),
        )
        .expect("base64 screenshot");
        let folder = output_folder();
        std::fs::create_dir_all(&folder).expect("screenshot folder");
        let path = folder.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("screenshot written");
        path
    }
}

/// target/test-output/browser/ of this workspace, or of `CARGO_TARGET_DIR`.
fn output_folder() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("test-output").join("browser")
}

async fn wait_for_driver(webdriver: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = client
            .get(format!("{webdriver}status"))
            .send()
            .await
            .ok()
            .filter(|response| response.status().is_success());
        if let Some(response) = ready {
            let status: Value = response.json().await.unwrap_or_default();
            if status["value"]["ready"] == true {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "ChromeDriver did not start within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// ChromeDriver's `POST /session/{id}/se/log`, which returns a log's entries since the last
/// read.
#[derive(Debug)]
struct GetLog(&'static str);

impl WebDriverCompatibleCommand for GetLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": self.0 }).to_string()),
        )
    }
}

/// ChromeDriver's `POST /session/{id}/goog/cdp/execute`, which runs one DevTools command.
#[derive(Debug)]
struct Cdp {
    command: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.command, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Returns the URLs in `urls` that are neither on the gateway nor `data:` URLs.
pub fn foreign_urls(base: &str, urls: &[String]) -> Vec<String> {
    let own = format!("{base}/");
    urls.iter()
        .filter(|url| !(url.starts_with(&own) || url.starts_with("data:")))
        .cloned()
        .collect()
}

/// Returns the console messages about the content security policy, and every other error
/// except the missing favicon.
pub fn console_problems(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|entry| {
            let message = entry["message"].as_str().unwrap_or_default();
            let level = entry["level"].as_str().unwrap_or_default();
            let csp = message.contains("Content Security Policy");
            let error = level == "SEVERE" && !message.contains("favicon.ico");
            (csp || error).then(|| format!("{level}: {message}"))
        })
        .collect()
}

/// Reads every `[data-metric]` number on the page, by key.
pub async fn page_metrics(browser: &Browser) -> HashMap<String, String> {
    let metrics = browser
        .eval(
            "const out = {};
             document.querySelectorAll('[data-metric]').forEach(e => { out[e.dataset.metric] = e.textContent; });
             return out;",
        )
        .await;
    serde_json::from_value(metrics).expect("an object of metrics")
}

/// Polls `check` every 100 ms until it returns true or `seconds` pass; returns the last result.
pub async fn eventually<F, Fut>(seconds: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A gateway started as its own process with `serve` on an empty SQLite database, for a test
/// whose settings must not reach the in-process gateways of the other tests. It is killed when
/// dropped.
pub struct GatewayProcess {
    pub base: String,
    pub admin: String,
    child: std::process::Child,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl GatewayProcess {
    pub async fn start(extra: &[&str]) -> GatewayProcess {
        let program = env!("CARGO_BIN_EXE_partner-gateway");
        let dir = tempfile::tempdir().expect("temporary folder");
        let database_url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("gateway.db").display()
        );
        let output = std::process::Command::new(program)
            .args([
                "token",
                "create",
                "--role",
                "ADMIN",
                "--name",
                "browser-test-admin",
            ])
            .args(["--database-url", &database_url])
            .output()
            .expect("partner-gateway runs");
        assert!(output.status.success(), "token create failed");
        let admin = String::from_utf8(output.stdout).unwrap().trim().to_owned();

        // A free loopback port: bound and released, then handed to the gateway.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("loopback port")
            .port();
        let listen = format!("127.0.0.1:{port}");
        let child = std::process::Command::new(program)
            .args([
                "serve",
                "--listen",
                &listen,
                "--database-url",
                &database_url,
            ])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("gateway process starts");

        let gateway = GatewayProcess {
            base: format!("http://{listen}"),
            admin,
            child,
            http: reqwest::Client::new(),
            _dir: dir,
        };
        let healthz = format!("{}/healthz", gateway.base);
        let ready = eventually(20, || async {
            gateway
                .http
                .get(&healthz)
                .send()
                .await
                .is_ok_and(|response| response.status().is_success())
        })
        .await;
        assert!(ready, "the gateway process did not start");
        gateway
    }

    /// Runs a query as the admin and returns its `data`.
    pub async fn query(&self, query: &str) -> Value {
        let body: Value = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(&self.admin)
            .json(&json!({ "query": query }))
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("JSON body");
        assert!(body.get("errors").is_none(), "{body}");
        body["data"].clone()
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
