//! The GraphiQL playground page.

use axum::{
    http::{header, HeaderValue},
    response::{Html, IntoResponse, Response},
};

/// `GET /graphiql`. The page itself needs no token; the admin pastes one into the headers
/// pane, which starts with an `Authorization` header to fill in.
pub async fn graphiql() -> Response {
    let page = async_graphql::http::GraphiQLSource::build()
        .endpoint("/graphql")
        .title("partner-gateway · GraphiQL")
        .header("Authorization", "Bearer PASTE_TOKEN_HERE")
        .finish();
    let mut response = Html(page).into_response();
    // NOTE: this page loads GraphiQL's scripts and styles from unpkg.com, a public CDN.
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self' 'unsafe-inline' https://unpkg.com; style-src 'self' 'unsafe-inline' https://unpkg.com; img-src 'self' data: https://unpkg.com; font-src 'self' data: https://unpkg.com; connect-src 'self'; frame-ancestors 'none'",
        ),
    );
    response
}
