//! The test harness: a real gateway on a loopback port with a fresh database.
//!
//! Each test gets its own SQLite file in a temporary folder, or, when `TEST_DATABASE_URL`
//! names a PostgreSQL server, its own freshly created PostgreSQL database. Set `TEST_LOG=1` to
//! see the gateway's logs.

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

pub struct TestApp {
    app: Option<App>,
    pub base: String,
    pub client: reqwest::Client,
    pub admin: String,
    pub service: String,
    pub integrator: String,
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

/// A database URL for one test: a fresh PostgreSQL database when `TEST_DATABASE_URL` is set,
/// otherwise a SQLite file in `dir`.
pub async fn test_database_url(dir: &std::path::Path) -> String {
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
            format!("{base}/{name}")
        }
        _ => format!("sqlite://{}?mode=rwc", dir.join("test.db").display()),
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
        let database_url = test_database_url(dir.path()).await;
        let mut args = vec![
            "test",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &database_url,
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
