//! 匹配记录: match records, and picking a partner for a requester.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sea_orm::{
    sea_query::{Expr, Query},
    ActiveEnum, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, Select, Set, TransactionTrait,
};

use super::{
    counters::{self, Delta},
    entities::{ckb_lead, match_record, member},
    leads, members,
    page::{contains_pattern, into_page, keyset, like_lower, Cursor, Page, PageRequest},
    plans, pools,
};
use crate::{
    domain::{DeliveryStatus, FriendStatus, LeadOrigin, MatchKind, MatchStatus},
    error::{GatewayError, Result},
};

#[derive(Default, Clone, Debug)]
pub struct MatchFilter {
    pub kind: Option<MatchKind>,
    pub status: Option<MatchStatus>,
    pub pool_id: Option<i64>,
    /// Matches where this member is the requester or the partner.
    pub member_id: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Part of the requester's or the partner's nickname.
    pub keyword: Option<String>,
    pub has_lead: Option<bool>,
    pub delivery_status: Option<DeliveryStatus>,
    pub friend_status: Option<FriendStatus>,
}

fn filtered(filter: &MatchFilter) -> Select<match_record::Entity> {
    let mut select = match_record::Entity::find();
    if let Some(kind) = filter.kind {
        select = select.filter(match_record::Column::Kind.eq(kind));
    }
    if let Some(status) = filter.status {
        select = select.filter(match_record::Column::Status.eq(status));
    }
    if let Some(pool_id) = filter.pool_id {
        select = select.filter(match_record::Column::PoolId.eq(pool_id));
    }
    if let Some(member_id) = filter.member_id {
        select = select.filter(
            Condition::any()
                .add(match_record::Column::RequesterId.eq(member_id))
                .add(match_record::Column::PartnerId.eq(member_id)),
        );
    }
    if let Some(from) = filter.from {
        select = select.filter(match_record::Column::MatchedAt.gte(from));
    }
    if let Some(to) = filter.to {
        select = select.filter(match_record::Column::MatchedAt.lt(to));
    }
    if let Some(keyword) = filter.keyword.as_deref() {
        let matching_members = Query::select()
            .column(member::Column::Id)
            .from(member::Entity)
            .and_where(like_lower(
                member::Column::Nickname,
                &contains_pattern(keyword),
            ))
            .to_owned();
        select = select.filter(
            Condition::any()
                .add(match_record::Column::RequesterId.in_subquery(matching_members.clone()))
                .add(match_record::Column::PartnerId.in_subquery(matching_members)),
        );
    }
    if let Some(has_lead) = filter.has_lead {
        select = select.filter(if has_lead {
            match_record::Column::LeadId.is_not_null()
        } else {
            match_record::Column::LeadId.is_null()
        });
    }
    if filter.delivery_status.is_some() || filter.friend_status.is_some() {
        let mut leads = Query::select();
        leads.column(ckb_lead::Column::Id).from(ckb_lead::Entity);
        if let Some(status) = filter.delivery_status {
            leads.and_where(ckb_lead::Column::DeliveryStatus.eq(status));
        }
        if let Some(status) = filter.friend_status {
            leads.and_where(ckb_lead::Column::FriendStatus.eq(status));
        }
        select = select.filter(match_record::Column::LeadId.in_subquery(leads.to_owned()));
    }
    select
}

pub async fn list(
    db: &impl ConnectionTrait,
    filter: &MatchFilter,
    page: &PageRequest,
) -> Result<Page<match_record::Model>> {
    let rows = keyset(
        filtered(filter),
        match_record::Column::MatchedAt,
        match_record::Column::Id,
        page,
    )
    .all(db)
    .await?;
    Ok(into_page(rows, page, |m| Cursor {
        at: m.matched_at,
        id: m.id,
    }))
}

pub async fn count(db: &impl ConnectionTrait, filter: &MatchFilter) -> Result<u64> {
    Ok(filtered(filter).count(db).await?)
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<match_record::Model> {
    match_record::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| GatewayError::not_found("MatchRecord", id))
}

/// A new match and the lead it produced, if the requester has a contact and a plan is
/// configured for matches.
pub struct RecordedMatch {
    pub record: match_record::Model,
    pub lead: Option<ckb_lead::Model>,
}

/// Picks a partner for `requester_id` from the selected pool of `kind` and stores the match,
/// with its lead, in one transaction.
///
/// The pool's rules apply: never the requester, nobody matched with the requester (either way)
/// within `excludeMatchedWithinDays`, and at most `dailyMatchLimit` matches of this kind per
/// requester since `day_start`. A limit of 0 means no limit.
pub async fn record(
    db: &(impl ConnectionTrait + TransactionTrait),
    requester_id: i64,
    kind: MatchKind,
    day_start: DateTime<Utc>,
    context: leads::LeadContext,
) -> Result<RecordedMatch> {
    let txn = db.begin().await?;
    let now = crate::db::now();

    // Touching the requester's row first takes SQLite's write lock at once and locks the row
    // on PostgreSQL, so two concurrent matches for one requester cannot both pass the daily
    // limit below.
    let touched = member::Entity::update_many()
        .col_expr(
            member::Column::UpdatedAt,
            Expr::col(member::Column::UpdatedAt).into(),
        )
        .filter(member::Column::Id.eq(requester_id))
        .exec(&txn)
        .await?;
    if touched.rows_affected == 0 {
        return Err(GatewayError::not_found("Member", requester_id));
    }
    let requester = members::find(&txn, requester_id).await?;

    let pool = pools::selected(&txn, kind).await?.ok_or_else(|| {
        GatewayError::conflict(format!(
            "no partner pool of kind {} exists; create one with createPartnerPool",
            kind.as_str()
        ))
    })?;

    if pool.daily_match_limit > 0 {
        let today = match_record::Entity::find()
            .filter(match_record::Column::RequesterId.eq(requester_id))
            .filter(match_record::Column::Kind.eq(kind))
            .filter(match_record::Column::MatchedAt.gte(day_start))
            .count(&txn)
            .await?;
        if today >= pool.daily_match_limit as u64 {
            return Err(GatewayError::conflict(format!(
                "member {requester_id} reached the daily limit of {} {} matches of pool {:?}; try again tomorrow",
                pool.daily_match_limit,
                kind.as_str(),
                pool.name
            )));
        }
    }

    let recent_since = (pool.exclude_matched_within_days > 0)
        .then(|| now - Duration::days(pool.exclude_matched_within_days.into()));
    if recent_since.is_some() {
        // Every match takes this lock after updating its requester's row. Other members' rows
        // get only the key-share locks of foreign keys, which that update does not block.
        super::lock_match_recording(&txn).await?;
    }
    let candidates = pools::candidates(&pool, requester_id, recent_since);
    let pivot = match pools::member_id_range(&txn).await? {
        Some((min, max)) => rand::rng().random_range(min..=max),
        None => 0,
    };
    let partner = pools::pick_candidate(&txn, candidates, pivot).await?.ok_or_else(|| {
        GatewayError::conflict(format!(
            "nobody in partner pool {:?} is eligible for member {requester_id}: the pool's rules, the requester and everyone matched with them in the last {} days leave no candidate",
            pool.name, pool.exclude_matched_within_days
        ))
    })?;

    let plan = match pool.ckb_plan_id {
        Some(plan_id) => Some(plans::find(&txn, plan_id).await?).filter(|p| p.enabled),
        None => plans::for_origin(&txn, LeadOrigin::Match).await?,
    };
    let lead = match plan.and_then(|plan| {
        leads::member_lead(
            &requester,
            plan.id,
            LeadOrigin::Match,
            format!("找伙伴·{}", kind.label_zh()),
            format!("匹配到 {}", partner.nickname),
        )
    }) {
        Some(mut lead) => {
            context.apply(&mut lead);
            lead.match_kind = Some(kind);
            Some(leads::insert_pending(&txn, lead).await?)
        }
        None => None,
    };

    let record = match_record::ActiveModel {
        kind: Set(kind),
        pool_id: Set(pool.id),
        requester_id: Set(requester_id),
        partner_id: Set(partner.id),
        status: Set(MatchStatus::Matched),
        lead_id: Set(lead.as_ref().map(|l| l.id)),
        matched_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let lead = match lead {
        Some(lead) => {
            leads::set_origin_id(&txn, lead.id, record.id).await?;
            Some(leads::find(&txn, lead.id).await?)
        }
        None => None,
    };
    let mut deltas = vec![Delta::new(now, "match", kind.as_str(), 1)];
    if lead.is_some() {
        deltas.push(Delta::new(now, "match_with_lead", kind.as_str(), 1));
    }
    counters::add(&txn, deltas).await?;
    txn.commit().await?;
    Ok(RecordedMatch { record, lead })
}

/// Moves a match to `status`. A closed match stays closed.
///
/// The check and the write run in one transaction that first locks the row, so a concurrent
/// close cannot land between them and be overwritten.
pub async fn set_status(
    db: &(impl ConnectionTrait + TransactionTrait),
    id: i64,
    status: MatchStatus,
) -> Result<match_record::Model> {
    let txn = db.begin().await?;
    if !super::touch(&txn, "match_records", id).await? {
        return Err(GatewayError::not_found("MatchRecord", id));
    }
    let record = find(&txn, id).await?;
    if record.status == MatchStatus::Closed && status != MatchStatus::Closed {
        return Err(GatewayError::conflict(format!(
            "match record {id} is CLOSED and cannot move to {}; record a new match instead",
            status.to_value()
        )));
    }
    let mut active: match_record::ActiveModel = record.into();
    active.status = Set(status);
    active.updated_at = Set(crate::db::now());
    let record = active.update(&txn).await?;
    txn.commit().await?;
    Ok(record)
}
