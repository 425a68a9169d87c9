//! Logging setup: human-readable text by default, JSON lines for log collectors.
//!
//! `RUST_LOG` filters as usual (default `info`). Personal data and secrets are kept out of the
//! log by construction: nothing logs request bodies, variables, tokens, apiKeys, phone numbers
//! or WeChat ids, and the request log names a token only by its name.

use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

use crate::config::LogFormat;

/// The default filter: the gateway at `info`, chatty dependencies at `warn`.
pub const DEFAULT_FILTER: &str =
    "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,hyper=warn,reqwest=warn";

/// Installs the global subscriber. Calling it again (as tests do) keeps the first one.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Text => registry.with(fmt::layer().with_target(true)).try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
    };
    // An error means a subscriber is already installed, which is fine.
    let _ = result;
}
