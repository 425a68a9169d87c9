//! The client of CKB's management API: login, `plan/list` and `plan/getUserList`.
//!
//! These endpoints need a JWT from `POST /v1/auth/login`. The token is cached per CKB server
//! until shortly before it expires, and a 401 answer (CKB sends it as code 401 in an HTTP 200
//! body) makes the client log in again once and repeat the call.

use std::{collections::HashMap, fmt, time::Duration};

use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::Mutex;

use crate::metrics::Metrics;

/// A secret string whose `Debug` output is redacted, so that it cannot reach a log through a
/// settings dump or an error.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Secret(value.to_owned()))
    }
}

/// The management login of CKB: `account`, `password` and `typeId` (1 for the operator
/// console).
#[derive(Clone, Debug)]
pub struct Credentials {
    pub account: String,
    pub password: Secret,
    pub type_id: i64,
}

/// Why a management call failed; the message is safe to show to admins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManageError {
    /// No credentials are configured, so remote numbers cannot be read.
    NotConfigured,
    /// CKB has no such endpoint (its 2025 code has no `plan/getUserList`).
    NotSupported(String),
    /// CKB answered with an error code, or the call failed.
    Failed(String),
}

impl fmt::Display for ManageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManageError::NotConfigured => f.write_str(
                "CKB management credentials are not configured; set PGW_CKB_ACCOUNT and PGW_CKB_PASSWORD to read CKB's numbers",
            ),
            ManageError::NotSupported(message) | ManageError::Failed(message) => f.write_str(message),
        }
    }
}

/// One plan of `plan/list` with its counts.
#[derive(Clone, Debug, PartialEq)]
pub struct RemotePlan {
    /// CKB's plan id, matched to our plans' `remotePlanId`.
    pub id: i64,
    pub name: String,
    /// `acquiredCount`: every lead of the plan in CKB (已获客).
    pub acquired: i64,
    /// `addedCount`: leads CKB acted on, failed ones included (已添加).
    pub processed: i64,
    /// `passCount`: accepted friend requests (通过).
    pub passed: i64,
    /// `passRate` exactly as CKB sent it, such as `"40.00"`, `"1,250.00"` or `0`.
    pub pass_rate_raw: String,
    /// The same number parsed, thousands separators removed.
    pub pass_rate: Option<f64>,
}

/// One lead of `plan/getUserList`: its identifier and CKB's status code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteLead {
    /// What CKB stores in `phone`: the lead's identifier (WeChat id or phone).
    pub identifier: String,
    pub status: i64,
}

/// A management answer: the data, or a refused token.
enum Answer {
    Data(Value),
    Refused,
}

struct CachedToken {
    token: String,
    /// Unix seconds after which the token is not used any more.
    renew_after: i64,
}

/// The management API client, shared by the statistics cache and the friend-status sync.
pub struct ManageClient {
    http: reqwest::Client,
    credentials: Option<Credentials>,
    tokens: Mutex<HashMap<String, CachedToken>>,
    metrics: Arc<Metrics>,
}

/// Page size used to read `plan/list` and `plan/getUserList`.
pub const PAGE_SIZE: i64 = 50;

impl ManageClient {
    pub fn new(
        credentials: Option<Credentials>,
        connect_timeout: Duration,
        timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .user_agent(concat!("partner-gateway/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(ManageClient {
            http,
            credentials,
            tokens: Mutex::new(HashMap::new()),
            metrics,
        })
    }

    fn record<T>(&self, call: &str, started: std::time::Instant, result: &Result<T, ManageError>) {
        let outcome = if result.is_ok() { "ok" } else { "error" };
        self.metrics
            .ckb_call(call, outcome, started.elapsed().as_secs_f64());
    }

    pub fn is_configured(&self) -> bool {
        self.credentials.is_some()
    }

    /// Logs in and returns a fresh token.
    async fn login(&self, base: &str, request_id: &str) -> Result<CachedToken, ManageError> {
        let credentials = self
            .credentials
            .as_ref()
            .ok_or(ManageError::NotConfigured)?;
        let body = serde_json::json!({
            "account": credentials.account,
            "password": credentials.password.expose(),
            "typeId": credentials.type_id,
        });
        let response = self
            .http
            .post(format!("{base}/v1/auth/login"))
            .header("x-request-id", request_id)
            .json(&body)
            .send()
            .await
            .map_err(|error| transport_error("login", &error))?;
        let envelope = read_envelope("login", response).await?;
        let data = envelope_data("login", &envelope)?;
        let token = data
            .get("token")
            .and_then(Value::as_str)
            .ok_or_else(|| ManageError::Failed("CKB's login answer has no token".into()))?
            .to_owned();
        let expires = data
            .get("token_expired")
            .and_then(as_i64)
            .unwrap_or(i64::MAX);
        // Renew a minute early so that a token never expires in the middle of a call.
        Ok(CachedToken {
            token,
            renew_after: expires.saturating_sub(60),
        })
    }

    async fn token(
        &self,
        base: &str,
        force: bool,
        request_id: &str,
    ) -> Result<String, ManageError> {
        let mut tokens = self.tokens.lock().await;
        let now = chrono::Utc::now().timestamp();
        if !force {
            if let Some(cached) = tokens.get(base).filter(|t| t.renew_after > now) {
                return Ok(cached.token.clone());
            }
        }
        let started = std::time::Instant::now();
        let fresh = self.login(base, request_id).await;
        self.record("login", started, &fresh);
        let fresh = fresh?;
        let token = fresh.token.clone();
        tokens.insert(base.to_owned(), fresh);
        Ok(token)
    }

    /// GETs a management path and returns `data`, logging in again once on a 401.
    async fn get(
        &self,
        base: &str,
        path: &str,
        query: &[(&str, String)],
        request_id: &str,
    ) -> Result<Value, ManageError> {
        let call = if path.ends_with("getUserList") {
            "user_list"
        } else {
            "plan_list"
        };
        let mut renewed = false;
        loop {
            let token = self.token(base, renewed, request_id).await?;
            let started = std::time::Instant::now();
            let result = self.get_once(base, path, query, &token, request_id).await;
            self.record(call, started, &result);
            match result? {
                Answer::Refused if !renewed => {
                    tracing::info!(ckb = %base, path, "CKB token was refused; logging in again");
                    renewed = true;
                }
                Answer::Refused => {
                    return Err(ManageError::Failed(format!(
                        "CKB {path} refused a fresh token; check the account's rights"
                    )))
                }
                Answer::Data(data) => return Ok(data),
            }
        }
    }

    async fn get_once(
        &self,
        base: &str,
        path: &str,
        query: &[(&str, String)],
        token: &str,
        request_id: &str,
    ) -> Result<Answer, ManageError> {
        let response = self
            .http
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .header("x-request-id", request_id)
            .query(query)
            .send()
            .await
            .map_err(|error| transport_error(path, &error))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(ManageError::NotSupported(format!(
                "CKB at {base} has no {path}"
            )));
        }
        let envelope = read_envelope(path, response).await?;
        if code_of(&envelope) == Some(401) {
            return Ok(Answer::Refused);
        }
        envelope_data(path, &envelope).cloned().map(Answer::Data)
    }

    /// Reads every plan of `plan/list`, page by page: the first page gives the total, and the
    /// remaining pages are fetched concurrently. Every call carries `request_id`.
    pub async fn plan_list(
        &self,
        base: &str,
        request_id: &str,
    ) -> Result<Vec<RemotePlan>, ManageError> {
        let first = self
            .get(
                base,
                "/v1/plan/list",
                &[("page", "1".into()), ("limit", PAGE_SIZE.to_string())],
                request_id,
            )
            .await?;
        let total = first.get("total").and_then(as_i64).unwrap_or(0);
        let mut plans = parse_plans(&first)?;
        let pages = (total + PAGE_SIZE - 1) / PAGE_SIZE;
        let rest = (2..=pages).map(|page| async move {
            self.get(
                base,
                "/v1/plan/list",
                &[("page", page.to_string()), ("limit", PAGE_SIZE.to_string())],
                request_id,
            )
            .await
        });
        for page in futures::future::join_all(rest).await {
            plans.extend(parse_plans(&page?)?);
        }
        Ok(plans)
    }

    /// Reads one page of a plan's leads from `plan/getUserList`; returns the total and the
    /// page.
    pub async fn plan_leads(
        &self,
        base: &str,
        remote_plan_id: i64,
        page: i64,
        request_id: &str,
    ) -> Result<(i64, Vec<RemoteLead>), ManageError> {
        let data = self
            .get(
                base,
                "/v1/plan/getUserList",
                &[
                    ("planId", remote_plan_id.to_string()),
                    ("type", "1".into()),
                    ("page", page.to_string()),
                    ("pageSize", PAGE_SIZE.to_string()),
                ],
                request_id,
            )
            .await?;
        let total = data.get("total").and_then(as_i64).unwrap_or(0);
        let leads = data
            .get("list")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| {
                        Some(RemoteLead {
                            identifier: item.get("phone")?.as_str()?.to_owned(),
                            status: item.get("status").and_then(as_i64)?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok((total, leads))
    }
}

fn transport_error(what: &str, error: &reqwest::Error) -> ManageError {
    let reason = if error.is_timeout() {
        "did not answer in time"
    } else if error.is_connect() {
        "could not be reached"
    } else {
        "failed"
    };
    ManageError::Failed(format!("CKB {what} {reason}"))
}

async fn read_envelope(
    what: &str,
    response: reqwest::Response,
) -> Result<Map<String, Value>, ManageError> {
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|error| transport_error(what, &error))?;
    serde_json::from_str(&body).map_err(|_| {
        ManageError::Failed(format!(
            "CKB {what} answered HTTP {} with a body that is not JSON",
            status.as_u16()
        ))
    })
}

fn code_of(envelope: &Map<String, Value>) -> Option<i64> {
    envelope.get("code").and_then(as_i64)
}

fn envelope_data<'a>(
    what: &str,
    envelope: &'a Map<String, Value>,
) -> Result<&'a Value, ManageError> {
    let code = code_of(envelope);
    if code != Some(200) {
        let message = envelope
            .get("msg")
            .or_else(|| envelope.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("no message");
        let code = code.map(|c| c.to_string()).unwrap_or_else(|| "none".into());
        return Err(ManageError::Failed(format!(
            "CKB {what} answered code {code}: {message}"
        )));
    }
    envelope
        .get("data")
        .ok_or_else(|| ManageError::Failed(format!("CKB {what} answered without data")))
}

/// Reads an integer sent as a JSON number or a numeric string.
fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Parses `passRate`: a JSON number, a string such as `"40.00"`, or a string with a thousands
/// separator such as `"1,250.00"` (CKB's 2025 code formats it with PHP's `number_format`).
pub fn parse_pass_rate(value: &Value) -> (String, Option<f64>) {
    match value {
        Value::Number(n) => (n.to_string(), n.as_f64()),
        Value::String(s) => (s.clone(), s.replace(',', "").trim().parse().ok()),
        Value::Null => (String::new(), None),
        other => (other.to_string(), None),
    }
}

fn parse_plans(data: &Value) -> Result<Vec<RemotePlan>, ManageError> {
    let list = data
        .get("list")
        .and_then(Value::as_array)
        .ok_or_else(|| ManageError::Failed("CKB plan/list answered without a list".into()))?;
    Ok(list
        .iter()
        .filter_map(|item| {
            let (pass_rate_raw, pass_rate) =
                parse_pass_rate(item.get("passRate").unwrap_or(&Value::Null));
            Some(RemotePlan {
                id: item.get("id").and_then(as_i64)?,
                name: item
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                acquired: item.get("acquiredCount").and_then(as_i64).unwrap_or(0),
                processed: item.get("addedCount").and_then(as_i64).unwrap_or(0),
                passed: item.get("passCount").and_then(as_i64).unwrap_or(0),
                pass_rate_raw,
                pass_rate,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pass_rate_reads_every_shape() {
        assert_eq!(parse_pass_rate(&json!(0)), ("0".into(), Some(0.0)));
        assert_eq!(
            parse_pass_rate(&json!("40.00")),
            ("40.00".into(), Some(40.0))
        );
        assert_eq!(
            parse_pass_rate(&json!("1,250.00")),
            ("1,250.00".into(), Some(1250.0))
        );
    }

    #[test]
    fn plans_parse_counts_sent_as_strings() {
        let data = json!({ "total": 1, "list": [{ "id": "12", "name": "官网", "acquiredCount": "40", "addedCount": 30, "passCount": 12, "passRate": "40.00" }] });
        let plans = parse_plans(&data).unwrap();
        assert_eq!(plans[0].id, 12);
        assert_eq!(plans[0].acquired, 40);
        assert_eq!(plans[0].processed, 30);
        assert_eq!(plans[0].passed, 12);
    }

    #[test]
    fn secret_is_redacted_in_debug() {
        let credentials = Credentials {
            account: "a".into(),
            password: Secret::new("hunter2"),
            type_id: 1,
        };
        assert!(!format!("{credentials:?}").contains("hunter2"));
    }
}
