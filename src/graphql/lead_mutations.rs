//! The mutations that submit leads: `submitLead` for integrators, `linkKaruo` for the
//! homepage button, and `retryLead` for admins.

use async_graphql::{Context, InputObject, Json, Object, ID};
use serde_json::{Map, Value};

use super::{
    context::{caller, lead_context, request_id, state},
    leads::{CkbLead, LeadReceipt},
    validate,
};
use crate::{
    auth::{RoleGuard, ADMIN, ADMIN_INTEGRATOR, ADMIN_SERVICE},
    db::{self, leads::NewLead},
    demo::{LINK_KARUO_REMARK, LINK_KARUO_SOURCE},
    domain::LeadOrigin,
    error::{GatewayError, Result},
};

/// A lead from an integrator (外部线索).
#[derive(InputObject)]
pub struct SubmitLeadInput {
    /// The CKB plan to send to. Leave out to use `purpose`.
    pub plan_id: Option<ID>,
    /// When `planId` is left out, the lead goes to the enabled plan with this purpose
    /// (default INTEGRATOR).
    pub purpose: Option<LeadOrigin>,
    /// Mainland China mobile number. Send `phone`, `wechatId` or both.
    pub phone: Option<String>,
    /// WeChat id; when present it is what CKB dedupes on.
    pub wechat_id: Option<String>,
    /// Up to 50 characters.
    pub name: Option<String>,
    /// Where the lead came from, up to 50 characters, such as 官网表单.
    pub source: Option<String>,
    /// Up to 200 characters.
    pub remark: Option<String>,
    /// Up to 20 tags of at most 32 characters without commas; CKB receives them
    /// comma-separated.
    #[graphql(default)]
    pub tags: Vec<String>,
    /// Site tags, as `tags`; CKB merges them into an existing lead's site tags.
    #[graphql(default)]
    pub site_tags: Vec<String>,
    /// Behaviour data CKB stores as a portrait (画像); it is not signed.
    pub portrait: Option<LeadPortraitInput>,
    /// Up to 64 letters, digits, `-`, `_`, `.` or `:`. A repeat with the same key (per token)
    /// returns the first lead and sends nothing.
    pub idempotency_key: Option<String>,
}

/// CKB's `portrait` object.
#[derive(InputObject)]
pub struct LeadPortraitInput {
    /// 0 浏览 (view), 1 点击 (click), 2 下单/购买 (order), 3 注册 (sign-up), 4 互动 (interaction).
    #[graphql(name = "type")]
    pub kind: i32,
    /// 0 本站 (this site), 1 老油条, 2 老坑爹 (CKB's own source codes). Default 0.
    #[graphql(default)]
    pub source: i32,
    /// A JSON object with the behaviour's details, up to 2 KB.
    pub source_data: Option<Json<Value>>,
    /// Up to 100 characters.
    pub remark: Option<String>,
    /// An id that makes repeats of the same behaviour count up in CKB instead of adding
    /// portraits; up to 64 characters.
    pub unique_id: Option<String>,
}

impl LeadPortraitInput {
    fn into_value(self) -> Result<Value> {
        let mut portrait = Map::new();
        portrait.insert(
            "type".into(),
            Value::from(validate::range("portrait.type", self.kind, 0, 4)?),
        );
        portrait.insert(
            "source".into(),
            Value::from(validate::range("portrait.source", self.source, 0, 2)?),
        );
        if let Some(Json(data)) = self.source_data {
            if !data.is_object() {
                return Err(GatewayError::bad_input(
                    "portrait.sourceData",
                    "portrait.sourceData must be a JSON object",
                ));
            }
            if data.to_string().len() > 2048 {
                return Err(GatewayError::bad_input(
                    "portrait.sourceData",
                    "portrait.sourceData must be at most 2 KB of JSON",
                ));
            }
            portrait.insert("sourceData".into(), data);
        }
        if let Some(remark) =
            validate::optional_text("portrait.remark", self.remark.as_deref(), 100)?
        {
            portrait.insert("remark".into(), Value::String(remark));
        }
        if let Some(unique_id) =
            validate::optional_text("portrait.uniqueId", self.unique_id.as_deref(), 64)?
        {
            portrait.insert("uniqueId".into(), Value::String(unique_id));
        }
        Ok(Value::Object(portrait))
    }
}

fn idempotency_key(key: Option<&str>) -> Result<Option<String>> {
    let Some(key) = key else { return Ok(None) };
    let valid = (1..=64).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if !valid {
        return Err(GatewayError::bad_input(
            "idempotencyKey",
            "idempotencyKey must be 1 to 64 letters, digits, -, _, . or :, such as a UUID",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// Validates an integrator's lead; every failure names the field.
fn checked_lead(
    input: SubmitLeadInput,
    plan_id: i64,
    token_id: i64,
    request_id: Option<String>,
) -> Result<NewLead> {
    let phone = input
        .phone
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map(|p| validate::phone("phone", p))
        .transpose()?;
    let wechat_id = input
        .wechat_id
        .as_deref()
        .filter(|w| !w.trim().is_empty())
        .map(|w| validate::wechat_id("wechatId", w))
        .transpose()?;
    if phone.is_none() && wechat_id.is_none() {
        return Err(GatewayError::bad_input(
            "phone",
            "send phone, wechatId or both: CKB needs one of them to identify the lead",
        ));
    }
    Ok(NewLead {
        plan_id,
        origin: Some(LeadOrigin::Integrator),
        origin_id: None,
        phone,
        wechat_id,
        name: validate::optional_text("name", input.name.as_deref(), 50)?.unwrap_or_default(),
        source: validate::optional_text("source", input.source.as_deref(), 50)?.unwrap_or_default(),
        remark: validate::optional_text("remark", input.remark.as_deref(), 200)?
            .unwrap_or_default(),
        tags: validate::tags("tags", &input.tags, 20)?,
        site_tags: validate::tags("siteTags", &input.site_tags, 20)?,
        portrait: input
            .portrait
            .map(LeadPortraitInput::into_value)
            .transpose()?,
        idempotency_key: idempotency_key(input.idempotency_key.as_deref())?,
        submitted_by: Some(token_id),
        request_id,
        match_kind: None,
        lease: None,
    })
}

#[derive(Default)]
pub struct LeadsMutation;

#[Object]
impl LeadsMutation {
    /// Submits a lead to 存客宝 (提交线索). The lead is validated, stored, and sent at once;
    /// the call waits for CKB's answer up to the configured time (3 s by default) and returns
    /// the lead with `deliveryStatus` CREATED (新增成功), EXISTING (已存在), REJECTED, or
    /// PENDING when CKB did not answer in time, in which case the gateway keeps retrying.
    #[graphql(guard = "RoleGuard(ADMIN_INTEGRATOR)")]
    async fn submit_lead(&self, ctx: &Context<'_>, input: SubmitLeadInput) -> Result<LeadReceipt> {
        let caller = caller(ctx)?;
        let db = &state(ctx)?.db;
        let key = idempotency_key(input.idempotency_key.as_deref())?;
        if let Some(key) = &key {
            if let Some(previous) = db::leads::by_idempotency_key(db, caller.token_id, key).await? {
                same_lead(&previous, &input, key)?;
                return LeadReceipt::deliver(ctx, previous, true).await;
            }
        }

        let plan = match (&input.plan_id, input.purpose) {
            (Some(_), Some(_)) => {
                return Err(GatewayError::bad_input(
                    "purpose",
                    "send planId or purpose, not both",
                ))
            }
            (Some(plan_id), None) => {
                let id = validate::id("planId", plan_id)?;
                db::plans::find(db, id).await.map_err(|_| {
                    GatewayError::bad_input("planId", format!("no CKB plan with id {id}"))
                })?
            }
            (None, purpose) => {
                let purpose = purpose.unwrap_or(LeadOrigin::Integrator);
                db::plans::for_origin(db, purpose).await?.ok_or_else(|| {
                    GatewayError::conflict(format!(
                        "no enabled CKB plan has purpose {}; ask an admin to configure one",
                        purpose_name(purpose)
                    ))
                })?
            }
        };
        if !plan.enabled {
            return Err(GatewayError::conflict(format!(
                "CKB plan {} is disabled and takes no leads",
                plan.id
            )));
        }

        let lead = checked_lead(input, plan.id, caller.token_id, request_id(ctx))?;
        let (phone, wechat_id) = (lead.phone.clone(), lead.wechat_id.clone());
        let state = state(ctx)?;
        let stored = state
            .outbox
            .store_and_deliver(lead, plan, request_id(ctx), state.lead_wait())
            .await?;
        if let Some(lead) = stored {
            return Ok(LeadReceipt {
                lead: CkbLead(lead),
                already_submitted: false,
            });
        }
        // A concurrent request with the same key stored its lead first. That lead is the
        // result for this request too, if it is for the same person.
        let key = key.unwrap_or_default();
        let previous = db::leads::by_idempotency_key(db, caller.token_id, &key)
            .await?
            .ok_or_else(|| {
                GatewayError::internal(anyhow::anyhow!(
                    "idempotency key {key:?} conflicted but no stored lead has it"
                ))
            })?;
        same_contact(&previous, &phone, &wechat_id, &key)?;
        LeadReceipt::deliver(ctx, previous, true).await
    }

    /// The 链接卡若 button at the top left of the mini-program home page: submits the member's
    /// contact to the default CKB plan with source 找伙伴·首页链接卡若. A second press within the
    /// configured window (24 h by default) returns the first lead with `alreadySubmitted: true`
    /// and sends nothing.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn link_karuo(&self, ctx: &Context<'_>, member_id: ID) -> Result<LeadReceipt> {
        let caller = caller(ctx)?;
        let member_id = validate::id("memberId", &member_id)?;
        let state = state(ctx)?;
        let window = chrono::Duration::seconds(state.settings.ckb.link_karuo_window_secs as i64);
        let context = lead_context(ctx)?;
        let token_id = caller.token_id;
        let (lead, already_submitted) = db::leads::link_karuo(
            &state.db,
            member_id,
            db::now() - window,
            |member, plan_id| {
                let mut lead = db::leads::member_lead(
                    member,
                    plan_id,
                    LeadOrigin::LinkKaruo,
                    LINK_KARUO_SOURCE.into(),
                    LINK_KARUO_REMARK.into(),
                )?;
                lead.origin_id = Some(member_id);
                lead.submitted_by = Some(token_id);
                context.apply(&mut lead);
                Some(lead)
            },
        )
        .await?;
        LeadReceipt::deliver(ctx, lead, already_submitted).await
    }

    /// Sends a REJECTED or FAILED lead again, with a fresh budget of attempts, and waits for
    /// CKB's answer like `submitLead`. Fix the cause first (a wrong apiKey, a disabled plan).
    #[graphql(guard = "RoleGuard(ADMIN)")]
    async fn retry_lead(&self, ctx: &Context<'_>, id: ID) -> Result<LeadReceipt> {
        let id = validate::id("id", &id)?;
        let db = &state(ctx)?.db;
        let Some(lead) = db::leads::requeue(db, id).await? else {
            let lead = db::leads::find(db, id).await?;
            return Err(GatewayError::conflict(format!(
                "lead {id} is {}; only REJECTED and FAILED leads can be retried",
                purpose_status(lead.delivery_status)
            )));
        };
        LeadReceipt::deliver(ctx, lead, false).await
    }
}

/// Refuses an idempotency key reused for another person: the earlier lead would be returned
/// and the new person silently never sent.
fn same_lead(
    previous: &crate::db::entities::ckb_lead::Model,
    input: &SubmitLeadInput,
    key: &str,
) -> Result<()> {
    let normalized =
        |value: &Option<String>, check: fn(&str, &str) -> Result<String>, field: &str| {
            value
                .as_deref()
                .filter(|v| !v.trim().is_empty())
                .map(|v| check(field, v))
                .transpose()
        };
    let phone = normalized(&input.phone, validate::phone, "phone")?;
    let wechat_id = normalized(&input.wechat_id, validate::wechat_id, "wechatId")?;
    same_contact(previous, &phone, &wechat_id, key)
}

/// Rejects the reuse of an idempotency key for a lead with another phone or WeChat id.
fn same_contact(
    previous: &crate::db::entities::ckb_lead::Model,
    phone: &Option<String>,
    wechat_id: &Option<String>,
    key: &str,
) -> Result<()> {
    if *phone != previous.phone || *wechat_id != previous.wechat_id {
        return Err(GatewayError::conflict(format!(
            "idempotencyKey {key:?} was already used for a lead with another phone or WeChat id; use a new key for a new lead"
        )));
    }
    Ok(())
}

fn purpose_name(origin: LeadOrigin) -> String {
    use sea_orm::ActiveEnum;
    origin.to_value()
}

fn purpose_status(status: crate::domain::DeliveryStatus) -> String {
    use sea_orm::ActiveEnum;
    status.to_value()
}
