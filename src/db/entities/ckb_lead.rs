use sea_orm::entity::prelude::*;

use crate::domain::{DeliveryStatus, FriendStatus, LeadOrigin, MatchKind};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ckb_leads")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub plan_id: i64,
    pub origin: LeadOrigin,
    pub origin_id: Option<i64>,
    /// What CKB dedupes on: the WeChat id when there is one, otherwise the phone number.
    pub identifier: String,
    pub phone: Option<String>,
    pub wechat_id: Option<String>,
    pub name: String,
    pub source: String,
    pub remark: String,
    /// JSON array of tag strings, sent to CKB comma-separated.
    pub tags: String,
    /// JSON array of site tag strings, sent to CKB comma-separated.
    pub site_tags: String,
    /// JSON object sent as CKB's `portrait`, if any.
    pub portrait: Option<String>,
    pub idempotency_key: Option<String>,
    /// The API token that submitted the lead; an integrator sees only its own leads.
    pub submitted_by: Option<i64>,
    pub request_id: Option<String>,
    pub delivery_status: DeliveryStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub ckb_code: Option<i32>,
    pub ckb_message: Option<String>,
    pub delivered_at: Option<DateTimeUtc>,
    /// When the delivery worker may try the lead next.
    pub next_attempt_at: DateTimeUtc,
    /// The worker holding the lead, and until when; see the outbox.
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    pub friend_status: Option<FriendStatus>,
    pub friend_status_at: Option<DateTimeUtc>,
    /// The kind of match of a MATCH lead, for the per-kind counters.
    pub match_kind: Option<MatchKind>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
