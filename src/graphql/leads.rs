//! 线索: the CKB leads the gateway accepted, and the receipt lead mutations return.

use async_graphql::{Context, InputObject, Json, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::{
    connection::{connection, PageConnection, TotalCount},
    context::{caller, loader, request_id, sees_personal_data, state},
    inputs::{keyword, DateRange},
    loaders::PlanKey,
    plans::CkbPlan,
    privacy::{mask_identifier, mask_phone, mask_wechat_id},
    validate,
};
use crate::{
    auth::{RoleGuard, ANY_ROLE},
    db::{self, entities::ckb_lead, leads::LeadFilter, page::PageRequest},
    domain::{DeliveryStatus, FriendStatus, LeadOrigin, Role},
    error::{GatewayError, Result},
};

/// A lead (线索) the gateway accepted for 存客宝: stored before it is sent, with the result of
/// every delivery attempt.
pub struct CkbLead(pub ckb_lead::Model);

#[Object]
impl CkbLead {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The plan the lead goes to.
    async fn plan(&self, ctx: &Context<'_>) -> Result<CkbPlan> {
        let plan = loader(ctx)?.load_one(PlanKey(self.0.plan_id)).await?;
        plan.map(CkbPlan)
            .ok_or_else(|| GatewayError::not_found("CkbPlan", self.0.plan_id))
    }

    /// What produced the lead (来源).
    async fn origin(&self) -> LeadOrigin {
        self.0.origin
    }

    /// Id of the record that produced it: the match, booking, resource entry or application,
    /// or the member for LINK_KARUO. Null for INTEGRATOR leads.
    async fn origin_id(&self) -> Option<ID> {
        self.0.origin_id.map(|id| ID(id.to_string()))
    }

    /// What CKB dedupes on (标识): the WeChat id when there is one, otherwise the phone.
    /// Masked for roles other than ADMIN.
    async fn identifier(&self, ctx: &Context<'_>) -> String {
        if sees_personal_data(ctx) {
            self.0.identifier.clone()
        } else {
            mask_identifier(&self.0.identifier)
        }
    }

    /// Masked for roles other than ADMIN.
    async fn phone(&self, ctx: &Context<'_>) -> Option<String> {
        let phone = self.0.phone.as_deref()?;
        Some(if sees_personal_data(ctx) {
            phone.to_owned()
        } else {
            mask_phone(phone)
        })
    }

    /// Masked for roles other than ADMIN.
    async fn wechat_id(&self, ctx: &Context<'_>) -> Option<String> {
        let wechat_id = self.0.wechat_id.as_deref()?;
        Some(if sees_personal_data(ctx) {
            wechat_id.to_owned()
        } else {
            mask_wechat_id(wechat_id)
        })
    }

    /// Name sent to CKB (姓名).
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Source sent to CKB (来源说明), such as 找伙伴·创业合伙.
    async fn source(&self) -> &str {
        &self.0.source
    }

    /// Remark sent to CKB (备注).
    async fn remark(&self) -> &str {
        &self.0.remark
    }

    async fn tags(&self) -> Vec<String> {
        serde_json::from_str(&self.0.tags).unwrap_or_default()
    }

    async fn site_tags(&self) -> Vec<String> {
        serde_json::from_str(&self.0.site_tags).unwrap_or_default()
    }

    /// The portrait object sent to CKB, if any.
    async fn portrait(&self) -> Option<Json<serde_json::Value>> {
        self.0
            .portrait
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .map(Json)
    }

    /// The idempotency key the integrator sent, if any.
    async fn idempotency_key(&self) -> Option<&str> {
        self.0.idempotency_key.as_deref()
    }

    /// Where the lead is on its way to CKB (投递状态).
    async fn delivery_status(&self) -> DeliveryStatus {
        self.0.delivery_status
    }

    /// Delivery attempts made so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// Why the last attempt did not succeed, in words safe to show, or null.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// CKB's `code` in its last answer (200, 400, 401, 500), or null before any answer.
    async fn ckb_code(&self) -> Option<i32> {
        self.0.ckb_code
    }

    /// CKB's message in its last answer, exactly as CKB sent it (新增成功, 已存在, 签名验证失败…).
    async fn ckb_message(&self) -> Option<&str> {
        self.0.ckb_message.as_deref()
    }

    /// When CKB accepted the lead.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }

    /// When the delivery worker tries a PENDING lead next.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.delivery_status == DeliveryStatus::Pending).then_some(self.0.next_attempt_at)
    }

    /// What CKB did with the lead afterwards (好友状态), read back from CKB's plan lead list;
    /// null until read.
    async fn friend_status(&self) -> Option<FriendStatus> {
        self.0.friend_status
    }

    /// When the friend status was last read from CKB.
    async fn friend_status_at(&self) -> Option<DateTime<Utc>> {
        self.0.friend_status_at
    }

    /// When the lead was stored (提交时间).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// What a lead-producing mutation returns: the lead as it stands when the mutation stops
/// waiting for CKB.
#[derive(SimpleObject)]
pub struct LeadReceipt {
    /// The lead; its `deliveryStatus`, `ckbCode` and `ckbMessage` show CKB's answer if it came
    /// within the wait, otherwise it is PENDING and the delivery worker finishes it.
    pub lead: CkbLead,
    /// True when the request matched an earlier lead (same idempotency key, or a second
    /// 链接卡若 press within the window) and nothing new was sent.
    pub already_submitted: bool,
}

impl LeadReceipt {
    /// Delivers a lead that was just stored and returns it as it stands when CKB answered or
    /// the configured wait ran out. A lead that was already submitted is returned as it is.
    pub async fn deliver(
        ctx: &Context<'_>,
        lead: ckb_lead::Model,
        already_submitted: bool,
    ) -> Result<LeadReceipt> {
        if already_submitted || lead.delivery_status != DeliveryStatus::Pending {
            return Ok(LeadReceipt {
                lead: CkbLead(lead),
                already_submitted,
            });
        }
        let state = state(ctx)?;
        let lead = state
            .outbox
            .deliver_and_wait(lead, request_id(ctx), state.lead_wait())
            .await?;
        Ok(LeadReceipt {
            lead: CkbLead(lead),
            already_submitted,
        })
    }
}

/// Filters of the leads list.
#[derive(InputObject, Default)]
pub struct CkbLeadFilter {
    pub plan_id: Option<ID>,
    pub origin: Option<LeadOrigin>,
    pub delivery_status: Option<DeliveryStatus>,
    pub friend_status: Option<FriendStatus>,
    /// When the lead was stored.
    pub created_at: Option<DateRange>,
    /// Part of the name, case-insensitive.
    pub keyword: Option<String>,
}

#[derive(Default)]
pub struct LeadsQuery;

#[Object]
impl LeadsQuery {
    /// Leads (线索), newest first. ADMIN and SERVICE tokens see every lead; an INTEGRATOR token
    /// sees only the leads it submitted.
    #[graphql(
        guard = "RoleGuard(ANY_ROLE)",
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn ckb_leads(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
        filter: Option<CkbLeadFilter>,
    ) -> Result<PageConnection<CkbLead>> {
        let caller = caller(ctx)?;
        let state = state(ctx)?.clone();
        let page = PageRequest::new(first, after.as_deref(), true)?;
        let filter = filter.unwrap_or_default();
        let (from, to) = DateRange::checked(filter.created_at, "createdAt")?;
        let filter = LeadFilter {
            plan_id: filter
                .plan_id
                .as_ref()
                .map(|id| validate::id("planId", id))
                .transpose()?,
            origin: filter.origin,
            delivery_status: filter.delivery_status,
            friend_status: filter.friend_status,
            from,
            to,
            keyword: keyword(filter.keyword)?,
            submitted_by: (caller.role == Role::Integrator).then_some(caller.token_id),
        };
        let rows = db::leads::list(&state.db, &filter, &page).await?;
        let total = TotalCount::new(move || {
            let (state, filter) = (state.clone(), filter.clone());
            async move { db::leads::count(&state.db, &filter).await }
        });
        Ok(connection(rows, CkbLead, total))
    }

    /// One lead by id. An INTEGRATOR token gets NOT_FOUND for leads it did not submit.
    #[graphql(guard = "RoleGuard(ANY_ROLE)")]
    async fn ckb_lead(&self, ctx: &Context<'_>, id: ID) -> Result<CkbLead> {
        let caller = caller(ctx)?;
        let id = validate::id("id", &id)?;
        let lead = db::leads::find(&state(ctx)?.db, id).await?;
        if caller.role == Role::Integrator && lead.submitted_by != Some(caller.token_id) {
            return Err(GatewayError::not_found("CkbLead", id));
        }
        Ok(CkbLead(lead))
    }
}
