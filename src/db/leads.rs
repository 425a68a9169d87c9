//! 线索: the leads stored for delivery to CKB, and their delivery bookkeeping.
//!
//! A lead row is written in the same transaction as the record that caused it and before any
//! call to CKB, so an accepted lead survives a crash at any later point. The delivery worker
//! (`crate::ckb::outbox`) claims due rows with a lease; the lease fields and `attempts` are
//! only ever changed here.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Expr, OnConflict},
    ActiveEnum, ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Select, Set, TransactionTrait,
};

use super::{
    counters,
    entities::ckb_lead,
    page::{contains_pattern, into_page, keyset, like_lower, Cursor, Page, PageRequest},
};
use crate::{
    domain::{DeliveryStatus, FriendStatus, LeadOrigin, MatchKind},
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
    /// The kind of match, for a MATCH lead.
    pub match_kind: Option<MatchKind>,
    /// A lease to store the lead with, so that the process storing it can send it at once
    /// without a separate claim.
    pub lease: Option<Lease>,
}

/// A worker's hold on a lead: no other worker sends it before `until`.
#[derive(Clone, Debug)]
pub struct Lease {
    pub owner: String,
    pub until: DateTime<Utc>,
}

/// What a request adds to the leads it stores: its id, and the lease of this process's
/// immediate delivery.
#[derive(Clone, Debug, Default)]
pub struct LeadContext {
    pub request_id: Option<String>,
    pub lease: Option<Lease>,
}

impl LeadContext {
    pub fn apply(&self, lead: &mut NewLead) {
        lead.request_id = self.request_id.clone();
        lead.lease = self.lease.clone();
    }
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

/// The newest lead of an origin record since `since` that has not ended REJECTED or FAILED,
/// such as an earlier 链接卡若 press. A lead that never reached CKB does not hold back a new
/// one.
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
        .filter(
            ckb_lead::Column::DeliveryStatus
                .is_not_in([DeliveryStatus::Rejected, DeliveryStatus::Failed]),
        )
        .order_by_desc(ckb_lead::Column::CreatedAt)
        .one(db)
        .await?)
}

/// Stores a lead as PENDING, due at once, and counts it. Call it inside the transaction of the
/// record that caused the lead.
pub async fn insert_pending(db: &impl ConnectionTrait, lead: NewLead) -> Result<ckb_lead::Model> {
    let key = lead.idempotency_key.clone();
    let lead = insert_row(db, &lead).await?.ok_or_else(|| {
        GatewayError::internal(anyhow::anyhow!(
            "a lead with idempotency key {key:?} already exists"
        ))
    })?;
    counters::add(db, counters::lead_deltas(&lead, 1)).await?;
    Ok(lead)
}

/// Stores a lead as PENDING, due at once, without counting it: the caller adds
/// [`counters::lead_deltas`] in the same transaction. Returns `None`, and stores nothing, when
/// the same token already stored a lead with the same idempotency key. That case is not an
/// error, so it leaves the caller's transaction usable on PostgreSQL.
pub async fn insert_row(
    db: &impl ConnectionTrait,
    lead: &NewLead,
) -> Result<Option<ckb_lead::Model>> {
    let now = crate::db::now();
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
        identifier: Set(lead.identifier()),
        phone: Set(lead.phone.clone()),
        wechat_id: Set(lead.wechat_id.clone()),
        name: Set(lead.name.clone()),
        source: Set(lead.source.clone()),
        remark: Set(lead.remark.clone()),
        tags: Set(serde_json::to_string(&lead.tags).map_err(GatewayError::internal)?),
        site_tags: Set(serde_json::to_string(&lead.site_tags).map_err(GatewayError::internal)?),
        portrait: Set(portrait),
        idempotency_key: Set(lead.idempotency_key.clone()),
        submitted_by: Set(lead.submitted_by),
        request_id: Set(lead.request_id.clone()),
        match_kind: Set(lead.match_kind),
        lease_owner: Set(lead.lease.as_ref().map(|lease| lease.owner.clone())),
        lease_until: Set(lead.lease.as_ref().map(|lease| lease.until)),
        delivery_status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let inserted = ckb_lead::Entity::insert(model)
        .on_conflict(
            OnConflict::columns([
                ckb_lead::Column::SubmittedBy,
                ckb_lead::Column::IdempotencyKey,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_with_returning(db)
        .await;
    // When DO NOTHING skips the row, RETURNING returns no row. sea-orm reports that as
    // RecordNotInserted on SQLite and as RecordNotFound on PostgreSQL.
    match inserted {
        Ok(lead) => Ok(Some(lead)),
        Err(DbErr::RecordNotInserted | DbErr::RecordNotFound(_)) => Ok(None),
        Err(error) => Err(error.into()),
    }
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

/// Claims one PENDING lead for `owner` until `lease_until`, if nobody holds a live lease on it.
/// Returns the claimed lead, or `None` when it is not PENDING or another worker holds it.
pub async fn claim_one(
    db: &impl ConnectionTrait,
    lead_id: i64,
    owner: &str,
    lease_until: DateTime<Utc>,
) -> Result<Option<ckb_lead::Model>> {
    let now = super::now();
    let claimed = ckb_lead::Entity::update_many()
        .col_expr(ckb_lead::Column::LeaseOwner, Expr::value(owner))
        .col_expr(ckb_lead::Column::LeaseUntil, Expr::value(lease_until))
        .filter(ckb_lead::Column::Id.eq(lead_id))
        .filter(ckb_lead::Column::DeliveryStatus.eq(DeliveryStatus::Pending))
        .filter(
            Condition::any()
                .add(ckb_lead::Column::LeaseUntil.is_null())
                .add(ckb_lead::Column::LeaseUntil.lt(now)),
        )
        .exec(db)
        .await?;
    if claimed.rows_affected == 0 {
        return Ok(None);
    }
    Ok(Some(find(db, lead_id).await?))
}

/// Claims up to `limit` due PENDING leads for `owner`, oldest due first. On PostgreSQL the
/// candidate rows are locked with `FOR UPDATE SKIP LOCKED`, so replicas claiming at the same
/// moment take different leads instead of waiting on each other; SQLite runs one writer at a
/// time, which gives the same guarantee.
pub async fn claim_due(
    db: &impl ConnectionTrait,
    owner: &str,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<ckb_lead::Model>> {
    let now = super::now();
    let backend = db.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE ckb_leads SET lease_owner = ?, lease_until = ? \
         WHERE id IN (SELECT id FROM ckb_leads \
             WHERE delivery_status = 'PENDING' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?) \
             ORDER BY next_attempt_at, id LIMIT ?{lock}) \
         AND delivery_status = 'PENDING' AND (lease_until IS NULL OR lease_until < ?) \
         RETURNING *"
    );
    let values = vec![
        owner.into(),
        lease_until.into(),
        now.into(),
        now.into(),
        (limit as i64).into(),
        now.into(),
    ];
    let rows = ckb_lead::Entity::find()
        .from_raw_sql(super::stats::statement(backend, &sql, values))
        .all(db)
        .await?;
    Ok(rows)
}

/// The result of one delivery attempt, as stored.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub status: DeliveryStatus,
    pub error: Option<String>,
    pub ckb_code: Option<i32>,
    pub ckb_message: Option<String>,
    /// When a PENDING lead is due again.
    pub next_attempt_at: DateTime<Utc>,
}

/// Records an attempt and releases the lease, without counting it: the caller adds
/// [`counters::lead_change`] in the same transaction. The update applies only while `owner`
/// still holds the lease: a worker whose lease expired and was taken over must not overwrite
/// the newer holder's result. Returns the lead as written, or `None` when the lease was lost.
pub async fn update_attempt(
    db: &impl ConnectionTrait,
    lead: &ckb_lead::Model,
    owner: &str,
    attempt: &AttemptRecord,
) -> Result<Option<ckb_lead::Model>> {
    let now = super::now();
    let delivered_at = attempt.status.is_accepted().then_some(now);
    let updated = ckb_lead::Entity::update_many()
        .col_expr(
            ckb_lead::Column::DeliveryStatus,
            Expr::value(attempt.status.to_value()),
        )
        .col_expr(
            ckb_lead::Column::Attempts,
            Expr::col(ckb_lead::Column::Attempts).add(1),
        )
        .col_expr(
            ckb_lead::Column::LastError,
            Expr::value(attempt.error.clone()),
        )
        .col_expr(ckb_lead::Column::CkbCode, Expr::value(attempt.ckb_code))
        .col_expr(
            ckb_lead::Column::CkbMessage,
            Expr::value(attempt.ckb_message.clone()),
        )
        .col_expr(ckb_lead::Column::DeliveredAt, Expr::value(delivered_at))
        .col_expr(
            ckb_lead::Column::NextAttemptAt,
            Expr::value(attempt.next_attempt_at),
        )
        .col_expr(
            ckb_lead::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            ckb_lead::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(ckb_lead::Column::UpdatedAt, Expr::value(now))
        .filter(ckb_lead::Column::Id.eq(lead.id))
        .filter(ckb_lead::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    if updated.rows_affected != 1 {
        return Ok(None);
    }
    // The lease guarantees that no other worker changed the row since the claim, so the row
    // now contains exactly these values.
    Ok(Some(ckb_lead::Model {
        delivery_status: attempt.status,
        attempts: lead.attempts + 1,
        last_error: attempt.error.clone(),
        ckb_code: attempt.ckb_code,
        ckb_message: attempt.ckb_message.clone(),
        delivered_at,
        next_attempt_at: attempt.next_attempt_at,
        lease_owner: None,
        lease_until: None,
        updated_at: now,
        ..lead.clone()
    }))
}

/// Puts a REJECTED or FAILED lead back in the queue with a fresh budget of attempts. Returns
/// `None` when the lead is in another status.
pub async fn requeue(
    db: &(impl ConnectionTrait + TransactionTrait),
    lead_id: i64,
) -> Result<Option<ckb_lead::Model>> {
    let txn = db.begin().await?;
    touch(&txn, lead_id).await?;
    let before = find(&txn, lead_id).await?;
    if !matches!(
        before.delivery_status,
        DeliveryStatus::Rejected | DeliveryStatus::Failed
    ) {
        return Ok(None);
    }
    let now = super::now();
    ckb_lead::Entity::update_many()
        .col_expr(
            ckb_lead::Column::DeliveryStatus,
            Expr::value(DeliveryStatus::Pending.to_value()),
        )
        .col_expr(ckb_lead::Column::Attempts, Expr::value(0))
        // The old round's error (such as "gave up after 8 attempts") would contradict the new
        // PENDING status; the next attempt writes its own.
        .col_expr(
            ckb_lead::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .col_expr(ckb_lead::Column::NextAttemptAt, Expr::value(now))
        .col_expr(
            ckb_lead::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            ckb_lead::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(ckb_lead::Column::UpdatedAt, Expr::value(now))
        .filter(ckb_lead::Column::Id.eq(lead_id))
        .exec(&txn)
        .await?;
    let after = find(&txn, lead_id).await?;
    counters::add(&txn, counters::lead_change(&before, &after)).await?;
    txn.commit().await?;
    Ok(Some(after))
}

/// Rewrites a lead's `updated_at` with itself. As the first statement of a transaction it
/// takes SQLite's write lock before the reads that follow (a read first could fail later on a
/// stale snapshot), and on PostgreSQL it locks the row.
async fn touch(db: &impl ConnectionTrait, lead_id: i64) -> Result<()> {
    ckb_lead::Entity::update_many()
        .col_expr(
            ckb_lead::Column::UpdatedAt,
            Expr::col(ckb_lead::Column::UpdatedAt).into(),
        )
        .filter(ckb_lead::Column::Id.eq(lead_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Leads waiting for delivery and the time the oldest was stored, for metrics.
pub async fn pending_depth(db: &impl ConnectionTrait) -> Result<(u64, Option<DateTime<Utc>>)> {
    let depth = ckb_lead::Entity::find()
        .filter(ckb_lead::Column::DeliveryStatus.eq(DeliveryStatus::Pending))
        .count(db)
        .await?;
    let oldest = ckb_lead::Entity::find()
        .filter(ckb_lead::Column::DeliveryStatus.eq(DeliveryStatus::Pending))
        .order_by_asc(ckb_lead::Column::NextAttemptAt)
        .one(db)
        .await?
        .map(|lead| lead.created_at);
    Ok((depth, oldest))
}

/// Stores a 链接卡若 lead for a member, or returns the member's previous one when it was
/// stored after `window_start`. The boolean is true for a previous lead.
///
/// The member's row is touched first: it serializes two presses of the same member, so a
/// double tap stores one lead.
pub async fn link_karuo(
    db: &(impl ConnectionTrait + sea_orm::TransactionTrait),
    member_id: i64,
    window_start: DateTime<Utc>,
    lead_template: impl FnOnce(&super::entities::member::Model, i64) -> Option<NewLead>,
) -> Result<(ckb_lead::Model, bool)> {
    use super::entities::member;
    let txn = db.begin().await?;
    let touched = member::Entity::update_many()
        .col_expr(
            member::Column::UpdatedAt,
            Expr::col(member::Column::UpdatedAt).into(),
        )
        .filter(member::Column::Id.eq(member_id))
        .exec(&txn)
        .await?;
    if touched.rows_affected == 0 {
        return Err(GatewayError::not_found("Member", member_id));
    }
    let member = super::members::find(&txn, member_id).await?;
    if let Some(previous) =
        latest_of_origin(&txn, LeadOrigin::LinkKaruo, member_id, window_start).await?
    {
        txn.commit().await?;
        return Ok((previous, true));
    }
    let plan = super::plans::default_plan(&txn).await?.ok_or_else(|| {
        GatewayError::conflict(
            "no enabled default CKB plan; mark one plan with isDefault for 链接卡若",
        )
    })?;
    let lead = lead_template(&member, plan.id).ok_or_else(|| {
        GatewayError::bad_input(
            "memberId",
            format!("member {member_id} has neither a phone number nor a WeChat id, so CKB cannot add them; add one with updateMember first"),
        )
    })?;
    let lead = insert_pending(&txn, lead).await?;
    txn.commit().await?;
    Ok((lead, false))
}

/// Stores CKB's friend status on a plan's accepted leads with these identifiers, where it
/// differs, and moves their counters; returns how many leads changed.
pub async fn set_friend_status(
    db: &(impl ConnectionTrait + TransactionTrait),
    plan_id: i64,
    identifiers: &[String],
    status: FriendStatus,
) -> Result<u64> {
    let changing = || {
        Condition::all()
            .add(ckb_lead::Column::PlanId.eq(plan_id))
            .add(ckb_lead::Column::Identifier.is_in(identifiers.iter().cloned()))
            .add(
                ckb_lead::Column::DeliveryStatus
                    .is_in([DeliveryStatus::Created, DeliveryStatus::Existing]),
            )
            .add(
                Condition::any()
                    .add(ckb_lead::Column::FriendStatus.is_null())
                    .add(ckb_lead::Column::FriendStatus.ne(status)),
            )
    };
    let txn = db.begin().await?;
    // Touch the rows first: it takes SQLite's write lock before the read, and locks the rows
    // on PostgreSQL, so the statuses read below are the ones replaced.
    let touched = ckb_lead::Entity::update_many()
        .col_expr(
            ckb_lead::Column::UpdatedAt,
            Expr::col(ckb_lead::Column::UpdatedAt).into(),
        )
        .filter(changing())
        .exec(&txn)
        .await?;
    if touched.rows_affected == 0 {
        return Ok(0);
    }
    let before = ckb_lead::Entity::find()
        .filter(changing())
        .all(&txn)
        .await?;
    let now = super::now();
    let ids: Vec<i64> = before.iter().map(|lead| lead.id).collect();
    ckb_lead::Entity::update_many()
        .col_expr(
            ckb_lead::Column::FriendStatus,
            Expr::value(status.to_value()),
        )
        .col_expr(ckb_lead::Column::FriendStatusAt, Expr::value(now))
        .col_expr(ckb_lead::Column::UpdatedAt, Expr::value(now))
        .filter(ckb_lead::Column::Id.is_in(ids))
        .exec(&txn)
        .await?;
    let deltas = before
        .iter()
        .flat_map(|lead| {
            let after = ckb_lead::Model {
                friend_status: Some(status),
                ..lead.clone()
            };
            counters::lead_change(lead, &after)
        })
        .collect();
    counters::add(&txn, deltas).await?;
    txn.commit().await?;
    Ok(before.len() as u64)
}
