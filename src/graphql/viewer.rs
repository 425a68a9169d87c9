//! `viewer`: who the caller is, and the settings a front end needs to show the data.

use async_graphql::{Context, Object, SimpleObject};

use super::context::{caller, state};
use crate::{domain::Role, error::Result};

/// The token that made the request, and how the gateway counts days.
#[derive(SimpleObject)]
pub struct Viewer {
    /// The token's name.
    pub name: String,
    pub role: Role,
    /// Offset in hours east of UTC of the gateway's calendar days (`PGW_UTC_OFFSET_HOURS`, 8 for
    /// Beijing time by default). The overview's TODAY starts at midnight at this offset, so a
    /// front end that shows times at this offset matches the overview's windows.
    pub utc_offset_hours: i32,
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
            utc_offset_hours: state(ctx)?.settings.telemetry.utc_offset_hours,
        })
    }
}
