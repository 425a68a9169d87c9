//! Logging setup: human-readable text by default, JSON lines for log collectors.
//!
//! `RUST_LOG` filters as usual (default `info`). Personal data and secrets are kept out of the
//! log by construction: nothing logs request bodies, variables, tokens, apiKeys, phone numbers
//! or WeChat ids, and the request log names a token only by its name.

use anyhow::{bail, Context};
use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

use crate::config::LogFormat;

/// The default filter: the gateway at `info`, chatty dependencies at `warn`.
pub const DEFAULT_FILTER: &str =
    "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,hyper=warn,reqwest=warn";

/// Installs the global subscriber. Calling it again (as tests do) keeps the first one.
///
/// Fails when `RUST_LOG` is set but invalid, like an invalid setting, because the default
/// filter in its place would silently drop the logs that were requested.
pub fn init(format: LogFormat) -> anyhow::Result<()> {
    let filter = filter_from_env()?;
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        // Colour codes only for a terminal: in a log file they are noise.
        LogFormat::Text => registry
            .with(
                fmt::layer()
                    .with_target(true)
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout())),
            )
            .try_init(),
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
    Ok(())
}

/// Builds the filter from `RUST_LOG`, or [`DEFAULT_FILTER`] when the variable is unset.
fn filter_from_env() -> anyhow::Result<EnvFilter> {
    match std::env::var(EnvFilter::DEFAULT_ENV) {
        Ok(directives) => EnvFilter::try_new(&directives).with_context(|| {
            format!("invalid RUST_LOG {directives:?}; correct it, or unset it to use the default filter")
        }),
        Err(std::env::VarError::NotPresent) => Ok(EnvFilter::new(DEFAULT_FILTER)),
        Err(std::env::VarError::NotUnicode(_)) => {
            bail!("invalid RUST_LOG: not valid UTF-8; correct it, or unset it to use the default filter")
        }
    }
}
