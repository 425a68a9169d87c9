//! 存客宝 plans: where leads are sent, one apiKey each.

use std::collections::HashMap;

use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};

use super::{entities::ckb_plan, SingleFlag};
use crate::{
    domain::{CkbContentType, LeadOrigin},
    error::{GatewayError, Result},
};

/// Fields of a new plan or of an update; `None` in an update keeps the stored value.
#[derive(Clone, Debug, Default)]
pub struct PlanFields {
    pub name: Option<String>,
    pub api_key: Option<String>,
    pub endpoint: Option<String>,
    /// `Some(None)` clears the remote plan id.
    pub remote_plan_id: Option<Option<i64>>,
    pub purpose: Option<LeadOrigin>,
    pub content_type: Option<CkbContentType>,
    pub is_default: Option<bool>,
    pub enabled: Option<bool>,
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<ckb_plan::Model>> {
    Ok(ckb_plan::Entity::find()
        .order_by_asc(ckb_plan::Column::Id)
        .all(db)
        .await?)
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<ckb_plan::Model> {
    ckb_plan::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| GatewayError::not_found("CkbPlan", id))
}

pub async fn by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, ckb_plan::Model>> {
    let rows = ckb_plan::Entity::find()
        .filter(ckb_plan::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|p| (p.id, p)).collect())
}

/// The enabled plan a lead of `origin` goes to: the enabled plan with that purpose (the oldest
/// if several). 链接卡若 leads go to the default plan first. Bookings, resource matches and team
/// applications are find-partner activities too: without a plan of their own they go to the
/// MATCH plan.
pub async fn for_origin(
    db: &impl ConnectionTrait,
    origin: LeadOrigin,
) -> Result<Option<ckb_plan::Model>> {
    if origin == LeadOrigin::LinkKaruo {
        if let Some(plan) = default_plan(db).await? {
            return Ok(Some(plan));
        }
    }
    if let Some(plan) = enabled_with_purpose(db, origin).await? {
        return Ok(Some(plan));
    }
    match origin {
        LeadOrigin::MentorBooking | LeadOrigin::ResourceMatch | LeadOrigin::TeamRecruit => {
            enabled_with_purpose(db, LeadOrigin::Match).await
        }
        _ => Ok(None),
    }
}

async fn enabled_with_purpose(
    db: &impl ConnectionTrait,
    purpose: LeadOrigin,
) -> Result<Option<ckb_plan::Model>> {
    Ok(ckb_plan::Entity::find()
        .filter(ckb_plan::Column::Purpose.eq(purpose))
        .filter(ckb_plan::Column::Enabled.eq(true))
        .order_by_asc(ckb_plan::Column::Id)
        .one(db)
        .await?)
}

/// The enabled plan behind 链接卡若.
pub async fn default_plan(db: &impl ConnectionTrait) -> Result<Option<ckb_plan::Model>> {
    Ok(ckb_plan::Entity::find()
        .filter(ckb_plan::Column::IsDefault.eq(true))
        .filter(ckb_plan::Column::Enabled.eq(true))
        .one(db)
        .await?)
}

pub async fn create(
    db: &(impl ConnectionTrait + TransactionTrait),
    fields: PlanFields,
) -> Result<ckb_plan::Model> {
    let txn = db.begin().await?;
    let now = crate::db::now();
    let is_default = fields.is_default.unwrap_or(false);
    let plan = ckb_plan::ActiveModel {
        name: Set(fields.name.unwrap_or_default()),
        api_key: Set(fields.api_key.unwrap_or_default()),
        endpoint: Set(fields.endpoint.unwrap_or_default()),
        remote_plan_id: Set(fields.remote_plan_id.flatten()),
        purpose: Set(fields.purpose.unwrap_or(LeadOrigin::Integrator)),
        content_type: Set(fields.content_type.unwrap_or(CkbContentType::Json)),
        is_default: Set(false),
        enabled: Set(fields.enabled.unwrap_or(true)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    if is_default {
        make_default(&txn, plan.id).await?;
    }
    let plan = find(&txn, plan.id).await?;
    txn.commit().await?;
    Ok(plan)
}

pub async fn update(
    db: &(impl ConnectionTrait + TransactionTrait),
    id: i64,
    fields: PlanFields,
) -> Result<ckb_plan::Model> {
    let txn = db.begin().await?;
    if fields.is_default == Some(true) {
        // Taken before the plan's row is locked below, so that two updates that each make
        // their plan the default cannot deadlock on each other's rows on PostgreSQL.
        super::lock_single_flag(&txn, SingleFlag::DefaultPlan).await?;
    }
    // Write first so that SQLite takes its write lock before the read below.
    ckb_plan::Entity::update_many()
        .col_expr(ckb_plan::Column::UpdatedAt, Expr::value(crate::db::now()))
        .filter(ckb_plan::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    let plan = find(&txn, id).await?;
    let mut active: ckb_plan::ActiveModel = plan.into();
    if let Some(name) = fields.name {
        active.name = Set(name);
    }
    if let Some(api_key) = fields.api_key {
        active.api_key = Set(api_key);
    }
    if let Some(endpoint) = fields.endpoint {
        active.endpoint = Set(endpoint);
    }
    if let Some(remote_plan_id) = fields.remote_plan_id {
        active.remote_plan_id = Set(remote_plan_id);
    }
    if let Some(purpose) = fields.purpose {
        active.purpose = Set(purpose);
    }
    if let Some(content_type) = fields.content_type {
        active.content_type = Set(content_type);
    }
    if let Some(enabled) = fields.enabled {
        active.enabled = Set(enabled);
    }
    match fields.is_default {
        Some(true) => {
            active.update(&txn).await?;
            make_default(&txn, id).await?;
        }
        Some(false) => {
            active.is_default = Set(false);
            active.update(&txn).await?;
        }
        None => {
            active.update(&txn).await?;
        }
    }
    let plan = find(&txn, id).await?;
    txn.commit().await?;
    Ok(plan)
}

/// Makes `id` the one default plan; the partial unique index forbids a second. `db` must be a
/// transaction, because the lock taken here lasts until it ends.
async fn make_default(db: &impl ConnectionTrait, id: i64) -> Result<()> {
    super::lock_single_flag(db, SingleFlag::DefaultPlan).await?;
    ckb_plan::Entity::update_many()
        .col_expr(ckb_plan::Column::IsDefault, Expr::value(false))
        .filter(ckb_plan::Column::IsDefault.eq(true))
        .filter(ckb_plan::Column::Id.ne(id))
        .exec(db)
        .await?;
    ckb_plan::Entity::update_many()
        .col_expr(ckb_plan::Column::IsDefault, Expr::value(true))
        .filter(ckb_plan::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
