//! The signed client of CKB's lead endpoint, `POST {endpoint}/v1/api/scenarios`.
//!
//! It builds the parameters from a stored lead, takes the timestamp at send time, signs, and
//! reads every envelope CKB produces into one [`DeliveryOutcome`]. CKB answers handled cases
//! with HTTP 200 and puts the outcome in the body's `code`: 200 with `message` 新增成功 or 已存在,
//! 400 and 401 with `msg` for requests a retry cannot fix, and 500 for exceptions. An uncaught
//! PHP error is an HTTP 500 HTML page.

use std::time::Duration;

use std::sync::Arc;

use serde_json::{Map, Value};

use super::sign::{self, Signature};
use crate::metrics::Metrics;
use crate::{db::entities::ckb_plan, domain::CkbContentType};

/// The path of the lead endpoint under a plan's endpoint URL.
pub const LEAD_PATH: &str = "/v1/api/scenarios";

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// CKB answered code 200 新增成功: a new lead of the plan.
    Created { message: String },
    /// CKB answered code 200 已存在: the identifier was already a lead of the plan.
    Existing { message: String },
    /// CKB refused the lead for a reason a retry cannot fix: code 400 (a missing or expired
    /// field) or 401 (无效的apiKey, 签名验证失败), or an HTTP status that says the endpoint is
    /// wrong.
    Rejected { code: Option<i32>, message: String },
    /// The attempt failed in a way a later attempt may not: code 500, an HTTP 5xx, a timeout,
    /// a connection error or an unreadable body.
    Transient {
        code: Option<i32>,
        message: Option<String>,
        reason: String,
    },
}

impl DeliveryOutcome {
    /// CKB's `code`, when it sent one.
    pub fn ckb_code(&self) -> Option<i32> {
        match self {
            DeliveryOutcome::Created { .. } | DeliveryOutcome::Existing { .. } => Some(200),
            DeliveryOutcome::Rejected { code, .. } | DeliveryOutcome::Transient { code, .. } => {
                *code
            }
        }
    }

    /// CKB's message, exactly as sent.
    pub fn ckb_message(&self) -> Option<&str> {
        match self {
            DeliveryOutcome::Created { message } | DeliveryOutcome::Existing { message } => {
                Some(message)
            }
            DeliveryOutcome::Rejected {
                code: Some(_),
                message,
            } => Some(message),
            DeliveryOutcome::Rejected { code: None, .. } => None,
            DeliveryOutcome::Transient { message, .. } => message.as_deref(),
        }
    }

    /// A label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            DeliveryOutcome::Created { .. } => "created",
            DeliveryOutcome::Existing { .. } => "existing",
            DeliveryOutcome::Rejected { .. } => "rejected",
            DeliveryOutcome::Transient { .. } => "transient",
        }
    }
}

/// The lead fields sent to CKB, before `apiKey`, `timestamp` and `sign` are added.
#[derive(Debug, Clone, Default)]
pub struct LeadFields {
    pub phone: Option<String>,
    pub wechat_id: Option<String>,
    pub name: String,
    pub source: String,
    pub remark: String,
    pub tags: Vec<String>,
    pub site_tags: Vec<String>,
    pub portrait: Option<Value>,
}

impl LeadFields {
    /// The parameters CKB receives, without the signature. `phone` is always sent, empty if
    /// need be, because CKB's 2025 code reads it unconditionally and fails with code 500 when
    /// the key is missing; an empty value signs the same as an absent one.
    pub fn params(&self, api_key: &str, timestamp: i64) -> Map<String, Value> {
        let mut params = Map::new();
        params.insert("apiKey".into(), Value::String(api_key.to_owned()));
        params.insert("timestamp".into(), Value::from(timestamp));
        params.insert(
            "phone".into(),
            Value::String(self.phone.clone().unwrap_or_default()),
        );
        let optional = [
            ("wechatId", self.wechat_id.clone().unwrap_or_default()),
            ("name", self.name.clone()),
            ("source", self.source.clone()),
            ("remark", self.remark.clone()),
            ("tags", self.tags.join(",")),
            ("siteTags", self.site_tags.join(",")),
        ];
        for (key, value) in optional {
            if !value.is_empty() {
                params.insert(key.into(), Value::String(value));
            }
        }
        if let Some(portrait) = &self.portrait {
            params.insert("portrait".into(), portrait.clone());
        }
        params
    }
}

/// A signed request, ready to send or to show.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    pub params: Map<String, Value>,
    pub signature: Signature,
}

/// Signs lead parameters. Values other than `portrait` must be scalars: CKB answers an array
/// with code 500 "Array to string conversion", so such a request is refused before sending.
pub fn sign_params(
    mut params: Map<String, Value>,
    api_key: &str,
) -> Result<SignedRequest, sign::SignError> {
    let signature = sign::sign(&params, api_key)?;
    params.insert("sign".into(), Value::String(signature.sign.clone()));
    Ok(SignedRequest { params, signature })
}

/// The HTTP client of CKB's lead endpoint.
#[derive(Clone)]
pub struct CkbClient {
    http: reqwest::Client,
    metrics: Arc<Metrics>,
}

/// CKB's answer as read off the wire, before it is classified.
#[derive(Debug, Clone)]
pub struct RawAnswer {
    pub http_status: u16,
    pub body: String,
    pub elapsed: Duration,
}

impl CkbClient {
    pub fn new(
        connect_timeout: Duration,
        timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .user_agent(concat!("partner-gateway/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(CkbClient { http, metrics })
    }

    /// Sends one lead to a plan and classifies CKB's answer.
    pub async fn submit_lead(
        &self,
        plan: &ckb_plan::Model,
        lead: &LeadFields,
        request_id: Option<&str>,
    ) -> DeliveryOutcome {
        let params = lead.params(&plan.api_key, chrono::Utc::now().timestamp());
        let signed = match sign_params(params, &plan.api_key) {
            Ok(signed) => signed,
            Err(error) => {
                return DeliveryOutcome::Rejected {
                    code: None,
                    message: error.to_string(),
                }
            }
        };
        let started = std::time::Instant::now();
        let outcome = match self.send(plan, &signed, request_id).await {
            Ok(answer) => classify(&answer),
            Err(error) => DeliveryOutcome::Transient {
                code: None,
                message: None,
                reason: if error.is_connect() {
                    format!("could not connect to CKB at {}", plan.endpoint)
                } else {
                    describe_transport_error(&error)
                },
            },
        };
        self.metrics
            .ckb_call("lead", outcome.label(), started.elapsed().as_secs_f64());
        outcome
    }

    /// Sends a signed request and returns CKB's answer unread.
    pub async fn send(
        &self,
        plan: &ckb_plan::Model,
        signed: &SignedRequest,
        request_id: Option<&str>,
    ) -> Result<RawAnswer, reqwest::Error> {
        let url = format!("{}{LEAD_PATH}", plan.endpoint.trim_end_matches('/'));
        let mut request = self.http.post(url);
        request = match plan.content_type {
            CkbContentType::Json => request.json(&signed.params),
            CkbContentType::Form => request
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(form_body(&signed.params)),
        };
        // A call without a request behind it (a lead stored by another tool, a call made
        // in-process) still gets an id, so that every call can be found in CKB's logs.
        let request_id = request_id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        request = request.header("x-request-id", request_id);
        let started = std::time::Instant::now();
        let response = request.send().await?;
        let http_status = response.status().as_u16();
        let body = response.text().await?;
        Ok(RawAnswer {
            http_status,
            body,
            elapsed: started.elapsed(),
        })
    }
}

/// Encodes parameters as PHP reads a form: objects become `key[sub]=value` pairs, so that
/// `portrait` arrives as an array in `$_POST`.
pub fn form_body(params: &Map<String, Value>) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    fn add(serializer: &mut form_urlencoded::Serializer<String>, key: &str, value: &Value) {
        match value {
            Value::Object(map) => {
                for (sub, value) in map {
                    add(serializer, &format!("{key}[{sub}]"), value);
                }
            }
            Value::Array(items) => {
                for (index, value) in items.iter().enumerate() {
                    add(serializer, &format!("{key}[{index}]"), value);
                }
            }
            Value::Null => {}
            other => {
                let text = sign::php_string(other).unwrap_or_default();
                serializer.append_pair(key, &text);
            }
        }
    }
    for (key, value) in params {
        add(&mut serializer, key, value);
    }
    serializer.finish()
}

/// Turns CKB's answer into an outcome. It reads `msg` or `message`, and accepts `data` as a
/// value, `[]`, null or missing.
pub fn classify(answer: &RawAnswer) -> DeliveryOutcome {
    let envelope: Option<Map<String, Value>> = serde_json::from_str(&answer.body).ok();
    let Some(envelope) = envelope else {
        let reason = format!(
            "CKB answered HTTP {} with a body that is not JSON",
            answer.http_status
        );
        return match answer.http_status {
            // A 404 or 405 means the plan's endpoint is wrong; trying again will not help.
            404 | 405 | 410 => DeliveryOutcome::Rejected {
                code: None,
                message: format!("{reason}; check the plan's endpoint URL"),
            },
            _ => DeliveryOutcome::Transient {
                code: None,
                message: None,
                reason,
            },
        };
    };
    let code = envelope.get("code").and_then(|code| match code {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    let message = envelope
        .get("msg")
        .or_else(|| envelope.get("message"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    match code {
        Some(200) if message.contains("已存在") => DeliveryOutcome::Existing { message },
        Some(200) => DeliveryOutcome::Created { message },
        Some(code @ (400 | 401 | 403 | 404)) => DeliveryOutcome::Rejected {
            code: Some(code as i32),
            message,
        },
        Some(code) => DeliveryOutcome::Transient {
            code: i32::try_from(code).ok(),
            reason: format!("CKB answered code {code}: {message}"),
            message: Some(message),
        },
        None => DeliveryOutcome::Transient {
            code: None,
            message: None,
            reason: format!(
                "CKB answered HTTP {} without a code in its body",
                answer.http_status
            ),
        },
    }
}

/// Says in words safe to show why a call to CKB got no response.
pub fn describe_transport_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "CKB did not answer in time".into()
    } else if error.is_connect() {
        "could not connect to CKB".into()
    } else if closed_without_answer(error) {
        "CKB closed the connection without answering".into()
    } else if error.is_body() || error.is_decode() {
        "CKB's answer could not be read".into()
    } else {
        "the request to CKB failed".into()
    }
}

/// Returns whether the server accepted the connection and closed it before sending a response.
fn closed_without_answer(error: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(hyper_error) = cause.downcast_ref::<hyper::Error>() {
            if hyper_error.is_incomplete_message() || hyper_error.is_closed() {
                return true;
            }
        }
        if let Some(io_error) = cause.downcast_ref::<std::io::Error>() {
            if matches!(
                io_error.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
            ) {
                return true;
            }
        }
        source = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> RawAnswer {
        RawAnswer {
            http_status: status,
            body: body.into(),
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn reads_every_envelope() {
        assert_eq!(
            classify(&answer(
                200,
                r#"{"code":200,"message":"新增成功","data":"13800000000"}"#
            )),
            DeliveryOutcome::Created {
                message: "新增成功".into()
            }
        );
        assert_eq!(
            classify(&answer(
                200,
                r#"{"code":200,"message":"已存在","data":"13800000000"}"#
            )),
            DeliveryOutcome::Existing {
                message: "已存在".into()
            }
        );
        assert_eq!(
            classify(&answer(
                200,
                r#"{"code":401,"msg":"签名验证失败","data":[]}"#
            )),
            DeliveryOutcome::Rejected {
                code: Some(401),
                message: "签名验证失败".into()
            }
        );
        assert_eq!(
            classify(&answer(
                200,
                r#"{"code":400,"msg":"请求已过期","data":null}"#
            )),
            DeliveryOutcome::Rejected {
                code: Some(400),
                message: "请求已过期".into()
            }
        );
        assert!(matches!(
            classify(&answer(200, r#"{"code":500,"msg":"系统错误: x"}"#)),
            DeliveryOutcome::Transient {
                code: Some(500),
                ..
            }
        ));
        assert!(matches!(
            classify(&answer(500, "<html>error</html>")),
            DeliveryOutcome::Transient { code: None, .. }
        ));
        assert!(matches!(
            classify(&answer(404, "<html>not found</html>")),
            DeliveryOutcome::Rejected { code: None, .. }
        ));
        assert!(matches!(
            classify(&answer(200, "{}")),
            DeliveryOutcome::Transient { .. }
        ));
    }

    #[test]
    fn params_always_carry_phone_and_join_lists() {
        let lead = LeadFields {
            wechat_id: Some("wxid_abc123".into()),
            tags: vec!["a".into(), "b".into()],
            ..Default::default()
        };
        let params = lead.params("key", 1_710_000_000);
        assert_eq!(params["phone"], "");
        assert_eq!(params["tags"], "a,b");
        assert!(!params.contains_key("siteTags"));
        assert_eq!(params["timestamp"], 1_710_000_000);
    }

    #[test]
    fn form_body_nests_portrait_like_php() {
        let mut params = Map::new();
        params.insert("name".into(), Value::from("张三"));
        params.insert(
            "portrait".into(),
            serde_json::json!({ "type": 1, "sourceData": { "page": "/a" } }),
        );
        let body = form_body(&params);
        assert!(body.contains("portrait%5Btype%5D=1"), "{body}");
        assert!(
            body.contains("portrait%5BsourceData%5D%5Bpage%5D=%2Fa"),
            "{body}"
        );
    }

    #[test]
    fn non_scalar_values_are_refused_before_sending() {
        let mut params = Map::new();
        params.insert("tags".into(), serde_json::json!(["a"]));
        assert!(sign_params(params, "k").is_err());
    }
}
