//! The HTTP surface: /graphql, /graphiql, /admin, /assets/, /healthz and /readyz, with request
//! ids, the request log, security headers and CORS around them.

pub mod assets;
pub mod document;
pub mod graphql;
pub mod health;
pub mod middleware;
pub mod pages;
pub mod rate_limit;

use std::sync::Arc;

use axum::{
    http::{header, HeaderName, HeaderValue, Method, StatusCode},
    response::IntoResponse,
    routing::get,
    Json, Router,
};
use serde_json::json;
use tower_http::cors::{AllowOrigin, CorsLayer};

use self::{document::DocumentCache, graphql::GraphqlEndpoint, rate_limit::RateLimiter};
use crate::{graphql::schema_builder, state::AppState};

/// Parsed documents kept per process. The console sends about a dozen distinct documents and
/// the mini-program back end about as many, so this leaves room for integrators' own.
const PARSED_DOCUMENTS: usize = 256;

/// Builds the router with every route and layer.
pub fn router(state: AppState) -> Router {
    let limits = &state.settings.limits;
    let endpoint = Arc::new(GraphqlEndpoint {
        admin_schema: schema_builder(limits).data(state.clone()).finish(),
        public_schema: schema_builder(limits)
            .data(state.clone())
            .disable_suggestions()
            .finish(),
        limiter: RateLimiter::new(
            limits.rate_reads_per_minute,
            limits.rate_writes_per_minute,
            limits.rate_leads_per_minute,
        ),
        tokens: crate::auth::TokenCache::new(state.settings.http.token_cache()),
        documents: DocumentCache::new(PARSED_DOCUMENTS),
        state: state.clone(),
    });

    let graphql_routes = Router::new()
        .route(
            "/graphql",
            get(graphql::get)
                .post(graphql::post)
                .fallback(graphql::method_not_allowed),
        )
        .with_state(endpoint);

    let mut router = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .with_state(state.clone())
        .merge(graphql_routes);
    let asset_groups: &'static [assets::Group] = if state.settings.http.graphiql {
        router = router.route("/graphiql", get(pages::graphiql));
        &[assets::Group::Admin, assets::Group::Graphiql]
    } else {
        &[assets::Group::Admin]
    };
    router = router
        .route("/admin", get(pages::admin))
        .route("/assets/{*name}", get(assets::get).with_state(asset_groups));

    router
        .fallback(not_found)
        .layer(cors(&state.settings.http.cors_origins))
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state.metrics),
            middleware::trace_request,
        ))
}

fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter(|origin| !origin.is_empty())
        .filter_map(|origin| HeaderValue::from_str(origin.trim_end_matches('/')).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
        .max_age(std::time::Duration::from_secs(600))
}

async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Json(
            json!({ "errors": [{ "message": "no such path; the API is at /graphql", "extensions": { "code": "NOT_FOUND" } }] }),
        ),
    )
}
