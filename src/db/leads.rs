//! 线索: the leads stored for delivery to CKB, and their delivery bookkeeping.
//!
//! A lead row is written in the same transaction as the record that caused it and before any
//! call to CKB, so an accepted lead survives a crash at any later point. The delivery worker
//! (`crate::ckb::outbox`) claims due rows with a lease; the lease fields and `attempts` are
//! only ever changed here.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Select, Set,
};

use super::{
    entities::ckb_lead,
    page::{contains_pattern, into_page, keyset, like_lower, Cursor, Page, PageRequest},
};
use crate::{
    domain::{DeliveryStatus, FriendStatus, LeadOrigin},
    error::{GatewayError, Result},
};

/// A lead to store; see `CkbLead` in the schema for the meaning of each field.
#[derive(Clone, Debug, Default)]
pub struct NewLead {
    pub plan_id: i64,
    pub origin: Option<LeadOrigin>,
    pub origin_id: Option<i64>,
    pub phone: Option<String>,
    pub wechat_id: Option<String>,
    pub name: String,
    pub source: String,
    pub remark: String,
    pub tags: Vec<String>,
    pub site_tags: Vec<String>,
    pub portrait: Option<serde_json::Value>,
    pub idempotency_key: Option<String>,
    pub submitted_by: Option<i64>,
    pub request_id: Option<String>,
}

impl NewLead {
    /// CKB's identifier rule: the WeChat id when it is not empty, otherwise the phone.
    pub fn identifier(&self) -> String {
        match self.wechat_id.as_deref() {
            Some(wechat_id) if !wechat_id.is_empty() => wechat_id.to_owned(),
            _ => self.phone.clone().unwrap_or_default(),
        }
    }
}

#[derive(Default, Clone, Debug)]
pub struct LeadFilter {
    pub plan_id: Option<i64>,
    pub origin: Option<LeadOrigin>,
    pub delivery_status: Option<DeliveryStatus>,
    pub friend_status: Option<FriendStatus>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub keyword: Option<String>,
    /// Restricts the list to one token's leads (an integrator's view).
    pub submitted_by: Option<i64>,
}

fn filtered(filter: &LeadFilter) -> Select<ckb_lead::Entity> {
    let mut select = ckb_lead::Entity::find();
    if let Some(plan_id) = filter.plan_id {
        select = select.filter(ckb_lead::Column::PlanId.eq(plan_id));
    }
    if let Some(origin) = filter.origin {
        select = select.filter(ckb_lead::Column::Origin.eq(origin));
    }
    if let Some(status) = filter.delivery_status {
        select = select.filter(ckb_lead::Column::DeliveryStatus.eq(status));
    }
    if let Some(status) = filter.friend_status {
        select = select.filter(ckb_lead::Column::FriendStatus.eq(status));
    }
    if let Some(from) = filter.from {
        select = select.filter(ckb_lead::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        select = select.filter(ckb_lead::Column::CreatedAt.lt(to));
    }
    if let Some(keyword) = filter.keyword.as_deref() {
        select = select.filter(like_lower(
            ckb_lead::Column::Name,
            &contains_pattern(keyword),
        ));
    }
    if let Some(token_id) = filter.submitted_by {
        select = select.filter(ckb_lead::Column::SubmittedBy.eq(token_id));
    }
    select
}

pub async fn list(
    db: &impl ConnectionTrait,
    filter: &LeadFilter,
    page: &PageRequest,
) -> Result<Page<ckb_lead::Model>> {
    let rows = keyset(
        filtered(filter),
        ckb_lead::Column::CreatedAt,
        ckb_lead::Column::Id,
        page,
    )
    .all(db)
    .await?;
    Ok(into_page(rows, page, |l| Cursor {
        at: l.created_at,
        id: l.id,
    }))
}

pub async fn count(db: &impl ConnectionTrait, filter: &LeadFilter) -> Result<u64> {
    Ok(filtered(filter).count(db).await?)
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<ckb_lead::Model> {
    ckb_lead::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| GatewayError::not_found("CkbLead", id))
}

pub async fn by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, ckb_lead::Model>> {
    let rows = ckb_lead::Entity::find()
        .filter(ckb_lead::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|l| (l.id, l)).collect())
}

/// The lead a token stored under an idempotency key, if any.
pub async fn by_idempotency_key(
    db: &impl ConnectionTrait,
    token_id: i64,
    key: &str,
) -> Result<Option<ckb_lead::Model>> {
    Ok(ckb_lead::Entity::find()
        .filter(ckb_lead::Column::SubmittedBy.eq(token_id))
        .filter(ckb_lead::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

/// The newest lead of an origin record since `since`, such as an earlier 链接卡若 press.
pub async fn latest_of_origin(
    db: &impl ConnectionTrait,
    origin: LeadOrigin,
    origin_id: i64,
    since: DateTime<Utc>,
) -> Result<Option<ckb_lead::Model>> {
    Ok(ckb_lead::Entity::find()
        .filter(ckb_lead::Column::Origin.eq(origin))
        .filter(ckb_lead::Column::OriginId.eq(origin_id))
        .filter(ckb_lead::Column::CreatedAt.gte(since))
        .order_by_desc(ckb_lead::Column::CreatedAt)
        .one(db)
        .await?)
}

/// Stores a lead as PENDING, due at once.
pub async fn insert_pending(db: &impl ConnectionTrait, lead: NewLead) -> Result<ckb_lead::Model> {
    let now = crate::db::now();
    let identifier = lead.identifier();
    let portrait = lead
        .portrait
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(GatewayError::internal)?;
    let model = ckb_lead::ActiveModel {
        plan_id: Set(lead.plan_id),
        origin: Set(lead.origin.unwrap_or(LeadOrigin::Integrator)),
        origin_id: Set(lead.origin_id),
        identifier: Set(identifier),
        phone: Set(lead.phone),
        wechat_id: Set(lead.wechat_id),
        name: Set(lead.name),
        source: Set(lead.source),
        remark: Set(lead.remark),
        tags: Set(serde_json::to_string(&lead.tags).map_err(GatewayError::internal)?),
        site_tags: Set(serde_json::to_string(&lead.site_tags).map_err(GatewayError::internal)?),
        portrait: Set(portrait),
        idempotency_key: Set(lead.idempotency_key),
        submitted_by: Set(lead.submitted_by),
        request_id: Set(lead.request_id),
        delivery_status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    Ok(model.insert(db).await?)
}

/// Sets the origin id of a lead stored before its record had an id.
pub async fn set_origin_id(db: &impl ConnectionTrait, lead_id: i64, origin_id: i64) -> Result<()> {
    ckb_lead::Entity::update_many()
        .col_expr(
            ckb_lead::Column::OriginId,
            sea_orm::sea_query::Expr::value(origin_id),
        )
        .filter(ckb_lead::Column::Id.eq(lead_id))
        .exec(db)
        .await?;
    Ok(())
}

/// A member's contact as a lead of `origin`, or `None` when the member has neither a phone
/// number nor a WeChat id, because CKB needs one of the two.
pub fn member_lead(
    member: &super::entities::member::Model,
    plan_id: i64,
    origin: LeadOrigin,
    source: String,
    remark: String,
) -> Option<NewLead> {
    let phone = member.phone.clone().filter(|p| !p.is_empty());
    let wechat_id = member.wechat_id.clone().filter(|w| !w.is_empty());
    if phone.is_none() && wechat_id.is_none() {
        return None;
    }
    Some(NewLead {
        plan_id,
        origin: Some(origin),
        phone,
        wechat_id,
        name: member.nickname.clone(),
        source,
        remark,
        ..Default::default()
    })
}
