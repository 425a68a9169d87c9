//! The lead endpoint `/v1/api/scenarios` (对外获客线索上报).
//!
//! This follows CKB's `PostExternalApiV1Controller::index` step by step.
//! Checks run in this order, and each response has HTTP status 200:
//!
//! 1. `empty(apiKey)` → 400 apiKey不能为空
//! 2. `empty(sign)` → 400 sign不能为空
//! 3. `empty(timestamp)` → 400 timestamp不能为空
//! 4. `abs(now - intval(timestamp)) > 300` → 400 请求已过期
//! 5. no enabled plan with this apiKey → 401 无效的apiKey
//! 6. signature mismatch → 401 签名验证失败
//! 7. a PHP error after that → 500 系统错误: <message>
//!
//! An accepted lead gets `{"code":200,"message":"新增成功"|"已存在","data":<identifier>}`,
//! with `message` where the other envelopes have `msg`.

use std::sync::Arc;

use axum::{
    extract::{ConnectInfo, State},
    response::Response,
};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{
    faults::{ConnectionInfo, LeadFault, MAX_HANG},
    params::{intval, is_empty, is_integer_key, php_type_name, text_of, PhpParams},
    response::{self, php_json, php_json_encode},
    store::{FaultKind, NewLead, OutcomeKind, PortraitInput, Store},
    CkbVersion, SimState,
};
use crate::ckb::sign::{php_string, sign, SignError};

/// The widest accepted gap in seconds between the request's timestamp and
/// the server clock. A gap of exactly 300 s still passes.
const MAX_TIMESTAMP_SKEW_SECS: i128 = 300;

/// The outcome of CKB's lead handler.
#[derive(Debug, Clone, PartialEq)]
enum LeadOutcome {
    /// 新增成功, with the identifier as sent.
    Created(Value),
    /// 已存在, with the identifier as sent.
    Existing(Value),
    /// `ResponseHelper::error` with this code and message.
    Rejected { code: i64, msg: String },
}

impl LeadOutcome {
    fn rejected(code: i64, msg: &str) -> Self {
        LeadOutcome::Rejected {
            code,
            msg: msg.to_owned(),
        }
    }

    /// Builds the code-500 outcome that the handler's `catch (\Exception $e)`
    /// makes of a PHP error. ThinkPHP raises notices and warnings as exceptions.
    fn system_error(php_message: &str) -> Self {
        LeadOutcome::Rejected {
            code: 500,
            msg: format!("系统错误: {php_message}"),
        }
    }

    fn kind(&self) -> OutcomeKind {
        match self {
            LeadOutcome::Created(_) => OutcomeKind::Created,
            LeadOutcome::Existing(_) => OutcomeKind::Existing,
            LeadOutcome::Rejected { code, .. } => OutcomeKind::Rejected(*code),
        }
    }

    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct LeadSuccess<'a> {
            code: i64,
            message: &'a str,
            data: Value,
        }

        match self {
            LeadOutcome::Created(identifier) => php_json(&LeadSuccess {
                code: 200,
                message: "新增成功",
                data: identifier,
            }),
            LeadOutcome::Existing(identifier) => php_json(&LeadSuccess {
                code: 200,
                message: "已存在",
                data: identifier,
            }),
            LeadOutcome::Rejected { code, msg } => response::error(code, &msg),
        }
    }
}

/// Handles `/v1/api/scenarios` for any HTTP method.
pub(crate) async fn report_lead(
    State(state): State<Arc<SimState>>,
    ConnectInfo(connection): ConnectInfo<ConnectionInfo>,
    PhpParams(params): PhpParams,
) -> Response {
    let identifier = carried_identifier(&params);
    state.store().record_request(identifier.as_deref());

    let faults = state.faults();
    let Some(fault) = faults.pick_lead_fault(state.roll()) else {
        return answer_lead(&state, &params, identifier.as_deref()).into_response();
    };

    if faults.process_before_fault {
        answer_lead(&state, &params, identifier.as_deref());
    }
    match fault {
        LeadFault::ServerError => {
            state.record_fault(FaultKind::ErrorPage);
            tracing::debug!("injected fault: responding to a lead request with an HTML 500 page");
            response::thinkphp_error_page(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
        }
        LeadFault::Hang => {
            state.record_fault(FaultKind::Hung);
            tracing::debug!("injected fault: holding a lead request without a response");
            state.sleep_unless_shutdown(MAX_HANG).await;
            connection.close_without_answer()
        }
        LeadFault::Drop => {
            state.record_fault(FaultKind::Dropped);
            tracing::debug!("injected fault: closing a lead request's connection");
            connection.close_without_answer()
        }
    }
}

/// Processes a lead request against the store and counts its outcome.
fn answer_lead(
    state: &SimState,
    params: &Map<String, Value>,
    identifier: Option<&str>,
) -> LeadOutcome {
    let now = state.now();
    let mut store = state.store();
    let outcome = process_lead(
        &mut store,
        params,
        now,
        state.version,
        state.account.company_id,
    );
    store.record_outcome(outcome.kind(), identifier);
    drop(store);

    match &outcome {
        LeadOutcome::Rejected { code, msg } => {
            tracing::debug!(code, msg = %msg, "CKB simulator rejected a lead");
        }
        accepted => tracing::debug!(outcome = ?accepted.kind(), "CKB simulator accepted a lead"),
    }
    outcome
}

/// Returns the identifier a request carries by CKB's rule, for counting:
/// `wechatId` when it is non-empty, otherwise `phone`.
fn carried_identifier(params: &Map<String, Value>) -> Option<String> {
    if !is_empty(params.get("wechatId")) {
        return params.get("wechatId").and_then(php_string);
    }
    params.get("phone").and_then(php_string)
}

/// Runs CKB's lead handler on merged request parameters.
fn process_lead(
    store: &mut Store,
    params: &Map<String, Value>,
    now: i64,
    version: CkbVersion,
    company_id: i64,
) -> LeadOutcome {
    if is_empty(params.get("apiKey")) {
        return LeadOutcome::rejected(400, "apiKey不能为空");
    }
    if is_empty(params.get("sign")) {
        return LeadOutcome::rejected(400, "sign不能为空");
    }
    if is_empty(params.get("timestamp")) {
        return LeadOutcome::rejected(400, "timestamp不能为空");
    }

    // intval keeps leading digits, so "1710000000abc" passes this check
    // while a millisecond timestamp fails it.
    let timestamp = intval(params.get("timestamp"));
    if (i128::from(now) - i128::from(timestamp)).abs() > MAX_TIMESTAMP_SKEW_SECS {
        return LeadOutcome::rejected(400, "请求已过期");
    }

    // An array apiKey finds no plan here. CKB would pass it to ThinkPHP's
    // query builder, whose reaction the simulator does not model.
    let api_key = params
        .get("apiKey")
        .and_then(php_string)
        .unwrap_or_default();
    let Some(plan) = store.find_enabled_plan(&api_key).cloned() else {
        return LeadOutcome::rejected(401, "无效的apiKey");
    };

    let signature = match sign(params, &api_key) {
        Ok(signature) => signature,
        Err(SignError::NonScalar { .. }) => {
            return LeadOutcome::system_error("Array to string conversion");
        }
    };
    // CKB compares with ===, so an uppercase or numeric sign fails.
    if params.get("sign") != Some(&Value::String(signature.sign)) {
        return LeadOutcome::rejected(401, "签名验证失败");
    }

    // `!empty($params['wechatId']) ? $params['wechatId'] : $params['phone']`
    // raises "Undefined index: phone" when both are missing or empty.
    let identifier_value = if !is_empty(params.get("wechatId")) {
        params["wechatId"].clone()
    } else {
        match params.get("phone") {
            Some(phone) => phone.clone(),
            None => return LeadOutcome::system_error("Undefined index: phone"),
        }
    };
    // Every value but the portrait is a scalar once the signature passed.
    let identifier = php_string(&identifier_value).unwrap_or_default();

    let traffic_pool_id = match store.traffic_pool_id(&identifier) {
        Some(id) => id,
        None => {
            // The 2025 code inserts `mobile => $params['phone']`, so a new
            // identifier sent as wechatId without a phone key fails there.
            // The current code stores '' instead.
            if version == CkbVersion::Legacy && !params.contains_key("phone") {
                return LeadOutcome::system_error("Undefined index: phone");
            }
            store.insert_traffic_pool(&identifier)
        }
    };
    let existing = store.lead_index(plan.id, &identifier);

    // Portraits are stored for new and existing leads alike.
    if let Some(portrait) = params.get("portrait") {
        let is_array = matches!(portrait, Value::Array(_) | Value::Object(_));
        if is_array && !is_empty(Some(portrait)) {
            match portrait_input(portrait) {
                Ok(input) => {
                    store.record_portrait(traffic_pool_id, &identifier, company_id, input, now);
                }
                Err(php_message) => return LeadOutcome::system_error(&php_message),
            }
        }
    }

    match existing {
        None => {
            let lead = NewLead {
                plan_id: plan.id,
                identifier,
                name: non_empty_text(params.get("name")),
                source: non_empty_text(params.get("source")),
                remark: non_empty_text(params.get("remark")),
                tags: explode_if_set(params.get("tags")),
                site_tags: explode_if_set(params.get("siteTags")),
            };
            store.insert_lead(lead, now);
            LeadOutcome::Created(identifier_value)
        }
        Some(index) => {
            // Only siteTags change on a repeated lead. Name, source, remark,
            // tags and status stay as first stored.
            store.merge_site_tags(index, explode_if_set(params.get("siteTags")), now);
            LeadOutcome::Existing(identifier_value)
        }
    }
}

/// Converts a field like `!empty($value) ? $value : ''` to stored text.
fn non_empty_text(value: Option<&Value>) -> String {
    if is_empty(value) {
        String::new()
    } else {
        text_of(value)
    }
}

/// Splits a field like `!empty($value) ? explode(',', $value) : []`. explode
/// does not trim, so "a, b" gives "a" and " b".
fn explode_if_set(value: Option<&Value>) -> Vec<String> {
    if is_empty(value) {
        return Vec::new();
    }
    text_of(value).split(',').map(str::to_owned).collect()
}

/// Reads the portrait fields like CKB's `updatePortrait`: `type`, `source`
/// and `uniqueId` default to 0 when empty, `remark` to '', and `sourceData`
/// to an empty array.
///
/// Returns the PHP 7 warning text when `sourceData` is a non-empty scalar,
/// because `ksort()` then fails.
fn portrait_input(portrait: &Value) -> Result<PortraitInput, String> {
    let field = |name: &str| -> Option<&Value> {
        match portrait {
            Value::Object(map) => map.get(name),
            Value::Array(items) if is_integer_key(name) => name
                .parse::<usize>()
                .ok()
                .and_then(|index| items.get(index)),
            _ => None,
        }
    };
    let number_or_zero = |name: &str| {
        let value = field(name);
        if is_empty(value) {
            0
        } else {
            intval(value)
        }
    };

    let unique_id = match field("uniqueId") {
        value if is_empty(value) => "0".to_owned(),
        Some(value) => php_string(value).unwrap_or_else(|| php_json_encode(value)),
        None => "0".to_owned(),
    };
    let source_data = match field("sourceData") {
        value if is_empty(value) => "[]".to_owned(),
        Some(value @ (Value::Object(_) | Value::Array(_))) => encode_sorted(value),
        Some(scalar) => {
            return Err(format!(
                "ksort() expects parameter 1 to be array, {} given",
                php_type_name(scalar)
            ));
        }
        None => "[]".to_owned(),
    };

    Ok(PortraitInput {
        r#type: number_or_zero("type"),
        source: number_or_zero("source"),
        unique_id,
        source_data,
        remark: non_empty_text(field("remark")),
    })
}

/// Encodes like `ksort($data)` followed by
/// `json_encode($data, JSON_UNESCAPED_UNICODE)`.
///
/// Top-level keys are sorted with integer keys compared as numbers. An array
/// whose sorted keys are 0..n is written as a JSON list, as PHP does.
/// Nested objects come out with sorted keys, while PHP keeps the order they
/// were sent in.
fn encode_sorted(value: &Value) -> String {
    let Value::Object(map) = value else {
        return php_json_encode(value);
    };

    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(
        |(left, _), (right, _)| match (left.parse::<i64>(), right.parse::<i64>()) {
            (Ok(a), Ok(b)) if is_integer_key(left) && is_integer_key(right) => a.cmp(&b),
            _ => left.as_bytes().cmp(right.as_bytes()),
        },
    );

    let is_list = entries
        .iter()
        .enumerate()
        .all(|(index, (key, _))| **key == index.to_string());
    if is_list {
        let items: Vec<&Value> = entries.iter().map(|(_, item)| *item).collect();
        return php_json_encode(&items);
    }

    let members: Vec<String> = entries
        .iter()
        .map(|(key, item)| format!("{}:{}", php_json_encode(key), php_json_encode(item)))
        .collect();
    format!("{{{}}}", members.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorted_encoding_orders_top_level_keys() {
        let encoded = encode_sorted(&json!({"b": "x/y", "a": 1, "10": 0, "9": 0}));
        assert_eq!(encoded, r#"{"9":0,"10":0,"a":1,"b":"x\/y"}"#);
    }

    #[test]
    fn sorted_encoding_writes_sequential_keys_as_list() {
        assert_eq!(encode_sorted(&json!({"1": "b", "0": "a"})), r#"["a","b"]"#);
    }

    #[test]
    fn portrait_defaults_follow_ckb() {
        let input = portrait_input(&json!({"type": "", "remark": "0"})).unwrap();
        assert_eq!(input.r#type, 0);
        assert_eq!(input.source, 0);
        assert_eq!(input.unique_id, "0");
        assert_eq!(input.source_data, "[]");
        assert_eq!(input.remark, "");
    }

    #[test]
    fn portrait_scalar_source_data_fails_like_ksort() {
        let error = portrait_input(&json!({"sourceData": "x"}))
            .err()
            .expect("a scalar sourceData must fail");
        assert_eq!(
            error,
            "ksort() expects parameter 1 to be array, string given"
        );
    }
}
