//! 资源对接: resources members offer or need, and the counterpart each was matched with.

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::Expr, ActiveEnum, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait,
    EntityTrait, PaginatorTrait, QueryFilter, Select, Set, TransactionTrait,
};

use super::{
    counters::{self, Delta},
    entities::{ckb_lead, resource_match},
    leads, members,
    page::{contains_pattern, into_page, keyset, like_lower, Cursor, Page, PageRequest},
    plans,
};
use crate::{
    domain::{LeadOrigin, ResourceDirection, ResourceStatus},
    error::{GatewayError, Result},
};

#[derive(Default, Clone, Debug)]
pub struct ResourceFilter {
    pub direction: Option<ResourceDirection>,
    pub status: Option<ResourceStatus>,
    /// Entries this member owns or was matched with.
    pub member_id: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Part of the title or the description.
    pub keyword: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewResource {
    pub direction: ResourceDirection,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub owner_id: i64,
}

fn filtered(filter: &ResourceFilter) -> Select<resource_match::Entity> {
    let mut select = resource_match::Entity::find();
    if let Some(direction) = filter.direction {
        select = select.filter(resource_match::Column::Direction.eq(direction));
    }
    if let Some(status) = filter.status {
        select = select.filter(resource_match::Column::Status.eq(status));
    }
    if let Some(member_id) = filter.member_id {
        select = select.filter(
            Condition::any()
                .add(resource_match::Column::OwnerId.eq(member_id))
                .add(resource_match::Column::CounterpartId.eq(member_id)),
        );
    }
    if let Some(from) = filter.from {
        select = select.filter(resource_match::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        select = select.filter(resource_match::Column::CreatedAt.lt(to));
    }
    if let Some(keyword) = filter.keyword.as_deref() {
        let pattern = contains_pattern(keyword);
        select = select.filter(
            Condition::any()
                .add(like_lower(resource_match::Column::Title, &pattern))
                .add(like_lower(resource_match::Column::Description, &pattern)),
        );
    }
    select
}

pub async fn list(
    db: &impl ConnectionTrait,
    filter: &ResourceFilter,
    page: &PageRequest,
) -> Result<Page<resource_match::Model>> {
    let rows = keyset(
        filtered(filter),
        resource_match::Column::CreatedAt,
        resource_match::Column::Id,
        page,
    )
    .all(db)
    .await?;
    Ok(into_page(rows, page, |r| Cursor {
        at: r.created_at,
        id: r.id,
    }))
}

pub async fn count(db: &impl ConnectionTrait, filter: &ResourceFilter) -> Result<u64> {
    Ok(filtered(filter).count(db).await?)
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<resource_match::Model> {
    resource_match::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| GatewayError::not_found("ResourceMatch", id))
}

/// Posts an entry and counts it; the owner is checked before the transaction so that the
/// transaction starts with its write.
pub async fn create(
    db: &(impl ConnectionTrait + TransactionTrait),
    new: NewResource,
) -> Result<resource_match::Model> {
    members::find(db, new.owner_id).await?;
    let now = crate::db::now();
    let txn = db.begin().await?;
    let resource = resource_match::ActiveModel {
        direction: Set(new.direction),
        title: Set(new.title),
        description: Set(new.description),
        tags: Set(serde_json::to_string(&new.tags).map_err(GatewayError::internal)?),
        owner_id: Set(new.owner_id),
        status: Set(ResourceStatus::Open),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    counters::add(&txn, vec![Delta::new(now, "resource", "", 1)]).await?;
    txn.commit().await?;
    Ok(resource)
}

/// A matched resource entry and the lead of its counterpart.
pub struct MatchedResource {
    pub resource: resource_match::Model,
    pub lead: Option<ckb_lead::Model>,
}

/// Matches an OPEN entry with a counterpart and submits the counterpart's contact as a lead,
/// since the counterpart is the member who answered the offer or need.
pub async fn match_counterpart(
    db: &(impl ConnectionTrait + TransactionTrait),
    id: i64,
    counterpart_id: i64,
    context: leads::LeadContext,
) -> Result<MatchedResource> {
    let txn = db.begin().await?;
    let now = crate::db::now();
    // The status condition makes the update the check: only one of two concurrent matches of
    // the same entry finds it OPEN.
    let updated = resource_match::Entity::update_many()
        .col_expr(
            resource_match::Column::Status,
            Expr::value(ResourceStatus::Matched.to_value()),
        )
        .col_expr(
            resource_match::Column::CounterpartId,
            Expr::value(counterpart_id),
        )
        .col_expr(resource_match::Column::MatchedAt, Expr::value(now))
        .col_expr(resource_match::Column::UpdatedAt, Expr::value(now))
        .filter(resource_match::Column::Id.eq(id))
        .filter(resource_match::Column::Status.eq(ResourceStatus::Open))
        .filter(resource_match::Column::OwnerId.ne(counterpart_id))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        let current = find(&txn, id).await?;
        if current.owner_id == counterpart_id {
            return Err(GatewayError::bad_input(
                "counterpartId",
                "the counterpart must be another member than the owner",
            ));
        }
        return Err(GatewayError::conflict(format!(
            "resource {id} is {} and cannot be matched; only OPEN entries can",
            current.status.to_value()
        )));
    }
    let counterpart = members::find(&txn, counterpart_id).await?;
    let resource = find(&txn, id).await?;
    let lead = match plans::for_origin(&txn, LeadOrigin::ResourceMatch)
        .await?
        .and_then(|plan| {
            leads::member_lead(
                &counterpart,
                plan.id,
                LeadOrigin::ResourceMatch,
                "找伙伴·资源对接".into(),
                format!("对接资源: {}", resource.title),
            )
        }) {
        Some(mut lead) => {
            lead.origin_id = Some(id);
            context.apply(&mut lead);
            Some(leads::insert_pending(&txn, lead).await?)
        }
        None => None,
    };
    if let Some(lead) = &lead {
        resource_match::Entity::update_many()
            .col_expr(resource_match::Column::LeadId, Expr::value(lead.id))
            .filter(resource_match::Column::Id.eq(id))
            .exec(&txn)
            .await?;
    }
    let resource = find(&txn, id).await?;
    txn.commit().await?;
    Ok(MatchedResource { resource, lead })
}

/// Closes an OPEN or MATCHED entry; closing a closed entry changes nothing.
pub async fn close(db: &impl ConnectionTrait, id: i64) -> Result<resource_match::Model> {
    let resource = find(db, id).await?;
    if resource.status == ResourceStatus::Closed {
        return Ok(resource);
    }
    let mut active: resource_match::ActiveModel = resource.into();
    active.status = Set(ResourceStatus::Closed);
    active.updated_at = Set(crate::db::now());
    Ok(active.update(db).await?)
}
