//! 团队招募: team recruitments and the applications to them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::Expr, ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Select, Set, SqlErr, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use super::{
    counters::{self, Delta},
    entities::{ckb_lead, member, team_application, team_recruit},
    leads, members,
    page::{contains_pattern, into_page, keyset, like_lower, Cursor, Page, PageRequest},
    plans,
};
use crate::{
    domain::{ApplicationStatus, LeadOrigin, RecruitStatus},
    error::{GatewayError, Result},
};

/// One role a recruitment looks for, stored as JSON in `team_recruits.roles`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecruitRole {
    pub title: String,
    pub count: i32,
    pub skills: Vec<String>,
}

#[derive(Default, Clone, Debug)]
pub struct RecruitFilter {
    pub status: Option<RecruitStatus>,
    pub owner_id: Option<i64>,
    pub stage: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Part of the project name or the description.
    pub keyword: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewRecruit {
    pub project_name: String,
    pub stage: String,
    pub description: String,
    pub roles: Vec<RecruitRole>,
    pub owner_id: i64,
}

#[derive(Clone, Debug)]
pub struct NewApplication {
    pub recruit_id: i64,
    pub member_id: i64,
    pub role: String,
    pub message: String,
}

fn filtered(filter: &RecruitFilter) -> Select<team_recruit::Entity> {
    let mut select = team_recruit::Entity::find();
    if let Some(status) = filter.status {
        select = select.filter(team_recruit::Column::Status.eq(status));
    }
    if let Some(owner_id) = filter.owner_id {
        select = select.filter(team_recruit::Column::OwnerId.eq(owner_id));
    }
    if let Some(stage) = filter.stage.as_deref() {
        select = select.filter(team_recruit::Column::Stage.eq(stage));
    }
    if let Some(from) = filter.from {
        select = select.filter(team_recruit::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        select = select.filter(team_recruit::Column::CreatedAt.lt(to));
    }
    if let Some(keyword) = filter.keyword.as_deref() {
        let pattern = contains_pattern(keyword);
        select = select.filter(
            sea_orm::Condition::any()
                .add(like_lower(team_recruit::Column::ProjectName, &pattern))
                .add(like_lower(team_recruit::Column::Description, &pattern)),
        );
    }
    select
}

pub async fn list(
    db: &impl ConnectionTrait,
    filter: &RecruitFilter,
    page: &PageRequest,
) -> Result<Page<team_recruit::Model>> {
    let rows = keyset(
        filtered(filter),
        team_recruit::Column::CreatedAt,
        team_recruit::Column::Id,
        page,
    )
    .all(db)
    .await?;
    Ok(into_page(rows, page, |r| Cursor {
        at: r.created_at,
        id: r.id,
    }))
}

pub async fn count(db: &impl ConnectionTrait, filter: &RecruitFilter) -> Result<u64> {
    Ok(filtered(filter).count(db).await?)
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<team_recruit::Model> {
    team_recruit::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| GatewayError::not_found("TeamRecruit", id))
}

pub async fn find_application(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<team_application::Model> {
    team_application::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| GatewayError::not_found("TeamApplication", id))
}

/// Loads the applications of recruitments, oldest first, for the DataLoader.
pub async fn applications_by_recruit(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<team_application::Model>>> {
    let rows = team_application::Entity::find()
        .filter(team_application::Column::RecruitId.is_in(ids.iter().copied()))
        .order_by_asc(team_application::Column::Id)
        .all(db)
        .await?;
    let mut grouped: HashMap<i64, Vec<team_application::Model>> = HashMap::new();
    for row in rows {
        grouped.entry(row.recruit_id).or_default().push(row);
    }
    Ok(grouped)
}

/// Posts a recruitment and counts it; the owner is checked before the transaction so that the
/// transaction starts with its write.
pub async fn create(
    db: &(impl ConnectionTrait + TransactionTrait),
    new: NewRecruit,
) -> Result<team_recruit::Model> {
    members::find(db, new.owner_id).await?;
    let headcount: i32 = new.roles.iter().map(|r| r.count).sum();
    let now = crate::db::now();
    let txn = db.begin().await?;
    let recruit = team_recruit::ActiveModel {
        project_name: Set(new.project_name),
        stage: Set(new.stage),
        description: Set(new.description),
        roles: Set(serde_json::to_string(&new.roles).map_err(GatewayError::internal)?),
        headcount: Set(headcount),
        filled_count: Set(0),
        status: Set(RecruitStatus::Recruiting),
        owner_id: Set(new.owner_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    counters::add(&txn, vec![Delta::new(now, "recruit", "", 1)]).await?;
    txn.commit().await?;
    Ok(recruit)
}

/// A new application and the applicant's lead.
pub struct CreatedApplication {
    pub application: team_application::Model,
    pub lead: Option<ckb_lead::Model>,
}

/// Applies a member to a RECRUITING recruitment for one of its roles.
pub async fn apply(
    db: &(impl ConnectionTrait + TransactionTrait),
    new: NewApplication,
    context: leads::LeadContext,
) -> Result<CreatedApplication> {
    let txn = db.begin().await?;
    // Touch the recruitment first: it takes SQLite's write lock and serializes applications
    // and acceptances of one recruitment on PostgreSQL.
    let touched = team_recruit::Entity::update_many()
        .col_expr(
            team_recruit::Column::UpdatedAt,
            Expr::col(team_recruit::Column::UpdatedAt).into(),
        )
        .filter(team_recruit::Column::Id.eq(new.recruit_id))
        .exec(&txn)
        .await?;
    if touched.rows_affected == 0 {
        return Err(GatewayError::not_found("TeamRecruit", new.recruit_id));
    }
    let recruit = find(&txn, new.recruit_id).await?;
    if recruit.status != RecruitStatus::Recruiting {
        return Err(GatewayError::conflict(format!(
            "team recruitment {} is {} and takes no applications",
            recruit.id,
            recruit.status.to_value()
        )));
    }
    if recruit.owner_id == new.member_id {
        return Err(GatewayError::bad_input(
            "memberId",
            "the owner of a recruitment cannot apply to it",
        ));
    }
    let roles: Vec<RecruitRole> = serde_json::from_str(&recruit.roles).unwrap_or_default();
    if !roles.is_empty() && !roles.iter().any(|r| r.title == new.role) {
        let titles: Vec<&str> = roles.iter().map(|r| r.title.as_str()).collect();
        return Err(GatewayError::bad_input(
            "role",
            format!(
                "role {} is not one this recruitment looks for; choose one of: {}",
                crate::error::quote_input(&new.role),
                titles.join(", ")
            ),
        ));
    }
    let applicant: member::Model = members::find(&txn, new.member_id).await?;

    let lead = match plans::for_origin(&txn, LeadOrigin::TeamRecruit)
        .await?
        .and_then(|plan| {
            leads::member_lead(
                &applicant,
                plan.id,
                LeadOrigin::TeamRecruit,
                "找伙伴·团队招募".into(),
                format!("申请 {} 的 {}", recruit.project_name, new.role),
            )
        }) {
        Some(mut lead) => {
            context.apply(&mut lead);
            Some(leads::insert_pending(&txn, lead).await?)
        }
        None => None,
    };
    let now = crate::db::now();
    let inserted = team_application::ActiveModel {
        recruit_id: Set(new.recruit_id),
        member_id: Set(new.member_id),
        role: Set(new.role),
        message: Set(new.message),
        status: Set(ApplicationStatus::Pending),
        lead_id: Set(lead.as_ref().map(|l| l.id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let application = match inserted {
        Ok(application) => application,
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(GatewayError::conflict(format!(
                "member {} already applied to team recruitment {}",
                new.member_id, new.recruit_id
            )));
        }
        Err(error) => return Err(error.into()),
    };
    let lead = match lead {
        Some(lead) => {
            leads::set_origin_id(&txn, lead.id, application.id).await?;
            Some(leads::find(&txn, lead.id).await?)
        }
        None => None,
    };
    txn.commit().await?;
    Ok(CreatedApplication { application, lead })
}

/// Moves an application to `status` and keeps the recruitment's filled places and status in
/// step: accepting fills a place (and marks the recruitment FULL at its headcount);
/// withdrawing an accepted application frees the place again.
pub async fn set_application_status(
    db: &(impl ConnectionTrait + TransactionTrait),
    id: i64,
    status: ApplicationStatus,
) -> Result<team_application::Model> {
    use ApplicationStatus::*;
    let txn = db.begin().await?;
    super::touch(&txn, "team_applications", id).await?;
    let application = find_application(&txn, id).await?;
    if application.status == status {
        return Ok(application);
    }
    let allowed = matches!(
        (application.status, status),
        (Pending, Accepted) | (Pending, Rejected) | (Pending, Withdrawn) | (Accepted, Withdrawn)
    );
    if !allowed {
        return Err(GatewayError::conflict(format!(
            "application {id} is {} and cannot become {}; allowed: PENDING → ACCEPTED, REJECTED or WITHDRAWN, ACCEPTED → WITHDRAWN",
            application.status.to_value(),
            status.to_value()
        )));
    }
    let now = crate::db::now();
    match status {
        Accepted => {
            // Only a RECRUITING recruitment with a free place takes the update; the condition
            // makes a concurrent acceptance of the last place fail instead of overfilling.
            let filled = team_recruit::Entity::update_many()
                .col_expr(
                    team_recruit::Column::FilledCount,
                    Expr::col(team_recruit::Column::FilledCount).add(1),
                )
                .col_expr(team_recruit::Column::UpdatedAt, Expr::value(now))
                .filter(team_recruit::Column::Id.eq(application.recruit_id))
                .filter(team_recruit::Column::Status.eq(RecruitStatus::Recruiting))
                .filter(
                    Expr::col(team_recruit::Column::FilledCount)
                        .lt(Expr::col(team_recruit::Column::Headcount)),
                )
                .exec(&txn)
                .await?;
            if filled.rows_affected == 0 {
                let recruit = find(&txn, application.recruit_id).await?;
                return Err(GatewayError::conflict(format!(
                    "team recruitment {} is {} with {} of {} places filled; it cannot accept another application",
                    recruit.id,
                    recruit.status.to_value(),
                    recruit.filled_count,
                    recruit.headcount
                )));
            }
            team_recruit::Entity::update_many()
                .col_expr(
                    team_recruit::Column::Status,
                    Expr::value(RecruitStatus::Full.to_value()),
                )
                .filter(team_recruit::Column::Id.eq(application.recruit_id))
                .filter(
                    Expr::col(team_recruit::Column::FilledCount)
                        .gte(Expr::col(team_recruit::Column::Headcount)),
                )
                .exec(&txn)
                .await?;
        }
        Withdrawn if application.status == Accepted => {
            team_recruit::Entity::update_many()
                .col_expr(
                    team_recruit::Column::FilledCount,
                    Expr::col(team_recruit::Column::FilledCount).sub(1),
                )
                .col_expr(team_recruit::Column::UpdatedAt, Expr::value(now))
                .filter(team_recruit::Column::Id.eq(application.recruit_id))
                .exec(&txn)
                .await?;
            team_recruit::Entity::update_many()
                .col_expr(
                    team_recruit::Column::Status,
                    Expr::value(RecruitStatus::Recruiting.to_value()),
                )
                .filter(team_recruit::Column::Id.eq(application.recruit_id))
                .filter(team_recruit::Column::Status.eq(RecruitStatus::Full))
                .exec(&txn)
                .await?;
        }
        _ => {}
    }
    let mut active: team_application::ActiveModel = application.into();
    active.status = Set(status);
    active.updated_at = Set(now);
    let application = active.update(&txn).await?;
    txn.commit().await?;
    Ok(application)
}

/// Closes a recruitment; closing a closed one changes nothing.
pub async fn close(db: &impl ConnectionTrait, id: i64) -> Result<team_recruit::Model> {
    let recruit = find(db, id).await?;
    if recruit.status == RecruitStatus::Closed {
        return Ok(recruit);
    }
    let mut active: team_recruit::ActiveModel = recruit.into();
    active.status = Set(RecruitStatus::Closed);
    active.updated_at = Set(crate::db::now());
    Ok(active.update(db).await?)
}

pub async fn by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, team_recruit::Model>> {
    let rows = team_recruit::Entity::find()
        .filter(team_recruit::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}
