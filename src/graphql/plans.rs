//! 存客宝计划: the CKB plans leads are sent to.

use async_graphql::{Context, InputObject, Object, ID};
use chrono::{DateTime, Utc};

use super::{context::state, privacy::mask_secret, validate};
use crate::{
    auth::{RoleGuard, ADMIN, ADMIN_SERVICE},
    db::{self, entities::ckb_plan, plans::PlanFields},
    domain::{CkbContentType, LeadOrigin},
    error::{GatewayError, Result},
};

/// A 存客宝 acquisition plan (获客计划). One plan is one apiKey; leads submitted with that key
/// become the plan's customers in CKB.
pub struct CkbPlan(pub ckb_plan::Model);

#[Object]
impl CkbPlan {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Plan name (计划名称).
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The plan's apiKey with all but its last four characters hidden (`****abcd`). The key
    /// itself is write-only.
    async fn api_key_masked(&self) -> String {
        mask_secret(&self.0.api_key)
    }

    /// Base URL of the CKB server the plan lives on.
    async fn endpoint(&self) -> &str {
        &self.0.endpoint
    }

    /// CKB's own id of the plan (计划ID), needed for CKB's statistics; null when unknown.
    async fn remote_plan_id(&self) -> Option<ID> {
        self.0.remote_plan_id.map(|id| ID(id.to_string()))
    }

    /// Which leads route to this plan (用途).
    async fn purpose(&self) -> LeadOrigin {
        self.0.purpose
    }

    /// How leads are encoded when sent.
    async fn content_type(&self) -> CkbContentType {
        self.0.content_type
    }

    /// Whether this is the plan behind the 链接卡若 button.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }

    /// Disabled plans receive no new leads.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A new CKB plan.
#[derive(InputObject)]
pub struct CreateCkbPlanInput {
    /// 1 to 30 characters, like CKB's own plan names.
    pub name: String,
    /// The plan's apiKey from CKB's 计划接口 screen. Stored as a secret; reads show only its
    /// last four characters.
    pub api_key: String,
    /// Base URL of the CKB server, such as https://ckbapi.quwanzhi.com.
    pub endpoint: String,
    /// CKB's id of the plan, for its statistics.
    pub remote_plan_id: Option<ID>,
    pub purpose: LeadOrigin,
    #[graphql(default_with = "CkbContentType::Json")]
    pub content_type: CkbContentType,
    /// Make this the plan behind 链接卡若 (the previous default stops being one).
    #[graphql(default)]
    pub is_default: bool,
}

/// New values of a CKB plan; fields left out keep their value.
#[derive(InputObject)]
pub struct UpdateCkbPlanInput {
    pub name: Option<String>,
    /// A new apiKey.
    pub api_key: Option<String>,
    pub endpoint: Option<String>,
    pub remote_plan_id: Option<ID>,
    /// Forget the remote plan id.
    #[graphql(default)]
    pub clear_remote_plan_id: bool,
    pub purpose: Option<LeadOrigin>,
    pub content_type: Option<CkbContentType>,
    pub is_default: Option<bool>,
}

fn checked_endpoint(endpoint: &str) -> Result<String> {
    let endpoint = validate::text("endpoint", endpoint, 1, 200)?;
    let parsed = reqwest::Url::parse(&endpoint).map_err(|_| {
        GatewayError::bad_input(
            "endpoint",
            "endpoint must be an absolute http(s) URL such as https://ckbapi.quwanzhi.com",
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(GatewayError::bad_input(
            "endpoint",
            "endpoint must be an absolute http(s) URL such as https://ckbapi.quwanzhi.com",
        ));
    }
    Ok(endpoint.trim_end_matches('/').to_owned())
}

fn checked_api_key(api_key: &str) -> Result<String> {
    let api_key = api_key.trim();
    if api_key.is_empty()
        || api_key.len() > 100
        || api_key.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(GatewayError::bad_input(
            "apiKey",
            "apiKey must be 1 to 100 characters without spaces, as CKB shows it",
        ));
    }
    Ok(api_key.to_owned())
}

#[derive(Default)]
pub struct PlansQuery;

#[Object]
impl PlansQuery {
    /// Every CKB plan (存客宝计划), oldest first.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn ckb_plans(&self, ctx: &Context<'_>) -> Result<Vec<CkbPlan>> {
        Ok(db::plans::list(&state(ctx)?.db)
            .await?
            .into_iter()
            .map(CkbPlan)
            .collect())
    }

    /// One CKB plan by id.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn ckb_plan(&self, ctx: &Context<'_>, id: ID) -> Result<CkbPlan> {
        let id = validate::id("id", &id)?;
        Ok(CkbPlan(db::plans::find(&state(ctx)?.db, id).await?))
    }
}

#[derive(Default)]
pub struct PlansMutation;

#[Object]
impl PlansMutation {
    /// Adds a CKB plan.
    #[graphql(guard = "RoleGuard(ADMIN)")]
    async fn create_ckb_plan(
        &self,
        ctx: &Context<'_>,
        input: CreateCkbPlanInput,
    ) -> Result<CkbPlan> {
        let fields = PlanFields {
            name: Some(validate::text("name", &input.name, 1, 30)?),
            api_key: Some(checked_api_key(&input.api_key)?),
            endpoint: Some(checked_endpoint(&input.endpoint)?),
            remote_plan_id: Some(
                input
                    .remote_plan_id
                    .as_ref()
                    .map(|id| validate::id("remotePlanId", id))
                    .transpose()?,
            ),
            purpose: Some(input.purpose),
            content_type: Some(input.content_type),
            is_default: Some(input.is_default),
            enabled: Some(true),
        };
        Ok(CkbPlan(db::plans::create(&state(ctx)?.db, fields).await?))
    }

    /// Changes a CKB plan.
    #[graphql(guard = "RoleGuard(ADMIN)")]
    async fn update_ckb_plan(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateCkbPlanInput,
    ) -> Result<CkbPlan> {
        let id = validate::id("id", &id)?;
        let remote_plan_id = if input.clear_remote_plan_id {
            Some(None)
        } else {
            input
                .remote_plan_id
                .as_ref()
                .map(|id| validate::id("remotePlanId", id))
                .transpose()?
                .map(Some)
        };
        let fields = PlanFields {
            name: input
                .name
                .as_deref()
                .map(|n| validate::text("name", n, 1, 30))
                .transpose()?,
            api_key: input.api_key.as_deref().map(checked_api_key).transpose()?,
            endpoint: input
                .endpoint
                .as_deref()
                .map(checked_endpoint)
                .transpose()?,
            remote_plan_id,
            purpose: input.purpose,
            content_type: input.content_type,
            is_default: input.is_default,
            enabled: None,
        };
        Ok(CkbPlan(
            db::plans::update(&state(ctx)?.db, id, fields).await?,
        ))
    }

    /// Enables or disables a plan; a disabled plan receives no new leads.
    #[graphql(guard = "RoleGuard(ADMIN)")]
    async fn set_ckb_plan_enabled(
        &self,
        ctx: &Context<'_>,
        id: ID,
        enabled: bool,
    ) -> Result<CkbPlan> {
        let id = validate::id("id", &id)?;
        let fields = PlanFields {
            enabled: Some(enabled),
            ..Default::default()
        };
        Ok(CkbPlan(
            db::plans::update(&state(ctx)?.db, id, fields).await?,
        ))
    }
}
