//! The HTML pages: the GraphiQL playground at /graphiql and the find-partner console at /admin.
//!
//! Both are rendered once from templates embedded in the binary and load their scripts and
//! styles from /assets/ only, so they work on a machine with no internet access.

use std::sync::LazyLock;

use axum::{
    http::{header, HeaderValue},
    response::{Html, IntoResponse, Response},
};
use serde_json::json;

use super::assets::{self, SELF_ONLY_CSP};

/// The example tab GraphiQL opens with: the admin home screen's query.
pub const OVERVIEW_QUERY: &str = include_str!("../../web/graphiql/overview.graphql");

/// GraphiQL's policy. Scripts come from the gateway only. Fonts and images may also be `data:`
/// URLs, because GraphiQL's stylesheet embeds its fonts and icons that way.
///
/// The one style hash allows the `<style>` element that GraphiQL 3.8.3's dialogs, such as the
/// settings dialog, add to lock the page's scrolling. The hash is of its text when the page has
/// no scrollbar, which is the case on this full-window page.
/// NOTE: in a window so small that the page scrolls, the element's text differs and the browser
/// blocks it. The dialog then opens without the scroll lock, and nothing else changes.
const GRAPHIQL_CSP: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'sha256-Y/huXlwoYkVyQlxwSVcCi1RCDGDCSVBzDt0hYP9qlTc='; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

static GRAPHIQL_PAGE: LazyLock<String> = LazyLock::new(|| {
    let authorization = r#"{"Authorization": "Bearer "}"#;
    let config = json!({
        "endpoint": "/graphql",
        "headers": authorization,
        "tabs": [{ "query": OVERVIEW_QUERY, "headers": authorization }],
    });
    assets::render(
        &include_str!("../../web/graphiql/index.html")
            .replace("{{config}}", &script_safe_json(&config)),
    )
});

static ADMIN_PAGE: LazyLock<String> =
    LazyLock::new(|| assets::render(include_str!("../../web/admin/index.html")));

/// JSON that can sit inside a `<script>` element: `<` is escaped, so no `</script>` or
/// `<!--` in the data can end the element.
fn script_safe_json(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

fn page(body: &'static str, csp: &'static str) -> Response {
    let mut response = Html(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /graphiql`. The page itself needs no token; the admin pastes one into the headers
/// pane, which starts as `{"Authorization": "Bearer "}`.
pub async fn graphiql() -> Response {
    page(GRAPHIQL_PAGE.as_str(), GRAPHIQL_CSP)
}

/// `GET /admin`, the find-partner console. The page needs no token; its scripts ask for one
/// and send it with every GraphQL request.
pub async fn admin() -> Response {
    page(ADMIN_PAGE.as_str(), SELF_ONLY_CSP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_link_only_hashed_assets() {
        for page in [GRAPHIQL_PAGE.as_str(), ADMIN_PAGE.as_str()] {
            assert!(!page.contains("{{"), "unrendered placeholder in {page}");
            assert!(!page.contains("http://"), "absolute URL in {page}");
            assert!(!page.contains("https://"), "absolute URL in {page}");
            assert!(page.contains("/assets/"), "no asset linked in {page}");
        }
    }

    #[test]
    fn graphiql_config_cannot_close_its_script() {
        let json = script_safe_json(&json!({ "query": "</script><script>alert(1)" }));
        assert!(!json.contains('<'));
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["query"], "</script><script>alert(1)");
    }

    #[test]
    fn graphiql_page_starts_with_the_overview_tab() {
        assert!(GRAPHIQL_PAGE.contains("findPartnerOverview"));
        assert!(GRAPHIQL_PAGE.contains(r#"\"Authorization\": \"Bearer \""#));
    }
}
