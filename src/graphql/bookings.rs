//! 导师预约: the mentor bookings tab.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::{
    connection::{connection, PageConnection, TotalCount},
    context::{lead_context, loader, state},
    inputs::{keyword, DateRange},
    leads::{CkbLead, LeadReceipt},
    loaders::{LeadKey, MemberKey},
    members::Member,
    validate,
};
use crate::{
    auth::{RoleGuard, ADMIN_SERVICE},
    db::{
        self,
        bookings::{BookingFilter, BookingOrder, NewBooking, MAX_SLOT},
        entities::mentor_booking,
    },
    domain::BookingStatus,
    error::{GatewayError, Result},
};

/// A member's booking of a mentor's time (导师预约).
pub struct MentorBooking(pub mentor_booking::Model);

#[Object]
impl MentorBooking {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The mentor (导师), a member of the community.
    async fn mentor(&self, ctx: &Context<'_>) -> Result<Member> {
        let member = loader(ctx)?.load_one(MemberKey(self.0.mentor_id)).await?;
        member
            .map(Member)
            .ok_or_else(|| GatewayError::not_found("Member", self.0.mentor_id))
    }

    /// The member who booked (预约人).
    async fn member(&self, ctx: &Context<'_>) -> Result<Member> {
        let member = loader(ctx)?.load_one(MemberKey(self.0.member_id)).await?;
        member
            .map(Member)
            .ok_or_else(|| GatewayError::not_found("Member", self.0.member_id))
    }

    /// What the member wants to discuss (预约主题).
    async fn topic(&self) -> &str {
        &self.0.topic
    }

    /// Start of the booked slot.
    async fn slot_start(&self) -> DateTime<Utc> {
        self.0.slot_start
    }

    /// End of the booked slot.
    async fn slot_end(&self) -> DateTime<Utc> {
        self.0.slot_end
    }

    async fn status(&self) -> BookingStatus {
        self.0.status
    }

    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// The CKB lead of the member who booked, if one was made.
    async fn lead(&self, ctx: &Context<'_>) -> Result<Option<CkbLead>> {
        let Some(lead_id) = self.0.lead_id else {
            return Ok(None);
        };
        Ok(loader(ctx)?.load_one(LeadKey(lead_id)).await?.map(CkbLead))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Filters of the mentor bookings tab.
#[derive(InputObject, Default)]
pub struct MentorBookingFilter {
    pub status: Option<BookingStatus>,
    pub mentor_id: Option<ID>,
    pub member_id: Option<ID>,
    /// When the slot starts.
    pub slot_start: Option<DateRange>,
    /// Part of the topic, case-insensitive.
    pub keyword: Option<String>,
}

/// Order of the mentor bookings tab.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum MentorBookingOrder {
    /// Newest booking first.
    #[default]
    CreatedAtDesc,
    /// Soonest slot first, for the mentors' calendar.
    SlotStartAsc,
    /// Latest slot first.
    SlotStartDesc,
}

/// A new booking.
#[derive(InputObject)]
pub struct CreateMentorBookingInput {
    pub mentor_id: ID,
    pub member_id: ID,
    /// 1 to 100 characters.
    pub topic: String,
    /// Must lie in the future.
    pub slot_start: DateTime<Utc>,
    /// After `slotStart`, at most 8 hours later.
    pub slot_end: DateTime<Utc>,
    pub note: Option<String>,
}

/// The result of `createMentorBooking`.
#[derive(SimpleObject)]
pub struct CreateMentorBookingPayload {
    pub mentor_booking: MentorBooking,
    /// The lead submitted for the member who booked, or null when none was made.
    pub lead: Option<LeadReceipt>,
}

#[derive(Default)]
pub struct BookingsQuery;

#[Object]
impl BookingsQuery {
    /// The mentor bookings tab (导师预约).
    #[graphql(
        guard = "RoleGuard(ADMIN_SERVICE)",
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn mentor_bookings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
        filter: Option<MentorBookingFilter>,
        #[graphql(default)] order_by: MentorBookingOrder,
    ) -> Result<PageConnection<MentorBooking>> {
        let state = state(ctx)?.clone();
        let filter = filter.unwrap_or_default();
        let (from, to) = DateRange::checked(filter.slot_start, "slotStart")?;
        let filter = BookingFilter {
            status: filter.status,
            mentor_id: filter
                .mentor_id
                .as_ref()
                .map(|id| validate::id("mentorId", id))
                .transpose()?,
            member_id: filter
                .member_id
                .as_ref()
                .map(|id| validate::id("memberId", id))
                .transpose()?,
            from,
            to,
            keyword: keyword(filter.keyword)?,
        };
        let order = match order_by {
            MentorBookingOrder::CreatedAtDesc => BookingOrder::CreatedNewestFirst,
            MentorBookingOrder::SlotStartAsc => BookingOrder::SlotSoonestFirst,
            MentorBookingOrder::SlotStartDesc => BookingOrder::SlotLatestFirst,
        };
        let rows = db::bookings::list(&state.db, &filter, order, first, after.as_deref()).await?;
        let total = TotalCount::new(move || {
            let (state, filter) = (state.clone(), filter.clone());
            async move { db::bookings::count(&state.db, &filter).await }
        });
        Ok(connection(rows, MentorBooking, total))
    }

    /// One mentor booking by id.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn mentor_booking(&self, ctx: &Context<'_>, id: ID) -> Result<MentorBooking> {
        let id = validate::id("id", &id)?;
        Ok(MentorBooking(
            db::bookings::find(&state(ctx)?.db, id).await?,
        ))
    }
}

#[derive(Default)]
pub struct BookingsMutation;

#[Object]
impl BookingsMutation {
    /// Books a mentor's slot (status PENDING). Fails with CONFLICT when the slot overlaps a
    /// PENDING or CONFIRMED booking of the same mentor. The member's contact is submitted as a
    /// lead to the plan with purpose MENTOR_BOOKING, or else the MATCH plan, when one exists.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn create_mentor_booking(
        &self,
        ctx: &Context<'_>,
        input: CreateMentorBookingInput,
    ) -> Result<CreateMentorBookingPayload> {
        let mentor_id = validate::id("mentorId", &input.mentor_id)?;
        let member_id = validate::id("memberId", &input.member_id)?;
        if mentor_id == member_id {
            return Err(GatewayError::bad_input(
                "memberId",
                "a member cannot book themselves as mentor",
            ));
        }
        if input.slot_end <= input.slot_start {
            return Err(GatewayError::bad_input(
                "slotEnd",
                "slotEnd must be after slotStart",
            ));
        }
        if input.slot_end - input.slot_start > MAX_SLOT {
            return Err(GatewayError::bad_input(
                "slotEnd",
                "a booking may last at most 8 hours",
            ));
        }
        if input.slot_start <= crate::db::now() {
            return Err(GatewayError::bad_input(
                "slotStart",
                "slotStart must lie in the future",
            ));
        }
        let new = NewBooking {
            mentor_id,
            member_id,
            topic: validate::text("topic", &input.topic, 1, 100)?,
            slot_start: input.slot_start,
            slot_end: input.slot_end,
            note: validate::optional_text("note", input.note.as_deref(), 500)?,
        };
        let created = db::bookings::create(&state(ctx)?.db, new, lead_context(ctx)?).await?;
        let lead = match created.lead {
            Some(lead) => Some(LeadReceipt::deliver(ctx, lead, false).await?),
            None => None,
        };
        Ok(CreateMentorBookingPayload {
            mentor_booking: MentorBooking(created.booking),
            lead,
        })
    }

    /// Moves a booking along PENDING → CONFIRMED → COMPLETED, or to CANCELLED from PENDING or
    /// CONFIRMED. Other moves, such as confirming a cancelled booking, fail with CONFLICT.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn set_mentor_booking_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        status: BookingStatus,
    ) -> Result<MentorBooking> {
        let id = validate::id("id", &id)?;
        Ok(MentorBooking(
            db::bookings::set_status(&state(ctx)?.db, id, status).await?,
        ))
    }
}
