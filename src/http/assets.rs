//! Static files of /graphiql and /admin, embedded in the binary and served under /assets/.
//!
//! Nothing is loaded from a CDN: GraphiQL and React are copied from the npm registry into
//! `web/vendor/` by `web/vendor.sh`, and the admin console is plain files under `web/admin/`.
//! Pages link each file as `/assets/NAME?v=HASH`, where HASH is the start of the file's
//! SHA-256. A request that carries the current hash may be cached for a year, because a changed
//! file gets a new URL. Any other request gets `no-cache` with an ETag, so an old link still
//! works and is revalidated.

use std::{collections::HashMap, sync::LazyLock};

use axum::{
    extract::{Path, RawQuery, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

/// Content security policy of the admin console and of every asset: everything from the
/// gateway itself, nothing inline, nothing from elsewhere.
pub const SELF_ONLY_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// The page a file belongs to. GraphiQL's files are served only while /graphiql is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Graphiql,
    Admin,
}

/// One embedded file.
pub struct Asset {
    /// The name under /assets/.
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
    pub group: Group,
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

macro_rules! asset {
    ($name:literal, $file:literal, $content_type:expr, $group:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $file)),
            group: $group,
        }
    };
}

/// Every file under /assets/. The licence files are served beside the code they cover.
pub static ASSETS: &[Asset] = &[
    asset!(
        "vendor/react.production.min.js",
        "vendor/react.production.min.js",
        JS,
        Group::Graphiql
    ),
    asset!(
        "vendor/react-dom.production.min.js",
        "vendor/react-dom.production.min.js",
        JS,
        Group::Graphiql
    ),
    asset!(
        "vendor/graphiql.min.js",
        "vendor/graphiql.min.js",
        JS,
        Group::Graphiql
    ),
    asset!(
        "vendor/graphiql.min.css",
        "vendor/graphiql.min.css",
        CSS,
        Group::Graphiql
    ),
    asset!(
        "vendor/LICENSE.graphiql",
        "vendor/LICENSE.graphiql",
        TEXT,
        Group::Graphiql
    ),
    asset!(
        "vendor/LICENSE.react",
        "vendor/LICENSE.react",
        TEXT,
        Group::Graphiql
    ),
    asset!(
        "vendor/LICENSE.react-dom",
        "vendor/LICENSE.react-dom",
        TEXT,
        Group::Graphiql
    ),
    asset!("vendor/VERSIONS", "vendor/VERSIONS", TEXT, Group::Graphiql),
    asset!(
        "graphiql/graphiql.css",
        "graphiql/graphiql.css",
        CSS,
        Group::Graphiql
    ),
    asset!(
        "graphiql/start.js",
        "graphiql/start.js",
        JS,
        Group::Graphiql
    ),
    asset!("admin/admin.css", "admin/admin.css", CSS, Group::Admin),
    asset!("admin/dom.js", "admin/dom.js", JS, Group::Admin),
    asset!("admin/api.js", "admin/api.js", JS, Group::Admin),
    asset!("admin/screens.js", "admin/screens.js", JS, Group::Admin),
    asset!("admin/plans.js", "admin/plans.js", JS, Group::Admin),
    asset!("admin/main.js", "admin/main.js", JS, Group::Admin),
];

/// Cache lifetime of a URL that carries the file's current hash: one year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The first 16 hex digits of each file's SHA-256, computed once.
static HASHES: LazyLock<HashMap<&'static str, String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let digest = Sha256::digest(asset.bytes);
            (asset.name, hex::encode(&digest[..8]))
        })
        .collect()
});

fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.name == name)
}

/// Returns the URL that pages use for an asset, with its hash.
///
/// Panics on an unknown name. Only a typo in a page template can cause that, and the unit tests
/// of `pages` render every template.
pub fn url(name: &str) -> String {
    let hash = HASHES
        .get(name)
        .unwrap_or_else(|| panic!("BUG: no embedded asset named {name}"));
    format!("/assets/{name}?v={hash}")
}

/// Replaces every `{{asset:NAME}}` in a page template with the asset's hashed URL.
pub fn render(template: &str) -> String {
    let mut page = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{asset:") {
        page.push_str(&rest[..start]);
        let after = &rest[start + "{{asset:".len()..];
        let end = after
            .find("}}")
            .expect("BUG: an {{asset:NAME}} placeholder is not closed");
        page.push_str(&url(&after[..end]));
        rest = &after[end + 2..];
    }
    page.push_str(rest);
    page
}

/// `GET /assets/{*name}`, serving the files of the groups in the state: GraphiQL's files only
/// while /graphiql is on.
pub async fn get(
    State(groups): State<&'static [Group]>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(asset) = find(&name).filter(|asset| groups.contains(&asset.group)) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let hash = &HASHES[asset.name];
    let etag = format!("\"{hash}\"");
    let versioned = query
        .iter()
        .flat_map(|query| form_urlencoded::parse(query.as_bytes()))
        .any(|(key, value)| key == "v" && value == hash.as_str());
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));

    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.bytes,
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if versioned { IMMUTABLE } else { "no-cache" }),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(SELF_ONLY_CSP),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_replaces_placeholders() {
        let page = render("<script src=\"{{asset:admin/main.js}}\"></script>");
        let hash = &HASHES["admin/main.js"];
        assert_eq!(
            page,
            format!("<script src=\"/assets/admin/main.js?v={hash}\"></script>")
        );
    }

    #[test]
    fn every_asset_name_is_unique() {
        let mut names: Vec<_> = ASSETS.iter().map(|asset| asset.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ASSETS.len());
    }
}
