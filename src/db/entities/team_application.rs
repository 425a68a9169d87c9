use sea_orm::entity::prelude::*;

use crate::domain::ApplicationStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "team_applications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub recruit_id: i64,
    pub member_id: i64,
    pub role: String,
    pub message: String,
    pub status: ApplicationStatus,
    pub lead_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
