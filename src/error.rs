//! The gateway's error type and its mapping to GraphQL errors.
//!
//! Inner layers return [`GatewayError`]; the GraphQL layer converts it once into an
//! `async_graphql::Error` with a stable `extensions.code`. Internal causes (database and HTTP
//! client errors) are logged here, inside the request's span so the log line carries the
//! request id, and the client receives only a fixed message.
//!
//! `GatewayError` deliberately does not implement `Display`: async-graphql converts any
//! `Display` type into a client-visible message, and leaving it out makes that path a compile
//! error instead of a leak.

use std::{fmt, sync::Arc};

use async_graphql::ErrorExtensions;
use sea_orm::DbErr;

/// `Result` with [`GatewayError`] as the error.
pub type Result<T, E = GatewayError> = std::result::Result<T, E>;

/// Every failure a caller can see, each with its `extensions.code`.
#[derive(Clone)]
pub enum GatewayError {
    /// `BAD_USER_INPUT`: an argument is invalid. `field` names the argument or input field.
    BadInput {
        field: Option<String>,
        message: String,
    },
    /// `UNAUTHENTICATED`: no token, an unknown token or a revoked one.
    Unauthenticated(String),
    /// `FORBIDDEN`: the token's role may not do this.
    Forbidden(String),
    /// `NOT_FOUND`: no entity of that type with that id (or none the caller may see).
    NotFound { entity: &'static str, id: String },
    /// `CONFLICT`: the request is valid but the current state refuses it, such as confirming a
    /// cancelled booking.
    Conflict(String),
    /// `RATE_LIMITED`: the token used up its budget for this kind of operation.
    RateLimited { retry_after_secs: u64 },
    /// `UPSTREAM_UNAVAILABLE`: CKB could not be reached or answered with an error. The message
    /// is safe to show; details are logged.
    Upstream(String),
    /// `INTERNAL`: anything else. The cause is logged and never sent.
    Internal(Arc<anyhow::Error>),
}

/// Quotes a client's value for an error message, cut to 40 characters, so that a huge input
/// is not sent back in full.
pub fn quote_input(value: &str) -> String {
    const SHOWN: usize = 40;
    let count = value.chars().count();
    if count <= SHOWN {
        return format!("{value:?}");
    }
    let start: String = value.chars().take(SHOWN).collect();
    format!("{start:?}… ({count} characters)")
}

impl GatewayError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        GatewayError::BadInput {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    pub fn not_found(entity: &'static str, id: impl fmt::Display) -> Self {
        GatewayError::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        GatewayError::Conflict(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        GatewayError::Forbidden(message.into())
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        GatewayError::Internal(Arc::new(error.into()))
    }

    /// The stable machine-readable code sent as `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            GatewayError::BadInput { .. } => "BAD_USER_INPUT",
            GatewayError::Unauthenticated(_) => "UNAUTHENTICATED",
            GatewayError::Forbidden(_) => "FORBIDDEN",
            GatewayError::NotFound { .. } => "NOT_FOUND",
            GatewayError::Conflict(_) => "CONFLICT",
            GatewayError::RateLimited { .. } => "RATE_LIMITED",
            GatewayError::Upstream(_) => "UPSTREAM_UNAVAILABLE",
            GatewayError::Internal(_) => "INTERNAL",
        }
    }

    /// The message a client may see.
    pub fn client_message(&self) -> String {
        match self {
            GatewayError::BadInput { message, .. } => message.clone(),
            GatewayError::Unauthenticated(message) => message.clone(),
            GatewayError::Forbidden(message) => message.clone(),
            GatewayError::NotFound { entity, id } => format!("{entity} {id} not found"),
            GatewayError::Conflict(message) => message.clone(),
            GatewayError::RateLimited { retry_after_secs } => {
                format!("rate limit exceeded for this token; retry after {retry_after_secs} s")
            }
            GatewayError::Upstream(message) => message.clone(),
            GatewayError::Internal(_) => INTERNAL_MESSAGE.to_owned(),
        }
    }
}

/// The fixed text of every `INTERNAL` error. The HTTP layer adds the request id to
/// `extensions.requestId` so that an operator can find the cause in the log.
pub const INTERNAL_MESSAGE: &str =
    "internal error; the cause was logged, quote extensions.requestId when reporting it";

impl fmt::Debug for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GatewayError::Internal(error) => write!(f, "INTERNAL: {error:?}"),
            other => write!(f, "{}: {}", other.code(), other.client_message()),
        }
    }
}

impl From<GatewayError> for async_graphql::Error {
    fn from(error: GatewayError) -> Self {
        if let GatewayError::Internal(cause) = &error {
            tracing::error!(error.message = %cause, error.cause_chain = ?cause, "internal error");
        }
        let mut converted = async_graphql::Error::new(error.client_message());
        converted = converted.extend_with(|_, extensions| {
            extensions.set("code", error.code());
            match &error {
                GatewayError::BadInput {
                    field: Some(field), ..
                } => extensions.set("field", field.as_str()),
                GatewayError::RateLimited { retry_after_secs } => {
                    extensions.set("retryAfter", *retry_after_secs)
                }
                _ => {}
            }
        });
        converted
    }
}

impl From<DbErr> for GatewayError {
    fn from(error: DbErr) -> Self {
        GatewayError::internal(anyhow::Error::new(error).context("database query failed"))
    }
}

impl From<anyhow::Error> for GatewayError {
    fn from(error: anyhow::Error) -> Self {
        GatewayError::Internal(Arc::new(error))
    }
}

impl From<sea_orm::TransactionError<GatewayError>> for GatewayError {
    fn from(error: sea_orm::TransactionError<GatewayError>) -> Self {
        match error {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(inner) => inner,
        }
    }
}

/// Converts an async-graphql error raised by the library itself (argument parsing, guards)
/// into a [`GatewayError`] with the code that fits.
pub fn bad_input_from(error: async_graphql::Error) -> GatewayError {
    GatewayError::BadInput {
        field: None,
        message: error.message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_input_is_cut_to_forty_characters() {
        assert_eq!(quote_input("abc"), "\"abc\"");
        let long = "9".repeat(5000);
        let quoted = quote_input(&long);
        assert_eq!(quoted, format!("\"{}\"… (5000 characters)", "9".repeat(40)));
    }

    #[test]
    fn internal_error_hides_cause() {
        let error = GatewayError::from(DbErr::Custom("secret table detail".into()));
        let converted = async_graphql::Error::from(error);
        assert!(!converted.message.contains("secret"));
        assert_eq!(converted.message, INTERNAL_MESSAGE);
    }

    #[test]
    fn every_variant_has_its_code() {
        let cases = [
            (
                GatewayError::bad_input("first", "too big"),
                "BAD_USER_INPUT",
            ),
            (GatewayError::Unauthenticated("x".into()), "UNAUTHENTICATED"),
            (GatewayError::forbidden("x"), "FORBIDDEN"),
            (GatewayError::not_found("Member", 1), "NOT_FOUND"),
            (GatewayError::conflict("x"), "CONFLICT"),
            (
                GatewayError::RateLimited {
                    retry_after_secs: 3,
                },
                "RATE_LIMITED",
            ),
            (GatewayError::Upstream("x".into()), "UPSTREAM_UNAVAILABLE"),
            (GatewayError::internal(anyhow::anyhow!("x")), "INTERNAL"),
        ];
        for (error, code) in cases {
            let converted = async_graphql::Error::from(error);
            let extensions = converted.extensions.expect("extensions set");
            assert_eq!(
                extensions.get("code"),
                Some(&async_graphql::Value::from(code))
            );
        }
    }
}
