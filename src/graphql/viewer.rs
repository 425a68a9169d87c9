//! `viewer`: who the caller is.

use async_graphql::{Context, Object, SimpleObject};

use super::context::caller;
use crate::{domain::Role, error::Result};

/// The token that made the request.
#[derive(SimpleObject)]
pub struct Viewer {
    /// The token's name.
    pub name: String,
    pub role: Role,
}

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// The caller's token name and role; any valid token may ask.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Viewer> {
        let caller = caller(ctx)?;
        Ok(Viewer {
            name: caller.name.clone(),
            role: caller.role,
        })
    }
}
