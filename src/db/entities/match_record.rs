use sea_orm::entity::prelude::*;

use crate::domain::{MatchKind, MatchStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "match_records")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: MatchKind,
    pub pool_id: i64,
    pub requester_id: i64,
    pub partner_id: i64,
    pub status: MatchStatus,
    pub lead_id: Option<i64>,
    pub matched_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
