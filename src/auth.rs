//! API tokens, roles and the caller's identity.
//!
//! A token is 32 random bytes, shown once at creation as `pgw_` followed by base64url. Only its
//! SHA-256 is stored, so a copy of the database gives no usable token. A request looks the token
//! up again once the cached check is older than `PGW_TOKEN_CACHE_MS` (100 ms by default), so a
//! revocation takes effect within that time on every replica.

use async_graphql::{Context, Guard};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::Utc;
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    db::entities::api_token,
    domain::Role,
    error::{GatewayError, Result},
};

const TOKEN_PREFIX: &str = "pgw_";

/// The authenticated caller of one request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub token_id: i64,
    /// The token's name, which is safe to log.
    pub name: String,
    pub role: Role,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Fails with FORBIDDEN unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(forbidden_for(self.role, roles))
        }
    }
}

fn forbidden_for(role: Role, roles: &[Role]) -> GatewayError {
    let allowed: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
    GatewayError::forbidden(format!(
        "this needs a token with role {}; the token's role is {}",
        allowed.join(" or "),
        role.as_str()
    ))
}

/// Returns the caller of the current GraphQL request.
pub fn caller<'a>(ctx: &'a Context<'_>) -> Result<&'a Caller> {
    ctx.data_opt::<Caller>()
        .ok_or_else(|| GatewayError::Unauthenticated("missing bearer token".into()))
}

/// A field or operation guard that lets only the given roles through.
pub struct RoleGuard(pub &'static [Role]);

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let caller = caller(ctx)?;
        caller.require(self.0)?;
        Ok(())
    }
}

pub const ADMIN: &[Role] = &[Role::Admin];
pub const ADMIN_SERVICE: &[Role] = &[Role::Admin, Role::Service];
pub const ADMIN_INTEGRATOR: &[Role] = &[Role::Admin, Role::Integrator];
pub const ANY_ROLE: &[Role] = &[Role::Admin, Role::Service, Role::Integrator];

/// Generates a new random token.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 of a token, as lowercase hex.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Extracts the token from an `Authorization` header value.
pub fn bearer_token(header: Option<&str>) -> Result<&str> {
    let header = header.ok_or_else(|| {
        GatewayError::Unauthenticated(
            "missing Authorization header; send `Authorization: Bearer TOKEN` (create a token with `partner-gateway token create`)".into(),
        )
    })?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            GatewayError::Unauthenticated(
                "invalid Authorization header; expected `Bearer TOKEN`".into(),
            )
        })?;
    Ok(token)
}

/// Looks up the token of a request and returns its caller.
pub async fn authenticate(db: &impl ConnectionTrait, token: &str) -> Result<Caller> {
    let hash = hash_token(token);
    let row = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash.clone()))
        .one(db)
        .await?;
    let Some(row) = row else {
        return Err(unknown_token());
    };
    // The lookup by hash already selected the row; comparing again in constant time keeps the
    // check independent of how the database compares strings.
    if !bool::from(row.token_hash.as_bytes().ct_eq(hash.as_bytes())) {
        return Err(unknown_token());
    }
    if row.revoked_at.is_some() {
        return Err(GatewayError::Unauthenticated(
            "this token was revoked; ask an admin for a new one".into(),
        ));
    }
    Ok(Caller {
        token_id: row.id,
        name: row.name,
        role: row.role,
    })
}

fn unknown_token() -> GatewayError {
    GatewayError::Unauthenticated("unknown token; check the Authorization header".into())
}

/// Recently verified tokens, so that a burst of requests does not look up the same token in
/// the database every time.
///
/// A cached token keeps working for at most the cache's lifetime after it is revoked, on every
/// replica; a lifetime of zero turns the cache off and makes a revocation take effect with the
/// next request.
pub struct TokenCache {
    lifetime: std::time::Duration,
    entries: std::sync::Mutex<std::collections::HashMap<String, (Caller, std::time::Instant)>>,
}

/// Entries kept at most; the cache is emptied when it would grow past this.
const TOKEN_CACHE_CAPACITY: usize = 10_000;

impl TokenCache {
    pub fn new(lifetime: std::time::Duration) -> Self {
        TokenCache {
            lifetime,
            entries: Default::default(),
        }
    }

    /// The caller of `token`, from the cache while fresh, otherwise from the database.
    pub async fn authenticate(&self, db: &impl ConnectionTrait, token: &str) -> Result<Caller> {
        if self.lifetime.is_zero() {
            return authenticate(db, token).await;
        }
        let hash = hash_token(token);
        {
            let entries = self
                .entries
                .lock()
                .expect("the token cache lock is never held across a panic");
            if let Some((caller, checked)) = entries.get(&hash) {
                if checked.elapsed() < self.lifetime {
                    return Ok(caller.clone());
                }
            }
        }
        let caller = authenticate(db, token).await?;
        let mut entries = self
            .entries
            .lock()
            .expect("the token cache lock is never held across a panic");
        if entries.len() >= TOKEN_CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(hash, (caller.clone(), std::time::Instant::now()));
        Ok(caller)
    }
}

/// A token as listed by `partner-gateway token list`; it never includes the secret.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub role: &'static str,
    pub created_at: chrono::DateTime<Utc>,
    pub revoked_at: Option<chrono::DateTime<Utc>>,
}

/// Creates a token and returns it with the secret, which is never shown again.
pub async fn create_token(
    db: &impl ConnectionTrait,
    role: Role,
    name: &str,
) -> Result<(TokenInfo, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(GatewayError::bad_input(
            "name",
            "token name must be 1 to 64 characters without control characters; it identifies the token in logs",
        ));
    }
    let token = generate_token();
    let now = crate::db::now();
    let row = api_token::ActiveModel {
        name: Set(name.to_owned()),
        role: Set(role),
        token_hash: Set(hash_token(&token)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((token_info(row), token))
}

pub async fn list_tokens(db: &impl ConnectionTrait) -> Result<Vec<TokenInfo>> {
    let rows = api_token::Entity::find()
        .order_by_asc(api_token::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(token_info).collect())
}

/// Revokes the token with this id. Gateways stop accepting it once their cached check of it
/// expires (`PGW_TOKEN_CACHE_MS`).
pub async fn revoke_token(db: &impl ConnectionTrait, id: i64) -> Result<TokenInfo> {
    let row = api_token::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| GatewayError::not_found("token", id))?;
    if row.revoked_at.is_some() {
        return Ok(token_info(row));
    }
    let mut active: api_token::ActiveModel = row.into();
    active.revoked_at = Set(Some(crate::db::now()));
    let row = active.update(db).await?;
    Ok(token_info(row))
}

fn token_info(row: api_token::Model) -> TokenInfo {
    TokenInfo {
        id: row.id,
        name: row.name,
        role: row.role.as_str(),
        created_at: row.created_at,
        revoked_at: row.revoked_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_distinct_and_prefixed() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
    }

    #[test]
    fn bearer_token_rejects_other_schemes() {
        assert!(bearer_token(None).is_err());
        assert!(bearer_token(Some("Basic abc")).is_err());
        assert!(bearer_token(Some("Bearer ")).is_err());
        assert_eq!(bearer_token(Some("Bearer pgw_x")).ok(), Some("pgw_x"));
    }
}
