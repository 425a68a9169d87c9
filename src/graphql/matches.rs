//! 匹配记录: the match records tab and `recordMatch`.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::{
    connection::{connection, PageConnection, TotalCount},
    context::{lead_context, loader, state},
    inputs::{keyword, DateRange},
    leads::{CkbLead, LeadReceipt},
    loaders::{LeadKey, MemberKey, PoolKey},
    members::Member,
    pools::PartnerPool,
    validate,
};
use crate::{
    auth::{RoleGuard, ADMIN_SERVICE},
    db::{
        self,
        entities::{ckb_lead, match_record, member, partner_pool},
        matches::MatchFilter as DbFilter,
        page::PageRequest,
    },
    domain::{DeliveryStatus, FriendStatus, MatchKind, MatchStatus},
    error::{GatewayError, Result},
};

/// One match (匹配记录): who asked, whom they got, and from which pool.
pub struct MatchRecord {
    record: match_record::Model,
    /// The relations of the page this record came in, when the query asked for them.
    relations: Option<Arc<MatchRelations>>,
}

impl From<match_record::Model> for MatchRecord {
    fn from(record: match_record::Model) -> Self {
        MatchRecord {
            record,
            relations: None,
        }
    }
}

/// The members, pools and leads of a page of matches, requested from the DataLoader in one
/// call each when the query selects them. One `load_one` call per relation field costs several
/// times the page itself in CPU, because each call has its own future, allocations and
/// wake-up. One `load_many` per kind runs the same single query per kind and fills the loader's
/// cache for any other field of the request that needs the same rows.
#[derive(Default)]
pub struct MatchRelations {
    members: HashMap<i64, member::Model>,
    pools: HashMap<i64, partner_pool::Model>,
    leads: HashMap<i64, ckb_lead::Model>,
}

impl MatchRelations {
    async fn load(
        ctx: &Context<'_>,
        records: &[&match_record::Model],
    ) -> Result<Option<Arc<Self>>> {
        let node = ctx.look_ahead().field("edges").field("node");
        let want_requester = node.field("requester").exists();
        let want_partner = node.field("partner").exists();
        let want_pools = node.field("pool").exists();
        let want_leads = node.field("lead").exists() || node.field("friendAdded").exists();
        if !(want_requester || want_partner || want_pools || want_leads) {
            return Ok(None);
        }
        let loader = loader(ctx)?;
        let mut member_ids = Vec::new();
        let mut pool_ids = Vec::new();
        let mut lead_ids = Vec::new();
        for record in records {
            if want_requester {
                member_ids.push(MemberKey(record.requester_id));
            }
            if want_partner {
                member_ids.push(MemberKey(record.partner_id));
            }
            if want_pools {
                pool_ids.push(PoolKey(record.pool_id));
            }
            if want_leads {
                lead_ids.extend(record.lead_id.map(LeadKey));
            }
        }
        let (members, pools, leads) = futures::join!(
            loader.load_many(member_ids),
            loader.load_many(pool_ids),
            loader.load_many(lead_ids),
        );
        Ok(Some(Arc::new(MatchRelations {
            members: members?.into_iter().map(|(k, v)| (k.0, v)).collect(),
            pools: pools?.into_iter().map(|(k, v)| (k.0, v)).collect(),
            leads: leads?.into_iter().map(|(k, v)| (k.0, v)).collect(),
        })))
    }
}

#[Object]
impl MatchRecord {
    async fn id(&self) -> ID {
        ID(self.record.id.to_string())
    }

    /// The kind of match (匹配类型).
    async fn kind(&self) -> MatchKind {
        self.record.kind
    }

    /// The pool the partner was drawn from.
    async fn pool(&self, ctx: &Context<'_>) -> Result<PartnerPool> {
        if let Some(pool) = self
            .relations
            .as_ref()
            .and_then(|r| r.pools.get(&self.record.pool_id))
        {
            return Ok(PartnerPool(pool.clone()));
        }
        let pool = loader(ctx)?.load_one(PoolKey(self.record.pool_id)).await?;
        pool.map(PartnerPool)
            .ok_or_else(|| GatewayError::not_found("PartnerPool", self.record.pool_id))
    }

    /// The member who asked for a match (发起人).
    async fn requester(&self, ctx: &Context<'_>) -> Result<Member> {
        if let Some(member) = self
            .relations
            .as_ref()
            .and_then(|r| r.members.get(&self.record.requester_id))
        {
            return Ok(Member(member.clone()));
        }
        let member = loader(ctx)?
            .load_one(MemberKey(self.record.requester_id))
            .await?;
        member
            .map(Member)
            .ok_or_else(|| GatewayError::not_found("Member", self.record.requester_id))
    }

    /// The member picked for the requester (匹配对象).
    async fn partner(&self, ctx: &Context<'_>) -> Result<Member> {
        if let Some(member) = self
            .relations
            .as_ref()
            .and_then(|r| r.members.get(&self.record.partner_id))
        {
            return Ok(Member(member.clone()));
        }
        let member = loader(ctx)?
            .load_one(MemberKey(self.record.partner_id))
            .await?;
        member
            .map(Member)
            .ok_or_else(|| GatewayError::not_found("Member", self.record.partner_id))
    }

    async fn status(&self) -> MatchStatus {
        self.record.status
    }

    /// When the match was made (匹配时间).
    async fn matched_at(&self) -> DateTime<Utc> {
        self.record.matched_at
    }

    /// The CKB lead this match produced (the requester's contact), or null when no plan was
    /// configured for matches or the requester had no contact.
    async fn lead(&self, ctx: &Context<'_>) -> Result<Option<CkbLead>> {
        let Some(lead_id) = self.record.lead_id else {
            return Ok(None);
        };
        if let Some(lead) = self.relations.as_ref().and_then(|r| r.leads.get(&lead_id)) {
            return Ok(Some(CkbLead(lead.clone())));
        }
        Ok(loader(ctx)?.load_one(LeadKey(lead_id)).await?.map(CkbLead))
    }

    /// Whether the match led to an accepted WeChat friend request (好友已通过): its lead's
    /// friend status is PASSED.
    async fn friend_added(&self, ctx: &Context<'_>) -> Result<bool> {
        let Some(lead_id) = self.record.lead_id else {
            return Ok(false);
        };
        let lead = match self.relations.as_ref().and_then(|r| r.leads.get(&lead_id)) {
            Some(lead) => Some(lead.clone()),
            None => loader(ctx)?.load_one(LeadKey(lead_id)).await?,
        };
        Ok(lead.is_some_and(|lead| lead.friend_status == Some(FriendStatus::Passed)))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.record.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.record.updated_at
    }
}

/// Filters of the match records tab; all given filters apply together.
#[derive(InputObject, Default)]
pub struct MatchRecordFilter {
    pub kind: Option<MatchKind>,
    pub status: Option<MatchStatus>,
    pub pool_id: Option<ID>,
    /// Matches where this member is the requester or the partner.
    pub member_id: Option<ID>,
    /// When the match was made.
    pub matched_at: Option<DateRange>,
    /// Part of the requester's or partner's nickname, case-insensitive.
    pub keyword: Option<String>,
    /// Only matches that produced a lead (true) or did not (false).
    pub has_lead: Option<bool>,
    /// Only matches whose lead is in this delivery status.
    pub lead_status: Option<DeliveryStatus>,
    /// Only matches whose lead has this friend status; PASSED lists the matches that led to an
    /// accepted friend request.
    pub friend_status: Option<FriendStatus>,
}

impl MatchRecordFilter {
    pub fn checked(self) -> Result<DbFilter> {
        let (from, to) = DateRange::checked(self.matched_at, "matchedAt")?;
        Ok(DbFilter {
            kind: self.kind,
            status: self.status,
            pool_id: self
                .pool_id
                .as_ref()
                .map(|id| validate::id("poolId", id))
                .transpose()?,
            member_id: self
                .member_id
                .as_ref()
                .map(|id| validate::id("memberId", id))
                .transpose()?,
            from,
            to,
            keyword: keyword(self.keyword)?,
            has_lead: self.has_lead,
            delivery_status: self.lead_status,
            friend_status: self.friend_status,
        })
    }
}

/// Order of the match records tab.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchRecordOrder {
    /// Newest match first.
    #[default]
    MatchedAtDesc,
    /// Oldest match first.
    MatchedAtAsc,
}

/// The result of `recordMatch`.
#[derive(SimpleObject)]
pub struct RecordMatchPayload {
    /// The new match record.
    pub match_record: MatchRecord,
    /// The lead submitted to CKB for the requester, with CKB's answer if it came within the
    /// configured wait; null when no lead was made.
    pub lead: Option<LeadReceipt>,
}

#[derive(Default)]
pub struct MatchesQuery;

#[Object]
impl MatchesQuery {
    /// The match records tab (匹配记录).
    #[graphql(
        guard = "RoleGuard(ADMIN_SERVICE)",
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn match_records(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
        filter: Option<MatchRecordFilter>,
        #[graphql(default)] order_by: MatchRecordOrder,
    ) -> Result<PageConnection<MatchRecord>> {
        let state = state(ctx)?.clone();
        let page = PageRequest::new(
            first,
            after.as_deref(),
            order_by == MatchRecordOrder::MatchedAtDesc,
        )?;
        let filter = filter.unwrap_or_default().checked()?;
        let rows = db::matches::list(&state.db, &filter, &page).await?;
        let records: Vec<&match_record::Model> =
            rows.rows.iter().map(|(_, record)| record).collect();
        let relations = MatchRelations::load(ctx, &records).await?;
        let total = TotalCount::new(move || {
            let (state, filter) = (state.clone(), filter.clone());
            async move { db::matches::count(&state.db, &filter).await }
        });
        Ok(connection(
            rows,
            |record| MatchRecord {
                record,
                relations: relations.clone(),
            },
            total,
        ))
    }

    /// One match record by id.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn match_record(&self, ctx: &Context<'_>, id: ID) -> Result<MatchRecord> {
        let id = validate::id("id", &id)?;
        Ok(MatchRecord::from(
            db::matches::find(&state(ctx)?.db, id).await?,
        ))
    }
}

#[derive(Default)]
pub struct MatchesMutation;

#[Object]
impl MatchesMutation {
    /// Picks a partner for the requester from the selected pool of `kind` and records the
    /// match. The pool's rules apply: never the requester, nobody matched with the requester
    /// within `excludeMatchedWithinDays`, at most `dailyMatchLimit` matches a day. When a CKB
    /// plan is configured for matches, the requester's contact is submitted as a lead in the
    /// same transaction. Fails with CONFLICT when nobody is eligible.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn record_match(
        &self,
        ctx: &Context<'_>,
        requester_id: ID,
        kind: MatchKind,
    ) -> Result<RecordMatchPayload> {
        let requester_id = validate::id("requesterId", &requester_id)?;
        let state = state(ctx)?;
        let day_start = state.day_start(crate::db::now(), 0);
        let recorded =
            db::matches::record(&state.db, requester_id, kind, day_start, lead_context(ctx)?)
                .await?;
        let lead = match recorded.lead {
            Some(lead) => Some(LeadReceipt::deliver(ctx, lead, false).await?),
            None => None,
        };
        Ok(RecordMatchPayload {
            match_record: MatchRecord::from(recorded.record),
            lead,
        })
    }

    /// Moves a match to another status (已联系, 已关闭). A CLOSED match stays closed.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn set_match_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        status: MatchStatus,
    ) -> Result<MatchRecord> {
        let id = validate::id("id", &id)?;
        Ok(MatchRecord::from(
            db::matches::set_status(&state(ctx)?.db, id, status).await?,
        ))
    }
}
