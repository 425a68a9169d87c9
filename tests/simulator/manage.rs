//! The management API: login, JWTs, plan/list counts and getUserList.

use std::time::Duration;

use partner_gateway::ckb::simulator::{CkbVersion, ClockConfig, SimPlan, SimulatorConfig};
use serde_json::{json, Value};

use crate::helpers::{default_config, error_body, plan, start, TestSim, NOW};

const MISSING_TOKEN_BODY: &str =
    r#"{"code":401,"msg":"未授权访问，缺少有效的身份凭证","data":null}"#;
const INVALID_TOKEN_BODY: &str = r#"{"code":401,"msg":"授权已过期或无效","data":null}"#;

async fn login_with(test: &TestSim, body: Value) -> crate::helpers::Answer {
    test.send(test.client.post(test.url("/v1/auth/login")).json(&body))
        .await
}

fn clock(pass_share: f64, fail_share: f64) -> ClockConfig {
    ClockConfig {
        tick: None,
        pass_share,
        fail_share,
    }
}

/// Finds the `plan/list` item of a plan id.
fn plan_item(list: &Value, plan_id: i64) -> Value {
    list["data"]["list"]
        .as_array()
        .expect("plan/list data.list is an array")
        .iter()
        .find(|item| item["id"] == plan_id)
        .unwrap_or_else(|| panic!("plan {plan_id} missing from {list}"))
        .clone()
}

// Login.

#[tokio::test]
async fn login_returns_current_shape() {
    let test = start(default_config()).await;

    let answer = login_with(
        &test,
        json!({"account": "ckb-demo", "password": "ckb-demo-password", "typeId": 1}),
    )
    .await;

    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(body["code"], 200);
    assert_eq!(body["msg"], "登录成功");
    assert_eq!(body["data"]["token_expired"], NOW + 30 * 86_400);
    assert_eq!(body["data"]["deviceTotal"], 1);
    let member = &body["data"]["member"];
    assert_eq!(member["account"], "ckb-demo");
    assert_eq!(member["companyId"], 1);
    assert_eq!(member["typeId"], 1);
    assert_eq!(member["lastLoginIp"], "127.0.0.1");
    assert_eq!(member["lastLoginTime"], NOW);
    assert!(member.get("passwordMd5").is_none());
    assert_eq!(
        body["data"]["token"].as_str().unwrap().split('.').count(),
        3
    );
}

#[tokio::test]
async fn login_in_legacy_has_no_device_total() {
    let test = start(SimulatorConfig {
        version: CkbVersion::Legacy,
        ..default_config()
    })
    .await;

    let body = login_with(
        &test,
        json!({"account": "ckb-demo", "password": "ckb-demo-password", "typeId": 1}),
    )
    .await
    .json();

    assert_eq!(body["msg"], "登录成功");
    assert!(body["data"].get("deviceTotal").is_none());
    assert!(body["data"]["token"].is_string());
}

#[tokio::test]
async fn login_by_phone_with_form_body() {
    let test = start(default_config()).await;

    let answer = test
        .send(test.client.post(test.url("/v1/auth/login")).form(&[
            ("account", "13900000000"),
            ("password", "ckb-demo-password"),
            ("typeId", "1"),
        ]))
        .await;

    assert_eq!(answer.json()["code"], 200);
}

#[tokio::test]
async fn login_validation_messages() {
    let test = start(default_config()).await;
    let cases = [
        (json!({}), "账号不能为空"),
        (json!({"account": "ckb-demo"}), "密码不能为空"),
        (
            json!({"account": "ckb-demo", "password": "12345"}),
            "密码长度必须在6-64个字符之间",
        ),
        (
            json!({"account": "ckb-demo", "password": "x".repeat(65)}),
            "密码长度必须在6-64个字符之间",
        ),
        (
            json!({"account": "ckb-demo", "password": "ckb-demo-password"}),
            "用户类型不能为空",
        ),
        (
            json!({"account": "ckb-demo", "password": "ckb-demo-password", "typeId": 3}),
            "用户类型错误",
        ),
    ];

    for (body, message) in cases {
        let answer = login_with(&test, body.clone()).await;
        assert_eq!(answer.status, 200, "HTTP status for {body}");
        assert_eq!(answer.text, error_body(400, message), "answer to {body}");
    }
}

#[tokio::test]
async fn login_unknown_user_is_403_in_current() {
    let test = start(default_config()).await;

    let unknown = login_with(
        &test,
        json!({"account": "nobody", "password": "ckb-demo-password", "typeId": 1}),
    )
    .await;
    let wrong_type = login_with(
        &test,
        json!({"account": "ckb-demo", "password": "ckb-demo-password", "typeId": 2}),
    )
    .await;

    assert_eq!(unknown.text, error_body(403, "用户不存在或已禁用"));
    assert_eq!(wrong_type.text, error_body(403, "用户不存在或已禁用"));
}

#[tokio::test]
async fn legacy_unknown_login_is_html_500() {
    let test = start(SimulatorConfig {
        version: CkbVersion::Legacy,
        ..default_config()
    })
    .await;

    let answer = login_with(
        &test,
        json!({"account": "nobody", "password": "ckb-demo-password", "typeId": 1}),
    )
    .await;

    assert_eq!(answer.status, 500);
    assert_eq!(
        answer.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert!(answer.text.contains("页面错误！请稍后再试～"));
}

#[tokio::test]
async fn login_wrong_password_is_403() {
    let test = start(default_config()).await;

    let answer = login_with(
        &test,
        json!({"account": "ckb-demo", "password": "wrong-password", "typeId": "1"}),
    )
    .await;

    assert_eq!(answer.text, error_body(403, "账号或密码错误"));
}

// Tokens.

#[tokio::test]
async fn missing_token_gets_missing_body() {
    let test = start(default_config()).await;

    let no_header = test.send(test.client.get(test.url("/v1/plan/list"))).await;
    let wrong_prefix = test
        .send(
            test.client
                .get(test.url("/v1/plan/list"))
                .header("Authorization", "bearer abc"),
        )
        .await;
    let empty_token = test
        .send(
            test.client
                .get(test.url("/v1/auth/info"))
                .header("Authorization", "Bearer "),
        )
        .await;

    for answer in [no_header, wrong_prefix, empty_token] {
        assert_eq!(answer.status, 200);
        assert_eq!(answer.text, MISSING_TOKEN_BODY);
    }
}

#[tokio::test]
async fn bad_token_gets_invalid_body() {
    let test = start(default_config()).await;
    let token = test.login().await;
    let tampered = format!("{token}x");

    let answer = test.get_with_token("/v1/plan/list", &tampered, &[]).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.text, INVALID_TOKEN_BODY);
}

#[tokio::test]
async fn expire_tokens_invalidates_issued_tokens() {
    let test = start(default_config()).await;
    let token = test.login().await;
    let before = test.get_with_token("/v1/auth/info", &token, &[]).await;

    test.sim.expire_tokens();
    let after = test.get_with_token("/v1/auth/info", &token, &[]).await;
    let fresh = test.login().await;
    let renewed = test.get_with_token("/v1/auth/info", &fresh, &[]).await;

    assert_eq!(before.json()["code"], 200);
    assert_eq!(after.text, INVALID_TOKEN_BODY);
    assert_eq!(renewed.json()["code"], 200);
}

#[tokio::test]
async fn token_expires_after_its_lifetime() {
    let test = start(SimulatorConfig {
        token_lifetime: Duration::from_secs(60),
        ..default_config()
    })
    .await;
    let token = test.login().await;

    test.sim.set_unix_time(Some(NOW + 60));
    let at_expiry = test.get_with_token("/v1/auth/info", &token, &[]).await;
    test.sim.set_unix_time(Some(NOW + 61));
    let after_expiry = test.get_with_token("/v1/auth/info", &token, &[]).await;

    assert_eq!(at_expiry.json()["code"], 200);
    assert_eq!(after_expiry.text, INVALID_TOKEN_BODY);
}

#[tokio::test]
async fn auth_info_returns_member_without_exp() {
    let test = start(default_config()).await;
    let token = test.login().await;

    let body = test
        .get_with_token("/v1/auth/info", &token, &[])
        .await
        .json();

    assert_eq!(body["code"], 200);
    assert_eq!(body["msg"], "success");
    assert_eq!(body["data"]["account"], "ckb-demo");
    assert_eq!(body["data"]["id"], 1);
    assert!(body["data"].get("exp").is_none());
    assert!(body["data"].get("iat").is_none());
}

#[tokio::test]
async fn refresh_issues_year_long_token() {
    let test = start(default_config()).await;
    let token = test.login().await;

    let body = test
        .send(
            test.client
                .post(test.url("/v1/auth/refresh"))
                .bearer_auth(&token),
        )
        .await
        .json();

    assert_eq!(body["msg"], "刷新成功");
    assert_eq!(body["data"]["token_expired"], NOW + 365 * 86_400);
    let refreshed = body["data"]["token"].as_str().unwrap();
    let info = test.get_with_token("/v1/auth/info", refreshed, &[]).await;
    assert_eq!(info.json()["code"], 200);
}

// plan/list.

#[tokio::test]
async fn plan_list_includes_columns_and_api_key() {
    let test = start(default_config()).await;
    let token = test.login().await;

    let answer = test.get_with_token("/v1/plan/list", &token, &[]).await;
    let body = answer.json();

    assert_eq!(body["code"], 200);
    assert_eq!(body["msg"], "获取计划任务列表成功");
    assert_eq!(body["data"]["total"], 3);
    let first = &body["data"]["list"][0];
    assert_eq!(first["id"], 1);
    assert_eq!(first["apiKey"], crate::helpers::KEY);
    assert_eq!(first["status"], 1);
    assert_eq!(first["sceneConf"], json!([]));
    assert_eq!(first["planType"], 1);
    assert_eq!(first["lastUpdated"], "--");
    assert_eq!(first["passRate"], json!(0));
    let created = first["createTime"].as_str().unwrap();
    assert_eq!(created.len(), "2025-06-15 23:06:40".len(), "{created}");
    assert_eq!(&created[4..5], "-");
    assert_eq!(&created[10..11], " ");
    assert_eq!(plan_item(&body, 3)["status"], 0);
    assert_eq!(plan_item(&body, 2)["msgConf"], json!([]));
    assert!(answer.text.contains(r#""startTime":"09:00""#));
}

#[tokio::test]
async fn plan_list_counts_in_current() {
    let test = start(SimulatorConfig {
        clock: clock(1.0, 0.0),
        ..default_config()
    })
    .await;
    for phone in ["1", "2", "3"] {
        test.submit(json!({ "phone": phone })).await;
    }
    test.post_json(&test.lead_with_key(json!({"phone": "9"}), "nomsg-key"))
        .await;
    for _ in 0..3 {
        test.sim.advance();
    }
    test.sim.set_clock_shares(0.0, 1.0);
    for phone in ["4", "5"] {
        test.submit(json!({ "phone": phone })).await;
    }
    test.sim.set_unix_time(Some(NOW + 120));
    test.sim.advance();
    test.sim.advance();
    test.submit(json!({"phone": "6"})).await;
    let token = test.login().await;

    let body = test
        .get_with_token("/v1/plan/list", &token, &[])
        .await
        .json();

    let with_messages = plan_item(&body, 1);
    assert_eq!(with_messages["acquiredCount"], 6);
    assert_eq!(with_messages["addedCount"], 5);
    assert_eq!(with_messages["passCount"], 3);
    assert_eq!(with_messages["passRate"], "60.00");
    assert_eq!(with_messages["lastUpdated"], "2025-06-15 23:08");
    let statuses: Vec<u8> = test.sim.plan_leads(1).iter().map(|l| l.status).collect();
    assert_eq!(statuses, vec![4, 4, 4, 3, 3, 0]);

    let without_messages = plan_item(&body, 2);
    assert_eq!(test.sim.plan_leads(2)[0].status, 5);
    assert_eq!(without_messages["passCount"], 1);
    assert_eq!(without_messages["passRate"], "100.00");
}

#[tokio::test]
async fn plan_list_counts_in_legacy() {
    let test = start(SimulatorConfig {
        version: CkbVersion::Legacy,
        clock: clock(1.0, 0.0),
        ..default_config()
    })
    .await;
    test.submit(json!({"phone": "first"})).await;
    test.post_json(&test.lead_with_key(json!({"phone": "9"}), "nomsg-key"))
        .await;
    for _ in 0..3 {
        test.sim.advance();
    }
    test.sim.set_clock_shares(0.0, 0.0);
    for index in 0..11 {
        test.submit(json!({ "phone": format!("later-{index}") }))
            .await;
    }
    test.sim.advance();
    test.sim.advance();
    let token = test.login().await;

    let body = test
        .get_with_token("/v1/plan/list", &token, &[])
        .await
        .json();

    let with_messages = plan_item(&body, 1);
    assert_eq!(with_messages["acquiredCount"], 12);
    assert_eq!(with_messages["addedCount"], 12);
    assert_eq!(with_messages["passCount"], 1);
    // addedCount / passCount × 100, with a thousands separator.
    assert_eq!(with_messages["passRate"], "1,200.00");
    assert!(with_messages.get("lastUpdated").is_none());
    assert!(with_messages.get("planType").is_none());

    // An accepted lead of a plan without messages stays at 2 and never
    // counts as passed.
    assert_eq!(test.sim.plan_leads(2)[0].status, 2);
    let without_messages = plan_item(&body, 2);
    assert_eq!(without_messages["addedCount"], 1);
    assert_eq!(without_messages["passCount"], 0);
    assert_eq!(without_messages["passRate"], json!(0));
}

#[tokio::test]
async fn plan_list_pages_and_filters_by_keyword() {
    let mut config = default_config();
    config.plans = vec![
        plan(1, "官网表单", "k1"),
        plan(2, "抖音广告", "k2"),
        plan(3, "官网弹窗", "k3"),
    ];
    let test = start(config).await;
    let token = test.login().await;

    let page_two = test
        .get_with_token("/v1/plan/list", &token, &[("page", "2"), ("limit", "2")])
        .await
        .json();
    let keyword = test
        .get_with_token("/v1/plan/list", &token, &[("keyword", " 官网 ")])
        .await
        .json();
    let scene = test
        .get_with_token("/v1/plan/list", &token, &[("sceneId", "2")])
        .await
        .json();

    assert_eq!(page_two["data"]["total"], 3);
    assert_eq!(page_two["data"]["list"].as_array().unwrap().len(), 1);
    assert_eq!(page_two["data"]["list"][0]["id"], 3);
    assert_eq!(keyword["data"]["total"], 2);
    assert_eq!(scene["data"]["total"], 0);
}

#[tokio::test]
async fn plan_list_ignores_keyword_in_legacy() {
    let test = start(SimulatorConfig {
        version: CkbVersion::Legacy,
        ..default_config()
    })
    .await;
    let token = test.login().await;

    let body = test
        .get_with_token("/v1/plan/list", &token, &[("keyword", "官网")])
        .await
        .json();

    assert_eq!(body["data"]["total"], 3);
}

// getUserList.

async fn sim_with_five_leads() -> TestSim {
    let test = start(SimulatorConfig {
        clock: clock(1.0, 0.0),
        ..default_config()
    })
    .await;
    for index in 1..=2 {
        test.submit(json!({"phone": format!("pass-{index}"), "name": "张三", "tags": "vip,新客"}))
            .await;
    }
    for _ in 0..3 {
        test.sim.advance();
    }
    for index in 3..=5 {
        test.submit(json!({"phone": format!("new-{index}"), "siteTags": "女装"}))
            .await;
    }
    test
}

#[tokio::test]
async fn get_user_list_pages_newest_first() {
    let test = sim_with_five_leads().await;
    let token = test.login().await;

    let body = test
        .get_with_token(
            "/v1/plan/getUserList",
            &token,
            &[("planId", "1"), ("page", "2"), ("pageSize", "2")],
        )
        .await
        .json();

    assert_eq!(body["code"], 200);
    assert_eq!(body["msg"], "获取成功");
    assert_eq!(body["data"]["total"], 5);
    let list = body["data"]["list"].as_array().unwrap();
    let ids: Vec<i64> = list
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![3, 2]);
    assert_eq!(list[0]["phone"], "new-3");
    assert_eq!(list[0]["userinfo"], json!([]));
    assert_eq!(list[1]["userinfo"]["wechatId"], "pass-2");
    assert_eq!(list[1]["tags"], json!(["vip", "新客"]));
    assert_eq!(list[1]["status"], 4);
    assert!(list[0].get("task_id").is_none());
}

#[tokio::test]
async fn get_user_list_filters_passed_and_keyword() {
    let test = sim_with_five_leads().await;
    let token = test.login().await;

    let passed = test
        .get_with_token(
            "/v1/plan/getUserList",
            &token,
            &[("planId", "1"), ("type", "2")],
        )
        .await
        .json();
    let by_tag = test
        .get_with_token(
            "/v1/plan/getUserList",
            &token,
            &[("planId", "1"), ("keyword", "女装")],
        )
        .await
        .json();

    assert_eq!(passed["data"]["total"], 2);
    assert_eq!(by_tag["data"]["total"], 3);
}

#[tokio::test]
async fn get_user_list_errors() {
    let test = sim_with_five_leads().await;
    let token = test.login().await;
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("planId", "1"), ("type", "3")], "类型错误"),
        (&[("type", "1")], "获客场景id不能为空"),
        (&[("planId", "0")], "获客场景id不能为空"),
        (&[("planId", "99")], "活动不存在"),
    ];

    for (query, message) in cases {
        let answer = test
            .get_with_token("/v1/plan/getUserList", &token, query)
            .await;
        assert_eq!(answer.text, error_body(400, message), "answer to {query:?}");
    }
}

#[tokio::test]
async fn legacy_has_no_user_list() {
    let test = start(SimulatorConfig {
        version: CkbVersion::Legacy,
        ..default_config()
    })
    .await;
    let token = test.login().await;

    let answer = test
        .get_with_token("/v1/plan/getUserList", &token, &[("planId", "1")])
        .await;

    assert_eq!(answer.status, 404);
    assert!(answer.text.contains("页面错误！请稍后再试～"));
}

// Clock.

#[tokio::test]
async fn clock_tick_moves_statuses() {
    let test = start(SimulatorConfig {
        clock: ClockConfig {
            tick: Some(Duration::from_millis(20)),
            pass_share: 1.0,
            fail_share: 0.0,
        },
        ..default_config()
    })
    .await;
    test.submit(json!({"phone": "1"})).await;

    let mut status = 0;
    for _ in 0..250 {
        status = test.sim.plan_leads(1)[0].status;
        if status == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    assert_eq!(status, 4);
}

#[tokio::test]
async fn clock_outcomes_repeat_with_same_seed() {
    async fn statuses(seed: u64) -> Vec<u8> {
        let test = start(SimulatorConfig {
            clock: clock(0.5, 0.25),
            seed,
            ..default_config()
        })
        .await;
        for index in 0..40 {
            test.submit(json!({ "phone": format!("{index}") })).await;
        }
        for _ in 0..3 {
            test.sim.advance();
        }
        test.sim
            .plan_leads(1)
            .iter()
            .map(|lead| lead.status)
            .collect()
    }

    let first = statuses(42).await;
    let again = statuses(42).await;
    let other = statuses(43).await;

    assert_eq!(first, again);
    assert_ne!(first, other);
    assert!(first.contains(&2), "some leads stay pending");
    assert!(first.contains(&3), "some leads fail");
    assert!(first.contains(&4), "some leads pass");
}

#[tokio::test]
async fn plans_file_is_loaded() {
    let path = std::env::temp_dir().join(format!("ckb-plans-{}.json", std::process::id()));
    std::fs::write(
        &path,
        r#"[{"id":7,"name":"官网表单","apiKey":"k7"},
            {"id":8,"name":"无消息","apiKey":"k8","enabled":false,"hasMessages":false,"sceneId":3}]"#,
    )
    .unwrap();

    let plans = partner_gateway::ckb::simulator::load_plans(&path).unwrap();
    std::fs::remove_file(&path).unwrap();

    assert_eq!(
        plans,
        vec![
            plan(7, "官网表单", "k7"),
            SimPlan {
                enabled: false,
                has_messages: false,
                scene_id: 3,
                ..plan(8, "无消息", "k8")
            },
        ]
    );
}

#[tokio::test]
async fn plans_file_rejects_duplicate_ids() {
    let path = std::env::temp_dir().join(format!("ckb-plans-dup-{}.json", std::process::id()));
    std::fs::write(
        &path,
        r#"[{"id":1,"name":"a","apiKey":"k1"},{"id":1,"name":"b","apiKey":"k2"}]"#,
    )
    .unwrap();

    let error = partner_gateway::ckb::simulator::load_plans(&path).unwrap_err();
    std::fs::remove_file(&path).unwrap();

    assert!(
        error.to_string().contains("plan id 1 appears twice"),
        "{error}"
    );
}
