//! An in-memory fake of the CKB (存客宝) server, for tests and demos.
//!
//! The simulator responds over real HTTP the way CKB's PHP code (ThinkPHP 5.1)
//! does, so that a client tested against it behaves the same against the
//! real server. It reproduces the following.
//!
//! - The lead endpoint `/v1/api/scenarios` (any method). Query and body are
//!   merged like ThinkPHP's `param()`, and the checks run in CKB's order with
//!   its exact messages, PHP `empty()` and `intval()` rules, the ±300 s
//!   timestamp window and the MD5 signature. Leads are identified by
//!   `wechatId`, else `phone`, and deduplicated per plan and identifier with
//!   no time window. Repeated reports merge `siteTags`, portraits merge
//!   within 30 minutes, and PHP errors such as "Array to string conversion"
//!   give code-500 responses.
//! - The management API: `POST /v1/auth/login`, HS256 JWTs with CKB's two
//!   401 bodies, `GET /v1/auth/info`, `POST /v1/auth/refresh`,
//!   `GET /v1/plan/list` with its per-plan counts and `passRate`, and
//!   `GET /v1/plan/getUserList`.
//! - CKB's wire format: HTTP 200 for every handled request, PHP JSON encoding
//!   (raw UTF-8, `/` escaped as `\/`), CORS headers, ThinkPHP's HTML error
//!   page for uncaught errors and unknown routes.
//! - Lead statuses 0 → 1 → 2 → 4/5, or → 3, moved by a seeded clock.
//!
//! [`CkbVersion`] picks between the current code and the 2025 code, which
//! differs in the `plan/list` formulas (an inverted `passRate`, status 4
//! only), a 500 when `wechatId` comes without a `phone` key, an HTML 500 for
//! an unknown login, and the missing `getUserList`.
//!
//! [`Faults`] injects latency, HTML 500 pages, hung requests, closed
//! connections and a server that is down. `GET /__sim/counts` returns
//! [`SimCounts`] as JSON for scripts that run the simulator as a separate
//! process. CKB itself has no such path.
//!
//! The simulator sends no callbacks and applies no rate limits, because
//! CKB has neither.

mod faults;
mod lead;
mod manage;
mod params;
mod plans;
mod response;
mod store;

use std::{
    collections::HashSet,
    net::SocketAddr,
    path::Path,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{bail, Context};
use axum::{
    extract::State,
    middleware,
    response::Response,
    routing::{any, get, post},
    Json, Router,
};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

pub use faults::Faults;
pub use store::{
    ClockConfig, FaultCounts, IdentifierCounts, OutcomeCounts, SimCounts, SimLead, SimPortrait,
};

use faults::{ConnectionInfo, FaultListener};
use store::{FaultKind, Store};

/// The CKB code base that the simulator imitates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CkbVersion {
    /// The newer code, with status 5, `keyword`, `getUserList` and the
    /// `deviceTotal` login field.
    #[default]
    Current,
    /// The 2025 code (`fnvtk/cunkebao_v3` as of July 2025).
    Legacy,
}

/// A plan (获客计划) that owns one apiKey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimPlan {
    pub id: i64,
    pub name: String,
    pub api_key: String,
    /// Disabled plans (`status = 0`) reject leads with 401 无效的apiKey.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Whether the plan sends greetings. Accepted leads of a plan without
    /// messages reach status 5 in the current code and stay at 2 in the
    /// 2025 code.
    #[serde(default = "default_true")]
    pub has_messages: bool,
    /// The scene the plan belongs to (`sceneId`, 1 by default as in CKB).
    #[serde(default = "default_scene_id")]
    pub scene_id: i64,
}

fn default_true() -> bool {
    true
}

fn default_scene_id() -> i64 {
    1
}

/// The management user that `POST /v1/auth/login` accepts. The user owns
/// every plan of the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimAccount {
    pub id: i64,
    /// Matched against the login `account`, like `phone` below.
    pub account: String,
    pub password: String,
    /// 1 for the operator console, 2 for a store.
    pub type_id: i64,
    pub phone: String,
    pub username: String,
    pub company_id: i64,
    pub is_admin: bool,
    /// Disabled users get 用户不存在或已禁用.
    pub enabled: bool,
    /// The `deviceTotal` that a current-code login returns.
    pub device_total: i64,
}

impl Default for SimAccount {
    fn default() -> Self {
        SimAccount {
            id: 1,
            account: "ckb-demo".to_owned(),
            password: "ckb-demo-password".to_owned(),
            type_id: 1,
            phone: "13900000000".to_owned(),
            username: "演示账号".to_owned(),
            company_id: 1,
            is_admin: true,
            enabled: true,
            device_total: 1,
        }
    }
}

/// Everything the simulator starts with.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatorConfig {
    pub plans: Vec<SimPlan>,
    pub version: CkbVersion,
    pub account: SimAccount,
    /// Lifetime of the JWTs issued at login (CKB's current code uses 30 days).
    pub token_lifetime: Duration,
    pub clock: ClockConfig,
    pub faults: Faults,
    /// Seeds the clock's outcomes and the fault draws, so runs repeat.
    pub seed: u64,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            plans: Vec::new(),
            version: CkbVersion::default(),
            account: SimAccount::default(),
            token_lifetime: Duration::from_secs(30 * 86_400),
            clock: ClockConfig::default(),
            faults: Faults::default(),
            seed: 0,
        }
    }
}

/// Reads plans from a JSON file such as
/// `[{"id":1,"name":"官网表单","apiKey":"abcde-12345-fghij-67890-klmno","enabled":true,"hasMessages":true}]`.
/// `enabled` and `hasMessages` default to true, `sceneId` to 1.
pub fn load_plans(path: &Path) -> anyhow::Result<Vec<SimPlan>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read the CKB plans file {}", path.display()))?;
    let plans: Vec<SimPlan> = serde_json::from_str(&text).with_context(|| {
        format!(
            "invalid CKB plans file {}: expected a JSON array of objects with \
             \"id\", \"name\" and \"apiKey\"",
            path.display()
        )
    })?;

    let mut ids = HashSet::new();
    for plan in &plans {
        if !ids.insert(plan.id) {
            bail!(
                "invalid CKB plans file {}: plan id {} appears twice",
                path.display(),
                plan.id
            );
        }
    }
    Ok(plans)
}

/// State shared by the handlers of one simulator.
pub(crate) struct SimState {
    version: CkbVersion,
    account: SimAccount,
    token_lifetime: Duration,
    store: Mutex<Store>,
    faults: Mutex<Faults>,
    rng: Mutex<StdRng>,
    jwt_secret: Mutex<[u8; 32]>,
    /// A fixed unix time, or `None` to follow the system clock.
    time_override: Mutex<Option<i64>>,
    shutdown: watch::Receiver<bool>,
}

/// Locks a mutex, keeping the data of a handler that panicked while
/// holding it, so one failed request does not stop the simulator.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SimState {
    fn now(&self) -> i64 {
        if let Some(time) = *lock(&self.time_override) {
            return time;
        }
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the system clock is after 1970");
        since_epoch.as_secs() as i64
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    fn faults(&self) -> Faults {
        lock(&self.faults).clone()
    }

    fn record_fault(&self, kind: FaultKind) {
        self.store().record_fault(kind);
    }

    /// Draws a uniform number in [0, 1) from the seeded generator.
    fn roll(&self) -> f64 {
        lock(&self.rng).random::<f64>()
    }

    fn jwt_secret(&self) -> [u8; 32] {
        *lock(&self.jwt_secret)
    }

    /// Sleeps for `duration` and returns true, or returns false early when
    /// the simulator shuts down.
    async fn sleep_unless_shutdown(&self, duration: Duration) -> bool {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            () = tokio::time::sleep(duration) => true,
            _ = shutdown.wait_for(|stopping| *stopping) => false,
        }
    }

    fn advance(&self) {
        let now = self.now();
        self.store().advance(now);
    }
}

/// A running simulator.
///
/// Dropping the handle leaves the server running until its Tokio runtime
/// stops. Call [`SimulatorHandle::shutdown`] to stop it earlier.
pub struct SimulatorHandle {
    addr: SocketAddr,
    state: Arc<SimState>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
    ticker: Option<JoinHandle<()>>,
}

/// Starts a simulator on `listener` and returns once it accepts requests.
///
/// Fails when the listener has no local address or `clock.tick` is zero.
pub async fn spawn(
    config: SimulatorConfig,
    listener: TcpListener,
) -> std::io::Result<SimulatorHandle> {
    let addr = listener.local_addr()?;
    if config.clock.tick == Some(Duration::ZERO) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the simulator's clock tick must be longer than zero; use None to step it by hand",
        ));
    }

    let (shutdown_sender, shutdown_receiver) = watch::channel(false);
    let mut rng = StdRng::seed_from_u64(config.seed);
    let jwt_secret = rng.random::<[u8; 32]>();
    let state = Arc::new(SimState {
        version: config.version,
        account: config.account,
        token_lifetime: config.token_lifetime,
        store: Mutex::new(Store::new(
            config.plans,
            &config.clock,
            config.seed,
            unix_now(),
            config.version,
        )),
        faults: Mutex::new(config.faults),
        rng: Mutex::new(rng),
        jwt_secret: Mutex::new(jwt_secret),
        time_override: Mutex::new(None),
        shutdown: shutdown_receiver.clone(),
    });

    let app = router(state.clone());
    let mut stop_signal = shutdown_receiver.clone();
    let serving = axum::serve(
        FaultListener::new(listener),
        app.into_make_service_with_connect_info::<ConnectionInfo>(),
    )
    .with_graceful_shutdown(async move {
        let _ = stop_signal.wait_for(|stopping| *stopping).await;
    });
    let server = tokio::spawn(async move {
        if let Err(error) = serving.await {
            tracing::error!(%error, "CKB simulator stopped with an error");
        }
    });

    let ticker = config.clock.tick.map(|tick| {
        let state = state.clone();
        let mut stop_signal = shutdown_receiver;
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(tick);
            // The first tick of a Tokio interval completes at once.
            interval.tick().await;
            loop {
                tokio::select! {
                    _ = interval.tick() => state.advance(),
                    _ = stop_signal.wait_for(|stopping| *stopping) => break,
                }
            }
        })
    });

    tracing::info!(%addr, version = ?config.version, "CKB simulator listening");
    Ok(SimulatorHandle {
        addr,
        state,
        shutdown: shutdown_sender,
        server,
        ticker,
    })
}

impl SimulatorHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns the base URL of the simulator, such as `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the injected faults for the requests that follow.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.state.faults) = faults;
    }

    pub fn faults(&self) -> Faults {
        self.state.faults()
    }

    /// Moves every lead one step along the status clock.
    pub fn advance(&self) {
        self.state.advance();
    }

    /// Changes the shares of the status clock for the steps that follow.
    pub fn set_clock_shares(&self, pass_share: f64, fail_share: f64) {
        self.state.store().set_shares(pass_share, fail_share);
    }

    /// Rotates the JWT secret, so every token issued so far gets
    /// 授权已过期或无效.
    pub fn expire_tokens(&self) {
        let secret = lock(&self.state.rng).random::<[u8; 32]>();
        *lock(&self.state.jwt_secret) = secret;
    }

    /// Fixes the simulator's current unix time, or follows the system clock
    /// again with `None`. Timestamps, token expiry and the portrait window
    /// use this time.
    pub fn set_unix_time(&self, time: Option<i64>) {
        *lock(&self.state.time_override) = time;
    }

    /// Returns the simulator's current unix time.
    pub fn unix_time(&self) -> i64 {
        self.state.now()
    }

    /// Enables or disables a plan, as CKB's `plan/updateStatus` does.
    /// Returns false when no plan has this id.
    pub fn set_plan_enabled(&self, plan_id: i64, enabled: bool) -> bool {
        match self.state.store().plan_mut(plan_id) {
            Some(plan) => {
                plan.enabled = enabled;
                true
            }
            None => false,
        }
    }

    pub fn counts(&self) -> SimCounts {
        self.state.store().counts()
    }

    /// Returns the stored leads of one plan, oldest first.
    pub fn plan_leads(&self, plan_id: i64) -> Vec<SimLead> {
        self.state
            .store()
            .leads
            .iter()
            .filter(|lead| lead.plan_id == plan_id)
            .cloned()
            .collect()
    }

    /// Returns every stored portrait row, oldest first.
    pub fn portraits(&self) -> Vec<SimPortrait> {
        self.state.store().portraits.clone()
    }

    /// Stops accepting requests, ends hung requests and waits for the
    /// server to finish.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        if let Some(ticker) = self.ticker {
            let _ = ticker.await;
        }
        if let Err(error) = self.server.await {
            tracing::error!(%error, "CKB simulator task failed");
        }
        tracing::info!(addr = %self.addr, "CKB simulator stopped");
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or(0)
}

/// Builds the routes: CKB's paths behind the fault and CORS layers, and the
/// simulator's own `/__sim/counts`.
fn router(state: Arc<SimState>) -> Router {
    let ckb = Router::new()
        .route("/v1/api/scenarios", any(lead::report_lead))
        .route(
            "/v1/auth/login",
            post(manage::login).fallback(response::route_not_found),
        )
        .route(
            "/v1/auth/info",
            get(manage::auth_info).fallback(response::route_not_found),
        )
        .route(
            "/v1/auth/refresh",
            post(manage::refresh_token).fallback(response::route_not_found),
        )
        .route(
            "/v1/plan/list",
            get(plans::list_plans).fallback(response::route_not_found),
        )
        .route(
            "/v1/plan/getUserList",
            get(plans::list_plan_users).fallback(response::route_not_found),
        )
        .fallback(response::route_not_found)
        .layer(middleware::from_fn(response::cors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults::apply_connection_faults,
        ));

    Router::new()
        .route("/__sim/counts", get(serve_counts))
        .merge(ckb)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_management_requests,
        ))
        .with_state(state)
}

/// Counts requests to the management paths (`/v1/auth/…`, `/v1/plan/…`), so
/// that tests can check how often a client logs in or reads plans, and notes
/// the `x-request-id` of every CKB call, so that tests can trace a call back to
/// the request that caused it.
async fn count_management_requests(
    State(state): State<Arc<SimState>>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let path = request.uri().path();
    if path.starts_with("/v1/") {
        let request_id = request
            .headers()
            .get("x-request-id")
            .and_then(|value| value.to_str().ok());
        let mut store = state.store();
        store.note_request_id(path, request_id);
        if path.starts_with("/v1/auth/") || path.starts_with("/v1/plan/") {
            store.count_management_request(path);
        }
    }
    next.run(request).await
}

async fn serve_counts(State(state): State<Arc<SimState>>) -> Json<SimCounts> {
    Json(state.store().counts())
}
