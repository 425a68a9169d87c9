//! Response bodies and headers exactly as CKB's PHP code sends them.
//!
//! CKB responds to every handled request with HTTP 200 and puts the outcome in
//! the body's `code`. Bodies are PHP `json_encode` output with
//! `JSON_UNESCAPED_UNICODE`: Chinese text stays raw UTF-8, but `/` is
//! escaped as `\/`. Uncaught PHP errors reach ThinkPHP's default handler,
//! which responds with an HTML error page instead.

use axum::{
    body::Body,
    extract::Request,
    http::{
        header::{self, HeaderValue},
        Method, StatusCode,
    },
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::Value;

/// The Content-Type ThinkPHP's `json()` response sends.
const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// The message ThinkPHP 5.1 shows on its error page when `app_debug` is off
/// (the `error_message` setting in its default `config/app.php`).
const THINKPHP_ERROR_MESSAGE: &str = "页面错误！请稍后再试～";

/// Encodes a value like PHP's `json_encode($value, JSON_UNESCAPED_UNICODE)`.
///
/// PHP escapes `/` as `\/` and still escapes U+2028 and U+2029 unless
/// `JSON_UNESCAPED_LINE_TERMINATORS` is set, which CKB does not set.
pub(crate) fn php_json_encode(value: &impl Serialize) -> String {
    let encoded = serde_json::to_string(value).expect("simulator responses are valid JSON values");
    // '/', U+2028 and U+2029 can only appear inside JSON strings, so a plain
    // replacement cannot touch the JSON structure.
    encoded
        .replace('/', "\\/")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Sends a value as ThinkPHP's `json()` does: HTTP 200 and PHP encoding.
pub(crate) fn php_json(value: &impl Serialize) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, JSON_CONTENT_TYPE)],
        php_json_encode(value),
    )
        .into_response()
}

/// The `{"code","msg","data"}` envelope of `ResponseHelper` and the JWT
/// middleware.
#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    code: i64,
    msg: &'a str,
    data: T,
}

/// Sends `ResponseHelper::success($data, $msg)`: `{"code":200,"msg":M,"data":D}`.
pub(crate) fn success(msg: &str, data: impl Serialize) -> Response {
    php_json(&Envelope {
        code: 200,
        msg,
        data,
    })
}

/// Sends `ResponseHelper::error($msg, $code)`: `{"code":C,"msg":M,"data":[]}`,
/// where `data` is an empty JSON array.
pub(crate) fn error(code: i64, msg: &str) -> Response {
    php_json(&Envelope {
        code,
        msg,
        data: Value::Array(Vec::new()),
    })
}

/// Sends the JWT middleware's rejection: `{"code":401,"msg":M,"data":null}`.
pub(crate) fn unauthorized(msg: &str) -> Response {
    php_json(&Envelope {
        code: 401,
        msg,
        data: Value::Null,
    })
}

/// Renders ThinkPHP 5.1's exception page as it looks with `app_debug` off,
/// for uncaught PHP errors (HTTP 500) and unknown routes (HTTP 404).
pub(crate) fn thinkphp_error_page(status: StatusCode) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html>\n<head>\n    <meta charset=\"UTF-8\">\n    \
         <title>系统发生错误</title>\n    <meta name=\"robots\" content=\"noindex,nofollow\" />\n\
         </head>\n<body>\n    <div class=\"exception\">\n        \
         <div class=\"info\"><h1>{THINKPHP_ERROR_MESSAGE}</h1></div>\n    </div>\n    \
         <div class=\"copyright\">ThinkPHP <span>V5.1.41 LTS</span></div>\n</body>\n</html>\n"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

/// Responds like ThinkPHP to a route miss. Its module dispatch finds no
/// module `v1` and raises a 404 HttpException, which renders the error page.
pub(crate) async fn route_not_found() -> Response {
    thinkphp_error_page(StatusCode::NOT_FOUND)
}

/// Adds the CORS headers that CKB's `route/route.php` sets on every
/// response, and responds to OPTIONS with HTTP 200 and an empty body.
pub(crate) async fn cors(request: Request, next: Next) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .cloned()
        .unwrap_or(HeaderValue::from_static("*"));

    let mut response = if request.method() == Method::OPTIONS {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            Body::empty(),
        )
            .into_response()
    } else {
        next.run(request).await
    };

    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS, PATCH"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "Cookie, Authorization, Content-Type, If-Match, If-Modified-Since, \
             If-None-Match, If-Unmodified-Since, X-Requested-With, X-Token, X-Api-Token",
        ),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("1728000"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn php_encoding_escapes_slash_only() {
        let encoded = php_json_encode(&json!({"data": "a/b 张三 \u{2028}"}));
        assert_eq!(encoded, r#"{"data":"a\/b 张三 \u2028"}"#);
    }
}
