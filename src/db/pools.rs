//! Partner pools (伙伴池): the selectable sets of members each match kind draws from.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Expr, Query},
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select, Set, TransactionTrait,
};

use super::{
    entities::{match_record, member, member_tag, partner_pool, partner_pool_member},
    page::{contains_pattern, into_page, keyset, like_lower, Cursor, Page, PageRequest},
    SingleFlag,
};
use crate::{
    domain::{MatchKind, PoolSource},
    error::{GatewayError, Result},
};

#[derive(Default, Clone, Debug)]
pub struct PoolFilter {
    pub kind: Option<MatchKind>,
    pub enabled: Option<bool>,
    pub selected: Option<bool>,
    pub keyword: Option<String>,
}

/// The rules of a pool, as created or updated.
#[derive(Clone, Debug)]
pub struct PoolRules {
    pub name: String,
    pub description: Option<String>,
    pub source: PoolSource,
    pub required_tags: Vec<String>,
    pub require_phone: bool,
    pub require_wechat: bool,
    pub exclude_matched_within_days: i32,
    pub daily_match_limit: i32,
    pub ckb_plan_id: Option<i64>,
}

fn filtered(filter: &PoolFilter) -> Select<partner_pool::Entity> {
    let mut select = partner_pool::Entity::find();
    if let Some(kind) = filter.kind {
        select = select.filter(partner_pool::Column::Kind.eq(kind));
    }
    if let Some(enabled) = filter.enabled {
        select = select.filter(partner_pool::Column::Enabled.eq(enabled));
    }
    if let Some(selected) = filter.selected {
        select = select.filter(partner_pool::Column::Selected.eq(selected));
    }
    if let Some(keyword) = filter.keyword.as_deref() {
        select = select.filter(like_lower(
            partner_pool::Column::Name,
            &contains_pattern(keyword),
        ));
    }
    select
}

pub async fn list(
    db: &impl ConnectionTrait,
    filter: &PoolFilter,
    page: &PageRequest,
) -> Result<Page<partner_pool::Model>> {
    let rows = keyset(
        filtered(filter),
        partner_pool::Column::CreatedAt,
        partner_pool::Column::Id,
        page,
    )
    .all(db)
    .await?;
    Ok(into_page(rows, page, |p| Cursor {
        at: p.created_at,
        id: p.id,
    }))
}

pub async fn count(db: &impl ConnectionTrait, filter: &PoolFilter) -> Result<u64> {
    Ok(filtered(filter).count(db).await?)
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<partner_pool::Model> {
    partner_pool::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| GatewayError::not_found("PartnerPool", id))
}

pub async fn by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, partner_pool::Model>> {
    let rows = partner_pool::Entity::find()
        .filter(partner_pool::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|p| (p.id, p)).collect())
}

/// The selected pool of a kind, if any pool of that kind exists.
pub async fn selected(
    db: &impl ConnectionTrait,
    kind: MatchKind,
) -> Result<Option<partner_pool::Model>> {
    Ok(partner_pool::Entity::find()
        .filter(partner_pool::Column::Kind.eq(kind))
        .filter(partner_pool::Column::Selected.eq(true))
        .one(db)
        .await?)
}

/// Creates a pool. The first pool of a kind becomes its selected pool, so that every kind
/// with a pool has exactly one selected.
pub async fn create(
    db: &(impl ConnectionTrait + TransactionTrait),
    kind: MatchKind,
    rules: PoolRules,
) -> Result<partner_pool::Model> {
    let txn = db.begin().await?;
    let now = crate::db::now();
    let pool = partner_pool::ActiveModel {
        name: Set(rules.name),
        description: Set(rules.description),
        kind: Set(kind),
        source: Set(rules.source),
        required_tags: Set(
            serde_json::to_string(&rules.required_tags).map_err(GatewayError::internal)?
        ),
        require_phone: Set(rules.require_phone),
        require_wechat: Set(rules.require_wechat),
        exclude_matched_within_days: Set(rules.exclude_matched_within_days),
        daily_match_limit: Set(rules.daily_match_limit),
        enabled: Set(true),
        selected: Set(false),
        ckb_plan_id: Set(rules.ckb_plan_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    super::lock_single_flag(&txn, SingleFlag::SelectedPool).await?;
    if selected(&txn, kind).await?.is_none() {
        partner_pool::Entity::update_many()
            .col_expr(partner_pool::Column::Selected, Expr::value(true))
            .filter(partner_pool::Column::Id.eq(pool.id))
            .exec(&txn)
            .await?;
    }
    let pool = find(&txn, pool.id).await?;
    txn.commit().await?;
    Ok(pool)
}

/// Changes a pool's rules to those `merge` builds and validates from the stored pool. The
/// read, `merge` and the write run in one transaction that first locks the pool's row, so two
/// concurrent updates of different fields both take effect.
pub async fn update(
    db: &(impl ConnectionTrait + TransactionTrait),
    id: i64,
    merge: impl FnOnce(&partner_pool::Model) -> Result<PoolRules>,
) -> Result<partner_pool::Model> {
    let txn = db.begin().await?;
    if !super::touch(&txn, "partner_pools", id).await? {
        return Err(GatewayError::not_found("PartnerPool", id));
    }
    let existing = find(&txn, id).await?;
    let rules = merge(&existing)?;
    let mut active: partner_pool::ActiveModel = existing.into();
    active.name = Set(rules.name);
    active.description = Set(rules.description);
    active.source = Set(rules.source);
    active.required_tags =
        Set(serde_json::to_string(&rules.required_tags).map_err(GatewayError::internal)?);
    active.require_phone = Set(rules.require_phone);
    active.require_wechat = Set(rules.require_wechat);
    active.exclude_matched_within_days = Set(rules.exclude_matched_within_days);
    active.daily_match_limit = Set(rules.daily_match_limit);
    active.ckb_plan_id = Set(rules.ckb_plan_id);
    active.updated_at = Set(crate::db::now());
    let pool = active.update(&txn).await?;
    txn.commit().await?;
    Ok(pool)
}

/// Enables or disables a pool. The selected pool of a kind cannot be disabled, because the
/// kind would then have no pool to match from.
///
/// The check and the write run in one transaction that waits for any selection in progress
/// (the same lock as [`select`]), so a pool cannot be selected between the check and the write.
pub async fn set_enabled(
    db: &(impl ConnectionTrait + TransactionTrait),
    id: i64,
    enabled: bool,
) -> Result<partner_pool::Model> {
    let txn = db.begin().await?;
    super::lock_single_flag(&txn, SingleFlag::SelectedPool).await?;
    // The first write takes SQLite's write lock, which a selection holds until it commits.
    super::touch(&txn, "partner_pools", id).await?;
    let pool = find(&txn, id).await?;
    if !enabled && pool.selected {
        return Err(GatewayError::conflict(format!(
            "partner pool {id} is the selected pool of kind {}; select another pool of that kind before disabling this one",
            pool.kind.as_str()
        )));
    }
    let mut active: partner_pool::ActiveModel = pool.into();
    active.enabled = Set(enabled);
    active.updated_at = Set(crate::db::now());
    let pool = active.update(&txn).await?;
    txn.commit().await?;
    Ok(pool)
}

/// Makes the pool the one selected pool of its kind, in one transaction. Concurrent selections
/// wait for each other, and the partial unique index on `(kind) WHERE selected` rejects a
/// second selected pool whatever the code does.
pub async fn select(
    db: &(impl ConnectionTrait + TransactionTrait),
    id: i64,
) -> Result<partner_pool::Model> {
    let txn = db.begin().await?;
    super::lock_single_flag(&txn, SingleFlag::SelectedPool).await?;
    // Writing first takes SQLite's write lock at once, so a concurrent selection waits instead
    // of failing on a stale snapshot.
    let kind_of_pool = Query::select()
        .column(partner_pool::Column::Kind)
        .from(partner_pool::Entity)
        .and_where(partner_pool::Column::Id.eq(id))
        .to_owned();
    partner_pool::Entity::update_many()
        .col_expr(partner_pool::Column::Selected, Expr::value(false))
        .filter(partner_pool::Column::Selected.eq(true))
        .filter(partner_pool::Column::Kind.in_subquery(kind_of_pool))
        .filter(partner_pool::Column::Id.ne(id))
        .exec(&txn)
        .await?;
    let pool = find(&txn, id).await?;
    if !pool.enabled {
        return Err(GatewayError::conflict(format!(
            "partner pool {id} is disabled; enable it before selecting it"
        )));
    }
    partner_pool::Entity::update_many()
        .col_expr(partner_pool::Column::Selected, Expr::value(true))
        .col_expr(
            partner_pool::Column::UpdatedAt,
            Expr::value(crate::db::now()),
        )
        .filter(partner_pool::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    let pool = find(&txn, id).await?;
    txn.commit().await?;
    Ok(pool)
}

/// Adds members to a MANUAL pool's list; members already on it are left as they are.
pub async fn add_members(
    db: &(impl ConnectionTrait + TransactionTrait),
    pool_id: i64,
    member_ids: &[i64],
) -> Result<u64> {
    let txn = db.begin().await?;
    super::touch(&txn, "partner_pools", pool_id).await?;
    let existing: Vec<i64> = partner_pool_member::Entity::find()
        .select_only()
        .column(partner_pool_member::Column::MemberId)
        .filter(partner_pool_member::Column::PoolId.eq(pool_id))
        .filter(partner_pool_member::Column::MemberId.is_in(member_ids.iter().copied()))
        .into_tuple()
        .all(&txn)
        .await?;
    let now = crate::db::now();
    let mut new_ids: Vec<i64> = member_ids
        .iter()
        .copied()
        .filter(|id| !existing.contains(id))
        .collect();
    new_ids.sort_unstable();
    new_ids.dedup();
    let added = new_ids.len() as u64;
    if !new_ids.is_empty() {
        partner_pool_member::Entity::insert_many(new_ids.into_iter().map(|member_id| {
            partner_pool_member::ActiveModel {
                pool_id: Set(pool_id),
                member_id: Set(member_id),
                created_at: Set(now),
            }
        }))
        .exec(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(added)
}

pub async fn remove_members(
    db: &impl ConnectionTrait,
    pool_id: i64,
    member_ids: &[i64],
) -> Result<u64> {
    let result = partner_pool_member::Entity::delete_many()
        .filter(partner_pool_member::Column::PoolId.eq(pool_id))
        .filter(partner_pool_member::Column::MemberId.is_in(member_ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// The members a pool's rules admit, before the per-requester rules of a match.
pub fn eligible(pool: &partner_pool::Model) -> Select<member::Entity> {
    let mut select = member::Entity::find();
    match pool.source {
        PoolSource::AllMembers | PoolSource::Tagged => {}
        PoolSource::VipMembers => select = select.filter(member::Column::IsVip.eq(true)),
        PoolSource::Manual => {
            select = select.filter(
                member::Column::Id.in_subquery(
                    Query::select()
                        .column(partner_pool_member::Column::MemberId)
                        .from(partner_pool_member::Entity)
                        .and_where(partner_pool_member::Column::PoolId.eq(pool.id))
                        .to_owned(),
                ),
            )
        }
    }
    let tags = pool.required_tags();
    if !tags.is_empty() {
        // Members carrying every required tag: their matching tag rows number as many as the
        // required tags, since (member_id, tag) is the primary key.
        let required = tags.len() as i64;
        select = select.filter(
            member::Column::Id.in_subquery(
                Query::select()
                    .column(member_tag::Column::MemberId)
                    .from(member_tag::Entity)
                    .and_where(member_tag::Column::Tag.is_in(tags))
                    .group_by_col(member_tag::Column::MemberId)
                    .and_having(Expr::col(member_tag::Column::Tag).count().eq(required))
                    .to_owned(),
            ),
        );
    }
    if pool.require_phone {
        select = select
            .filter(member::Column::Phone.is_not_null())
            .filter(member::Column::Phone.ne(""));
    }
    if pool.require_wechat {
        select = select
            .filter(member::Column::WechatId.is_not_null())
            .filter(member::Column::WechatId.ne(""));
    }
    select
}

pub async fn eligible_page(
    db: &impl ConnectionTrait,
    pool: &partner_pool::Model,
    page: &PageRequest,
) -> Result<Page<member::Model>> {
    let rows = keyset(
        eligible(pool),
        member::Column::CreatedAt,
        member::Column::Id,
        page,
    )
    .all(db)
    .await?;
    Ok(into_page(rows, page, |m| Cursor {
        at: m.created_at,
        id: m.id,
    }))
}

pub async fn eligible_count(db: &impl ConnectionTrait, pool: &partner_pool::Model) -> Result<u64> {
    Ok(eligible(pool).count(db).await?)
}

/// Members a requester may be matched with from this pool now: eligible, not the requester,
/// and not matched with the requester, in either direction, since `recent_since`.
pub fn candidates(
    pool: &partner_pool::Model,
    requester_id: i64,
    recent_since: Option<DateTime<Utc>>,
) -> Select<member::Entity> {
    let mut select = eligible(pool).filter(member::Column::Id.ne(requester_id));
    if let Some(since) = recent_since {
        select = select
            .filter(
                member::Column::Id.not_in_subquery(
                    Query::select()
                        .column(match_record::Column::PartnerId)
                        .from(match_record::Entity)
                        .and_where(match_record::Column::RequesterId.eq(requester_id))
                        .and_where(match_record::Column::MatchedAt.gte(since))
                        .to_owned(),
                ),
            )
            .filter(
                member::Column::Id.not_in_subquery(
                    Query::select()
                        .column(match_record::Column::RequesterId)
                        .from(match_record::Entity)
                        .and_where(match_record::Column::PartnerId.eq(requester_id))
                        .and_where(match_record::Column::MatchedAt.gte(since))
                        .to_owned(),
                ),
            );
    }
    select
}

/// Picks one candidate at random: a random point in the id range, then the first candidate at
/// or after it, wrapping around. This is two index seeks instead of sorting every candidate.
pub async fn pick_candidate(
    db: &impl ConnectionTrait,
    candidates: Select<member::Entity>,
    pivot: i64,
) -> Result<Option<member::Model>> {
    let after = candidates
        .clone()
        .filter(member::Column::Id.gte(pivot))
        .order_by(member::Column::Id, Order::Asc)
        .one(db)
        .await?;
    if after.is_some() {
        return Ok(after);
    }
    Ok(candidates
        .filter(member::Column::Id.lt(pivot))
        .order_by(member::Column::Id, Order::Asc)
        .one(db)
        .await?)
}

/// The smallest and largest member id, or `None` without members.
pub async fn member_id_range(db: &impl ConnectionTrait) -> Result<Option<(i64, i64)>> {
    let range: Option<(Option<i64>, Option<i64>)> = member::Entity::find()
        .select_only()
        .column_as(member::Column::Id.min(), "min_id")
        .column_as(member::Column::Id.max(), "max_id")
        .into_tuple()
        .one(db)
        .await?;
    Ok(match range {
        Some((Some(min), Some(max))) => Some((min, max)),
        _ => None,
    })
}
