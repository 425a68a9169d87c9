//! Lead delivery to CKB, over real HTTP against the CKB simulator.

use std::time::{Duration, Instant};

use partner_gateway::ckb::simulator::{Faults, SimulatorConfig, SimulatorHandle};
use serde_json::{json, Value};

use crate::support::{
    captured_logs, eventually, spawn_ckb, spawn_ckb_with, TestApp, CKB_KEY, FAST_DELIVERY,
};

const SUBMIT: &str = "mutation($input: SubmitLeadInput!) { submitLead(input: $input) {
    alreadySubmitted lead { id deliveryStatus attempts ckbCode ckbMessage lastError identifier phone wechatId } } }";

const LEAD: &str = "query($id: ID!) { ckbLead(id: $id) { id deliveryStatus attempts ckbCode ckbMessage lastError friendStatus } }";

/// A gateway with fast retries and an INTEGRATOR plan on a fresh simulator.
async fn gateway_with_ckb(extra: &[&str]) -> (TestApp, SimulatorHandle) {
    let ckb = spawn_ckb().await;
    let mut args = FAST_DELIVERY.to_vec();
    args.extend_from_slice(extra);
    let app = TestApp::spawn_with(&args).await;
    app.create_plan("外部表单", CKB_KEY, &ckb.base_url(), "INTEGRATOR", false)
        .await;
    (app, ckb)
}

async fn submit(app: &TestApp, token: &str, input: Value) -> Value {
    app.query(token, SUBMIT, json!({ "input": input })).await["submitLead"].clone()
}

/// Sends every input as a `submitLead` of the INTEGRATOR token at once, and returns each
/// status and body in input order.
async fn submit_concurrently(
    app: &TestApp,
    inputs: impl IntoIterator<Item = Value>,
) -> Vec<(reqwest::StatusCode, Value)> {
    let calls = inputs
        .into_iter()
        .map(|input| app.post(Some(&app.integrator), SUBMIT, json!({ "input": input })));
    futures::future::join_all(calls).await
}

async fn lead(app: &TestApp, id: &str) -> Value {
    app.query(&app.admin, LEAD, json!({ "id": id })).await["ckbLead"].clone()
}

#[tokio::test]
async fn submit_lead_is_created_then_existing() {
    let (app, ckb) = gateway_with_ckb(&[]).await;
    let first = submit(
        &app,
        &app.integrator,
        json!({ "phone": "13800000001", "name": "李雷", "source": "官网表单" }),
    )
    .await;
    assert_eq!(first["alreadySubmitted"], false);
    assert_eq!(first["lead"]["deliveryStatus"], "CREATED");
    assert_eq!(first["lead"]["ckbCode"], 200);
    assert_eq!(first["lead"]["ckbMessage"], "新增成功");
    assert_eq!(first["lead"]["attempts"], 1);

    let second = submit(
        &app,
        &app.integrator,
        json!({ "phone": "13800000001", "name": "李雷" }),
    )
    .await;
    assert_eq!(second["lead"]["deliveryStatus"], "EXISTING");
    assert_eq!(second["lead"]["ckbMessage"], "已存在");
    assert_ne!(first["lead"]["id"], second["lead"]["id"]);

    let counts = ckb.counts();
    assert_eq!(counts.identifiers["13800000001"].created, 1);
    assert_eq!(counts.identifiers["13800000001"].existing, 1);
}

#[tokio::test]
async fn wechat_id_is_the_identifier_when_present() {
    let (app, ckb) = gateway_with_ckb(&[]).await;
    submit(
        &app,
        &app.integrator,
        json!({ "phone": "13800000002", "wechatId": "wxid_lilei2026" }),
    )
    .await;
    assert_eq!(ckb.counts().identifiers["wxid_lilei2026"].created, 1);
    assert!(!ckb.counts().identifiers.contains_key("13800000002"));
}

#[tokio::test]
async fn unknown_api_key_is_rejected_without_retries() {
    let ckb = spawn_ckb().await;
    let app = TestApp::spawn_with(FAST_DELIVERY).await;
    app.create_plan(
        "错误密钥",
        "wrong-key-00000",
        &ckb.base_url(),
        "INTEGRATOR",
        false,
    )
    .await;
    let receipt = submit(&app, &app.integrator, json!({ "phone": "13800000003" })).await;
    assert_eq!(receipt["lead"]["deliveryStatus"], "REJECTED");
    assert_eq!(receipt["lead"]["ckbCode"], 401);
    assert_eq!(receipt["lead"]["ckbMessage"], "无效的apiKey");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let id = receipt["lead"]["id"].as_str().unwrap();
    assert_eq!(
        lead(&app, id).await["attempts"],
        1,
        "a rejected lead was retried"
    );
}

#[tokio::test]
async fn expired_timestamp_is_rejected() {
    let (app, ckb) = gateway_with_ckb(&[]).await;
    ckb.set_unix_time(Some(chrono::Utc::now().timestamp() + 301));
    let receipt = submit(&app, &app.integrator, json!({ "phone": "13800000004" })).await;
    assert_eq!(receipt["lead"]["deliveryStatus"], "REJECTED");
    assert_eq!(receipt["lead"]["ckbCode"], 400);
    assert_eq!(receipt["lead"]["ckbMessage"], "请求已过期");
}

#[tokio::test]
async fn dropped_connection_is_named_in_last_error() {
    let (app, ckb) = gateway_with_ckb(&[]).await;
    ckb.set_faults(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    });
    let receipt = submit(&app, &app.integrator, json!({ "phone": "13800000015" })).await;
    assert_eq!(receipt["lead"]["deliveryStatus"], "PENDING");
    assert_eq!(
        receipt["lead"]["lastError"],
        "CKB closed the connection without answering"
    );
}

#[tokio::test]
async fn unreachable_ckb_is_named_with_its_address() {
    let (app, ckb) = gateway_with_ckb(&[]).await;
    let address = ckb.base_url();
    // A stopped CKB refuses the connection.
    ckb.shutdown().await;
    let receipt = submit(&app, &app.integrator, json!({ "phone": "13800000017" })).await;
    assert_eq!(receipt["lead"]["deliveryStatus"], "PENDING");
    assert_eq!(
        receipt["lead"]["lastError"],
        format!("could not connect to CKB at {address}")
    );
}

#[tokio::test]
async fn retried_lead_drops_its_old_error() {
    let (app, ckb) = gateway_with_ckb(&["--lead-wait-ms", "200"]).await;
    ckb.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let receipt = submit(&app, &app.integrator, json!({ "phone": "13800000016" })).await;
    let id = receipt["lead"]["id"].as_str().unwrap().to_owned();
    let failed = eventually(10, || async {
        lead(&app, &id).await["deliveryStatus"] == "FAILED"
    })
    .await;
    assert!(failed);

    // CKB now hangs, so the retry's first attempt is still running when retryLead returns.
    ckb.set_faults(Faults {
        timeout_rate: 1.0,
        ..Faults::default()
    });
    let retried = app
        .query(
            &app.admin,
            "mutation($id: ID!) { retryLead(id: $id) { lead { deliveryStatus attempts lastError } } }",
            json!({ "id": id }),
        )
        .await;
    let retried = &retried["retryLead"]["lead"];
    assert_eq!(retried["deliveryStatus"], "PENDING", "{retried}");
    assert_eq!(retried["attempts"], 0, "{retried}");
    assert!(retried["lastError"].is_null(), "{retried}");
}

#[tokio::test]
async fn server_errors_are_retried_until_failed_then_retry_lead_delivers() {
    let (app, ckb) = gateway_with_ckb(&[]).await;
    ckb.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let receipt = submit(&app, &app.integrator, json!({ "phone": "13800000005" })).await;
    let id = receipt["lead"]["id"].as_str().unwrap().to_owned();
    assert_eq!(receipt["lead"]["deliveryStatus"], "PENDING");
    let failed = eventually(10, || async {
        lead(&app, &id).await["deliveryStatus"] == "FAILED"
    })
    .await;
    assert!(failed, "lead did not end FAILED: {}", lead(&app, &id).await);
    let stored = lead(&app, &id).await;
    assert_eq!(stored["attempts"], 3);
    assert!(
        stored["lastError"]
            .as_str()
            .unwrap()
            .contains("gave up after 3 attempts"),
        "{stored}"
    );

    ckb.set_faults(Faults::default());
    let retried = app
        .query(
            &app.admin,
            "mutation($id: ID!) { retryLead(id: $id) { lead { deliveryStatus ckbMessage } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(retried["retryLead"]["lead"]["deliveryStatus"], "CREATED");
    assert_eq!(ckb.counts().identifiers["13800000005"].created, 1);
}

#[tokio::test]
async fn retry_of_a_created_lead_is_a_conflict() {
    let (app, _ckb) = gateway_with_ckb(&[]).await;
    let receipt = submit(&app, &app.integrator, json!({ "phone": "13800000006" })).await;
    let (code, _) = app
        .query_error(
            &app.admin,
            "mutation($id: ID!) { retryLead(id: $id) { lead { id } } }",
            json!({ "id": receipt["lead"]["id"] }),
        )
        .await;
    assert_eq!(code, "CONFLICT");
}

#[tokio::test]
async fn ckb_down_then_up_delivers_each_lead_once() {
    let (app, ckb) = gateway_with_ckb(&["--lead-max-attempts", "50"]).await;
    ckb.set_faults(Faults {
        down: true,
        ..Faults::default()
    });
    let mut ids = Vec::new();
    for n in 0..5 {
        let receipt = submit(
            &app,
            &app.integrator,
            json!({ "phone": format!("1380000010{n}") }),
        )
        .await;
        assert_eq!(receipt["lead"]["deliveryStatus"], "PENDING");
        ids.push(receipt["lead"]["id"].as_str().unwrap().to_owned());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for id in &ids {
        assert_eq!(lead(&app, id).await["deliveryStatus"], "PENDING");
    }

    ckb.set_faults(Faults::default());
    for id in &ids {
        let delivered = eventually(10, || async {
            lead(&app, id).await["deliveryStatus"] == "CREATED"
        })
        .await;
        assert!(delivered, "lead {id} was not delivered after CKB came back");
    }
    let counts = ckb.counts();
    for n in 0..5 {
        assert_eq!(counts.identifiers[&format!("1380000010{n}")].created, 1);
    }
}

#[tokio::test]
async fn slow_ckb_does_not_hold_the_mutation_past_its_wait() {
    let (app, ckb) = gateway_with_ckb(&[
        "--lead-wait-ms",
        "300",
        "--ckb-timeout-ms",
        "3000",
        "--lead-lease-secs",
        "5",
    ])
    .await;
    ckb.set_faults(Faults {
        latency: Duration::from_millis(1500),
        ..Faults::default()
    });
    let started = Instant::now();
    let receipt = submit(&app, &app.integrator, json!({ "phone": "13800000007" })).await;
    let elapsed = started.elapsed();
    assert_eq!(receipt["lead"]["deliveryStatus"], "PENDING");
    assert!(
        elapsed < Duration::from_millis(1400),
        "the mutation waited {elapsed:?}, longer than its 300 ms wait allows"
    );
    let id = receipt["lead"]["id"].as_str().unwrap().to_owned();
    let delivered = eventually(10, || async {
        lead(&app, &id).await["deliveryStatus"] == "CREATED"
    })
    .await;
    assert!(delivered, "the slow answer was not recorded");
    assert_eq!(
        ckb.counts().identifiers["13800000007"].requests,
        1,
        "the lead was sent twice"
    );
}

#[tokio::test]
async fn lead_stored_before_a_crash_is_delivered_after_restart() {
    let ckb = spawn_ckb().await;
    let mut args = FAST_DELIVERY.to_vec();
    args.extend_from_slice(&["--outbox-worker", "false"]);
    let app = TestApp::spawn_with(&args).await;
    let plan = app
        .create_plan("外部表单", CKB_KEY, &ckb.base_url(), "INTEGRATOR", false)
        .await;

    // The row a crashed process leaves: stored, never sent.
    let stored = partner_gateway::db::leads::insert_pending(
        &app.state().db,
        partner_gateway::db::leads::NewLead {
            plan_id: plan.parse().unwrap(),
            phone: Some("13800000008".into()),
            name: "崩溃前".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ckb.counts().lead_requests, 0);

    let app = app.restart(FAST_DELIVERY).await;
    let id = stored.id.to_string();
    let delivered = eventually(10, || async {
        lead(&app, &id).await["deliveryStatus"] == "CREATED"
    })
    .await;
    assert!(
        delivered,
        "the restarted gateway did not deliver the stored lead"
    );
    assert_eq!(ckb.counts().identifiers["13800000008"].created, 1);
}

#[tokio::test]
async fn lead_held_by_a_dead_worker_is_taken_over_after_its_lease() {
    let (app, ckb) = gateway_with_ckb(&[]).await;
    let plan = partner_gateway::db::plans::list(&app.state().db)
        .await
        .unwrap()[0]
        .id;
    // Another process stored and claimed the lead and died: its lease runs for one more
    // second. Both happen in one transaction so that this gateway's worker never sees the lead
    // unclaimed.
    use partner_gateway::db::entities::ckb_lead;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
    let txn = app.state().db.begin().await.unwrap();
    let stored = partner_gateway::db::leads::insert_pending(
        &txn,
        partner_gateway::db::leads::NewLead {
            plan_id: plan,
            phone: Some("13800000009".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let lease_until = partner_gateway::db::now() + chrono::Duration::seconds(1);
    ckb_lead::Entity::update_many()
        .col_expr(
            ckb_lead::Column::LeaseOwner,
            sea_orm::sea_query::Expr::value("dead-worker"),
        )
        .col_expr(
            ckb_lead::Column::LeaseUntil,
            sea_orm::sea_query::Expr::value(lease_until),
        )
        .filter(ckb_lead::Column::Id.eq(stored.id))
        .exec(&txn)
        .await
        .unwrap();
    txn.commit().await.unwrap();

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        ckb.counts().lead_requests,
        0,
        "a leased lead was sent before its lease ran out"
    );
    let id = stored.id.to_string();
    let delivered = eventually(10, || async {
        lead(&app, &id).await["deliveryStatus"] == "CREATED"
    })
    .await;
    assert!(delivered);
}

#[tokio::test]
async fn hundred_concurrent_submissions_are_all_delivered_once() {
    let (app, ckb) = gateway_with_ckb(&[]).await;
    let calls = (0..100).map(|n| {
        let input =
            json!({ "phone": format!("139{n:08}"), "idempotencyKey": format!("order-{n}") });
        let app = &app;
        async move {
            app.post(Some(&app.integrator), SUBMIT, json!({ "input": input }))
                .await
        }
    });
    let results = futures::future::join_all(calls).await;
    let mut ids = std::collections::HashSet::new();
    for (status, body) in &results {
        assert_eq!(*status, reqwest::StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        ids.insert(
            body["data"]["submitLead"]["lead"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(ids.len(), 100);
    for id in &ids {
        let delivered = eventually(10, || async {
            lead(&app, id).await["deliveryStatus"] == "CREATED"
        })
        .await;
        assert!(delivered, "lead {id} not delivered");
    }
    let counts = ckb.counts();
    assert_eq!(counts.outcomes.created, 100);
    for n in 0..100 {
        assert_eq!(counts.identifiers[&format!("139{n:08}")].requests, 1);
    }
}

#[tokio::test]
async fn hundred_submissions_with_one_idempotency_key_store_and_send_once() {
    let (app, ckb) = gateway_with_ckb(&[]).await;
    let input = json!({ "phone": "13700000000", "idempotencyKey": "same-click" });
    let calls = (0..100).map(|_| {
        app.post(
            Some(&app.integrator),
            SUBMIT,
            json!({ "input": input.clone() }),
        )
    });
    let results = futures::future::join_all(calls).await;
    let mut ids = std::collections::HashSet::new();
    let mut first_submissions = 0;
    for (_, body) in &results {
        assert!(body.get("errors").is_none(), "{body}");
        ids.insert(
            body["data"]["submitLead"]["lead"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        if body["data"]["submitLead"]["alreadySubmitted"] == false {
            first_submissions += 1;
        }
    }
    assert_eq!(ids.len(), 1, "one key produced several leads: {ids:?}");
    assert_eq!(first_submissions, 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ckb.counts().identifiers["13700000000"].requests, 1);
}

#[tokio::test]
async fn burst_with_repeated_key_counts_every_lead() {
    // Writes of concurrent requests are committed together. A repeated key stores nothing and
    // returns the earlier lead, and the other writes of its batch are stored as usual.
    let (app, ckb) = gateway_with_ckb(&[]).await;
    let distinct = (0..60).map(|n| json!({ "phone": format!("136{n:08}") }));
    let repeated =
        (0..20).map(|_| json!({ "phone": "13500000000", "idempotencyKey": "double-click" }));
    let results = submit_concurrently(&app, distinct.chain(repeated)).await;
    let mut ids = std::collections::HashSet::new();
    for (status, body) in &results {
        assert_eq!(*status, reqwest::StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        ids.insert(body["data"]["submitLead"]["lead"]["id"].clone());
    }
    assert_eq!(ids.len(), 61);

    let settled = eventually(10, || async {
        let data = app
            .query(
                &app.admin,
                "{ findPartnerOverview(window: ALL) { totals { leads { submitted created pending } } } }",
                json!({}),
            )
            .await;
        data["findPartnerOverview"]["totals"]["leads"] == json!({ "submitted": 61, "created": 61, "pending": 0 })
    })
    .await;
    assert!(settled, "the counters do not show 61 created leads");
    let listed = app
        .query(&app.admin, "{ ckbLeads { totalCount } }", json!({}))
        .await;
    assert_eq!(listed["ckbLeads"]["totalCount"], 61);
    let counts = ckb.counts();
    assert_eq!(counts.outcomes.created, 61);
    assert_eq!(counts.identifiers["13500000000"].requests, 1);
}

#[tokio::test]
async fn idempotency_keys_are_per_token() {
    let (app, _ckb) = gateway_with_ckb(&[]).await;
    let input = json!({ "phone": "13700000001", "idempotencyKey": "k1" });
    let a = submit(&app, &app.integrator, input.clone()).await;
    let b = submit(&app, &app.admin, input).await;
    assert_ne!(a["lead"]["id"], b["lead"]["id"]);
}

#[tokio::test]
async fn invalid_leads_are_refused_naming_the_field() {
    let (app, ckb) = gateway_with_ckb(&[]).await;
    let cases = [
        (json!({ "name": "无联系方式" }), "phone"),
        (json!({ "phone": "12345" }), "phone"),
        (json!({ "wechatId": "1abc" }), "wechatId"),
        (json!({ "phone": "13800000010", "tags": ["a,b"] }), "tags"),
        (
            json!({ "phone": "13800000010", "portrait": { "type": 9 } }),
            "portrait.type",
        ),
        (
            json!({ "phone": "13800000010", "portrait": { "type": 1, "remark": "长".repeat(101) } }),
            "portrait.remark",
        ),
        (
            json!({ "phone": "13800000010", "portrait": { "type": 1, "sourceData": [1, 2] } }),
            "portrait.sourceData",
        ),
        (
            json!({ "phone": "13800000010", "name": "名".repeat(51) }),
            "name",
        ),
        (
            json!({ "phone": "13800000010", "idempotencyKey": "has space" }),
            "idempotencyKey",
        ),
    ];
    for (input, field) in cases {
        let (_, body) = app
            .post(Some(&app.integrator), SUBMIT, json!({ "input": input }))
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{input}: {body}"
        );
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{input}: {body}"
        );
    }
    assert_eq!(ckb.counts().lead_requests, 0);
    let stored = app
        .query(&app.admin, "{ ckbLeads { totalCount } }", json!({}))
        .await;
    assert_eq!(
        stored["ckbLeads"]["totalCount"], 0,
        "an invalid lead was stored"
    );
}

#[tokio::test]
async fn integrator_sees_only_its_own_leads() {
    let (app, _ckb) = gateway_with_ckb(&[]).await;
    let mine = submit(&app, &app.integrator, json!({ "phone": "13800000011" })).await;
    let admins = submit(&app, &app.admin, json!({ "phone": "13800000012" })).await;
    let list = app
        .query(
            &app.integrator,
            "{ ckbLeads { totalCount edges { node { id phone } } } }",
            json!({}),
        )
        .await;
    assert_eq!(list["ckbLeads"]["totalCount"], 1);
    assert_eq!(
        list["ckbLeads"]["edges"][0]["node"]["id"],
        mine["lead"]["id"]
    );
    assert_eq!(list["ckbLeads"]["edges"][0]["node"]["phone"], "138****0011");
    let (code, _) = app
        .query_error(&app.integrator, LEAD, json!({ "id": admins["lead"]["id"] }))
        .await;
    assert_eq!(code, "NOT_FOUND");
}

#[tokio::test]
async fn portrait_and_form_encoding_reach_ckb() {
    let ckb = spawn_ckb().await;
    let app = TestApp::spawn_with(FAST_DELIVERY).await;
    app.query(
        &app.admin,
        "mutation($input: CreateCkbPlanInput!) { createCkbPlan(input: $input) { id } }",
        json!({ "input": { "name": "表单编码", "apiKey": CKB_KEY, "endpoint": ckb.base_url(), "purpose": "INTEGRATOR", "contentType": "FORM" } }),
    )
    .await;
    let receipt = submit(
        &app,
        &app.integrator,
        json!({ "phone": "13800000013", "siteTags": ["新客"], "portrait": { "type": 1, "source": 0, "sourceData": { "page": "/pricing" }, "uniqueId": "visit-1" } }),
    )
    .await;
    assert_eq!(receipt["lead"]["deliveryStatus"], "CREATED", "{receipt}");
    let portraits = ckb.portraits();
    assert_eq!(portraits.len(), 1);
    let leads = ckb.plan_leads(crate::support::CKB_PLAN_ID);
    assert_eq!(leads[0].site_tags, vec!["新客".to_owned()]);
}

const LINK: &str = "mutation($m: ID!) { linkKaruo(memberId: $m) { alreadySubmitted lead { id deliveryStatus ckbMessage source origin originId } } }";

#[tokio::test]
async fn link_karuo_submits_once_within_its_window() {
    let ckb = spawn_ckb().await;
    let app = TestApp::spawn_with(FAST_DELIVERY).await;
    app.create_plan("链接卡若", CKB_KEY, &ckb.base_url(), "LINK_KARUO", true)
        .await;
    let member = app.create_member("韩梅梅", Some("13800000014"), &[]).await;

    let first = app.query(&app.service, LINK, json!({ "m": member })).await["linkKaruo"].clone();
    assert_eq!(first["alreadySubmitted"], false);
    assert_eq!(first["lead"]["deliveryStatus"], "CREATED");
    assert_eq!(first["lead"]["origin"], "LINK_KARUO");
    assert_eq!(first["lead"]["originId"], member.as_str());
    assert_eq!(first["lead"]["source"], "找伙伴·首页链接卡若");

    let presses = (0..10).map(|_| app.query(&app.service, LINK, json!({ "m": member })));
    for again in futures::future::join_all(presses).await {
        assert_eq!(again["linkKaruo"]["alreadySubmitted"], true);
        assert_eq!(again["linkKaruo"]["lead"]["id"], first["lead"]["id"]);
    }
    assert_eq!(ckb.counts().identifiers["13800000014"].requests, 1);
}

#[tokio::test]
async fn link_karuo_needs_a_contact_and_a_default_plan() {
    let ckb = spawn_ckb().await;
    let app = TestApp::spawn_with(FAST_DELIVERY).await;
    let member = app.create_member("有电话", Some("13800000015"), &[]).await;
    let (code, message) = app
        .query_error(&app.service, LINK, json!({ "m": member }))
        .await;
    assert_eq!(code, "CONFLICT");
    assert!(message.contains("default"), "{message}");

    app.create_plan("链接卡若", CKB_KEY, &ckb.base_url(), "LINK_KARUO", true)
        .await;
    let silent = app.create_member("无联系方式", None, &[]).await;
    let (_, body) = app
        .post(Some(&app.service), LINK, json!({ "m": silent }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "memberId");
    let (code, _) = app
        .query_error(&app.integrator, LINK, json!({ "m": member }))
        .await;
    assert_eq!(code, "FORBIDDEN");
}

#[tokio::test]
async fn recorded_match_submits_the_requesters_lead() {
    let ckb = spawn_ckb().await;
    let app = TestApp::spawn_with(FAST_DELIVERY).await;
    app.create_plan("找伙伴", CKB_KEY, &ckb.base_url(), "MATCH", false)
        .await;
    let requester = app.create_member("发起人", Some("13800000016"), &[]).await;
    app.create_member("候选", None, &[]).await;
    app.create_pool(json!({ "name": "全体", "kind": "PARTNER", "source": "ALL_MEMBERS" }))
        .await;
    let data = app
        .query(
            &app.service,
            "mutation($r: ID!) { recordMatch(requesterId: $r, kind: PARTNER) { matchRecord { id lead { id deliveryStatus origin } } lead { lead { ckbMessage originId } } } }",
            json!({ "r": requester }),
        )
        .await;
    let payload = &data["recordMatch"];
    assert_eq!(payload["lead"]["lead"]["ckbMessage"], "新增成功");
    assert_eq!(
        payload["lead"]["lead"]["originId"],
        payload["matchRecord"]["id"]
    );
    assert_eq!(payload["matchRecord"]["lead"]["origin"], "MATCH");
    assert_eq!(ckb.counts().identifiers["13800000016"].created, 1);
}

#[tokio::test]
async fn send_test_lead_returns_ckbs_exact_answer() {
    let (app, _ckb) = gateway_with_ckb(&[]).await;
    let query = "mutation { sendTestLead(planId: \"1\") { answer httpStatus ckbCode ckbMessage body request { body stringToSign sign } } }";
    let first = app.query(&app.admin, query, json!({})).await["sendTestLead"].clone();
    assert_eq!(first["answer"], "CREATED");
    assert_eq!(
        first["body"],
        r#"{"code":200,"message":"新增成功","data":"18888888888"}"#
    );
    assert_eq!(first["request"]["body"]["apiKey"], "****lmno");
    let second = app.query(&app.admin, query, json!({})).await["sendTestLead"].clone();
    assert_eq!(second["answer"], "EXISTING");
    assert_eq!(second["ckbMessage"], "已存在");
    let stored = app
        .query(&app.admin, "{ ckbLeads { totalCount } }", json!({}))
        .await;
    assert_eq!(
        stored["ckbLeads"]["totalCount"], 0,
        "a test lead was stored as a lead"
    );
}

#[tokio::test]
async fn plan_api_key_is_write_only() {
    let (app, _ckb) = gateway_with_ckb(&[]).await;
    let plan = app
        .query(
            &app.admin,
            "{ ckbPlans { apiKeyMasked interface { example { body curl } } } }",
            json!({}),
        )
        .await;
    assert_eq!(plan["ckbPlans"][0]["apiKeyMasked"], "****lmno");
    assert!(
        !plan.to_string().contains(CKB_KEY),
        "the apiKey leaked: {plan}"
    );
    let (code, _) = app
        .query_error(&app.admin, "{ ckbPlans { apiKey } }", json!({}))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
}

#[tokio::test]
async fn logs_never_contain_phones_wechat_ids_keys_or_tokens() {
    let ckb = spawn_ckb_with(SimulatorConfig::default()).await;
    let app = TestApp::spawn_with(FAST_DELIVERY).await;
    app.create_plan("外部表单", CKB_KEY, &ckb.base_url(), "INTEGRATOR", true)
        .await;
    app.create_plan(
        "错误密钥",
        "secret-wrong-key-777",
        &ckb.base_url(),
        "MATCH",
        false,
    )
    .await;
    let member = app.create_member("隐私", Some("13655556666"), &[]).await;
    submit(
        &app,
        &app.integrator,
        json!({ "phone": "13611112222", "wechatId": "wxid_private_777", "remark": "x" }),
    )
    .await;
    app.query(&app.service, LINK, json!({ "m": member })).await;
    ckb.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    submit(&app, &app.integrator, json!({ "phone": "13633334444" })).await;
    app.post(
        Some(&app.admin),
        "mutation { retryLead(id: \"999\") { lead { id } } }",
        json!({}),
    )
    .await;
    app.post(
        Some("pgw_wrong_token_secret"),
        "{ viewer { name } }",
        json!({}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let logs = captured_logs();
    assert!(
        logs.contains("test-integrator"),
        "the request log did not capture this test"
    );
    for secret in [
        "13655556666",
        "13611112222",
        "wxid_private_777",
        "13633334444",
        CKB_KEY,
        "secret-wrong-key-777",
        app.admin.as_str(),
        app.integrator.as_str(),
        app.service.as_str(),
        "pgw_wrong_token_secret",
    ] {
        assert!(!logs.contains(secret), "the logs contain {secret}");
    }
}

#[tokio::test]
async fn booking_lead_falls_back_to_the_match_plan() {
    let ckb = spawn_ckb().await;
    let app = TestApp::spawn_with(FAST_DELIVERY).await;
    let plan = app
        .create_plan("找伙伴", CKB_KEY, &ckb.base_url(), "MATCH", false)
        .await;
    let mentor = app.create_member("导师", None, &[]).await;
    let member = app.create_member("会员", Some("13800000017"), &[]).await;
    let start = chrono::Utc::now() + chrono::Duration::days(1);
    let data = app
        .query(
            &app.service,
            "mutation($input: CreateMentorBookingInput!) { createMentorBooking(input: $input) { lead { lead { deliveryStatus origin plan { id } } } } }",
            json!({ "input": { "mentorId": mentor, "memberId": member, "topic": "融资", "slotStart": start, "slotEnd": start + chrono::Duration::hours(1) } }),
        )
        .await;
    let lead = &data["createMentorBooking"]["lead"]["lead"];
    assert_eq!(lead["origin"], "MENTOR_BOOKING");
    assert_eq!(lead["plan"]["id"], plan.as_str());
    assert_eq!(lead["deliveryStatus"], "CREATED");
}

#[tokio::test]
async fn idempotency_key_reused_for_another_person_is_a_conflict() {
    let (app, ckb) = gateway_with_ckb(&[]).await;
    submit(
        &app,
        &app.integrator,
        json!({ "phone": "13700000002", "idempotencyKey": "form-1" }),
    )
    .await;
    let (code, message) = app
        .query_error(
            &app.integrator,
            SUBMIT,
            json!({ "input": { "phone": "13700000003", "idempotencyKey": "form-1" } }),
        )
        .await;
    assert_eq!(code, "CONFLICT");
    assert!(message.contains("form-1"), "{message}");
    assert!(!ckb.counts().identifiers.contains_key("13700000003"));
}

#[tokio::test]
async fn link_karuo_after_a_rejected_press_submits_again() {
    let ckb = spawn_ckb().await;
    let app = TestApp::spawn_with(FAST_DELIVERY).await;
    let plan = app
        .create_plan(
            "链接卡若",
            "wrong-key-00000",
            &ckb.base_url(),
            "LINK_KARUO",
            true,
        )
        .await;
    let member = app.create_member("韩梅梅", Some("13800000018"), &[]).await;
    let first = app.query(&app.service, LINK, json!({ "m": member })).await["linkKaruo"].clone();
    assert_eq!(first["lead"]["deliveryStatus"], "REJECTED");
    app.query(&app.admin, "mutation($id: ID!) { updateCkbPlan(id: $id, input: { apiKey: \"abcde-12345-fghij-67890-klmno\" }) { id } }", json!({ "id": plan }))
        .await;
    let second = app.query(&app.service, LINK, json!({ "m": member })).await["linkKaruo"].clone();
    assert_eq!(second["alreadySubmitted"], false);
    assert_eq!(second["lead"]["deliveryStatus"], "CREATED");
}

#[tokio::test]
async fn plan_endpoint_must_be_a_bare_base_url() {
    let app = TestApp::spawn().await;
    for endpoint in [
        "http://user:pass@127.0.0.1:1",
        "http://127.0.0.1:1/v1/api/scenarios",
        "http://127.0.0.1:1/?a=b",
        "ftp://127.0.0.1",
    ] {
        let (_, body) = app
            .post(
                Some(&app.admin),
                "mutation($input: CreateCkbPlanInput!) { createCkbPlan(input: $input) { id } }",
                json!({ "input": { "name": "x", "apiKey": "some-key-12345", "endpoint": endpoint, "purpose": "INTEGRATOR" } }),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["field"], "endpoint",
            "{endpoint}: {body}"
        );
    }
    app.create_plan(
        "好",
        "some-key-12345",
        "http://127.0.0.1:1/",
        "INTEGRATOR",
        false,
    )
    .await;
}

#[tokio::test]
async fn concurrent_key_reuse_is_a_conflict() {
    // Both requests pass the early key check before either lead is stored, so the conflict
    // is found when the second one is stored.
    let (app, ckb) = gateway_with_ckb(&[]).await;
    let inputs = (0..10).flat_map(|pair| {
        (0..2).map(move |person| {
            json!({ "phone": format!("1320{pair:03}{person:04}"), "idempotencyKey": format!("pair-{pair}") })
        })
    });
    let results = submit_concurrently(&app, inputs).await;
    for (pair, answers) in results.chunks(2).enumerate() {
        let conflicts = answers
            .iter()
            .filter(|(_, body)| body["errors"][0]["extensions"]["code"] == "CONFLICT")
            .count();
        let stored = answers
            .iter()
            .filter(|(_, body)| body["data"]["submitLead"]["alreadySubmitted"] == false)
            .count();
        assert_eq!(conflicts, 1, "pair {pair}: {answers:?}");
        assert_eq!(stored, 1, "pair {pair}: {answers:?}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ckb.counts().outcomes.created, 10);
}

#[tokio::test]
async fn shutdown_waits_for_first_attempts_in_flight() {
    // The mutations return PENDING after 50 ms. Their first attempts are still waiting for CKB
    // when the gateway shuts down, and must store CKB's response before it stops.
    let args = ["--lead-wait-ms", "50", "--outbox-worker", "false"];
    let (app, ckb) = gateway_with_ckb(&args).await;
    ckb.set_faults(Faults {
        latency: Duration::from_millis(800),
        ..Faults::default()
    });
    let mut ids = Vec::new();
    for n in 0..5 {
        let receipt = submit(
            &app,
            &app.integrator,
            json!({ "phone": format!("1310000000{n}") }),
        )
        .await;
        assert_eq!(receipt["lead"]["deliveryStatus"], "PENDING");
        ids.push(receipt["lead"]["id"].as_str().unwrap().to_owned());
    }

    let app = app.restart(&["--outbox-worker", "false"]).await;
    for id in &ids {
        assert_eq!(
            lead(&app, id).await["deliveryStatus"],
            "CREATED",
            "lead {id}"
        );
    }
    assert_eq!(ckb.counts().outcomes.created, 5);
}

#[tokio::test]
async fn hung_ckb_call_delays_only_its_lead() {
    let slow = spawn_ckb().await;
    let fast = spawn_ckb().await;
    slow.set_faults(Faults {
        timeout_rate: 1.0,
        ..Faults::default()
    });
    fast.set_faults(Faults {
        down: true,
        ..Faults::default()
    });
    let app = TestApp::spawn_with(&[
        "--ckb-timeout-ms",
        "6000",
        "--lead-lease-secs",
        "8",
        "--lead-wait-ms",
        "100",
        "--lead-backoff-ms",
        "50",
        "--lead-backoff-max-ms",
        "100",
        "--lead-max-attempts",
        "1000",
        "--outbox-poll-ms",
        "50",
    ])
    .await;
    let hung_plan = app
        .create_plan("挂起", CKB_KEY, &slow.base_url(), "INTEGRATOR", false)
        .await;
    let fast_plan = app
        .create_plan("正常", CKB_KEY, &fast.base_url(), "INTEGRATOR", false)
        .await;
    let submit = |plan: String, phone: &'static str| {
        let app = &app;
        async move {
            app.query(
                &app.integrator,
                SUBMIT,
                json!({ "input": { "planId": plan, "phone": phone } }),
            )
            .await["submitLead"]["lead"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let hung = submit(hung_plan, "13500000001").await;
    let mut others = Vec::new();
    for phone in ["13500000002", "13500000003", "13500000004"] {
        others.push(submit(fast_plan.clone(), phone).await);
    }

    // The hung lead's first call times out after 6 s and the worker's retry hangs for 6 s
    // more. Half a second into that retry, the other plan's CKB comes back.
    tokio::time::sleep(Duration::from_millis(6600)).await;
    fast.set_faults(Faults::default());
    let delivered = eventually(3, || async {
        let mut all = true;
        for id in &others {
            all &= lead(&app, id).await["deliveryStatus"] == "CREATED";
        }
        all
    })
    .await;
    assert!(delivered, "the other leads waited for the hung call");
    assert_eq!(lead(&app, &hung).await["deliveryStatus"], "PENDING");
}
