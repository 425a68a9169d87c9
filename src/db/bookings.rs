//! 导师预约: members booking a mentor's time.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    sea_query::Expr, ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, Select, Set, TransactionTrait,
};

use super::{
    counters::{self, Delta},
    entities::{ckb_lead, member, mentor_booking},
    leads, members,
    page::{contains_pattern, into_page, keyset, like_lower, Cursor, Page, PageRequest},
    plans,
};
use crate::{
    domain::{BookingStatus, LeadOrigin},
    error::{GatewayError, Result},
};

/// Longest slot one booking may hold.
pub const MAX_SLOT: Duration = Duration::hours(8);

#[derive(Default, Clone, Debug)]
pub struct BookingFilter {
    pub status: Option<BookingStatus>,
    pub mentor_id: Option<i64>,
    pub member_id: Option<i64>,
    /// Bookings whose slot starts in `[from, to)`.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Part of the topic.
    pub keyword: Option<String>,
}

/// The order of the bookings list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookingOrder {
    CreatedNewestFirst,
    SlotSoonestFirst,
    SlotLatestFirst,
}

#[derive(Clone, Debug)]
pub struct NewBooking {
    pub mentor_id: i64,
    pub member_id: i64,
    pub topic: String,
    pub slot_start: DateTime<Utc>,
    pub slot_end: DateTime<Utc>,
    pub note: Option<String>,
}

fn filtered(filter: &BookingFilter) -> Select<mentor_booking::Entity> {
    let mut select = mentor_booking::Entity::find();
    if let Some(status) = filter.status {
        select = select.filter(mentor_booking::Column::Status.eq(status));
    }
    if let Some(mentor_id) = filter.mentor_id {
        select = select.filter(mentor_booking::Column::MentorId.eq(mentor_id));
    }
    if let Some(member_id) = filter.member_id {
        select = select.filter(mentor_booking::Column::MemberId.eq(member_id));
    }
    if let Some(from) = filter.from {
        select = select.filter(mentor_booking::Column::SlotStart.gte(from));
    }
    if let Some(to) = filter.to {
        select = select.filter(mentor_booking::Column::SlotStart.lt(to));
    }
    if let Some(keyword) = filter.keyword.as_deref() {
        select = select.filter(like_lower(
            mentor_booking::Column::Topic,
            &contains_pattern(keyword),
        ));
    }
    select
}

pub async fn list(
    db: &impl ConnectionTrait,
    filter: &BookingFilter,
    order: BookingOrder,
    first: Option<i32>,
    after: Option<&str>,
) -> Result<Page<mentor_booking::Model>> {
    let by_created = order == BookingOrder::CreatedNewestFirst;
    let (column, descending) = match order {
        BookingOrder::CreatedNewestFirst => (mentor_booking::Column::CreatedAt, true),
        BookingOrder::SlotSoonestFirst => (mentor_booking::Column::SlotStart, false),
        BookingOrder::SlotLatestFirst => (mentor_booking::Column::SlotStart, true),
    };
    let page = PageRequest::new(first, after, descending)?;
    let rows = keyset(filtered(filter), column, mentor_booking::Column::Id, &page)
        .all(db)
        .await?;
    Ok(into_page(rows, &page, |b| Cursor {
        at: if by_created {
            b.created_at
        } else {
            b.slot_start
        },
        id: b.id,
    }))
}

pub async fn count(db: &impl ConnectionTrait, filter: &BookingFilter) -> Result<u64> {
    Ok(filtered(filter).count(db).await?)
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<mentor_booking::Model> {
    mentor_booking::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| GatewayError::not_found("MentorBooking", id))
}

/// A new booking and its lead.
pub struct CreatedBooking {
    pub booking: mentor_booking::Model,
    pub lead: Option<ckb_lead::Model>,
}

/// Books a mentor's slot. The slot may not overlap a PENDING or CONFIRMED booking of the same
/// mentor.
pub async fn create(
    db: &(impl ConnectionTrait + TransactionTrait),
    new: NewBooking,
    context: leads::LeadContext,
) -> Result<CreatedBooking> {
    let txn = db.begin().await?;
    // Touching the mentor's row first serializes bookings of one mentor, so two members
    // cannot both take the same slot.
    let touched = member::Entity::update_many()
        .col_expr(
            member::Column::UpdatedAt,
            Expr::col(member::Column::UpdatedAt).into(),
        )
        .filter(member::Column::Id.eq(new.mentor_id))
        .exec(&txn)
        .await?;
    if touched.rows_affected == 0 {
        return Err(GatewayError::not_found("Member", new.mentor_id));
    }
    let booker = members::find(&txn, new.member_id).await?;
    let overlapping = mentor_booking::Entity::find()
        .filter(mentor_booking::Column::MentorId.eq(new.mentor_id))
        .filter(
            mentor_booking::Column::Status
                .is_in([BookingStatus::Pending, BookingStatus::Confirmed]),
        )
        .filter(mentor_booking::Column::SlotStart.lt(new.slot_end))
        .filter(mentor_booking::Column::SlotEnd.gt(new.slot_start))
        .one(&txn)
        .await?;
    if let Some(other) = overlapping {
        return Err(GatewayError::conflict(format!(
            "mentor {} already has booking {} from {} to {} in that time; choose another slot",
            new.mentor_id, other.id, other.slot_start, other.slot_end
        )));
    }

    let lead = match plans::for_origin(&txn, LeadOrigin::MentorBooking)
        .await?
        .and_then(|plan| {
            leads::member_lead(
                &booker,
                plan.id,
                LeadOrigin::MentorBooking,
                "找伙伴·导师预约".into(),
                format!("预约主题: {}", new.topic),
            )
        }) {
        Some(mut lead) => {
            context.apply(&mut lead);
            Some(leads::insert_pending(&txn, lead).await?)
        }
        None => None,
    };
    let now = crate::db::now();
    let booking = mentor_booking::ActiveModel {
        mentor_id: Set(new.mentor_id),
        member_id: Set(new.member_id),
        topic: Set(new.topic),
        slot_start: Set(new.slot_start),
        slot_end: Set(new.slot_end),
        status: Set(BookingStatus::Pending),
        note: Set(new.note),
        lead_id: Set(lead.as_ref().map(|l| l.id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let lead = match lead {
        Some(lead) => {
            leads::set_origin_id(&txn, lead.id, booking.id).await?;
            Some(leads::find(&txn, lead.id).await?)
        }
        None => None,
    };
    counters::add(&txn, vec![Delta::new(now, "booking", "", 1)]).await?;
    txn.commit().await?;
    Ok(CreatedBooking { booking, lead })
}

/// Whether a booking may move from `from` to `to`.
pub fn transition_allowed(from: BookingStatus, to: BookingStatus) -> bool {
    use BookingStatus::*;
    matches!(
        (from, to),
        (Pending, Confirmed)
            | (Pending, Cancelled)
            | (Confirmed, Completed)
            | (Confirmed, Cancelled)
    )
}

/// Moves a booking to `status`; setting the status it already has changes nothing.
pub async fn set_status(
    db: &impl ConnectionTrait,
    id: i64,
    status: BookingStatus,
) -> Result<mentor_booking::Model> {
    let booking = find(db, id).await?;
    if booking.status == status {
        return Ok(booking);
    }
    if !transition_allowed(booking.status, status) {
        return Err(GatewayError::conflict(format!(
            "mentor booking {id} is {} and cannot become {}; allowed: PENDING → CONFIRMED or CANCELLED, CONFIRMED → COMPLETED or CANCELLED",
            booking.status.to_value(),
            status.to_value()
        )));
    }
    // The status in the WHERE clause makes a concurrent change lose cleanly instead of
    // overwriting it.
    let result = mentor_booking::Entity::update_many()
        .col_expr(
            mentor_booking::Column::Status,
            Expr::value(status.to_value()),
        )
        .col_expr(
            mentor_booking::Column::UpdatedAt,
            Expr::value(crate::db::now()),
        )
        .filter(mentor_booking::Column::Id.eq(id))
        .filter(mentor_booking::Column::Status.eq(booking.status))
        .exec(db)
        .await?;
    let current = find(db, id).await?;
    // A concurrent request that made the same change is not a conflict: the booking is where
    // this request wanted it.
    if result.rows_affected == 0 && current.status != status {
        return Err(GatewayError::conflict(format!(
            "mentor booking {id} changed while this request ran; read it again and retry"
        )));
    }
    Ok(current)
}
