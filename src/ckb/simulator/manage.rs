//! Login and JWT authentication for CKB's management API.
//!
//! `POST /v1/auth/login` validates its fields with ThinkPHP's validator,
//! looks the user up by phone or account, compares `md5(password)` and
//! issues an HS256 JWT whose payload is the user row plus `exp` and `iat`.
//! Protected routes read `Authorization: Bearer <token>` and reject a
//! request with one of two 401 bodies, both with HTTP 200 and `"data":null`.

use std::sync::Arc;

use axum::{
    extract::{ConnectInfo, State},
    http::{header::AUTHORIZATION, HeaderMap, StatusCode},
    response::Response,
};
use base64::{
    alphabet,
    engine::{
        general_purpose::URL_SAFE_NO_PAD, DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig,
    },
    Engine,
};
use chrono::{DateTime, FixedOffset};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use super::{
    faults::ConnectionInfo,
    params::{is_empty, loosely_equals_numeric_string, PhpParams},
    response::{self, php_json_encode},
    CkbVersion, SimState,
};
use crate::ckb::sign::{md5_hex, php_string};

/// The 401 message for a missing token or a header without "Bearer ".
pub(crate) const MISSING_TOKEN: &str = "未授权访问，缺少有效的身份凭证";
/// The 401 message for a bad signature or an expired token.
pub(crate) const INVALID_TOKEN: &str = "授权已过期或无效";

/// Lifetime of a token from `POST /v1/auth/refresh` (CKB's `TOKEN_EXPIRE`).
const REFRESHED_TOKEN_LIFETIME_SECS: i64 = 365 * 86_400;

/// Asia/Shanghai, the time zone CKB formats dates in (UTC+8, no DST).
const SHANGHAI_OFFSET_SECS: i32 = 8 * 3600;

/// Decodes base64url with or without padding, like PHP's lenient
/// `base64_decode` after CKB restores the padding.
const LENIENT_BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The `users` row as CKB returns it at login and puts in the JWT, without
/// the hidden password and delete columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Member {
    pub id: i64,
    pub account: String,
    pub username: String,
    pub phone: String,
    pub avatar: String,
    pub is_admin: i64,
    pub company_id: i64,
    pub type_id: i64,
    pub status: i64,
    #[serde(rename = "s2_accountId")]
    pub s2_account_id: i64,
    pub balance: i64,
    pub tokens: i64,
    pub create_time: String,
    pub update_time: String,
    pub last_login_ip: String,
    pub last_login_time: i64,
}

/// A JWT payload: the member fields followed by `exp` and `iat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TokenClaims {
    #[serde(flatten)]
    pub member: Member,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
}

/// Formats unix seconds as `Y-m-d H:i:s` in Asia/Shanghai, like PHP's
/// `date()` with CKB's default time zone.
pub(crate) fn format_datetime(unix: i64) -> String {
    format_time(unix, "%Y-%m-%d %H:%M:%S")
}

/// Formats unix seconds in Asia/Shanghai with a chrono format string.
pub(crate) fn format_time(unix: i64, format: &str) -> String {
    let offset = FixedOffset::east_opt(SHANGHAI_OFFSET_SECS).expect("UTC+8 is a valid offset");
    DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .with_timezone(&offset)
        .format(format)
        .to_string()
}

/// Signs `header.payload` with HMAC-SHA256 and returns it base64url-encoded.
fn token_signature(signing_input: &str, secret: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(signing_input.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Builds an HS256 JWT like CKB's `JwtUtil::createToken`.
pub(crate) fn encode_token(claims: &TokenClaims, secret: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(php_json_encode(&json!({"alg": "HS256", "typ": "JWT"})));
    let payload = URL_SAFE_NO_PAD.encode(php_json_encode(claims));
    let signature = token_signature(&format!("{header}.{payload}"), secret);
    format!("{header}.{payload}.{signature}")
}

/// Checks a JWT like CKB's `JwtUtil::verifyToken`: three parts, a matching
/// signature, and `exp` not in the past when present. `alg` is never read.
pub(crate) fn verify_token(token: &str, secret: &[u8], now: i64) -> Option<TokenClaims> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return None;
    };
    if token_signature(&format!("{header}.{payload}"), secret) != *signature {
        return None;
    }

    let payload = LENIENT_BASE64URL.decode(payload).ok()?;
    let claims: TokenClaims = serde_json::from_slice(&payload).ok()?;
    match claims.exp {
        Some(exp) if exp < now => None,
        _ => Some(claims),
    }
}

/// Runs CKB's JWT middleware: returns the token's claims, or the message
/// of the 401 response to send with [`response::unauthorized`].
pub(crate) fn authenticate(
    state: &SimState,
    headers: &HeaderMap,
) -> Result<TokenClaims, &'static str> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.as_bytes().strip_prefix(b"Bearer "))
        .map(String::from_utf8_lossy);

    // PHP's `!$token` also treats "0" as missing.
    let token = match token {
        Some(token) if !token.is_empty() && token != "0" => token,
        _ => return Err(MISSING_TOKEN),
    };
    verify_token(&token, &state.jwt_secret(), state.now()).ok_or(INVALID_TOKEN)
}

/// Applies the login validation rules in ThinkPHP's order and returns the
/// first failing message. The rules are `account` require, `password`
/// require and length 6-64, then `typeId` require and in 1,2.
fn validate_login(params: &Map<String, Value>) -> Result<(), &'static str> {
    // ThinkPHP's `require`: `!empty($value) || '0' == $value`.
    let present = |value: Option<&Value>| {
        !is_empty(value) || value.is_some_and(|value| loosely_equals_numeric_string(value, 0))
    };

    if !present(params.get("account")) {
        return Err("账号不能为空");
    }

    let password = params.get("password");
    if !present(password) {
        return Err("密码不能为空");
    }
    // `length` counts array elements, otherwise mb_strlen of the text.
    let length = match password {
        Some(Value::Array(items)) => items.len(),
        Some(Value::Object(map)) => map.len(),
        other => other
            .and_then(php_string)
            .unwrap_or_default()
            .chars()
            .count(),
    };
    if !(6..=64).contains(&length) {
        return Err("密码长度必须在6-64个字符之间");
    }

    let type_id = params.get("typeId");
    if !present(type_id) {
        return Err("用户类型不能为空");
    }
    let allowed = type_id.is_some_and(|value| {
        loosely_equals_numeric_string(value, 1) || loosely_equals_numeric_string(value, 2)
    });
    if !allowed {
        return Err("用户类型错误");
    }
    Ok(())
}

/// The `data` of a login response from the current code.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CurrentLoginData {
    member: Member,
    token: String,
    #[serde(rename = "token_expired")]
    token_expired: i64,
    device_total: i64,
}

/// The `data` of a login response from the 2025 code, without `deviceTotal`.
#[derive(Serialize)]
struct LegacyLoginData {
    member: Member,
    token: String,
    token_expired: i64,
}

/// Handles `POST /v1/auth/login` with `account`, `password` and `typeId`.
pub(crate) async fn login(
    State(state): State<Arc<SimState>>,
    ConnectInfo(connection): ConnectInfo<ConnectionInfo>,
    PhpParams(params): PhpParams,
) -> Response {
    if let Err(message) = validate_login(&params) {
        return response::error(400, message);
    }

    // doLogin(string $account, string $password, int $typeId) raises a
    // TypeError for an array, which no handler catches.
    let account = params.get("account").and_then(php_string);
    let password = params.get("password").and_then(php_string);
    let (Some(account), Some(password)) = (account, password) else {
        return response::thinkphp_error_page(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let type_id = match params.get("typeId") {
        Some(value) if loosely_equals_numeric_string(value, 1) => 1,
        _ => 2,
    };

    let user = &state.account;
    let found = user.enabled
        && user.type_id == type_id
        && (user.phone == account || user.account == account);
    if !found {
        tracing::debug!(
            type_id,
            "CKB simulator login for an unknown or disabled user"
        );
        return match state.version {
            CkbVersion::Current => response::error(403, "用户不存在或已禁用"),
            // The 2025 code returns null from a method declared to return
            // a User, and the TypeError reaches ThinkPHP's error page.
            CkbVersion::Legacy => response::thinkphp_error_page(StatusCode::INTERNAL_SERVER_ERROR),
        };
    }
    if md5_hex(password.as_bytes()) != md5_hex(user.password.as_bytes()) {
        return response::error(403, "账号或密码错误");
    }

    let now = state.now();
    let member = Member {
        id: user.id,
        account: user.account.clone(),
        username: user.username.clone(),
        phone: user.phone.clone(),
        avatar: String::new(),
        is_admin: i64::from(user.is_admin),
        company_id: user.company_id,
        type_id: user.type_id,
        status: 1,
        s2_account_id: 0,
        balance: 0,
        tokens: 0,
        create_time: format_datetime(now),
        update_time: format_datetime(now),
        last_login_ip: connection.peer.ip().to_string(),
        last_login_time: now,
    };
    let token_expired = now + state.token_lifetime.as_secs() as i64;
    let claims = TokenClaims {
        member: member.clone(),
        exp: Some(token_expired),
        iat: Some(now),
    };
    let token = encode_token(&claims, &state.jwt_secret());
    tracing::debug!(user_id = user.id, "CKB simulator issued a token");

    match state.version {
        CkbVersion::Current => response::success(
            "登录成功",
            CurrentLoginData {
                member,
                token,
                token_expired,
                device_total: user.device_total,
            },
        ),
        CkbVersion::Legacy => response::success(
            "登录成功",
            LegacyLoginData {
                member,
                token,
                token_expired,
            },
        ),
    }
}

/// Handles `GET /v1/auth/info`: the token payload without `exp` and `iat`.
pub(crate) async fn auth_info(State(state): State<Arc<SimState>>, headers: HeaderMap) -> Response {
    match authenticate(&state, &headers) {
        Ok(claims) => response::success("success", claims.member),
        Err(message) => response::unauthorized(message),
    }
}

/// Handles `POST /v1/auth/refresh`: a new token that lives 365 days.
pub(crate) async fn refresh_token(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
) -> Response {
    let claims = match authenticate(&state, &headers) {
        Ok(claims) => claims,
        Err(message) => return response::unauthorized(message),
    };

    #[derive(Serialize)]
    struct RefreshData {
        token: String,
        token_expired: i64,
    }

    let now = state.now();
    let token_expired = now + REFRESHED_TOKEN_LIFETIME_SECS;
    let refreshed = TokenClaims {
        member: claims.member,
        exp: Some(token_expired),
        iat: Some(now),
    };
    let token = encode_token(&refreshed, &state.jwt_secret());
    response::success(
        "刷新成功",
        RefreshData {
            token,
            token_expired,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: Option<i64>) -> TokenClaims {
        TokenClaims {
            member: Member {
                id: 1,
                account: "a/b".to_owned(),
                username: "演示".to_owned(),
                phone: "1".to_owned(),
                avatar: String::new(),
                is_admin: 1,
                company_id: 2,
                type_id: 1,
                status: 1,
                s2_account_id: 0,
                balance: 0,
                tokens: 0,
                create_time: String::new(),
                update_time: String::new(),
                last_login_ip: "127.0.0.1".to_owned(),
                last_login_time: 0,
            },
            exp,
            iat: Some(100),
        }
    }

    #[test]
    fn token_round_trips() {
        let token = encode_token(&claims(Some(200)), b"secret");
        assert_eq!(
            verify_token(&token, b"secret", 150),
            Some(claims(Some(200)))
        );
    }

    #[test]
    fn token_header_is_hs256() {
        let token = encode_token(&claims(None), b"secret");
        let header = token.split('.').next().unwrap();
        let decoded = URL_SAFE_NO_PAD.decode(header).unwrap();
        assert_eq!(decoded, br#"{"alg":"HS256","typ":"JWT"}"#);
    }

    #[test]
    fn token_expires_after_exp() {
        let token = encode_token(&claims(Some(200)), b"secret");
        assert!(verify_token(&token, b"secret", 200).is_some());
        assert!(verify_token(&token, b"secret", 201).is_none());
    }

    #[test]
    fn token_without_exp_never_expires() {
        let token = encode_token(&claims(None), b"secret");
        assert!(verify_token(&token, b"secret", i64::MAX).is_some());
    }

    #[test]
    fn token_with_other_secret_fails() {
        let token = encode_token(&claims(Some(200)), b"secret");
        assert!(verify_token(&token, b"other", 150).is_none());
    }

    #[test]
    fn shanghai_time_is_utc_plus_eight() {
        assert_eq!(format_datetime(0), "1970-01-01 08:00:00");
    }

    #[test]
    fn login_validation_order() {
        let cases = [
            (json!({}), Err("账号不能为空")),
            (json!({"account": "a"}), Err("密码不能为空")),
            (
                json!({"account": "a", "password": "12345"}),
                Err("密码长度必须在6-64个字符之间"),
            ),
            (
                json!({"account": "a", "password": "123456"}),
                Err("用户类型不能为空"),
            ),
            (
                json!({"account": "a", "password": "123456", "typeId": 3}),
                Err("用户类型错误"),
            ),
            (
                json!({"account": "a", "password": "123456", "typeId": "1"}),
                Ok(()),
            ),
            (
                json!({"account": "0", "password": "一二三四五六", "typeId": 2}),
                Ok(()),
            ),
        ];
        for (params, expected) in cases {
            let Value::Object(map) = &params else {
                unreachable!()
            };
            assert_eq!(validate_login(map), expected, "validating {params}");
        }
    }
}
