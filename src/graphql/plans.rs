//! 存客宝计划: the CKB plans leads are sent to.

use async_graphql::{Context, Enum, InputObject, Json, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    context::{request_id, state},
    overview::{plan_stats, CkbPlanStats, StatsWindow},
    privacy::mask_secret,
    validate,
};
use crate::{
    auth::{RoleGuard, ADMIN, ADMIN_SERVICE},
    ckb::client::{classify, sign_params, DeliveryOutcome, LeadFields, SignedRequest, LEAD_PATH},
    db::{self, entities::ckb_plan, plans::PlanFields},
    domain::{CkbContentType, LeadOrigin},
    error::{GatewayError, Result},
};

/// A 存客宝 acquisition plan (获客计划). One plan is one apiKey; leads submitted with that key
/// become the plan's customers in CKB.
pub struct CkbPlan(pub ckb_plan::Model);

#[Object]
impl CkbPlan {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Plan name (计划名称).
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The plan's apiKey with all but its last four characters hidden (`****abcd`). The key
    /// itself is write-only.
    async fn api_key_masked(&self) -> String {
        mask_secret(&self.0.api_key)
    }

    /// Base URL of the CKB server the plan lives on. ADMIN and SERVICE tokens only.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn endpoint(&self) -> &str {
        &self.0.endpoint
    }

    /// CKB's own id of the plan (计划ID), needed for CKB's statistics; null when unknown.
    /// ADMIN and SERVICE tokens only.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn remote_plan_id(&self) -> Option<ID> {
        self.0.remote_plan_id.map(|id| ID(id.to_string()))
    }

    /// Which leads route to this plan (用途).
    async fn purpose(&self) -> LeadOrigin {
        self.0.purpose
    }

    /// How leads are encoded when sent.
    async fn content_type(&self) -> CkbContentType {
        self.0.content_type
    }

    /// Whether this is the plan behind the 链接卡若 button.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }

    /// Disabled plans receive no new leads.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// The plan's numbers over a window: the gateway's own lead counts and CKB's counts with
    /// the add success rate (the plan tab, 存客宝计划).
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] window: StatsWindow,
    ) -> Result<CkbPlanStats> {
        let state = state(ctx)?;
        let since = window.since(state, crate::db::now());
        let counts = crate::db::stats::window_counts(&state.db, since).await?;
        let request_id = request_id(ctx);
        let (mut stats, _) = plan_stats(
            state,
            vec![self.0.clone()],
            window,
            &counts.leads,
            request_id.as_deref(),
        )
        .await?;
        stats.pop().ok_or_else(|| {
            GatewayError::internal(anyhow::anyhow!("plan statistics returned no row"))
        })
    }

    /// The lead interface of the plan, as CKB's 计划接口 screen shows it: URL, method, content
    /// types, fields and a signed example with the key masked.
    #[graphql(guard = "RoleGuard(ADMIN)")]
    async fn interface(&self) -> Result<CkbPlanInterface> {
        let plan = &self.0;
        let signed = sign_sample(plan)?;
        Ok(CkbPlanInterface {
            url: format!("{}{LEAD_PATH}", plan.endpoint),
            method: "POST",
            content_types: vec!["application/json", "application/x-www-form-urlencoded"],
            fields: INTERFACE_FIELDS
                .iter()
                .map(
                    |(name, type_name, requirement, description_zh, description_en, signed)| {
                        CkbInterfaceField {
                            name,
                            type_name,
                            requirement: *requirement,
                            description_zh,
                            description_en,
                            signed: *signed,
                        }
                    },
                )
                .collect(),
            example: signed_example(plan, &signed),
        })
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A new CKB plan.
#[derive(InputObject)]
pub struct CreateCkbPlanInput {
    /// 1 to 30 characters, like CKB's own plan names.
    pub name: String,
    /// The plan's apiKey from CKB's 计划接口 screen. Stored as a secret; reads show only its
    /// last four characters.
    pub api_key: String,
    /// Base URL of the CKB server, such as https://ckbapi.quwanzhi.com.
    pub endpoint: String,
    /// CKB's id of the plan, for its statistics.
    pub remote_plan_id: Option<ID>,
    pub purpose: LeadOrigin,
    #[graphql(default_with = "CkbContentType::Json")]
    pub content_type: CkbContentType,
    /// Make this the plan behind 链接卡若 (the previous default stops being one).
    #[graphql(default)]
    pub is_default: bool,
}

/// New values of a CKB plan; fields left out keep their value.
#[derive(InputObject)]
pub struct UpdateCkbPlanInput {
    pub name: Option<String>,
    /// A new apiKey.
    pub api_key: Option<String>,
    pub endpoint: Option<String>,
    pub remote_plan_id: Option<ID>,
    /// Forget the remote plan id.
    #[graphql(default)]
    pub clear_remote_plan_id: bool,
    pub purpose: Option<LeadOrigin>,
    pub content_type: Option<CkbContentType>,
    pub is_default: Option<bool>,
}

fn checked_endpoint(endpoint: &str) -> Result<String> {
    let endpoint = validate::text("endpoint", endpoint, 1, 200)?;
    let parsed = reqwest::Url::parse(&endpoint).map_err(|_| {
        GatewayError::bad_input(
            "endpoint",
            "endpoint must be an absolute http(s) URL such as https://ckbapi.quwanzhi.com",
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(GatewayError::bad_input(
            "endpoint",
            "endpoint must be an absolute http(s) URL such as https://ckbapi.quwanzhi.com",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(GatewayError::bad_input(
            "endpoint",
            "endpoint must not contain a user name or password; CKB's lead endpoint needs none",
        ));
    }
    if parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(GatewayError::bad_input(
            "endpoint",
            "endpoint must be CKB's base URL without a path, such as https://ckbapi.quwanzhi.com; the gateway adds /v1/api/scenarios",
        ));
    }
    Ok(endpoint.trim_end_matches('/').to_owned())
}

fn checked_api_key(api_key: &str) -> Result<String> {
    let api_key = api_key.trim();
    if api_key.is_empty()
        || api_key.len() > 100
        || api_key.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(GatewayError::bad_input(
            "apiKey",
            "apiKey must be 1 to 100 characters without spaces, as CKB shows it",
        ));
    }
    Ok(api_key.to_owned())
}

#[derive(Default)]
pub struct PlansQuery;

#[Object]
impl PlansQuery {
    /// Every CKB plan (存客宝计划), oldest first.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn ckb_plans(&self, ctx: &Context<'_>) -> Result<Vec<CkbPlan>> {
        Ok(db::plans::list(&state(ctx)?.db)
            .await?
            .into_iter()
            .map(CkbPlan)
            .collect())
    }

    /// One CKB plan by id.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn ckb_plan(&self, ctx: &Context<'_>, id: ID) -> Result<CkbPlan> {
        let id = validate::id("id", &id)?;
        Ok(CkbPlan(db::plans::find(&state(ctx)?.db, id).await?))
    }
}

/// How CKB's answer to a test lead reads.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CkbAnswer {
    /// code 200 新增成功
    Created,
    /// code 200 已存在
    Existing,
    /// code 400 or 401, or a wrong endpoint: the plan's settings need fixing.
    Rejected,
    /// code 500, an HTTP error, a timeout or no connection.
    Transient,
}

/// The result of `sendTestLead`: CKB's exact answer to a signed test submission.
#[derive(SimpleObject)]
pub struct TestLeadResult {
    pub answer: CkbAnswer,
    /// The HTTP status of CKB's answer; null when none came.
    pub http_status: Option<i32>,
    /// CKB's `code`.
    pub ckb_code: Option<i32>,
    /// CKB's `msg` or `message`, exactly as sent.
    pub ckb_message: Option<String>,
    /// CKB's answer body exactly as received; null when none came.
    pub body: Option<String>,
    /// Why no answer came, when none did.
    pub error: Option<String>,
    pub duration_ms: i64,
    /// What was sent, with the key masked.
    pub request: CkbSignedExample,
}

#[derive(Default)]
pub struct PlansMutation;

#[Object]
impl PlansMutation {
    /// Adds a CKB plan.
    #[graphql(guard = "RoleGuard(ADMIN)")]
    async fn create_ckb_plan(
        &self,
        ctx: &Context<'_>,
        input: CreateCkbPlanInput,
    ) -> Result<CkbPlan> {
        let fields = PlanFields {
            name: Some(validate::text("name", &input.name, 1, 30)?),
            api_key: Some(checked_api_key(&input.api_key)?),
            endpoint: Some(checked_endpoint(&input.endpoint)?),
            remote_plan_id: Some(
                input
                    .remote_plan_id
                    .as_ref()
                    .map(|id| validate::id("remotePlanId", id))
                    .transpose()?,
            ),
            purpose: Some(input.purpose),
            content_type: Some(input.content_type),
            is_default: Some(input.is_default),
            enabled: Some(true),
        };
        Ok(CkbPlan(db::plans::create(&state(ctx)?.db, fields).await?))
    }

    /// Changes a CKB plan.
    #[graphql(guard = "RoleGuard(ADMIN)")]
    async fn update_ckb_plan(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateCkbPlanInput,
    ) -> Result<CkbPlan> {
        let id = validate::id("id", &id)?;
        let remote_plan_id = if input.clear_remote_plan_id {
            Some(None)
        } else {
            input
                .remote_plan_id
                .as_ref()
                .map(|id| validate::id("remotePlanId", id))
                .transpose()?
                .map(Some)
        };
        let fields = PlanFields {
            name: input
                .name
                .as_deref()
                .map(|n| validate::text("name", n, 1, 30))
                .transpose()?,
            api_key: input.api_key.as_deref().map(checked_api_key).transpose()?,
            endpoint: input
                .endpoint
                .as_deref()
                .map(checked_endpoint)
                .transpose()?,
            remote_plan_id,
            purpose: input.purpose,
            content_type: input.content_type,
            is_default: input.is_default,
            enabled: None,
        };
        Ok(CkbPlan(
            db::plans::update(&state(ctx)?.db, id, fields).await?,
        ))
    }

    /// Sends a signed test lead (测试客户, 18888888888) to the plan, like CKB's own quick test,
    /// and returns CKB's exact answer. Nothing is stored in the gateway; in CKB the test lead
    /// becomes a lead of the plan (the first time 新增成功, then 已存在).
    #[graphql(guard = "RoleGuard(ADMIN)")]
    async fn send_test_lead(&self, ctx: &Context<'_>, plan_id: ID) -> Result<TestLeadResult> {
        let plan_id = validate::id("planId", &plan_id)?;
        let state = state(ctx)?;
        let plan = db::plans::find(&state.db, plan_id).await?;
        let signed = sign_sample(&plan)?;
        let request = signed_example(&plan, &signed);
        let started = std::time::Instant::now();
        let sent = state
            .outbox
            .client()
            .send(&plan, &signed, request_id(ctx).as_deref())
            .await;
        let duration_ms = started.elapsed().as_millis() as i64;
        let result = match sent {
            Ok(raw) => {
                let outcome = classify(&raw);
                TestLeadResult {
                    answer: answer_of(&outcome),
                    http_status: Some(raw.http_status.into()),
                    ckb_code: outcome.ckb_code(),
                    ckb_message: outcome.ckb_message().map(str::to_owned),
                    body: Some(raw.body),
                    error: None,
                    duration_ms,
                    request,
                }
            }
            Err(error) => {
                tracing::warn!(plan.id = plan.id, error = %error, "test lead got no answer from CKB");
                TestLeadResult {
                    answer: CkbAnswer::Transient,
                    http_status: None,
                    ckb_code: None,
                    ckb_message: None,
                    body: None,
                    error: Some(if error.is_connect() {
                        format!(
                            "could not reach CKB at {}; check the plan's endpoint",
                            plan.endpoint
                        )
                    } else {
                        crate::ckb::client::describe_transport_error(&error)
                    }),
                    duration_ms,
                    request,
                }
            }
        };
        Ok(result)
    }

    /// Enables or disables a plan; a disabled plan receives no new leads.
    #[graphql(guard = "RoleGuard(ADMIN)")]
    async fn set_ckb_plan_enabled(
        &self,
        ctx: &Context<'_>,
        id: ID,
        enabled: bool,
    ) -> Result<CkbPlan> {
        let id = validate::id("id", &id)?;
        let fields = PlanFields {
            enabled: Some(enabled),
            ..Default::default()
        };
        Ok(CkbPlan(
            db::plans::update(&state(ctx)?.db, id, fields).await?,
        ))
    }
}

/// How one field of CKB's lead endpoint must be sent.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum FieldRequirement {
    /// 必填
    Required,
    /// 二选一: phone or wechatId, at least one.
    OneOf,
    /// 选填
    Optional,
}

/// One field of CKB's lead endpoint.
#[derive(SimpleObject)]
pub struct CkbInterfaceField {
    pub name: &'static str,
    /// `string`, `int` or `object`.
    pub type_name: &'static str,
    pub requirement: FieldRequirement,
    /// What the field means, in Chinese as CKB's document puts it.
    pub description_zh: &'static str,
    pub description_en: &'static str,
    /// Whether the field is part of the signature.
    pub signed: bool,
}

/// A signed request to CKB's lead endpoint, with the apiKey masked.
#[derive(SimpleObject)]
pub struct CkbSignedExample {
    /// The JSON body, `apiKey` masked.
    pub body: Json<Value>,
    /// The concatenated values that are hashed: md5(md5(stringToSign) + apiKey).
    pub string_to_sign: String,
    pub sign: String,
    /// The same request as a curl command, apiKey masked.
    pub curl: String,
}

/// What CKB's 计划接口 (plan interface) screen shows for a plan.
#[derive(SimpleObject)]
pub struct CkbPlanInterface {
    /// The lead endpoint: `{endpoint}/v1/api/scenarios`.
    pub url: String,
    pub method: &'static str,
    /// Both are accepted; JSON is recommended.
    pub content_types: Vec<&'static str>,
    pub fields: Vec<CkbInterfaceField>,
    /// A signed request with sample data, signed with the plan's key and shown with the key
    /// masked; its timestamp is the current time, so it stays valid for CKB's 5-minute window.
    pub example: CkbSignedExample,
}

const INTERFACE_FIELDS: &[(&str, &str, FieldRequirement, &str, &str, bool)] = &[
    (
        "apiKey",
        "string",
        FieldRequirement::Required,
        "计划的接口密钥，每个计划唯一",
        "the plan's key; finds the plan",
        false,
    ),
    (
        "timestamp",
        "int",
        FieldRequirement::Required,
        "秒级时间戳，与服务器时间相差不超过 5 分钟",
        "Unix time in seconds, within 300 s of CKB's clock",
        true,
    ),
    (
        "sign",
        "string",
        FieldRequirement::Required,
        "签名：md5(md5(按键名排序拼接的参数值) + apiKey)，小写",
        "md5(md5(values in key order) + apiKey), lowercase hex",
        false,
    ),
    (
        "phone",
        "string",
        FieldRequirement::OneOf,
        "手机号；没有微信号时作为线索标识",
        "mobile number; the lead's identifier when there is no wechatId",
        true,
    ),
    (
        "wechatId",
        "string",
        FieldRequirement::OneOf,
        "微信号；有值时作为线索标识",
        "WeChat id; the identifier when present",
        true,
    ),
    (
        "name",
        "string",
        FieldRequirement::Optional,
        "姓名",
        "name",
        true,
    ),
    (
        "source",
        "string",
        FieldRequirement::Optional,
        "来源",
        "source",
        true,
    ),
    (
        "remark",
        "string",
        FieldRequirement::Optional,
        "备注",
        "remark",
        true,
    ),
    (
        "tags",
        "string",
        FieldRequirement::Optional,
        "标签，英文逗号分隔",
        "tags, comma-separated",
        true,
    ),
    (
        "siteTags",
        "string",
        FieldRequirement::Optional,
        "站内标签，英文逗号分隔；重复提交时合并",
        "site tags, comma-separated; merged on a repeat",
        true,
    ),
    (
        "portrait",
        "object",
        FieldRequirement::Optional,
        "用户画像 {type, source, sourceData, remark, uniqueId}，不参与签名",
        "behaviour portrait; not signed",
        false,
    ),
];

/// Sample data in the style of CKB's own quick test.
fn sample_lead() -> LeadFields {
    LeadFields {
        phone: Some("18888888888".into()),
        name: "测试客户".into(),
        source: "partner-gateway 测试".into(),
        ..Default::default()
    }
}

fn signed_example(plan: &ckb_plan::Model, signed: &SignedRequest) -> CkbSignedExample {
    let mut body = signed.params.clone();
    body.insert("apiKey".into(), Value::String(mask_secret(&plan.api_key)));
    let url = format!("{}{LEAD_PATH}", plan.endpoint);
    let json = Value::Object(body.clone()).to_string();
    CkbSignedExample {
        curl: format!(
            "curl -X POST '{url}' -H 'Content-Type: application/json' -d '{}'",
            json.replace('\'', "'\\''")
        ),
        body: Json(Value::Object(body)),
        string_to_sign: signed.signature.string_to_sign.clone(),
        sign: signed.signature.sign.clone(),
    }
}

fn sign_sample(plan: &ckb_plan::Model) -> Result<SignedRequest> {
    let params = sample_lead().params(&plan.api_key, chrono::Utc::now().timestamp());
    sign_params(params, &plan.api_key).map_err(GatewayError::internal)
}

fn answer_of(outcome: &DeliveryOutcome) -> CkbAnswer {
    match outcome {
        DeliveryOutcome::Created { .. } => CkbAnswer::Created,
        DeliveryOutcome::Existing { .. } => CkbAnswer::Existing,
        DeliveryOutcome::Rejected { .. } => CkbAnswer::Rejected,
        DeliveryOutcome::Transient { .. } => CkbAnswer::Transient,
    }
}
