//! `GET /v1/plan/list` and `GET /v1/plan/getUserList`, the two places where
//! CKB reports what became of submitted leads.
//!
//! `plan/list` returns every plan column (apiKey included) and four computed
//! fields. The current code counts `addedCount` over statuses 1-5 and
//! `passCount` over 4-5, and `passRate = passCount / addedCount × 100`. The
//! 2025 code counts 1-4 and 4 only, and inverts the rate to
//! `addedCount / passCount × 100`, so it is at least 100 and may contain a
//! thousands separator ("1,250.00"). Either rate is the number 0 when a
//! count is 0, and otherwise a string from PHP's `number_format`.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{
    manage::{authenticate, format_datetime, format_time},
    params::{intval, is_empty, loosely_equals_integer, php_trim, PhpParams},
    response,
    store::{like_contains, SimLead, STATUS_PASSED_WITHOUT_MESSAGES, STATUS_PASSED_WITH_MESSAGES},
    CkbVersion, SimState,
};
use crate::ckb::sign::php_string;

/// The page size ThinkPHP uses when the requested one is 0 or negative.
const THINKPHP_DEFAULT_PAGE_SIZE: i64 = 20;

/// Returns the rows of one page like ThinkPHP 5.1's `page($page, $size)`:
/// a page below 1 is page 1, and a size below 1 is 20.
fn page_slice<T>(rows: Vec<T>, page: i64, size: i64) -> Vec<T> {
    let page = page.max(1);
    let size = if size > 0 {
        size
    } else {
        THINKPHP_DEFAULT_PAGE_SIZE
    };
    let offset = (page - 1).saturating_mul(size);
    rows.into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(size).unwrap_or(usize::MAX))
        .collect()
}

/// Reads an integer like `isset($params[$key]) ? intval($params[$key]) : $default`.
fn int_param(params: &Map<String, Value>, key: &str, default: i64) -> i64 {
    match params.get(key) {
        None | Some(Value::Null) => default,
        value => intval(value),
    }
}

/// Formats like PHP's `number_format($value, $decimals)`: rounded half away
/// from zero after PHP's pre-rounding to 15 significant digits, with ','
/// between thousands and '.' before the decimals.
pub(crate) fn php_number_format(value: f64, decimals: u32) -> String {
    if !value.is_finite() {
        return php_string(&Value::from(value)).unwrap_or_default();
    }

    // 15 significant digits as an integer mantissa and a decimal exponent:
    // value ≈ mantissa × 10^(exponent - 14).
    let scientific = format!("{:.14e}", value.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("Rust's {:e} output always contains an exponent");
    let mantissa: u128 = mantissa
        .replace('.', "")
        .parse()
        .expect("Rust's {:e} mantissa is decimal digits");
    let exponent: i32 = exponent
        .parse()
        .expect("Rust's {:e} exponent is a decimal integer");

    // Express the value in units of 10^-decimals, rounding half up.
    let shift = exponent - 14 + decimals as i32;
    let scaled: u128 = if shift >= 0 {
        mantissa * 10u128.pow(shift as u32)
    } else if -shift > 38 {
        0
    } else {
        let divisor = 10u128.pow((-shift) as u32);
        let quotient = mantissa / divisor;
        let remainder = mantissa % divisor;
        quotient + u128::from(remainder * 2 >= divisor)
    };

    let unit = 10u128.pow(decimals);
    let integer_digits = (scaled / unit).to_string();
    let mut grouped = String::new();
    for (index, digit) in integer_digits.chars().enumerate() {
        if index > 0 && (integer_digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }

    let mut text = String::new();
    if value < 0.0 && scaled != 0 {
        text.push('-');
    }
    text.push_str(&grouped);
    if decimals > 0 {
        text.push('.');
        text.push_str(&format!(
            "{:0width$}",
            scaled % unit,
            width = decimals as usize
        ));
    }
    text
}

/// `reqConf`, the friend-request settings, in CKB's key order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestConfig {
    device: Vec<i64>,
    remark_type: &'static str,
    greeting: &'static str,
    /// Minutes between two friend requests of one device.
    add_friend_interval: &'static str,
    start_time: &'static str,
    end_time: &'static str,
}

/// `tagConf`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TagConfig {
    scenario_tags: Vec<String>,
    custom_tags: Vec<String>,
}

/// One `msgConf` entry: the greetings sent on a given day after acceptance.
#[derive(Serialize)]
struct MessagePlan {
    day: i64,
    messages: Vec<Message>,
}

#[derive(Serialize)]
struct Message {
    r#type: &'static str,
    content: &'static str,
}

/// One `plan/list` item: the `customer_acquisition_task` columns in table
/// order, then the fields the handler adds.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanItem {
    id: i64,
    name: String,
    scene_id: i64,
    /// An empty `sceneConf` decodes to `[]`, because `json_decode('{}') ?: []`
    /// falls back on the empty (falsy) array.
    scene_conf: Vec<Value>,
    req_conf: RequestConfig,
    msg_conf: Vec<MessagePlan>,
    tag_conf: TagConfig,
    user_id: i64,
    company_id: i64,
    status: i64,
    create_time: String,
    update_time: String,
    delete_time: i64,
    api_key: String,
    /// Current code only: defaults to 1 (独立).
    #[serde(skip_serializing_if = "Option::is_none")]
    plan_type: Option<i64>,
    acquired_count: u64,
    added_count: u64,
    pass_count: u64,
    /// The number 0, or a `number_format` string.
    pass_rate: Value,
    /// Current code only: the newest lead update as `Y-m-d H:i`, or "--".
    #[serde(skip_serializing_if = "Option::is_none")]
    last_updated: Option<String>,
}

#[derive(Serialize)]
struct Page<T> {
    total: usize,
    list: Vec<T>,
}

/// Handles `GET /v1/plan/list` with `page`, `limit` (default 10), `sceneId`
/// and, in the current code, `keyword`.
pub(crate) async fn list_plans(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    PhpParams(params): PhpParams,
) -> Response {
    let claims = match authenticate(&state, &headers) {
        Ok(claims) => claims,
        Err(message) => return response::unauthorized(message),
    };
    let page = int_param(&params, "page", 1);
    let limit = int_param(&params, "limit", 10);

    let keyword = match (state.version, params.get("keyword")) {
        (CkbVersion::Legacy, _) | (_, None | Some(Value::Null)) => String::new(),
        (CkbVersion::Current, Some(Value::Array(_) | Value::Object(_))) => {
            // trim() on an array raises a warning that the handler catches.
            return response::error(
                500,
                "系统错误: trim() expects parameter 1 to be string, array given",
            );
        }
        (CkbVersion::Current, Some(value)) => {
            php_trim(&php_string(value).unwrap_or_default()).to_owned()
        }
    };
    let scene_id = params.get("sceneId");

    // The current code limits non-admins to their own plans. The 2025 code
    // has the test inverted and limits admins instead. Every simulated plan
    // belongs to the configured account, so these filters keep all plans
    // or none.
    let own_only = match state.version {
        CkbVersion::Current => claims.member.is_admin == 0,
        CkbVersion::Legacy => claims.member.is_admin != 0,
    };
    let visible = state.account.company_id == claims.member.company_id
        && (!own_only || state.account.id == claims.member.id);

    let store = state.store();
    let mut rows: Vec<_> = store
        .plans
        .iter()
        .filter(|_| visible)
        .filter(|row| {
            is_empty(scene_id)
                || scene_id.is_some_and(|value| loosely_equals_integer(value, row.plan.scene_id))
        })
        .filter(|row| keyword.is_empty() || like_contains(&row.plan.name, &keyword))
        .collect();
    rows.sort_by(|left, right| {
        right
            .create_time
            .cmp(&left.create_time)
            .then(left.plan.id.cmp(&right.plan.id))
    });
    let total = rows.len();

    let list: Vec<PlanItem> = page_slice(rows, page, limit)
        .into_iter()
        .map(|row| {
            let stats = store.plan_stats(row.plan.id);
            let (numerator, denominator) = match state.version {
                CkbVersion::Current => (stats.passed, stats.added),
                CkbVersion::Legacy => (stats.added, stats.passed),
            };
            let pass_rate = if stats.added > 0 && stats.passed > 0 {
                Value::String(php_number_format(
                    numerator as f64 / denominator as f64 * 100.0,
                    2,
                ))
            } else {
                Value::from(0)
            };
            let current = state.version == CkbVersion::Current;
            let last_updated = if stats.last_updated > 0 {
                format_time(stats.last_updated, "%Y-%m-%d %H:%M")
            } else {
                "--".to_owned()
            };

            PlanItem {
                id: row.plan.id,
                name: row.plan.name.clone(),
                scene_id: row.plan.scene_id,
                scene_conf: Vec::new(),
                req_conf: RequestConfig {
                    device: vec![1],
                    remark_type: "phone",
                    greeting: "你好",
                    add_friend_interval: "1",
                    start_time: "09:00",
                    end_time: "21:00",
                },
                msg_conf: if row.plan.has_messages {
                    vec![MessagePlan {
                        day: 0,
                        messages: vec![Message {
                            r#type: "text",
                            content: "你好，很高兴认识你",
                        }],
                    }]
                } else {
                    Vec::new()
                },
                tag_conf: TagConfig {
                    scenario_tags: Vec::new(),
                    custom_tags: Vec::new(),
                },
                user_id: state.account.id,
                company_id: state.account.company_id,
                status: i64::from(row.plan.enabled),
                create_time: format_datetime(row.create_time),
                update_time: format_datetime(row.create_time),
                delete_time: 0,
                api_key: row.plan.api_key.clone(),
                plan_type: current.then_some(1),
                acquired_count: stats.acquired,
                added_count: stats.added,
                pass_count: stats.passed,
                pass_rate,
                last_updated: current.then_some(last_updated),
            }
        })
        .collect();
    drop(store);

    response::success("获取计划任务列表成功", Page { total, list })
}

/// The WeChat friend matched to a lead, as `getUserList` adds it.
#[derive(Serialize)]
struct FriendInfo {
    alias: String,
    #[serde(rename = "wechatId")]
    wechat_id: String,
    nickname: String,
    avatar: String,
}

/// One `getUserList` item: a `task_customer` row without `task_id` and
/// `processed_wechat_ids`, with `userinfo` appended.
#[derive(Serialize)]
struct UserItem {
    id: i64,
    #[serde(rename = "channelId")]
    channel_id: i64,
    name: String,
    source: String,
    phone: String,
    remark: String,
    tags: Vec<String>,
    #[serde(rename = "siteTags")]
    site_tags: Vec<String>,
    status: u8,
    fail_reason: String,
    #[serde(rename = "addTime")]
    add_time: i64,
    #[serde(rename = "passTime")]
    pass_time: i64,
    #[serde(rename = "createTime")]
    create_time: String,
    #[serde(rename = "updateTime")]
    update_time: String,
    /// The matched friend, or `[]` when none matches.
    userinfo: Value,
}

impl UserItem {
    fn from_lead(lead: &SimLead) -> Self {
        let passed =
            [STATUS_PASSED_WITH_MESSAGES, STATUS_PASSED_WITHOUT_MESSAGES].contains(&lead.status);
        // The simulator has a friend row for every accepted lead.
        let userinfo = if passed {
            serde_json::to_value(FriendInfo {
                alias: String::new(),
                wechat_id: lead.identifier.clone(),
                nickname: if lead.name.is_empty() {
                    lead.identifier.clone()
                } else {
                    lead.name.clone()
                },
                avatar: String::new(),
            })
            .expect("FriendInfo serializes to JSON")
        } else {
            Value::Array(Vec::new())
        };
        let format_or_empty = |unix: i64| {
            if unix == 0 {
                String::new()
            } else {
                format_datetime(unix)
            }
        };

        UserItem {
            id: lead.id,
            channel_id: 0,
            name: lead.name.clone(),
            source: lead.source.clone(),
            phone: lead.identifier.clone(),
            remark: lead.remark.clone(),
            tags: lead.tags.clone(),
            site_tags: lead.site_tags.clone(),
            status: lead.status,
            fail_reason: lead.fail_reason.clone(),
            add_time: lead.add_time,
            pass_time: lead.pass_time,
            create_time: format_or_empty(lead.create_time),
            update_time: format_or_empty(lead.update_time),
            userinfo,
        }
    }

    /// Tests the keyword against `name|phone|tags|siteTags` with MySQL's
    /// `LIKE`. JSON columns read back as MySQL renders them, with ", "
    /// between items.
    fn matches_keyword(&self, keyword: &str) -> bool {
        let render = |items: &[String]| {
            let quoted: Vec<String> = items
                .iter()
                .map(|item| serde_json::to_string(item).expect("strings serialize"))
                .collect();
            format!("[{}]", quoted.join(", "))
        };
        like_contains(&self.name, keyword)
            || like_contains(&self.phone, keyword)
            || like_contains(&render(&self.tags), keyword)
            || like_contains(&render(&self.site_tags), keyword)
    }
}

/// Handles `GET /v1/plan/getUserList` with `planId`, `type` (1 all leads,
/// 2 passed leads), `page`, `pageSize` (default 10) and `keyword`.
///
/// The 2025 code has no such route. ThinkPHP then falls back to module
/// dispatch, finds no module `v1` and responds with its HTTP 404 error page
/// before any middleware runs, so no token is checked.
pub(crate) async fn list_plan_users(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    PhpParams(params): PhpParams,
) -> Response {
    if state.version == CkbVersion::Legacy {
        return response::route_not_found().await;
    }
    let claims = match authenticate(&state, &headers) {
        Ok(claims) => claims,
        Err(message) => return response::unauthorized(message),
    };

    let default_type = Value::from(1);
    let list_type = params.get("type").unwrap_or(&default_type);
    if !loosely_equals_integer(list_type, 1) && !loosely_equals_integer(list_type, 2) {
        return response::error(400, "类型错误");
    }
    let only_passed = loosely_equals_integer(list_type, 2);

    let plan_id = params.get("planId");
    if is_empty(plan_id) {
        return response::error(400, "获客场景id不能为空");
    }
    let keyword = match params.get("keyword") {
        None => String::new(),
        // `'%' . $keyword . '%'` raises "Array to string conversion", and
        // this handler has no try/catch, so ThinkPHP responds with its error page.
        Some(Value::Array(_) | Value::Object(_)) => {
            return response::thinkphp_error_page(StatusCode::INTERNAL_SERVER_ERROR);
        }
        Some(value) if is_empty(Some(value)) => String::new(),
        Some(value) => php_string(value).unwrap_or_default(),
    };
    let page = int_param(&params, "page", 1);
    let page_size = int_param(&params, "pageSize", 10);

    let store = state.store();
    let plan = store.plans.iter().find(|row| {
        plan_id.is_some_and(|value| loosely_equals_integer(value, row.plan.id))
            && state.account.company_id == claims.member.company_id
    });
    let Some(plan) = plan else {
        return response::error(400, "活动不存在");
    };

    let mut items: Vec<UserItem> = store
        .leads
        .iter()
        .filter(|lead| lead.plan_id == plan.plan.id)
        .filter(|lead| {
            !only_passed
                || [STATUS_PASSED_WITH_MESSAGES, STATUS_PASSED_WITHOUT_MESSAGES]
                    .contains(&lead.status)
        })
        .map(UserItem::from_lead)
        .filter(|item| keyword.is_empty() || item.matches_keyword(&keyword))
        .collect();
    drop(store);

    items.sort_by_key(|item| std::cmp::Reverse(item.id));
    let total = items.len();
    let list = page_slice(items, page, page_size);
    response::success("获取成功", Page { total, list })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_format_matches_php() {
        let cases = [
            (40.0, "40.00"),
            (2.0 / 3.0 * 100.0, "66.67"),
            (3.125, "3.13"),
            (1250.0, "1,250.00"),
            (1234567.891, "1,234,567.89"),
            (100.0, "100.00"),
            (0.004, "0.00"),
            (0.005, "0.01"),
            (1.005, "1.01"),
        ];
        for (value, expected) in cases {
            assert_eq!(
                php_number_format(value, 2),
                expected,
                "number_format({value})"
            );
        }
    }

    #[test]
    fn page_slice_follows_thinkphp() {
        let rows: Vec<i64> = (1..=25).collect();
        assert_eq!(
            page_slice(rows.clone(), 2, 10),
            (11..=20).collect::<Vec<_>>()
        );
        assert_eq!(
            page_slice(rows.clone(), 0, 10),
            (1..=10).collect::<Vec<_>>()
        );
        assert_eq!(page_slice(rows.clone(), 1, 0), (1..=20).collect::<Vec<_>>());
        assert_eq!(page_slice(rows, 4, 10), Vec::<i64>::new());
    }
}
