//! The lead endpoint: the responses observed from CKB's own server code,
//! the validation order, dedupe, siteTags and portrait merging.

use partner_gateway::ckb::simulator::{CkbVersion, SimulatorConfig};
use serde_json::{json, Value};

use crate::helpers::{
    default_config, error_body, object, signed, start, success_body, TestSim, KEY, NOW,
};

const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

async fn default_sim() -> TestSim {
    start(default_config()).await
}

async fn legacy_sim() -> TestSim {
    start(SimulatorConfig {
        version: CkbVersion::Legacy,
        ..default_config()
    })
    .await
}

// Responses observed from CKB's server code, one test per case.

#[tokio::test]
async fn new_lead_as_json_is_created() {
    let test = default_sim().await;

    let answer = test
        .submit(json!({"phone": "13800000000", "name": "张三"}))
        .await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type.as_deref(), Some(JSON_CONTENT_TYPE));
    assert_eq!(answer.text, success_body("新增成功", "13800000000"));
    assert_eq!(test.sim.plan_leads(1).len(), 1);
}

#[tokio::test]
async fn same_lead_again_is_existing() {
    let test = default_sim().await;
    test.submit(json!({"phone": "13800000000"})).await;

    let answer = test.submit(json!({"phone": "13800000000"})).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.text, success_body("已存在", "13800000000"));
    assert_eq!(test.sim.plan_leads(1).len(), 1);
}

#[tokio::test]
async fn new_lead_as_form_is_created() {
    let test = default_sim().await;
    let params =
        test.lead(json!({"phone": "13800000001", "name": "李四", "siteTags": "新客,女装"}));

    let answer = test.post_form(&params).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.text, success_body("新增成功", "13800000001"));
    let leads = test.sim.plan_leads(1);
    assert_eq!(leads[0].name, "李四");
    assert_eq!(leads[0].site_tags, vec!["新客", "女装"]);
}

#[tokio::test]
async fn portrait_source_data_is_sorted() {
    let test = default_sim().await;
    let portrait = json!({
        "type": 1,
        "source": 0,
        "uniqueId": "site_1",
        "sourceData": {"url": "https://shop.example/p/1", "goods": "裙子", "price": 99}
    });

    let first = test
        .submit(json!({"phone": "13800000002", "portrait": portrait.clone()}))
        .await;
    test.sim.set_unix_time(Some(NOW + 60));
    let second = test
        .submit(json!({"phone": "13800000002", "portrait": portrait}))
        .await;

    assert_eq!(first.text, success_body("新增成功", "13800000002"));
    assert_eq!(second.text, success_body("已存在", "13800000002"));
    let portraits = test.sim.portraits();
    assert_eq!(portraits.len(), 1);
    assert_eq!(
        portraits[0].source_data,
        r#"{"goods":"裙子","price":99,"url":"https:\/\/shop.example\/p\/1"}"#
    );
    assert_eq!(portraits[0].count, 2);
    assert_eq!(portraits[0].r#type, 1);
    assert_eq!(portraits[0].unique_id, "site_1");
    assert_eq!(portraits[0].update_time, NOW + 60);
}

#[tokio::test]
async fn wrong_sign_is_rejected() {
    let test = default_sim().await;
    let mut params = test.lead(json!({"phone": "13800000000"}));
    params.insert("sign".to_owned(), json!("0123456789abcdef0123456789abcdef"));

    let answer = test.post_json(&params).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.text, error_body(401, "签名验证失败"));
    assert!(test.sim.plan_leads(1).is_empty());
}

#[tokio::test]
async fn uppercase_sign_is_rejected() {
    let test = default_sim().await;
    let mut params = test.lead(json!({"phone": "13800000000"}));
    let upper = params["sign"].as_str().unwrap().to_uppercase();
    params.insert("sign".to_owned(), json!(upper));

    let answer = test.post_json(&params).await;

    assert_eq!(answer.text, error_body(401, "签名验证失败"));
}

#[tokio::test]
async fn timestamp_301_seconds_old_is_expired() {
    let test = default_sim().await;

    let answer = test
        .submit(json!({"phone": "13800000000", "timestamp": NOW - 301}))
        .await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.text, error_body(400, "请求已过期"));
}

#[tokio::test]
async fn timestamp_301_seconds_ahead_is_expired() {
    let test = default_sim().await;

    let answer = test
        .submit(json!({"phone": "13800000000", "timestamp": NOW + 301}))
        .await;

    assert_eq!(answer.text, error_body(400, "请求已过期"));
}

#[tokio::test]
async fn millisecond_timestamp_is_expired() {
    let test = default_sim().await;

    let answer = test
        .submit(json!({"phone": "13800000000", "timestamp": NOW * 1000}))
        .await;

    assert_eq!(answer.text, error_body(400, "请求已过期"));
}

#[tokio::test]
async fn timestamp_300_seconds_old_passes() {
    let test = default_sim().await;

    let old = test
        .submit(json!({"phone": "13800000000", "timestamp": NOW - 300}))
        .await;
    let ahead = test
        .submit(json!({"phone": "13800000009", "timestamp": (NOW + 300).to_string()}))
        .await;

    assert_eq!(old.text, success_body("新增成功", "13800000000"));
    assert_eq!(ahead.text, success_body("新增成功", "13800000009"));
}

#[tokio::test]
async fn unknown_api_key_is_rejected() {
    let test = default_sim().await;
    let params = test.lead_with_key(json!({"phone": "13800000000"}), "no-such-key");

    let answer = test.post_json(&params).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.text, error_body(401, "无效的apiKey"));
}

#[tokio::test]
async fn no_parameters_need_api_key() {
    let test = default_sim().await;

    let answer = test
        .send(test.client.post(test.url("/v1/api/scenarios")))
        .await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type.as_deref(), Some(JSON_CONTENT_TYPE));
    assert_eq!(answer.text, error_body(400, "apiKey不能为空"));
}

#[tokio::test]
async fn timestamp_zero_string_is_missing() {
    let test = default_sim().await;

    let answer = test
        .submit(json!({"phone": "13800000000", "timestamp": "0"}))
        .await;

    assert_eq!(answer.text, error_body(400, "timestamp不能为空"));
}

#[tokio::test]
async fn get_with_signed_query_is_accepted() {
    let test = default_sim().await;
    let params = test.lead(json!({"phone": "13800000003", "name": "王五"}));
    let query = crate::helpers::form_pairs(&params);

    let answer = test
        .send(test.client.get(test.url("/v1/api/scenarios")).query(&query))
        .await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.text, success_body("新增成功", "13800000003"));
}

#[tokio::test]
async fn wechat_id_without_phone_fails_in_legacy() {
    let test = legacy_sim().await;

    let answer = test.submit(json!({"wechatId": "wxid_new"})).await;

    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.text,
        error_body(500, "系统错误: Undefined index: phone")
    );
    assert!(test.sim.plan_leads(1).is_empty());
}

#[tokio::test]
async fn known_wechat_id_passes_in_legacy() {
    // The 2025 code reads $params['phone'] only when it inserts a new
    // traffic_pool row, so an identifier stored before passes.
    let test = legacy_sim().await;
    test.submit(json!({"wechatId": "wxid_known", "phone": "13800000000"}))
        .await;

    let answer = test
        .post_json(&test.lead_with_key(json!({"wechatId": "wxid_known"}), "nomsg-key"))
        .await;

    assert_eq!(answer.text, success_body("新增成功", "wxid_known"));
}

#[tokio::test]
async fn wechat_id_without_phone_passes_in_current() {
    let test = default_sim().await;

    let answer = test.submit(json!({"wechatId": "wxid_new"})).await;

    assert_eq!(answer.text, success_body("新增成功", "wxid_new"));
}

#[tokio::test]
async fn array_tags_fail_string_conversion() {
    let test = default_sim().await;
    let mut params = test.lead(json!({"phone": "13800000000"}));
    params.insert("tags".to_owned(), json!(["a", "b"]));

    let answer = test.post_json(&params).await;

    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.text,
        error_body(500, "系统错误: Array to string conversion")
    );
    assert!(test.sim.plan_leads(1).is_empty());
}

#[tokio::test]
async fn bracket_tags_fail_string_conversion() {
    let test = default_sim().await;
    let params = test.lead(json!({"phone": "13800000000"}));
    let mut pairs = crate::helpers::form_pairs(&params);
    pairs.push(("tags[]".to_owned(), "a".to_owned()));

    let answer = test
        .send(test.client.post(test.url("/v1/api/scenarios")).form(&pairs))
        .await;

    assert_eq!(
        answer.text,
        error_body(500, "系统错误: Array to string conversion")
    );
}

#[tokio::test]
async fn options_answers_empty_with_cors() {
    let test = default_sim().await;

    let answer = test
        .send(
            test.client
                .request(reqwest::Method::OPTIONS, test.url("/v1/api/scenarios"))
                .header("Origin", "http://127.0.0.1:3000"),
        )
        .await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.text, "");
    assert_eq!(
        answer.headers["access-control-allow-origin"],
        "http://127.0.0.1:3000"
    );
    assert_eq!(
        answer.headers["access-control-allow-methods"],
        "GET, POST, PUT, DELETE, OPTIONS, PATCH"
    );
    assert!(answer.headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("Authorization"));
    // OPTIONS never reaches the lead handler.
    assert_eq!(test.sim.counts().lead_requests, 0);
}

#[tokio::test]
async fn error_responses_carry_cors_headers() {
    let test = default_sim().await;

    let answer = test
        .send(test.client.post(test.url("/v1/api/scenarios")))
        .await;

    assert_eq!(answer.headers["access-control-allow-origin"], "*");
    assert_eq!(answer.headers["access-control-allow-credentials"], "true");
}

// Validation order.

#[tokio::test]
async fn validation_runs_in_ckb_order() {
    let test = default_sim().await;
    let good_sign = test.lead(json!({"phone": "13800000000"}))["sign"].clone();
    let cases = [
        (json!({}), error_body(400, "apiKey不能为空")),
        (json!({"apiKey": KEY}), error_body(400, "sign不能为空")),
        (
            json!({"apiKey": KEY, "sign": "0"}),
            error_body(400, "sign不能为空"),
        ),
        (
            json!({"apiKey": KEY, "sign": "x"}),
            error_body(400, "timestamp不能为空"),
        ),
        (
            json!({"apiKey": "unknown", "sign": "x", "timestamp": NOW - 1000}),
            error_body(400, "请求已过期"),
        ),
        (
            json!({"apiKey": "unknown", "sign": "x", "timestamp": NOW, "tags": ["a"]}),
            error_body(401, "无效的apiKey"),
        ),
        (
            json!({"apiKey": "off-key", "sign": "x", "timestamp": NOW}),
            error_body(401, "无效的apiKey"),
        ),
        (
            json!({"apiKey": KEY, "sign": "x", "timestamp": NOW, "tags": ["a"]}),
            error_body(500, "系统错误: Array to string conversion"),
        ),
        (
            json!({"apiKey": KEY, "sign": "x", "timestamp": NOW, "phone": "13800000000"}),
            error_body(401, "签名验证失败"),
        ),
        (
            json!({"apiKey": KEY, "sign": good_sign, "timestamp": NOW, "phone": "13800000000"}),
            success_body("新增成功", "13800000000"),
        ),
    ];

    for (params, expected) in cases {
        let answer = test.post_json(&object(params.clone())).await;
        assert_eq!(answer.status, 200, "HTTP status for {params}");
        assert_eq!(answer.text, expected, "answer to {params}");
    }
}

#[tokio::test]
async fn missing_identifier_is_undefined_index() {
    for version in [CkbVersion::Current, CkbVersion::Legacy] {
        let test = start(SimulatorConfig {
            version,
            ..default_config()
        })
        .await;

        let answer = test.submit(json!({"name": "张三", "wechatId": ""})).await;

        assert_eq!(
            answer.text,
            error_body(500, "系统错误: Undefined index: phone"),
            "{version:?}"
        );
    }
}

#[tokio::test]
async fn query_keys_are_signed() {
    let test = default_sim().await;
    let body = test.lead(json!({"phone": "13800000000"}));

    let unsigned_query = test
        .send(
            test.client
                .post(test.url("/v1/api/scenarios?channel=ad"))
                .json(&body),
        )
        .await;
    let mut with_channel = body.clone();
    with_channel.insert("channel".to_owned(), json!("ad"));
    let signed_body = signed(with_channel, KEY);
    let mut body_only = signed_body.clone();
    body_only.remove("channel");
    let signed_query = test
        .send(
            test.client
                .post(test.url("/v1/api/scenarios?channel=ad"))
                .json(&body_only),
        )
        .await;

    assert_eq!(unsigned_query.text, error_body(401, "签名验证失败"));
    assert_eq!(signed_query.text, success_body("新增成功", "13800000000"));
}

#[tokio::test]
async fn body_wins_over_query() {
    let test = default_sim().await;
    let body = test.lead(json!({"phone": "13800000000"}));

    let answer = test
        .send(
            test.client
                .post(test.url("/v1/api/scenarios?phone=13999999999&sign=bad"))
                .json(&body),
        )
        .await;

    assert_eq!(answer.text, success_body("新增成功", "13800000000"));
}

#[tokio::test]
async fn unknown_fields_are_signed() {
    let test = default_sim().await;

    let answer = test
        .submit(json!({"phone": "13800000000", "campaign": "618"}))
        .await;

    assert_eq!(answer.text, success_body("新增成功", "13800000000"));
}

#[tokio::test]
async fn raw_body_with_equals_is_read_as_form() {
    let test = default_sim().await;
    let params = test.lead(json!({"phone": "13800000000"}));
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(crate::helpers::form_pairs(&params))
        .finish();

    let answer = test
        .send(
            test.client
                .put(test.url("/v1/api/scenarios"))
                .header("Content-Type", "text/plain")
                .body(body),
        )
        .await;

    assert_eq!(answer.text, success_body("新增成功", "13800000000"));
}

#[tokio::test]
async fn invalid_json_body_needs_api_key() {
    let test = default_sim().await;

    let answer = test
        .send(
            test.client
                .post(test.url("/v1/api/scenarios"))
                .header("Content-Type", "application/json")
                .body("{\"apiKey\":"),
        )
        .await;

    assert_eq!(answer.text, error_body(400, "apiKey不能为空"));
}

#[tokio::test]
async fn timestamp_with_trailing_text_passes() {
    let test = default_sim().await;

    let answer = test
        .submit(json!({"phone": "13800000000", "timestamp": format!("{NOW}abc")}))
        .await;

    assert_eq!(answer.text, success_body("新增成功", "13800000000"));
}

#[tokio::test]
async fn disabled_plan_key_is_rejected() {
    let test = default_sim().await;

    let before = test
        .post_json(&test.lead_with_key(json!({"phone": "1"}), "off-key"))
        .await;
    assert!(test.sim.set_plan_enabled(3, true));
    let after = test
        .post_json(&test.lead_with_key(json!({"phone": "1"}), "off-key"))
        .await;
    assert!(test.sim.set_plan_enabled(1, false));
    let disabled = test.submit(json!({"phone": "1"})).await;

    assert_eq!(before.text, error_body(401, "无效的apiKey"));
    assert_eq!(after.text, success_body("新增成功", "1"));
    assert_eq!(disabled.text, error_body(401, "无效的apiKey"));
}

// Identifier rule.

#[tokio::test]
async fn wechat_id_wins_over_phone() {
    let test = default_sim().await;

    let answer = test
        .submit(json!({"wechatId": "wxid_abc", "phone": "13800000000"}))
        .await;

    assert_eq!(answer.text, success_body("新增成功", "wxid_abc"));
    assert_eq!(test.sim.plan_leads(1)[0].identifier, "wxid_abc");
}

#[tokio::test]
async fn zero_wechat_id_falls_back_to_phone() {
    let test = default_sim().await;

    let answer = test
        .submit(json!({"wechatId": "0", "phone": "13800000000"}))
        .await;

    assert_eq!(answer.text, success_body("新增成功", "13800000000"));
}

#[tokio::test]
async fn empty_phone_is_accepted_as_identifier() {
    let test = default_sim().await;

    let answer = test.submit(json!({"phone": ""})).await;

    assert_eq!(answer.text, success_body("新增成功", ""));
}

#[tokio::test]
async fn identifier_slash_is_escaped_in_json() {
    let test = default_sim().await;

    let answer = test.submit(json!({"phone": "138/0"})).await;

    assert_eq!(
        answer.text,
        r#"{"code":200,"message":"新增成功","data":"138\/0"}"#
    );
    assert_eq!(answer.json()["data"], "138/0");
}

#[tokio::test]
async fn numeric_wechat_id_is_echoed_as_number() {
    let test = default_sim().await;

    let answer = test.submit(json!({"wechatId": 12345})).await;

    assert_eq!(
        answer.text,
        r#"{"code":200,"message":"新增成功","data":12345}"#
    );
}

// Dedupe and siteTags.

#[tokio::test]
async fn dedupe_has_no_time_window() {
    let test = default_sim().await;
    test.submit(json!({"phone": "13800000000"})).await;
    test.sim.set_unix_time(Some(NOW + 90 * 86_400));

    let answer = test.submit(json!({"phone": "13800000000"})).await;

    assert_eq!(answer.text, success_body("已存在", "13800000000"));
}

#[tokio::test]
async fn same_phone_in_other_plan_is_new() {
    let test = default_sim().await;
    test.submit(json!({"phone": "13800000000"})).await;

    let answer = test
        .post_json(&test.lead_with_key(json!({"phone": "13800000000"}), "nomsg-key"))
        .await;

    assert_eq!(answer.text, success_body("新增成功", "13800000000"));
    assert_eq!(test.sim.plan_leads(1).len(), 1);
    assert_eq!(test.sim.plan_leads(2).len(), 1);
}

#[tokio::test]
async fn repeat_merges_site_tags_only() {
    let test = default_sim().await;
    test.submit(json!({
        "phone": "13800000000",
        "name": "张三",
        "tags": "x, y",
        "siteTags": "a,b, c"
    }))
    .await;
    test.sim.set_unix_time(Some(NOW + 10));

    let answer = test
        .submit(json!({
            "phone": "13800000000",
            "name": "李四",
            "tags": "z",
            "siteTags": "b,d,,0, ,a"
        }))
        .await;

    assert_eq!(answer.text, success_body("已存在", "13800000000"));
    let lead = &test.sim.plan_leads(1)[0];
    assert_eq!(lead.site_tags, vec!["a", "b", " c", "d"]);
    assert_eq!(lead.name, "张三");
    assert_eq!(lead.tags, vec!["x", " y"]);
    assert_eq!(lead.status, 0);
    assert_eq!(lead.update_time, NOW + 10);
}

#[tokio::test]
async fn repeat_without_site_tags_changes_nothing() {
    let test = default_sim().await;
    test.submit(json!({"phone": "13800000000", "siteTags": "a"}))
        .await;
    test.sim.set_unix_time(Some(NOW + 10));

    test.submit(json!({"phone": "13800000000"})).await;

    let lead = &test.sim.plan_leads(1)[0];
    assert_eq!(lead.site_tags, vec!["a"]);
    assert_eq!(lead.update_time, 0);
}

#[tokio::test]
async fn new_lead_keeps_blank_tags() {
    let test = default_sim().await;

    test.submit(json!({"phone": "1", "tags": "a,,b", "siteTags": "0"}))
        .await;

    let lead = &test.sim.plan_leads(1)[0];
    assert_eq!(lead.tags, vec!["a", "", "b"]);
    assert!(lead.site_tags.is_empty());
}

// Portraits.

#[tokio::test]
async fn portrait_merges_within_30_minutes() {
    let test = default_sim().await;
    let portrait = json!({"type": 2, "source": 1});

    test.submit(json!({"phone": "1", "portrait": portrait.clone()}))
        .await;
    test.sim.set_unix_time(Some(NOW + 1799));
    test.submit(json!({"phone": "1", "portrait": portrait.clone()}))
        .await;
    test.sim.set_unix_time(Some(NOW + 1800));
    test.submit(json!({"phone": "1", "portrait": portrait}))
        .await;

    let portraits = test.sim.portraits();
    assert_eq!(portraits.len(), 2);
    assert_eq!(portraits[0].count, 2);
    assert_eq!(portraits[0].unique_id, "0");
    assert_eq!(portraits[0].source_data, "[]");
    assert_eq!(portraits[1].count, 1);
    assert_eq!(portraits[1].create_time, NOW + 1800);
}

#[tokio::test]
async fn portrait_with_other_type_is_new_row() {
    let test = default_sim().await;

    test.submit(json!({"phone": "1", "portrait": {"type": 0}}))
        .await;
    test.submit(json!({"phone": "1", "portrait": {"type": 1}}))
        .await;
    test.submit(json!({"phone": "1", "portrait": {"type": 1, "uniqueId": "u2"}}))
        .await;

    let portraits = test.sim.portraits();
    assert_eq!(portraits.len(), 3);
    assert!(portraits.iter().all(|row| row.count == 1));
}

#[tokio::test]
async fn portrait_is_shared_across_plans() {
    // user_portrait is keyed by the traffic_pool row, which all plans share.
    let test = default_sim().await;

    test.submit(json!({"phone": "1", "portrait": {"type": 1}}))
        .await;
    test.post_json(
        &test.lead_with_key(json!({"phone": "1", "portrait": {"type": 1}}), "nomsg-key"),
    )
    .await;

    let portraits = test.sim.portraits();
    assert_eq!(portraits.len(), 1);
    assert_eq!(portraits[0].count, 2);
}

#[tokio::test]
async fn portrait_from_form_brackets_is_stored() {
    let test = default_sim().await;
    let params = test.lead(json!({"phone": "1"}));
    let mut pairs = crate::helpers::form_pairs(&params);
    pairs.push(("portrait[type]".to_owned(), "3".to_owned()));
    pairs.push(("portrait[sourceData][b]".to_owned(), "2".to_owned()));
    pairs.push(("portrait[sourceData][a]".to_owned(), "1".to_owned()));

    let answer = test
        .send(test.client.post(test.url("/v1/api/scenarios")).form(&pairs))
        .await;

    assert_eq!(answer.text, success_body("新增成功", "1"));
    let portraits = test.sim.portraits();
    assert_eq!(portraits[0].r#type, 3);
    assert_eq!(portraits[0].source_data, r#"{"a":"1","b":"2"}"#);
}

#[tokio::test]
async fn portrait_scalar_source_data_fails_ksort() {
    let test = default_sim().await;

    let answer = test
        .submit(json!({"phone": "1", "portrait": {"sourceData": "text"}}))
        .await;

    assert_eq!(
        answer.text,
        error_body(
            500,
            "系统错误: ksort() expects parameter 1 to be array, string given"
        )
    );
    assert!(test.sim.plan_leads(1).is_empty());
}

#[tokio::test]
async fn portrait_string_is_ignored() {
    let test = default_sim().await;

    let answer = test.submit(json!({"phone": "1", "portrait": "x"})).await;

    assert_eq!(answer.text, success_body("新增成功", "1"));
    assert!(test.sim.portraits().is_empty());
}

// Counts.

#[tokio::test]
async fn counts_track_answers_and_identifiers() {
    let test = default_sim().await;
    test.submit(json!({"phone": "1"})).await;
    test.submit(json!({"phone": "1"})).await;
    test.submit(json!({"phone": "2", "timestamp": NOW - 1000}))
        .await;
    test.post_json(&object(json!({"phone": "3"}))).await;
    let mut array_tags = test.lead(json!({"phone": "4"}));
    array_tags.insert("tags".to_owned(), json!(["x"]));
    test.post_json(&array_tags).await;

    let counts = test.sim.counts();

    assert_eq!(counts.lead_requests, 5);
    assert_eq!(counts.outcomes.created, 1);
    assert_eq!(counts.outcomes.existing, 1);
    assert_eq!(counts.outcomes.bad_request, 2);
    assert_eq!(counts.outcomes.server_error, 1);
    assert_eq!(counts.outcomes.unauthorized, 0);
    assert_eq!(counts.identifiers["1"].requests, 2);
    assert_eq!(counts.identifiers["1"].created, 1);
    assert_eq!(counts.identifiers["1"].existing, 1);
    assert_eq!(counts.identifiers["2"].created, 0);
    assert_eq!(counts.leads_per_plan[&1], 1);
    assert_eq!(counts.leads_per_plan[&2], 0);
}

#[tokio::test]
async fn counts_path_serves_counts_as_json() {
    let test = default_sim().await;
    test.submit(json!({"phone": "1"})).await;

    let answer = test.send(test.client.get(test.url("/__sim/counts"))).await;
    let served: partner_gateway::ckb::simulator::SimCounts =
        serde_json::from_str(&answer.text).expect("counts JSON");

    assert_eq!(answer.status, 200);
    assert_eq!(served, test.sim.counts());
    assert_eq!(answer.json()["outcomes"]["created"], Value::from(1));
}

#[tokio::test]
async fn unknown_path_gets_404_page() {
    let test = default_sim().await;

    let answer = test.send(test.client.get(test.url("/v1/nothing"))).await;

    assert_eq!(answer.status, 404);
    assert_eq!(
        answer.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert!(answer.text.contains("页面错误！请稍后再试～"));
}
