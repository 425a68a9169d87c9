//! Request ids, the per-request log event and the security headers every response carries.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{Request, State},
    http::{header, HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};

use crate::metrics::Metrics;

/// The request id header, read from the client when valid and always sent back.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of one request, available to handlers as an extension.
#[derive(Clone, Debug)]
pub struct RequestTrace {
    pub request_id: String,
}

/// What a handler tells the request log about the request, through a response extension.
#[derive(Clone, Debug, Default)]
pub struct RequestLog {
    /// The client's operation name, for the log only.
    pub operation: Option<String>,
    /// The operation's first root field, such as `findPartnerOverview`; the schema bounds it,
    /// so it can label metrics.
    pub root_field: Option<String>,
    /// The token's name; never the token.
    pub token: Option<String>,
    pub error_codes: Vec<String>,
}

impl RequestLog {
    pub fn with_error(mut self, code: &str) -> Self {
        self.error_codes.push(code.to_owned());
        self
    }
}

/// Takes the client's `x-request-id` when it is 1 to 128 visible ASCII characters, otherwise
/// makes one, and returns it on the response.
fn request_id_of(request: &Request) -> String {
    request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Assigns the request id, runs the request inside a span that carries it, and writes one log
/// event per request with method, path, operation, status, duration, request id and token name.
pub async fn trace_request(
    State(metrics): State<Arc<Metrics>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let request_id = request_id_of(&request);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    request.extensions_mut().insert(RequestTrace {
        request_id: request_id.clone(),
    });

    let span = tracing::info_span!("request", request_id = %request_id);
    let mut response = tracing::Instrument::instrument(next.run(request), span.clone()).await;

    let log = response
        .extensions_mut()
        .remove::<RequestLog>()
        .unwrap_or_default();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    let duration_ms = elapsed * 1000.0;
    let route = route_label(&path);
    let operation = log.root_field.as_deref().unwrap_or("");
    let outcome = match (status, log.error_codes.first()) {
        (200..=299, None) => "ok".to_owned(),
        (_, Some(code)) => code.to_ascii_lowercase(),
        (status, None) => format!("http_{status}"),
    };
    metrics
        .requests
        .with_label_values(&[route, operation, &outcome])
        .inc();
    metrics
        .request_seconds
        .with_label_values(&[route, operation])
        .observe(elapsed);
    let _entered = span.enter();
    tracing::info!(
        target: "http",
        method = %method,
        path = %path,
        status,
        duration_ms = format!("{duration_ms:.2}"),
        operation = log.operation.as_deref().unwrap_or(""),
        token = log.token.as_deref().unwrap_or(""),
        error_codes = log.error_codes.join(","),
        "request"
    );
    response
}

/// A bounded label for a request path.
fn route_label(path: &str) -> &'static str {
    match path {
        "/graphql" => "graphql",
        "/graphiql" => "graphiql",
        "/healthz" => "healthz",
        "/readyz" => "readyz",
        "/metrics" => "metrics",
        p if p == "/admin" || p.starts_with("/admin/") => "admin",
        p if p.starts_with("/assets/") => "assets",
        _ => "other",
    }
}

/// Adds the security headers to every response. Pages that need a looser content security
/// policy set their own, which is kept.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
