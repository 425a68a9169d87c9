//! sea-orm entities, one per table. Column meanings are documented on the GraphQL types that
//! expose them; the comments here cover only what is specific to storage.

pub mod api_token;
pub mod ckb_lead;
pub mod ckb_plan;
pub mod match_record;
pub mod member;
pub mod member_tag;
pub mod mentor_booking;
pub mod partner_pool;
pub mod partner_pool_member;
pub mod resource_match;
pub mod team_application;
pub mod team_recruit;
