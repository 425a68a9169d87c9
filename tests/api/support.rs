//! The test harness: a real gateway on a loopback port with a fresh database.
//!
//! Each test gets its own SQLite file in a temporary folder, or, when `TEST_DATABASE_URL`
//! names a PostgreSQL server, its own freshly created PostgreSQL database, which is dropped
//! when the test ends. Set `TEST_LOG=1` to see the gateway's logs.

use std::sync::Once;

use partner_gateway::{
    app::App,
    auth,
    config::{LogFormat, Settings},
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
/// them over two statements. The lead delivery worker (`PGW_OUTBOX_WORKER`) is off, because
/// the statements of its polls would be counted as well.
pub const STATEMENT_COUNT_SETTINGS: [&str; 4] =
    ["--dataloader-delay-ms", "100", "--outbox-worker", "false"];

pub struct TestApp {
    app: Option<App>,
    pub base: String,
    pub client: reqwest::Client,
    pub admin: String,
    pub service: String,
    pub integrator: String,
    _database: TestDatabase,
    _dir: tempfile::TempDir,
}

static LOGS: Once = Once::new();

fn init_logs() {
    LOGS.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            partner_gateway::telemetry::init(LogFormat::Text);
        }
    });
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

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// Starts a gateway with extra command-line settings, such as `["--max-batch", "5"]`.
    pub async fn spawn_with(extra: &[&str]) -> TestApp {
        init_logs();
        let dir = tempfile::tempdir().expect("temporary folder");
        let database = TestDatabase::create(dir.path()).await;
        let mut args = vec![
            "test",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &database.url,
        ];
        args.extend_from_slice(extra);
        let settings = Settings::try_from_args(args).expect("valid test settings");
        let state = App::build_state(settings).await.expect("gateway state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("loopback port");
        let app = App::start_with(listener, state)
            .await
            .expect("gateway starts");
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
            base,
            client: reqwest::Client::new(),
            admin,
            service,
            integrator,
            _database: database,
            _dir: dir,
        }
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
        demo::generate(&self.state().db, size, 7)
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

    pub async fn shutdown(mut self) {
        if let Some(app) = self.app.take() {
            app.shutdown().await;
        }
    }
}
