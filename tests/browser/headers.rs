//! The pages and their assets over plain HTTP: content types, caching and the content
//! security policy. These need no browser.

use partner_gateway::{app::App, config::Settings};
use reqwest::{header, StatusCode};

/// Starts a gateway on an empty SQLite database, with extra settings.
async fn start(extra: &[&str]) -> (App, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let database_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("pages.db").display()
    );
    let mut args = vec![
        "test",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        &database_url,
    ];
    args.extend_from_slice(extra);
    let settings = Settings::try_from_args(args).expect("valid test settings");
    let state = App::build_state(settings).await.expect("gateway state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("loopback port");
    let app = App::start_with(listener, state)
        .await
        .expect("gateway starts");
    (app, dir)
}

/// Collects the `src` and `href` values of a page's `<script>` and `<link>` elements.
fn linked_assets(page: &str) -> Vec<String> {
    let mut links = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        let mut rest = page;
        while let Some(start) = rest.find(attribute) {
            let after = &rest[start + attribute.len()..];
            let end = after.find('"').expect("closed attribute");
            links.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    links
}

fn header_of(response: &reqwest::Response, name: header::HeaderName) -> String {
    response
        .headers()
        .get(&name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .to_owned()
}

const SELF_ONLY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
    connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

#[tokio::test]
async fn admin_page_and_assets_allow_only_self() {
    let (app, _dir) = start(&[]).await;
    let base = format!("http://{}", app.addr());
    let client = reqwest::Client::new();

    let response = client.get(format!("{base}/admin")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_of(&response, header::CONTENT_SECURITY_POLICY),
        SELF_ONLY
    );
    assert_eq!(header_of(&response, header::X_FRAME_OPTIONS), "DENY");
    assert_eq!(
        header_of(&response, header::X_CONTENT_TYPE_OPTIONS),
        "nosniff"
    );
    assert!(header_of(&response, header::CONTENT_TYPE).starts_with("text/html"));
    let page = response.text().await.unwrap();
    assert!(!page.contains("<script>"), "inline script in /admin");
    assert!(!page.contains("<style"), "inline style in /admin");
    assert!(!page.contains(" style="), "style attribute in /admin");

    let links = linked_assets(&page);
    assert_eq!(
        links.len(),
        6,
        "the console's stylesheet and five scripts: {links:?}"
    );
    for link in links {
        assert!(link.starts_with("/assets/admin/"), "{link}");
        let response = client.get(format!("{base}{link}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{link}");
        assert_eq!(
            header_of(&response, header::CACHE_CONTROL),
            "public, max-age=31536000, immutable",
            "{link}"
        );
        assert_eq!(
            header_of(&response, header::CONTENT_SECURITY_POLICY),
            SELF_ONLY
        );
        let content_type = header_of(&response, header::CONTENT_TYPE);
        let expected = if link.contains(".css?") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(content_type.starts_with(expected), "{link}: {content_type}");
        let source = response.text().await.unwrap();
        assert!(!source.contains("innerHTML"), "{link} writes HTML");
        assert!(!source.contains("http://"), "{link} names a host");
        assert!(!source.contains("https://"), "{link} names a host");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn assets_revalidate_without_their_hash() {
    let (app, _dir) = start(&[]).await;
    let base = format!("http://{}", app.addr());
    let client = reqwest::Client::new();

    let response = client
        .get(format!("{base}/assets/admin/main.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_of(&response, header::CACHE_CONTROL), "no-cache");
    let etag = header_of(&response, header::ETAG);

    let revalidated = client
        .get(format!("{base}/assets/admin/main.js?v=stale"))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header_of(&revalidated, header::CACHE_CONTROL), "no-cache");

    let missing = client
        .get(format!("{base}/assets/admin/missing.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    app.shutdown().await;
}

#[tokio::test]
async fn graphiql_page_loads_only_its_own_files() {
    let (app, _dir) = start(&[]).await;
    let base = format!("http://{}", app.addr());
    let client = reqwest::Client::new();

    let response = client.get(format!("{base}/graphiql")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let csp = header_of(&response, header::CONTENT_SECURITY_POLICY);
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(!csp.contains("http"), "{csp}");
    let page = response.text().await.unwrap();
    assert!(!page.contains("unpkg"), "a CDN in /graphiql");
    assert!(!page.contains("cdn"), "a CDN in /graphiql");

    let links = linked_assets(&page);
    for name in [
        "vendor/react.production.min.js",
        "vendor/react-dom.production.min.js",
        "vendor/graphiql.min.js",
        "vendor/graphiql.min.css",
        "graphiql/start.js",
    ] {
        let link = links
            .iter()
            .find(|link| link.starts_with(&format!("/assets/{name}?v=")))
            .unwrap_or_else(|| panic!("/graphiql does not link {name}: {links:?}"));
        let response = client.get(format!("{base}{link}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{link}");
        assert!(
            header_of(&response, header::CACHE_CONTROL).contains("immutable"),
            "{link}"
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn graphiql_off_hides_page_and_files() {
    let (app, _dir) = start(&["--graphiql", "false"]).await;
    let base = format!("http://{}", app.addr());
    let client = reqwest::Client::new();

    for path in [
        "/graphiql",
        "/assets/vendor/graphiql.min.js",
        "/assets/vendor/react.production.min.js",
        "/assets/graphiql/start.js",
    ] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    for path in ["/admin", "/assets/admin/main.js"] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    app.shutdown().await;
}
