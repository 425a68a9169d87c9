//! 伙伴池: the partner pools, their rules and the selection of one pool per kind.

use async_graphql::{Context, InputObject, Object, ID};
use chrono::{DateTime, Utc};
use sea_orm::ActiveEnum;

use super::{
    connection::{connection, PageConnection, TotalCount},
    context::{loader, state},
    loaders::PlanKey,
    members::Member,
    plans::CkbPlan,
    validate,
};
use crate::{
    auth::{RoleGuard, ADMIN, ADMIN_SERVICE},
    db::{
        self,
        entities::partner_pool,
        page::PageRequest,
        pools::{PoolFilter as DbFilter, PoolRules},
    },
    domain::{MatchKind, PoolSource},
    error::{GatewayError, Result},
};

/// A partner pool (伙伴池 / 匹配池): the members one match kind draws from, defined by rules.
/// Each kind has exactly one selected pool, the one `recordMatch` uses.
pub struct PartnerPool(pub partner_pool::Model);

#[Object]
impl PartnerPool {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Name shown to admins (池名称).
    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// The match kind this pool serves (匹配类型).
    async fn kind(&self) -> MatchKind {
        self.0.kind
    }

    /// Which members the pool starts from (成员来源).
    async fn source(&self) -> PoolSource {
        self.0.source
    }

    /// Tags a member must all carry to be eligible (必备标签); empty for none.
    async fn required_tags(&self) -> Vec<String> {
        self.0.required_tags()
    }

    /// Only members with a phone number are eligible.
    async fn require_phone(&self) -> bool {
        self.0.require_phone
    }

    /// Only members with a WeChat id are eligible.
    async fn require_wechat(&self) -> bool {
        self.0.require_wechat
    }

    /// A requester is not matched again with anyone matched with them within this many days
    /// (排除近期已匹配); 0 turns the rule off.
    async fn exclude_matched_within_days(&self) -> i32 {
        self.0.exclude_matched_within_days
    }

    /// Matches of this kind one requester may get per day (每日匹配上限), counted from
    /// midnight in the admins' time zone; 0 means no limit.
    async fn daily_match_limit(&self) -> i32 {
        self.0.daily_match_limit
    }

    /// Disabled pools cannot be selected.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// Whether this is the pool in use for its kind (当前使用).
    async fn selected(&self) -> bool {
        self.0.selected
    }

    /// The CKB plan that leads of this pool's matches go to; when null, the enabled plan with
    /// purpose MATCH is used.
    async fn ckb_plan(&self, ctx: &Context<'_>) -> Result<Option<CkbPlan>> {
        let Some(plan_id) = self.0.ckb_plan_id else {
            return Ok(None);
        };
        Ok(loader(ctx)?.load_one(PlanKey(plan_id)).await?.map(CkbPlan))
    }

    /// The members the pool's rules admit now, newest first. The per-requester rules of a match
    /// (not the requester, not recently matched, daily limit) apply on top of this.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1")]
    async fn eligible_members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<PageConnection<Member>> {
        let state = state(ctx)?.clone();
        let page = PageRequest::new(first, after.as_deref(), true)?;
        let rows = db::pools::eligible_page(&state.db, &self.0, &page).await?;
        let pool = self.0.clone();
        let total = TotalCount::new(move || {
            let (state, pool) = (state.clone(), pool.clone());
            async move { db::pools::eligible_count(&state.db, &pool).await }
        });
        Ok(connection(rows, Member, total))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Filters of the partner pools tab.
#[derive(InputObject, Default)]
pub struct PartnerPoolFilter {
    pub kind: Option<MatchKind>,
    pub enabled: Option<bool>,
    pub selected: Option<bool>,
    /// Part of the name, case-insensitive.
    pub keyword: Option<String>,
}

/// The rules of a new pool.
#[derive(InputObject)]
pub struct CreatePartnerPoolInput {
    /// 1 to 60 characters.
    pub name: String,
    pub description: Option<String>,
    /// Fixed once the pool exists.
    pub kind: MatchKind,
    pub source: PoolSource,
    /// Up to 10 tags; TAGGED pools need at least one.
    #[graphql(default)]
    pub required_tags: Vec<String>,
    #[graphql(default)]
    pub require_phone: bool,
    #[graphql(default)]
    pub require_wechat: bool,
    /// 0 to 365 (default 30).
    #[graphql(default = 30)]
    pub exclude_matched_within_days: i32,
    /// 0 to 1000, 0 for no limit (default 3).
    #[graphql(default = 3)]
    pub daily_match_limit: i32,
    pub ckb_plan_id: Option<ID>,
}

/// New rules of a pool. Fields left out keep their value.
#[derive(InputObject)]
pub struct UpdatePartnerPoolInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub source: Option<PoolSource>,
    pub required_tags: Option<Vec<String>>,
    pub require_phone: Option<bool>,
    pub require_wechat: Option<bool>,
    pub exclude_matched_within_days: Option<i32>,
    pub daily_match_limit: Option<i32>,
    /// The plan for this pool's match leads; send `clearCkbPlan: true` to fall back to the
    /// MATCH plan.
    pub ckb_plan_id: Option<ID>,
    #[graphql(default)]
    pub clear_ckb_plan: bool,
}

fn checked_rules(rules: PoolRules) -> Result<PoolRules> {
    let name = validate::text("name", &rules.name, 1, 60)?;
    let description = validate::optional_text("description", rules.description.as_deref(), 500)?;
    let required_tags = validate::tags("requiredTags", &rules.required_tags, 10)?;
    if rules.source == PoolSource::Tagged && required_tags.is_empty() {
        return Err(GatewayError::bad_input(
            "requiredTags",
            "a TAGGED pool needs at least one required tag",
        ));
    }
    Ok(PoolRules {
        name,
        description,
        required_tags,
        exclude_matched_within_days: validate::range(
            "excludeMatchedWithinDays",
            rules.exclude_matched_within_days,
            0,
            365,
        )?,
        daily_match_limit: validate::range("dailyMatchLimit", rules.daily_match_limit, 0, 1000)?,
        ..rules
    })
}

async fn checked_plan(ctx: &Context<'_>, plan_id: Option<&ID>) -> Result<Option<i64>> {
    let Some(plan_id) = plan_id else {
        return Ok(None);
    };
    let id = validate::id("ckbPlanId", plan_id)?;
    db::plans::find(&state(ctx)?.db, id)
        .await
        .map_err(|_| GatewayError::bad_input("ckbPlanId", format!("no CKB plan with id {id}")))?;
    Ok(Some(id))
}

#[derive(Default)]
pub struct PoolsQuery;

#[Object]
impl PoolsQuery {
    /// The partner pools tab (伙伴池), newest first.
    #[graphql(
        guard = "RoleGuard(ADMIN_SERVICE)",
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn partner_pools(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
        filter: Option<PartnerPoolFilter>,
    ) -> Result<PageConnection<PartnerPool>> {
        let state = state(ctx)?.clone();
        let page = PageRequest::new(first, after.as_deref(), true)?;
        let filter = filter.unwrap_or_default();
        let filter = DbFilter {
            kind: filter.kind,
            enabled: filter.enabled,
            selected: filter.selected,
            keyword: filter.keyword.filter(|k| !k.trim().is_empty()),
        };
        let rows = db::pools::list(&state.db, &filter, &page).await?;
        let total = TotalCount::new(move || {
            let (state, filter) = (state.clone(), filter.clone());
            async move { db::pools::count(&state.db, &filter).await }
        });
        Ok(connection(rows, PartnerPool, total))
    }

    /// One partner pool by id.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn partner_pool(&self, ctx: &Context<'_>, id: ID) -> Result<PartnerPool> {
        let id = validate::id("id", &id)?;
        Ok(PartnerPool(db::pools::find(&state(ctx)?.db, id).await?))
    }

    /// The selected pool of a kind, or null when the kind has no pool yet.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn selected_partner_pool(
        &self,
        ctx: &Context<'_>,
        kind: MatchKind,
    ) -> Result<Option<PartnerPool>> {
        Ok(db::pools::selected(&state(ctx)?.db, kind)
            .await?
            .map(PartnerPool))
    }
}

#[derive(Default)]
pub struct PoolsMutation;

#[Object]
impl PoolsMutation {
    /// Creates a partner pool. The first pool of a kind becomes its selected pool.
    #[graphql(guard = "RoleGuard(ADMIN)")]
    async fn create_partner_pool(
        &self,
        ctx: &Context<'_>,
        input: CreatePartnerPoolInput,
    ) -> Result<PartnerPool> {
        let ckb_plan_id = checked_plan(ctx, input.ckb_plan_id.as_ref()).await?;
        let rules = checked_rules(PoolRules {
            name: input.name,
            description: input.description,
            source: input.source,
            required_tags: input.required_tags,
            require_phone: input.require_phone,
            require_wechat: input.require_wechat,
            exclude_matched_within_days: input.exclude_matched_within_days,
            daily_match_limit: input.daily_match_limit,
            ckb_plan_id,
        })?;
        Ok(PartnerPool(
            db::pools::create(&state(ctx)?.db, input.kind, rules).await?,
        ))
    }

    /// Changes a pool's rules. Its kind cannot change.
    #[graphql(guard = "RoleGuard(ADMIN)")]
    async fn update_partner_pool(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdatePartnerPoolInput,
    ) -> Result<PartnerPool> {
        let id = validate::id("id", &id)?;
        let db = &state(ctx)?.db;
        db::pools::find(db, id).await?;
        // `None` keeps the stored plan.
        let ckb_plan_id = if input.clear_ckb_plan {
            Some(None)
        } else if input.ckb_plan_id.is_some() {
            Some(checked_plan(ctx, input.ckb_plan_id.as_ref()).await?)
        } else {
            None
        };
        // Fields left out of the input keep the values read inside the update's transaction.
        let merge = |current: &partner_pool::Model| {
            checked_rules(PoolRules {
                name: input.name.unwrap_or_else(|| current.name.clone()),
                description: input.description.or_else(|| current.description.clone()),
                source: input.source.unwrap_or(current.source),
                required_tags: input
                    .required_tags
                    .unwrap_or_else(|| current.required_tags()),
                require_phone: input.require_phone.unwrap_or(current.require_phone),
                require_wechat: input.require_wechat.unwrap_or(current.require_wechat),
                exclude_matched_within_days: input
                    .exclude_matched_within_days
                    .unwrap_or(current.exclude_matched_within_days),
                daily_match_limit: input.daily_match_limit.unwrap_or(current.daily_match_limit),
                ckb_plan_id: ckb_plan_id.unwrap_or(current.ckb_plan_id),
            })
        };
        Ok(PartnerPool(db::pools::update(db, id, merge).await?))
    }

    /// Enables or disables a pool. The selected pool of a kind cannot be disabled; select
    /// another first.
    #[graphql(guard = "RoleGuard(ADMIN)")]
    async fn set_partner_pool_enabled(
        &self,
        ctx: &Context<'_>,
        id: ID,
        enabled: bool,
    ) -> Result<PartnerPool> {
        let id = validate::id("id", &id)?;
        Ok(PartnerPool(
            db::pools::set_enabled(&state(ctx)?.db, id, enabled).await?,
        ))
    }

    /// Makes this pool the one selected pool of its kind; the previously selected pool of that
    /// kind is unselected in the same transaction.
    #[graphql(guard = "RoleGuard(ADMIN)")]
    async fn select_partner_pool(&self, ctx: &Context<'_>, id: ID) -> Result<PartnerPool> {
        let id = validate::id("id", &id)?;
        Ok(PartnerPool(db::pools::select(&state(ctx)?.db, id).await?))
    }

    /// Adds members to a MANUAL pool's list. Returns the pool.
    #[graphql(guard = "RoleGuard(ADMIN)")]
    async fn add_partner_pool_members(
        &self,
        ctx: &Context<'_>,
        pool_id: ID,
        member_ids: Vec<ID>,
    ) -> Result<PartnerPool> {
        let pool_id = validate::id("poolId", &pool_id)?;
        let member_ids = validate::ids("memberIds", &member_ids)?;
        if member_ids.is_empty() || member_ids.len() > 500 {
            return Err(GatewayError::bad_input(
                "memberIds",
                "send 1 to 500 member ids",
            ));
        }
        let db = &state(ctx)?.db;
        let pool = db::pools::find(db, pool_id).await?;
        if pool.source != PoolSource::Manual {
            return Err(GatewayError::conflict(format!(
                "partner pool {pool_id} has source {}; only MANUAL pools have a member list",
                pool.source.to_value()
            )));
        }
        let existing = db::members::existing_ids(db, &member_ids).await?;
        let unknown: Vec<String> = member_ids
            .iter()
            .filter(|id| !existing.contains(id))
            .map(i64::to_string)
            .collect();
        if !unknown.is_empty() {
            return Err(GatewayError::bad_input(
                "memberIds",
                format!("unknown member ids: {}", unknown.join(", ")),
            ));
        }
        db::pools::add_members(db, pool_id, &member_ids).await?;
        Ok(PartnerPool(db::pools::find(db, pool_id).await?))
    }

    /// Removes members from a MANUAL pool's list. Returns the pool.
    #[graphql(guard = "RoleGuard(ADMIN)")]
    async fn remove_partner_pool_members(
        &self,
        ctx: &Context<'_>,
        pool_id: ID,
        member_ids: Vec<ID>,
    ) -> Result<PartnerPool> {
        let pool_id = validate::id("poolId", &pool_id)?;
        let member_ids = validate::ids("memberIds", &member_ids)?;
        let db = &state(ctx)?.db;
        db::pools::find(db, pool_id).await?;
        db::pools::remove_members(db, pool_id, &member_ids).await?;
        Ok(PartnerPool(db::pools::find(db, pool_id).await?))
    }
}
