//! Typed settings, read once at start from flags and environment variables.
//!
//! Every setting is a clap argument with an environment variable, so `--help`, `.env.example`
//! and the README's table describe the same list. Values are checked by [`Settings::validate`]
//! before anything starts, and an invalid one stops the process with a message that names it.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

/// Everything `serve` and `demo` need.
#[derive(Args, Clone, Debug)]
pub struct Settings {
    #[command(flatten)]
    pub http: HttpSettings,
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub limits: LimitSettings,
    #[command(flatten)]
    pub ckb: CkbSettings,
    #[command(flatten)]
    pub telemetry: TelemetrySettings,
}

#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "HTTP")]
pub struct HttpSettings {
    /// Address and port to listen on.
    #[arg(long, env = "PGW_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Serve the GraphiQL playground at /graphiql.
    #[arg(long, env = "PGW_GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set)]
    pub graphiql: bool,

    /// Origins allowed to call /graphql from a browser, comma-separated (for example
    /// `https://admin.example.com`). Empty allows no cross-origin caller.
    #[arg(
        long,
        env = "PGW_CORS_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub cors_origins: Vec<String>,

    /// How long a verified token is trusted before it is looked up again, in milliseconds. A
    /// revoked token keeps working for at most this long on each replica; 0 looks every token up
    /// on every request.
    #[arg(long, env = "PGW_TOKEN_CACHE_MS", default_value_t = 100)]
    pub token_cache_ms: u64,

    /// Time requests in flight, and the CKB calls they started, may take to finish after
    /// SIGTERM or Ctrl-C, in seconds.
    #[arg(long, env = "PGW_SHUTDOWN_TIMEOUT_SECS", default_value_t = 20)]
    pub shutdown_timeout_secs: u64,
}

impl HttpSettings {
    pub fn token_cache(&self) -> Duration {
        Duration::from_millis(self.token_cache_ms)
    }
}

#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Database")]
pub struct DatabaseSettings {
    /// Database URL: `sqlite://PATH?mode=rwc` (created if missing) or
    /// `postgres://USER:PASSWORD@HOST/DB`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/partner-gateway.db?mode=rwc"
    )]
    pub database_url: String,

    /// Do not apply pending migrations at start; the server then refuses to start if any is
    /// pending.
    #[arg(long, env = "PGW_NO_MIGRATE", default_value_t = false)]
    pub no_migrate: bool,

    /// Maximum number of pooled database connections.
    #[arg(long, env = "PGW_DB_MAX_CONNECTIONS", default_value_t = 10)]
    pub db_max_connections: u32,

    /// Time a request's DataLoader gathers the ids that relation fields ask for before it
    /// loads them in one statement, in milliseconds (at most 1000). Each level of relations in
    /// a query waits this long once. Ids asked for after the wait go into another statement,
    /// which happens when resolving a long page takes longer than the wait.
    #[arg(long, env = "PGW_DATALOADER_DELAY_MS", default_value_t = 1)]
    pub dataloader_delay_ms: u64,
}

#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Request limits")]
pub struct LimitSettings {
    /// Largest request body accepted on /graphql, in bytes.
    #[arg(long, env = "PGW_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Largest GraphQL document, in bytes.
    #[arg(long, env = "PGW_MAX_DOCUMENT_BYTES", default_value_t = 16 * 1024)]
    pub max_document_bytes: usize,

    /// Deepest selection nesting a query may have.
    #[arg(long, env = "PGW_MAX_DEPTH", default_value_t = 12)]
    pub max_depth: usize,

    /// Highest query complexity: each field costs 1, and a connection multiplies the cost of
    /// its selection by its `first` argument.
    #[arg(long, env = "PGW_MAX_COMPLEXITY", default_value_t = 2000)]
    pub max_complexity: usize,

    /// Most aliases a document may use.
    #[arg(long, env = "PGW_MAX_ALIASES", default_value_t = 30)]
    pub max_aliases: usize,

    /// Most field selections a document may contain, counting repeats of the same field.
    #[arg(long, env = "PGW_MAX_FIELDS", default_value_t = 300)]
    pub max_fields: usize,

    /// Most directives on one field.
    #[arg(long, env = "PGW_MAX_DIRECTIVES", default_value_t = 4)]
    pub max_directives: usize,

    /// Largest batch (a JSON array of operations) accepted in one request. 0 turns batching
    /// off.
    #[arg(long, env = "PGW_MAX_BATCH", default_value_t = 0)]
    pub max_batch: usize,

    /// Read operations one token may run per minute.
    #[arg(long, env = "PGW_RATE_READS_PER_MINUTE", default_value_t = 600)]
    pub rate_reads_per_minute: u32,

    /// Mutations other than lead submissions one token may run per minute.
    #[arg(long, env = "PGW_RATE_WRITES_PER_MINUTE", default_value_t = 300)]
    pub rate_writes_per_minute: u32,

    /// Lead submissions (submitLead, linkKaruo) one token may make per minute. Each field
    /// counts, so an operation that aliases submitLead five times uses five, and a field that
    /// @skip or @include turns off does not count.
    #[arg(long, env = "PGW_RATE_LEADS_PER_MINUTE", default_value_t = 120)]
    pub rate_leads_per_minute: u32,
}

#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "存客宝 (CKB)")]
pub struct CkbSettings {
    /// Time to open a connection to CKB, in milliseconds.
    #[arg(long, env = "PGW_CKB_CONNECT_TIMEOUT_MS", default_value_t = 3000)]
    pub ckb_connect_timeout_ms: u64,

    /// Time one call to CKB may take in all, in milliseconds.
    #[arg(long, env = "PGW_CKB_TIMEOUT_MS", default_value_t = 10_000)]
    pub ckb_timeout_ms: u64,

    /// Time a lead mutation waits for CKB's answer before it returns the lead as PENDING, in
    /// milliseconds. The delivery worker finishes the delivery in any case.
    #[arg(long, env = "PGW_LEAD_WAIT_MS", default_value_t = 3000)]
    pub lead_wait_ms: u64,

    /// Delivery attempts per lead before it is marked FAILED.
    #[arg(long, env = "PGW_LEAD_MAX_ATTEMPTS", default_value_t = 8)]
    pub lead_max_attempts: u32,

    /// Delay before the second attempt, in milliseconds; each later delay doubles, up to the
    /// maximum, with random jitter of up to half the delay.
    #[arg(long, env = "PGW_LEAD_BACKOFF_MS", default_value_t = 2000)]
    pub lead_backoff_ms: u64,

    /// Longest delay between two attempts, in milliseconds.
    #[arg(long, env = "PGW_LEAD_BACKOFF_MAX_MS", default_value_t = 600_000)]
    pub lead_backoff_max_ms: u64,

    /// How long a worker holds a claimed lead before another worker may take it over, in
    /// seconds. Must exceed the CKB call timeout.
    #[arg(long, env = "PGW_LEAD_LEASE_SECS", default_value_t = 60)]
    pub lead_lease_secs: u64,

    /// How often the delivery worker looks for due leads, in milliseconds.
    #[arg(long, env = "PGW_OUTBOX_POLL_MS", default_value_t = 1000)]
    pub outbox_poll_ms: u64,

    /// Leads the delivery worker sends at the same time.
    #[arg(long, env = "PGW_OUTBOX_CONCURRENCY", default_value_t = 16)]
    pub outbox_concurrency: usize,

    /// A second press of 链接卡若 by the same member within this many seconds returns the
    /// first lead and sends nothing.
    #[arg(long, env = "PGW_LINK_KARUO_WINDOW_SECS", default_value_t = 86_400)]
    pub link_karuo_window_secs: u64,

    /// CKB management account, for reading CKB's plan numbers and friend statuses
    /// (`POST /v1/auth/login`). Without it only the gateway's own numbers are shown.
    #[arg(long, env = "PGW_CKB_ACCOUNT")]
    pub ckb_account: Option<String>,

    /// Password of the CKB management account. It is never logged or returned.
    #[arg(long, env = "PGW_CKB_PASSWORD", hide_env_values = true)]
    pub ckb_password: Option<crate::ckb::manage::Secret>,

    /// CKB account type: 1 for the operator console (操盘手/运营后台), 2 for a store.
    #[arg(long, env = "PGW_CKB_TYPE_ID", default_value_t = 1)]
    pub ckb_type_id: i64,

    /// How long CKB's plan numbers are cached before they are read again, in seconds.
    #[arg(long, env = "PGW_CKB_STATS_TTL_SECS", default_value_t = 60)]
    pub ckb_stats_ttl_secs: u64,

    /// How often friend statuses are read back from CKB, in seconds; 0 turns the sync off.
    #[arg(long, env = "PGW_FRIEND_SYNC_SECS", default_value_t = 60)]
    pub friend_sync_secs: u64,

    /// Pages of 50 leads the friend-status sync reads per plan and round: half of them the
    /// newest pages, the other half the next older pages in turn, so every lead is read again
    /// after a few rounds.
    #[arg(long, env = "PGW_FRIEND_SYNC_MAX_PAGES", default_value_t = 40)]
    pub friend_sync_max_pages: i64,

    /// Run the delivery worker in this process. Turn it off only for replicas that must not
    /// send (tests, maintenance).
    #[arg(long, env = "PGW_OUTBOX_WORKER", default_value_t = true, action = clap::ArgAction::Set)]
    pub outbox_worker: bool,
}

#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Logs")]
pub struct TelemetrySettings {
    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, env = "PGW_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Offset of the admins' time zone from UTC, in hours, used for the TODAY window and
    /// day boundaries (Asia/Shanghai is +8).
    #[arg(
        long,
        env = "PGW_UTC_OFFSET_HOURS",
        default_value_t = 8,
        allow_hyphen_values = true
    )]
    pub utc_offset_hours: i32,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Parses settings the way `serve` does, from arguments and the environment.
#[derive(clap::Parser, Debug)]
#[command(args_override_self = true)]
struct SettingsOnly {
    #[command(flatten)]
    settings: Settings,
}

impl Settings {
    /// Parses settings from command-line arguments (the first is the program name), falling
    /// back to the environment and the defaults like `partner-gateway serve`.
    pub fn try_from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::Parser;
        SettingsOnly::try_parse_from(args).map(|parsed| parsed.settings)
    }

    /// Checks every value that clap's types do not, naming the first invalid setting.
    pub fn validate(&self) -> anyhow::Result<()> {
        validate_database_url(&self.database.database_url)?;
        positive("PGW_MAX_BODY_BYTES", self.limits.max_body_bytes as u64)?;
        positive(
            "PGW_MAX_DOCUMENT_BYTES",
            self.limits.max_document_bytes as u64,
        )?;
        positive("PGW_MAX_DEPTH", self.limits.max_depth as u64)?;
        positive("PGW_MAX_COMPLEXITY", self.limits.max_complexity as u64)?;
        positive("PGW_MAX_FIELDS", self.limits.max_fields as u64)?;
        positive(
            "PGW_DB_MAX_CONNECTIONS",
            self.database.db_max_connections.into(),
        )?;
        if self.database.dataloader_delay_ms > 1000 {
            bail!(
                "invalid PGW_DATALOADER_DELAY_MS: {} ms is more than the maximum of 1000 ms",
                self.database.dataloader_delay_ms
            );
        }
        positive(
            "PGW_RATE_READS_PER_MINUTE",
            self.limits.rate_reads_per_minute.into(),
        )?;
        positive(
            "PGW_RATE_WRITES_PER_MINUTE",
            self.limits.rate_writes_per_minute.into(),
        )?;
        positive(
            "PGW_RATE_LEADS_PER_MINUTE",
            self.limits.rate_leads_per_minute.into(),
        )?;
        positive("PGW_CKB_TIMEOUT_MS", self.ckb.ckb_timeout_ms)?;
        positive(
            "PGW_CKB_CONNECT_TIMEOUT_MS",
            self.ckb.ckb_connect_timeout_ms,
        )?;
        positive("PGW_LEAD_MAX_ATTEMPTS", self.ckb.lead_max_attempts.into())?;
        positive("PGW_LEAD_BACKOFF_MS", self.ckb.lead_backoff_ms)?;
        positive("PGW_OUTBOX_POLL_MS", self.ckb.outbox_poll_ms)?;
        positive("PGW_OUTBOX_CONCURRENCY", self.ckb.outbox_concurrency as u64)?;
        // A day bounds every duration: more is a typo, and adding a larger one to a clock
        // instant can overflow.
        const DAY_SECS: u64 = 86_400;
        const DAY_MS: u64 = DAY_SECS * 1000;
        for (name, value, max, unit) in [
            ("PGW_TOKEN_CACHE_MS", self.http.token_cache_ms, DAY_MS, "ms"),
            (
                "PGW_SHUTDOWN_TIMEOUT_SECS",
                self.http.shutdown_timeout_secs,
                DAY_SECS,
                "s",
            ),
            (
                "PGW_CKB_CONNECT_TIMEOUT_MS",
                self.ckb.ckb_connect_timeout_ms,
                DAY_MS,
                "ms",
            ),
            ("PGW_CKB_TIMEOUT_MS", self.ckb.ckb_timeout_ms, DAY_MS, "ms"),
            ("PGW_LEAD_WAIT_MS", self.ckb.lead_wait_ms, DAY_MS, "ms"),
            (
                "PGW_LEAD_BACKOFF_MS",
                self.ckb.lead_backoff_ms,
                DAY_MS,
                "ms",
            ),
            (
                "PGW_LEAD_BACKOFF_MAX_MS",
                self.ckb.lead_backoff_max_ms,
                DAY_MS,
                "ms",
            ),
            (
                "PGW_LEAD_LEASE_SECS",
                self.ckb.lead_lease_secs,
                DAY_SECS,
                "s",
            ),
            ("PGW_OUTBOX_POLL_MS", self.ckb.outbox_poll_ms, DAY_MS, "ms"),
            (
                "PGW_LINK_KARUO_WINDOW_SECS",
                self.ckb.link_karuo_window_secs,
                365 * DAY_SECS,
                "s",
            ),
            (
                "PGW_CKB_STATS_TTL_SECS",
                self.ckb.ckb_stats_ttl_secs,
                DAY_SECS,
                "s",
            ),
            (
                "PGW_FRIEND_SYNC_SECS",
                self.ckb.friend_sync_secs,
                DAY_SECS,
                "s",
            ),
        ] {
            if value > max {
                bail!("invalid {name}: {value} {unit} is more than the maximum of {max} {unit}");
            }
        }
        if self.ckb.lead_lease_secs * 1000 <= self.ckb.ckb_timeout_ms {
            bail!(
                "invalid PGW_LEAD_LEASE_SECS: {} s must exceed the CKB call timeout PGW_CKB_TIMEOUT_MS ({} ms), or a slow call could be sent twice",
                self.ckb.lead_lease_secs,
                self.ckb.ckb_timeout_ms
            );
        }
        if self.ckb.ckb_account.is_some() != self.ckb.ckb_password.is_some() {
            bail!("invalid CKB login: set both PGW_CKB_ACCOUNT and PGW_CKB_PASSWORD, or neither");
        }
        positive("PGW_CKB_STATS_TTL_SECS", self.ckb.ckb_stats_ttl_secs)?;
        if !(1..=2).contains(&self.ckb.ckb_type_id) {
            bail!(
                "invalid PGW_CKB_TYPE_ID: {} is not a CKB account type; use 1 (operator console) or 2 (store)",
                self.ckb.ckb_type_id
            );
        }
        if self.limits.max_document_bytes > self.limits.max_body_bytes {
            bail!(
                "invalid PGW_MAX_DOCUMENT_BYTES: {} is larger than PGW_MAX_BODY_BYTES ({}), so it could never apply",
                self.limits.max_document_bytes,
                self.limits.max_body_bytes
            );
        }
        positive(
            "PGW_FRIEND_SYNC_MAX_PAGES",
            self.ckb.friend_sync_max_pages.max(0) as u64,
        )?;
        if self.ckb.lead_backoff_max_ms < self.ckb.lead_backoff_ms {
            bail!(
                "invalid PGW_LEAD_BACKOFF_MAX_MS: {} ms is less than PGW_LEAD_BACKOFF_MS ({} ms); raise it or lower the first backoff",
                self.ckb.lead_backoff_max_ms,
                self.ckb.lead_backoff_ms
            );
        }
        if !(-12..=14).contains(&self.telemetry.utc_offset_hours) {
            bail!(
                "invalid PGW_UTC_OFFSET_HOURS: {} is outside -12..=14",
                self.telemetry.utc_offset_hours
            );
        }
        for origin in &self.http.cors_origins {
            if !(origin.is_empty()
                || origin.starts_with("http://")
                || origin.starts_with("https://"))
            {
                bail!("invalid PGW_CORS_ORIGINS: {origin:?} must start with http:// or https://");
            }
        }
        Ok(())
    }

    /// Creates the folder of a SQLite database file, so that the first run works in a fresh
    /// checkout.
    pub fn prepare_database_path(&self) -> anyhow::Result<()> {
        if let Some(path) = sqlite_path(&self.database.database_url) {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).with_context(|| {
                    format!("failed to create the database folder {}", parent.display())
                })?;
            }
        }
        Ok(())
    }

    /// The CKB management login, when configured.
    pub fn ckb_credentials(&self) -> Option<crate::ckb::manage::Credentials> {
        Some(crate::ckb::manage::Credentials {
            account: self.ckb.ckb_account.clone()?,
            password: self.ckb.ckb_password.clone()?,
            type_id: self.ckb.ckb_type_id,
        })
    }

    pub fn lead_wait(&self) -> Duration {
        Duration::from_millis(self.ckb.lead_wait_ms)
    }

    pub fn dataloader_delay(&self) -> Duration {
        Duration::from_millis(self.database.dataloader_delay_ms)
    }
}

/// Checks that `url` names a database this gateway has a driver for. Every command that opens
/// the database calls it first, so an unsupported scheme gets the same message everywhere.
pub fn validate_database_url(url: &str) -> anyhow::Result<()> {
    if !(url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://"))
    {
        bail!("invalid DATABASE_URL: expected sqlite://PATH or postgres://…, got a URL with another scheme");
    }
    Ok(())
}

fn positive(name: &str, value: u64) -> anyhow::Result<()> {
    if value == 0 {
        bail!("invalid {name}: must be greater than 0");
    }
    Ok(())
}

/// The file path of a `sqlite:` URL, or `None` for an in-memory or non-SQLite database.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(path))
}
