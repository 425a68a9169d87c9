use sea_orm::entity::prelude::*;

use crate::domain::{CkbContentType, LeadOrigin};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ckb_plans")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// Secret. Never logged, and the API shows only its last four characters.
    pub api_key: String,
    /// Base URL of the CKB server, such as `https://ckbapi.quwanzhi.com`.
    pub endpoint: String,
    pub remote_plan_id: Option<i64>,
    pub purpose: LeadOrigin,
    pub content_type: CkbContentType,
    pub is_default: bool,
    pub enabled: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
