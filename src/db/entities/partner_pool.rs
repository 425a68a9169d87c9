use sea_orm::entity::prelude::*;

use crate::domain::{MatchKind, PoolSource};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partner_pools")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub kind: MatchKind,
    pub source: PoolSource,
    /// JSON array of tag strings.
    pub required_tags: String,
    pub require_phone: bool,
    pub require_wechat: bool,
    pub exclude_matched_within_days: i32,
    pub daily_match_limit: i32,
    pub enabled: bool,
    pub selected: bool,
    pub ckb_plan_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl Model {
    pub fn required_tags(&self) -> Vec<String> {
        serde_json::from_str(&self.required_tags).unwrap_or_default()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
