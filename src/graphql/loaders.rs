//! The DataLoader behind every relation field.
//!
//! One `DataLoader<DbLoader>` is created per request. Relation fields ask it for single rows by
//! key; it gathers the keys requested in the same execution step and loads each kind in one
//! `IN (…)` query, so a page of 50 match records with requester, partner and pool costs three
//! statements instead of 150.

use std::collections::HashMap;

use sea_orm::DatabaseConnection;

use crate::{
    db::{
        self,
        entities::{ckb_lead, ckb_plan, member, partner_pool, team_application, team_recruit},
    },
    error::GatewayError,
};

pub struct DbLoader {
    db: DatabaseConnection,
}

impl DbLoader {
    pub fn new(db: DatabaseConnection) -> Self {
        DbLoader { db }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemberKey(pub i64);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemberTagsKey(pub i64);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PoolKey(pub i64);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PlanKey(pub i64);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LeadKey(pub i64);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecruitKey(pub i64);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ApplicationsKey(pub i64);

fn raw<K: Copy>(keys: &[K], id: impl Fn(K) -> i64) -> Vec<i64> {
    keys.iter().map(|key| id(*key)).collect()
}

fn rekey<K, V>(rows: HashMap<i64, V>, key: impl Fn(i64) -> K) -> HashMap<K, V>
where
    K: std::hash::Hash + Eq,
{
    rows.into_iter().map(|(id, row)| (key(id), row)).collect()
}

impl async_graphql::dataloader::Loader<MemberKey> for DbLoader {
    type Value = member::Model;
    type Error = GatewayError;

    async fn load(
        &self,
        keys: &[MemberKey],
    ) -> Result<HashMap<MemberKey, Self::Value>, Self::Error> {
        let rows = db::members::by_ids(&self.db, &raw(keys, |k| k.0)).await?;
        Ok(rekey(rows, MemberKey))
    }
}

impl async_graphql::dataloader::Loader<MemberTagsKey> for DbLoader {
    type Value = Vec<String>;
    type Error = GatewayError;

    async fn load(
        &self,
        keys: &[MemberTagsKey],
    ) -> Result<HashMap<MemberTagsKey, Self::Value>, Self::Error> {
        let rows = db::members::tags_by_member(&self.db, &raw(keys, |k| k.0)).await?;
        Ok(rekey(rows, MemberTagsKey))
    }
}

impl async_graphql::dataloader::Loader<PoolKey> for DbLoader {
    type Value = partner_pool::Model;
    type Error = GatewayError;

    async fn load(&self, keys: &[PoolKey]) -> Result<HashMap<PoolKey, Self::Value>, Self::Error> {
        let rows = db::pools::by_ids(&self.db, &raw(keys, |k| k.0)).await?;
        Ok(rekey(rows, PoolKey))
    }
}

impl async_graphql::dataloader::Loader<PlanKey> for DbLoader {
    type Value = ckb_plan::Model;
    type Error = GatewayError;

    async fn load(&self, keys: &[PlanKey]) -> Result<HashMap<PlanKey, Self::Value>, Self::Error> {
        let rows = db::plans::by_ids(&self.db, &raw(keys, |k| k.0)).await?;
        Ok(rekey(rows, PlanKey))
    }
}

impl async_graphql::dataloader::Loader<LeadKey> for DbLoader {
    type Value = ckb_lead::Model;
    type Error = GatewayError;

    async fn load(&self, keys: &[LeadKey]) -> Result<HashMap<LeadKey, Self::Value>, Self::Error> {
        let rows = db::leads::by_ids(&self.db, &raw(keys, |k| k.0)).await?;
        Ok(rekey(rows, LeadKey))
    }
}

impl async_graphql::dataloader::Loader<RecruitKey> for DbLoader {
    type Value = team_recruit::Model;
    type Error = GatewayError;

    async fn load(
        &self,
        keys: &[RecruitKey],
    ) -> Result<HashMap<RecruitKey, Self::Value>, Self::Error> {
        let rows = db::recruits::by_ids(&self.db, &raw(keys, |k| k.0)).await?;
        Ok(rekey(rows, RecruitKey))
    }
}

impl async_graphql::dataloader::Loader<ApplicationsKey> for DbLoader {
    type Value = Vec<team_application::Model>;
    type Error = GatewayError;

    async fn load(
        &self,
        keys: &[ApplicationsKey],
    ) -> Result<HashMap<ApplicationsKey, Self::Value>, Self::Error> {
        let rows = db::recruits::applications_by_recruit(&self.db, &raw(keys, |k| k.0)).await?;
        Ok(rekey(rows, ApplicationsKey))
    }
}
