use sea_orm::entity::prelude::*;

use crate::domain::BookingStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mentor_bookings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub mentor_id: i64,
    pub member_id: i64,
    pub topic: String,
    pub slot_start: DateTimeUtc,
    pub slot_end: DateTimeUtc,
    pub status: BookingStatus,
    pub note: Option<String>,
    pub lead_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
