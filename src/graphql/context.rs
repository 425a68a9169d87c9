//! Access to the request's state from a resolver, without panics.

use async_graphql::{dataloader::DataLoader, Context};

use super::loaders::DbLoader;
use crate::{
    auth::Caller,
    error::{GatewayError, Result},
    state::AppState,
};

/// The id of the HTTP request, also sent to CKB and written to the log.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

pub fn state<'a>(ctx: &'a Context<'_>) -> Result<&'a AppState> {
    ctx.data_opt::<AppState>().ok_or_else(|| {
        GatewayError::internal(anyhow::anyhow!(
            "BUG: AppState missing from the schema data"
        ))
    })
}

pub fn loader<'a>(ctx: &'a Context<'_>) -> Result<&'a DataLoader<DbLoader>> {
    ctx.data_opt::<DataLoader<DbLoader>>().ok_or_else(|| {
        GatewayError::internal(anyhow::anyhow!(
            "BUG: DataLoader missing from the request data"
        ))
    })
}

pub fn caller<'a>(ctx: &'a Context<'_>) -> Result<&'a Caller> {
    crate::auth::caller(ctx)
}

pub fn request_id(ctx: &Context<'_>) -> Option<String> {
    ctx.data_opt::<RequestId>().map(|id| id.0.clone())
}

/// The request id and this process's delivery lease, for the leads a mutation stores.
pub fn lead_context(ctx: &Context<'_>) -> Result<crate::db::leads::LeadContext> {
    Ok(crate::db::leads::LeadContext {
        request_id: request_id(ctx),
        lease: Some(state(ctx)?.outbox.fresh_lease()),
    })
}

/// Whether personal data may be shown in full to this caller.
pub fn sees_personal_data(ctx: &Context<'_>) -> bool {
    ctx.data_opt::<Caller>().is_some_and(Caller::is_admin)
}
