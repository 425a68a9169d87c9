use sea_orm::entity::prelude::*;

use crate::domain::RecruitStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "team_recruits")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_name: String,
    pub stage: String,
    pub description: String,
    /// JSON array of `{title, count, skills}` objects.
    pub roles: String,
    pub headcount: i32,
    pub filled_count: i32,
    pub status: RecruitStatus,
    pub owner_id: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
