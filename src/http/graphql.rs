//! The GraphQL over HTTP endpoint.
//!
//! The stock async-graphql-axum service always answers 200 with one content type, runs
//! mutations sent over GET and runs batches of any size. This handler follows the GraphQL over
//! HTTP specification instead: it negotiates `Accept` between
//! `application/graphql-response+json` and `application/json`, answers unparsable or invalid
//! requests with 400 under the former, refuses a mutation over GET with 405, an unacceptable
//! `Accept` with 406, a body of another type with 415 and an oversized body with 413, and runs
//! batches only when they are turned on, up to a cap.
//!
//! Before a document is validated it passes cheap checks (size, aliases, field count) and the
//! caller's rate limit, so abusive requests are refused before they cost more than a parse.

use std::{sync::Arc, time::Duration};

use async_graphql::{
    dataloader::DataLoader, parser::types::OperationType, ErrorExtensionValues, ServerError,
    Value as GqlValue, Variables,
};
use axum::{
    body::{to_bytes, Body},
    extract::{RawQuery, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Extension,
};
use serde_json::{json, Map, Value};

use super::{
    document::{summarize, DocumentCache, Flags},
    middleware::{RequestLog, RequestTrace},
    rate_limit::{OperationKind, RateLimiter},
};
use crate::{
    auth::{self, Caller},
    error::{GatewayError, INTERNAL_MESSAGE},
    graphql::{context::RequestId, loaders::DbLoader, GatewaySchema},
    state::AppState,
};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const APPLICATION_JSON: &str = "application/json";

/// What the endpoint needs: the state, one schema with field suggestions for admins and one
/// without for everyone else, and the rate limiter.
pub struct GraphqlEndpoint {
    pub state: AppState,
    pub admin_schema: GatewaySchema,
    pub public_schema: GatewaySchema,
    pub limiter: RateLimiter,
    pub tokens: auth::TokenCache,
    pub documents: DocumentCache,
}

pub type Endpoint = Arc<GraphqlEndpoint>;

/// The media type of the response, chosen from the request's `Accept`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    fn content_type(self) -> HeaderValue {
        match self {
            MediaType::GraphqlResponseJson => {
                HeaderValue::from_static("application/graphql-response+json; charset=utf-8")
            }
            MediaType::Json => HeaderValue::from_static("application/json; charset=utf-8"),
        }
    }
}

/// Picks the response type from an `Accept` header: the acceptable type with the highest
/// quality, preferring `application/graphql-response+json` on a tie. A missing header and
/// `*/*` get `application/json`, which every client before the specification's 2025 watershed
/// understands. `None` means nothing acceptable (406).
pub fn negotiate(accept: Option<&HeaderValue>) -> Option<MediaType> {
    let Some(accept) = accept.and_then(|value| value.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    let mut best: Option<(f32, u8, MediaType)> = None;
    for part in accept.split(',') {
        let mut pieces = part.split(';');
        let range = pieces
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let mut quality = 1.0f32;
        for parameter in pieces {
            if let Some((name, value)) = parameter.split_once('=') {
                if name.trim().eq_ignore_ascii_case("q") {
                    quality = value.trim().parse().unwrap_or(0.0);
                }
            }
        }
        if quality <= 0.0 {
            continue;
        }
        // Higher rank wins a tie in quality: an exact graphql-response type over an exact
        // json type over wildcards.
        let candidate = match range.as_str() {
            GRAPHQL_RESPONSE_JSON => (quality, 3, MediaType::GraphqlResponseJson),
            APPLICATION_JSON => (quality, 2, MediaType::Json),
            "application/*" | "*/*" => (quality, 1, MediaType::Json),
            _ => continue,
        };
        if best.is_none_or(|(q, rank, _)| (candidate.0, candidate.1) > (q, rank)) {
            best = Some(candidate);
        }
    }
    best.map(|(_, _, media)| media)
}

/// The parameters of one GraphQL request.
#[derive(Debug)]
struct Params {
    query: String,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
}

/// A request refused before execution, with its HTTP status.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
    headers: Vec<(header::HeaderName, HeaderValue)>,
    /// Seconds to wait, for RATE_LIMITED; also sent as `extensions.retryAfter`.
    retry_after: Option<u64>,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            status,
            code,
            message: cut_message(message.into()),
            headers: Vec::new(),
            retry_after: None,
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Refusal::new(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", message)
    }

    fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self.with_header(header::RETRY_AFTER, HeaderValue::from(seconds))
    }

    fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Returns the response body: one error with the code, and the request id or the wait
    /// where they apply.
    fn body(&self, request_id: &RequestId) -> serde_json::Value {
        let mut extensions = json!({ "code": self.code });
        if self.code == "INTERNAL" {
            extensions["requestId"] = json!(request_id.0);
        }
        if let Some(seconds) = self.retry_after {
            extensions["retryAfter"] = json!(seconds);
        }
        json!({ "errors": [{ "message": self.message, "extensions": extensions }] })
    }

    fn into_response(self, media: MediaType, request_id: &RequestId, log: RequestLog) -> Response {
        let body = self.body(request_id);
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, media.content_type())],
            body.to_string(),
        )
            .into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response.extensions_mut().insert(log.with_error(self.code));
        response
    }
}

/// `POST /graphql`.
pub async fn post(
    State(endpoint): State<Endpoint>,
    Extension(trace): Extension<RequestTrace>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request_id = RequestId(trace.request_id.clone());
    let Some(media) = negotiate(headers.get(header::ACCEPT)) else {
        return not_acceptable(&request_id);
    };
    let mut log = RequestLog::default();
    if let Err(refusal) = check_content_type(&headers) {
        return refusal.into_response(media, &request_id, log);
    }
    let caller = match authenticate(&endpoint, &headers).await {
        Ok(caller) => caller,
        Err(refusal) => return refusal.into_response(media, &request_id, log),
    };
    log.token = Some(caller.name.clone());

    let limit = endpoint.state.settings.limits.max_body_bytes;
    let bytes = match to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let refusal = Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "BAD_USER_INPUT",
                format!("request body is larger than {limit} bytes; send a smaller document or fewer variables"),
            );
            return refusal.into_response(media, &request_id, log);
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Refusal::bad_request(
            "request body is missing; send a JSON object with a `query` string",
        )
        .into_response(media, &request_id, log);
    }
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(body) => body,
        Err(error) => {
            return Refusal::bad_request(format!("request body is not valid JSON: {error}"))
                .into_response(media, &request_id, log)
        }
    };

    match body {
        Value::Array(items) => run_batch(&endpoint, &caller, &request_id, media, items, log).await,
        Value::Object(map) => match parse_params(map) {
            Ok(params) => {
                run_single(&endpoint, &caller, &request_id, media, params, false, log).await
            }
            Err(message) => Refusal::bad_request(message).into_response(media, &request_id, log),
        },
        _ => Refusal::bad_request("request body must be a JSON object with a `query` string")
            .into_response(media, &request_id, log),
    }
}

/// `GET /graphql`, for queries only.
pub async fn get(
    State(endpoint): State<Endpoint>,
    Extension(trace): Extension<RequestTrace>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let request_id = RequestId(trace.request_id.clone());
    let Some(media) = negotiate(headers.get(header::ACCEPT)) else {
        return not_acceptable(&request_id);
    };
    let mut log = RequestLog::default();
    let caller = match authenticate(&endpoint, &headers).await {
        Ok(caller) => caller,
        Err(refusal) => return refusal.into_response(media, &request_id, log),
    };
    log.token = Some(caller.name.clone());
    let params = match parse_query_string(raw.as_deref().unwrap_or_default()) {
        Ok(params) => params,
        Err(message) => {
            return Refusal::bad_request(message).into_response(media, &request_id, log)
        }
    };
    run_single(&endpoint, &caller, &request_id, media, params, true, log).await
}

/// Any other method on /graphql.
pub async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, "GET, POST"), (header::CONTENT_TYPE, "application/json; charset=utf-8")],
        json!({ "errors": [{ "message": "use POST, or GET for queries", "extensions": { "code": "BAD_USER_INPUT" } }] }).to_string(),
    )
        .into_response()
}

fn not_acceptable(request_id: &RequestId) -> Response {
    Refusal::new(
        StatusCode::NOT_ACCEPTABLE,
        "BAD_USER_INPUT",
        "no acceptable response type; accept application/graphql-response+json or application/json",
    )
    .into_response(MediaType::Json, request_id, RequestLog::default())
}

fn check_content_type(headers: &HeaderMap) -> Result<(), Refusal> {
    let unsupported = |detail: &str| {
        Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_USER_INPUT",
            format!("{detail}; send the request as Content-Type: application/json"),
        )
    };
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(unsupported("Content-Type is missing"));
    };
    let value = value
        .to_str()
        .map_err(|_| unsupported("Content-Type is not readable"))?;
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case(APPLICATION_JSON) {
        return Err(unsupported(&format!(
            "Content-Type {essence:?} is not supported"
        )));
    }
    for parameter in parts {
        if let Some((name, charset)) = parameter.split_once('=') {
            let charset = charset.trim().trim_matches('"');
            if name.trim().eq_ignore_ascii_case("charset") && !charset.eq_ignore_ascii_case("utf-8")
            {
                return Err(unsupported(&format!(
                    "charset {charset:?} is not supported, only utf-8"
                )));
            }
        }
    }
    // A compressed body would otherwise fail as unreadable JSON, which hides the cause.
    if let Some(encoding) = headers.get(header::CONTENT_ENCODING) {
        let encoding = encoding.to_str().unwrap_or("unreadable").trim();
        if !encoding.eq_ignore_ascii_case("identity") {
            return Err(Refusal::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "BAD_USER_INPUT",
                format!(
                    "Content-Encoding {encoding:?} is not supported; send the body uncompressed"
                ),
            ));
        }
    }
    Ok(())
}

async fn authenticate(endpoint: &GraphqlEndpoint, headers: &HeaderMap) -> Result<Caller, Refusal> {
    if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "send exactly one Authorization header",
        )
        .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
    }
    let header_value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let result = match auth::bearer_token(header_value) {
        Ok(token) => {
            endpoint
                .tokens
                .authenticate(&endpoint.state.db, token)
                .await
        }
        Err(error) => Err(error),
    };
    result.map_err(|error| match error {
        GatewayError::Unauthenticated(message) => {
            Refusal::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message)
                .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
        }
        other => {
            tracing::error!(error = ?other, "token lookup failed");
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                INTERNAL_MESSAGE,
            )
        }
    })
}

/// Reads the parameters of a JSON request object. `null` counts as absent; other keys are
/// ignored as the specification reserves them.
fn parse_params(mut map: Map<String, Value>) -> Result<Params, String> {
    let query = match map.remove("query") {
        Some(Value::String(query)) => query,
        None | Some(Value::Null) => {
            return Err(
                "the `query` parameter is missing; send the GraphQL document as a string".into(),
            )
        }
        Some(_) => return Err("the `query` parameter must be a string".into()),
    };
    let operation_name = match map.remove("operationName") {
        Some(Value::String(name)) => Some(name),
        None | Some(Value::Null) => None,
        Some(_) => return Err("the `operationName` parameter must be a string or null".into()),
    };
    let variables = match map.remove("variables") {
        Some(Value::Object(variables)) => Some(variables),
        None | Some(Value::Null) => None,
        Some(_) => return Err("the `variables` parameter must be a JSON object or null".into()),
    };
    match map.remove("extensions") {
        Some(Value::Object(_)) | None | Some(Value::Null) => {}
        Some(_) => return Err("the `extensions` parameter must be a JSON object or null".into()),
    }
    Ok(Params {
        query,
        operation_name,
        variables,
    })
}

/// Reads the parameters of a GET request; `variables` and `extensions` are JSON-encoded.
fn parse_query_string(raw: &str) -> Result<Params, String> {
    let mut map = Map::new();
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        let value = match name.as_ref() {
            "variables" | "extensions" => serde_json::from_str(&value)
                .map_err(|_| format!("the `{name}` parameter must be URL-encoded JSON"))?,
            _ => Value::String(value.into_owned()),
        };
        map.insert(name.into_owned(), value);
    }
    parse_params(map)
}

async fn run_single(
    endpoint: &GraphqlEndpoint,
    caller: &Caller,
    request_id: &RequestId,
    media: MediaType,
    params: Params,
    over_get: bool,
    mut log: RequestLog,
) -> Response {
    log.operation = params.operation_name.clone();
    match execute(endpoint, caller, request_id, params, over_get).await {
        Ok(outcome) => {
            let status = if outcome.request_error && media == MediaType::GraphqlResponseJson {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            log.root_field = outcome.root_fields.first().cloned();
            if log.operation.is_none() {
                log.operation = log.root_field.clone();
            }
            log.error_codes = outcome.error_codes;
            let mut response = (
                status,
                [(header::CONTENT_TYPE, media.content_type())],
                outcome.body,
            )
                .into_response();
            response.extensions_mut().insert(log);
            response
        }
        Err(refusal) => refusal.into_response(media, request_id, log),
    }
}

async fn run_batch(
    endpoint: &GraphqlEndpoint,
    caller: &Caller,
    request_id: &RequestId,
    media: MediaType,
    items: Vec<Value>,
    mut log: RequestLog,
) -> Response {
    let max = endpoint.state.settings.limits.max_batch;
    if max == 0 {
        return Refusal::bad_request(
            "batched requests are turned off; send one operation per request",
        )
        .into_response(media, request_id, log);
    }
    if items.is_empty() || items.len() > max {
        return Refusal::bad_request(format!(
            "a batch must hold 1 to {max} operations, got {}",
            items.len()
        ))
        .into_response(media, request_id, log);
    }
    let mut bodies = Vec::with_capacity(items.len());
    for item in items {
        let body = match item {
            Value::Object(map) => match parse_params(map) {
                Ok(params) => match execute(endpoint, caller, request_id, params, false).await {
                    Ok(outcome) => outcome.body,
                    Err(refusal) => refusal.body(request_id).to_string(),
                },
                Err(message) => {
                    json!({ "errors": [{ "message": message, "extensions": { "code": "BAD_USER_INPUT" } }] }).to_string()
                }
            },
            _ => {
                json!({ "errors": [{ "message": "each batch item must be a JSON object", "extensions": { "code": "BAD_USER_INPUT" } }] }).to_string()
            }
        };
        bodies.push(body);
    }
    log.operation = Some("batch".into());
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, media.content_type())],
        format!("[{}]", bodies.join(",")),
    )
        .into_response();
    response.extensions_mut().insert(log);
    response
}

/// The result of running one operation.
struct Outcome {
    /// The response body, serialized with its fields in selection order.
    body: String,
    /// The request failed before execution (parse or validation): there is no `data`.
    request_error: bool,
    root_fields: Vec<String>,
    /// The `extensions.code` of each error, for the request log and metrics.
    error_codes: Vec<String>,
}

fn request_error(message: impl Into<String>) -> Outcome {
    Outcome {
        body: json!({ "errors": [{ "message": message.into(), "extensions": { "code": "BAD_USER_INPUT" } }] }).to_string(),
        request_error: true,
        root_fields: Vec::new(),
        error_codes: vec!["BAD_USER_INPUT".to_owned()],
    }
}

async fn execute(
    endpoint: &GraphqlEndpoint,
    caller: &Caller,
    request_id: &RequestId,
    params: Params,
    over_get: bool,
) -> Result<Outcome, Refusal> {
    let limits = &endpoint.state.settings.limits;
    if params.query.trim().is_empty() {
        return Ok(request_error(
            "the request has no query; send a GraphQL document in `query`",
        ));
    }
    if params.query.len() > limits.max_document_bytes {
        return Ok(request_error(format!(
            "the document has {} bytes, more than the limit of {}; split it into smaller operations",
            params.query.len(),
            limits.max_document_bytes
        )));
    }
    let mut request = async_graphql::Request::new(params.query);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables {
        request = request.variables(Variables::from_json(Value::Object(variables)));
    }

    let operation_name = request.operation_name.clone();
    // The request's Boolean variables, for the @skip and @include of the lead fields.
    let flags: Flags = request
        .variables
        .iter()
        .filter_map(|(name, value)| match value {
            GqlValue::Boolean(flag) => Some((name.to_string(), *flag)),
            _ => None,
        })
        .collect();
    let uncached = match endpoint.documents.get(&request.query) {
        Some(document) => {
            request.set_parsed_query(document);
            None
        }
        None => Some(request.query.clone()),
    };
    let summary = match request.parsed_query() {
        Ok(document) => {
            if let Some(text) = &uncached {
                endpoint.documents.insert(text, document);
            }
            summarize(document, operation_name.as_deref(), &flags)
        }
        Err(error) => {
            let mut errors = vec![error];
            explain_limit_errors(&mut errors, limits);
            return Ok(error_outcome(errors, true, request_id));
        }
    };
    if over_get && summary.operation == Some(OperationType::Mutation) {
        return Err(Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "BAD_USER_INPUT",
            "mutations must be sent with POST",
        )
        .with_header(header::ALLOW, HeaderValue::from_static("POST")));
    }
    if summary.operation == Some(OperationType::Subscription) {
        return Ok(request_error("subscriptions are not supported"));
    }
    for (name, kind) in &summary.required_variables {
        let provided = request
            .variables
            .get(name.as_str())
            .is_some_and(|value| *value != GqlValue::Null);
        if !provided {
            return Ok(request_error(format!(
                "variable \"${name}\" of required type {kind} was not provided; send it in `variables`"
            )));
        }
    }
    if let Some(fragment) = &summary.unknown_fragment {
        return Ok(request_error(format!(
            "unknown fragment \"{fragment}\"; define it in the document or remove the spread"
        )));
    }
    if summary.introspection && !caller.is_admin() {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "introspection is available to ADMIN tokens only; the schema is published as schema.graphql",
        ));
    }
    if summary.aliases > limits.max_aliases {
        return Ok(request_error(format!(
            "the document uses {} aliases, more than the limit of {}",
            summary.aliases, limits.max_aliases
        )));
    }
    if summary.expanded_fields > limits.max_fields as u64 * 10 {
        return Ok(request_error(format!(
            "the document selects {} fields once its fragments are expanded, more than the limit of {}; spread each fragment fewer times",
            summary.expanded_fields,
            limits.max_fields * 10
        )));
    }
    if summary.fields > limits.max_fields {
        return Ok(request_error(format!(
            "the document selects {} fields, more than the limit of {}",
            summary.fields, limits.max_fields
        )));
    }

    // Each lead field costs one lead from the budget, so that aliases cannot submit many leads
    // for the price of one request.
    let leads = summary
        .root_fields
        .iter()
        .filter(|(field, _)| field == "submitLead" || field == "linkKaruo")
        .fold(0u64, |total, (_, times)| total.saturating_add(*times));
    let (kind, cost) = match summary.operation {
        Some(OperationType::Mutation) if leads > 0 => (OperationKind::Lead, leads),
        Some(OperationType::Mutation) => (OperationKind::Write, 1),
        _ => (OperationKind::Read, 1),
    };
    let budget = endpoint.limiter.per_minute(kind);
    if cost > u64::from(budget) {
        return Ok(request_error(format!(
            "the operation submits {cost} leads, more than this token's limit of {budget} per minute; send fewer leads per request"
        )));
    }
    if let Err(wait) = endpoint.limiter.check(caller.token_id, kind, cost as u32) {
        let seconds = wait.max(Duration::from_secs(1)).as_secs_f64().ceil() as u64;
        let error = GatewayError::RateLimited {
            retry_after_secs: seconds,
        };
        return Err(Refusal::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            format!("{} ({} operations)", error.client_message(), kind.as_str()),
        )
        .with_retry_after(seconds));
    }

    let schema = if caller.is_admin() {
        &endpoint.admin_schema
    } else {
        request = request.disable_introspection();
        &endpoint.public_schema
    };
    let request = request.data(caller.clone()).data(request_id.clone()).data(
        DataLoader::new(DbLoader::new(endpoint.state.db.clone()), tokio::spawn)
            .delay(endpoint.state.settings.dataloader_delay()),
    );
    let mut response = schema.execute(request).await;

    let request_failed = response.data == GqlValue::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty());
    if request_failed {
        let mut errors = response.errors;
        explain_limit_errors(&mut errors, limits);
        return Ok(error_outcome(errors, true, request_id));
    }
    let error_codes = decorate_errors(&mut response.errors, request_id);
    Ok(Outcome {
        body: serialize(&response),
        request_error: false,
        root_fields: summary
            .root_fields
            .into_iter()
            .map(|(field, _)| field)
            .collect(),
        error_codes,
    })
}

/// Serializes a value, or an INTERNAL error body if that fails.
fn serialize<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|error| {
        tracing::error!(error = %error, "a GraphQL response could not be serialized");
        json!({ "errors": [{ "message": INTERNAL_MESSAGE, "extensions": { "code": "INTERNAL" } }] })
            .to_string()
    })
}

/// The maximum length of an error message sent, in characters. Messages quote parts of the request (a
/// variable's value, a field or operation name, a header), which can be megabytes long.
const MAX_MESSAGE_CHARS: usize = 300;

/// Cuts `message` to [`MAX_MESSAGE_CHARS`], saying how long it was.
fn cut_message(message: String) -> String {
    let length = message.chars().count();
    if length <= MAX_MESSAGE_CHARS {
        return message;
    }
    let start: String = message.chars().take(MAX_MESSAGE_CHARS).collect();
    format!("{start}… (message cut, {length} characters in all)")
}

/// Gives every error a code: errors raised before execution (parse, validation, variable
/// coercion) get BAD_USER_INPUT, and INTERNAL errors carry the request id. Returns the codes.
fn decorate_errors(errors: &mut [ServerError], request_id: &RequestId) -> Vec<String> {
    errors
        .iter_mut()
        .map(|error| {
            error.message = cut_message(std::mem::take(&mut error.message));
            let extensions = error
                .extensions
                .get_or_insert_with(ErrorExtensionValues::default);
            if extensions.get("code").is_none() {
                extensions.set("code", "BAD_USER_INPUT");
            }
            if extensions.get("code") == Some(&GqlValue::from("INTERNAL")) {
                extensions.set("requestId", request_id.0.clone());
            }
            match extensions.get("code") {
                Some(GqlValue::String(code)) => code.clone(),
                _ => String::new(),
            }
        })
        .collect()
}

/// Rewrites async-graphql's terse limit errors to say which limit applies and what to change.
fn explain_limit_errors(errors: &mut [ServerError], limits: &crate::config::LimitSettings) {
    for error in errors {
        let explained = match error.message.as_str() {
            "Query is too complex." => format!(
                "the query's complexity is over the limit of {}: each field costs 1, and the fields \
                 under a connection count once per item of its `first`; ask for fewer items or fewer fields",
                limits.max_complexity
            ),
            "Query is nested too deep." => format!(
                "the query is nested deeper than the limit of {} levels; split it into smaller queries",
                limits.max_depth
            ),
            "Operation name required in request." => "the document has several operations; \
                 send `operationName` to say which one to run"
                .to_owned(),
            message if message.starts_with("The recursion depth of the query cannot be greater than") => {
                "the document nests selections or fragment spreads too deeply; flatten the query, \
                 and check that no fragment spreads itself"
                    .to_owned()
            }
            _ => continue,
        };
        error.message = explained;
    }
}

/// The body of a request that failed before execution: errors and no `data`.
fn error_outcome(
    mut errors: Vec<ServerError>,
    request_error: bool,
    request_id: &RequestId,
) -> Outcome {
    #[derive(serde::Serialize)]
    struct Errors<'a> {
        errors: &'a [ServerError],
    }
    // An unknown variable type breaks two validation rules, which report the same message at
    // the same place, so each error is kept once.
    let mut seen = Vec::with_capacity(errors.len());
    errors.retain(|error| {
        let key = (error.message.clone(), error.locations.clone());
        let first = !seen.contains(&key);
        if first {
            seen.push(key);
        }
        first
    });
    let error_codes = decorate_errors(&mut errors, request_id);
    Outcome {
        body: serialize(&Errors { errors: &errors }),
        request_error,
        root_fields: Vec::new(),
        error_codes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Option<MediaType> {
        negotiate(Some(&HeaderValue::from_str(value).unwrap()))
    }

    #[test]
    fn negotiation_follows_accept() {
        assert_eq!(negotiate(None), Some(MediaType::Json));
        assert_eq!(
            accept("application/graphql-response+json"),
            Some(MediaType::GraphqlResponseJson)
        );
        assert_eq!(accept("application/json"), Some(MediaType::Json));
        assert_eq!(accept("*/*"), Some(MediaType::Json));
        assert_eq!(
            accept("application/json;q=0.5, application/graphql-response+json"),
            Some(MediaType::GraphqlResponseJson)
        );
        assert_eq!(
            accept("application/graphql-response+json;q=0.1, application/json"),
            Some(MediaType::Json)
        );
        assert_eq!(accept("text/html"), None);
        assert_eq!(accept("application/json;q=0"), None);
    }

    #[test]
    fn params_reject_wrong_types() {
        let parse = |v: Value| parse_params(v.as_object().unwrap().clone());
        assert!(parse(json!({ "query": "{ viewer { name } }" })).is_ok());
        assert!(parse(json!({ "query": 1 })).is_err());
        assert!(parse(json!({})).is_err());
        assert!(parse(json!({ "query": "{a}", "variables": "x" })).is_err());
        assert!(parse(
            json!({ "query": "{a}", "variables": null, "operationName": null, "extensions": null })
        )
        .is_ok());
        assert!(parse(json!({ "query": "{a}", "extensions": [1] })).is_err());
    }

    #[test]
    fn get_parameters_decode_json_variables() {
        let params =
            parse_query_string("query=%7Bviewer%7Bname%7D%7D&variables=%7B%22a%22%3A1%7D").unwrap();
        assert_eq!(params.query, "{viewer{name}}");
        assert_eq!(params.variables.unwrap()["a"], json!(1));
        assert!(parse_query_string("query=x&variables=notjson").is_err());
    }
}
