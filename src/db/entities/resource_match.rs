use sea_orm::entity::prelude::*;

use crate::domain::{ResourceDirection, ResourceStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "resource_matches")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub direction: ResourceDirection,
    pub title: String,
    pub description: String,
    /// JSON array of tag strings.
    pub tags: String,
    pub owner_id: i64,
    pub counterpart_id: Option<i64>,
    pub status: ResourceStatus,
    pub matched_at: Option<DateTimeUtc>,
    pub lead_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
