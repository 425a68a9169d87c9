//! Plan statistics: the gateway's counts, CKB's counts through the cache, and friend statuses
//! read back from CKB.

use std::time::Duration;

use partner_gateway::ckb::simulator::{
    CkbVersion, ClockConfig, Faults, SimAccount, SimulatorConfig, SimulatorHandle,
};
use serde_json::{json, Value};

use crate::support::{eventually, spawn_ckb_with, TestApp, CKB_KEY, CKB_PLAN_ID, FAST_DELIVERY};

const OVERVIEW: &str = "{ findPartnerOverview(window: ALL) {
    totals { leads { submitted created existing rejected failed pending friendsAdded } }
    plans { plan { name } local { submitted created existing rejected failed pending friendsAdded deliverySuccessRate }
            remote { remotePlanId acquired processed passed passRateRaw fetchedAt } remoteError addSuccessRate }
} }";

const SUBMIT: &str = "mutation($input: SubmitLeadInput!) { submitLead(input: $input) { lead { id deliveryStatus } } }";

fn manual_clock(version: CkbVersion) -> SimulatorConfig {
    SimulatorConfig {
        version,
        clock: ClockConfig {
            tick: None,
            pass_share: 0.5,
            fail_share: 0.2,
        },
        seed: 42,
        ..SimulatorConfig::default()
    }
}

/// A gateway that reads CKB's numbers with a short cache and no background sync, and one
/// INTEGRATOR plan with CKB's plan id.
async fn gateway(ckb: &SimulatorHandle, ttl_secs: &str) -> TestApp {
    gateway_with(ckb, ttl_secs, &[]).await
}

/// [`gateway`] with extra settings.
async fn gateway_with(ckb: &SimulatorHandle, ttl_secs: &str, extra: &[&str]) -> TestApp {
    let account = SimAccount::default();
    let mut args = FAST_DELIVERY.to_vec();
    args.extend_from_slice(&[
        "--ckb-account",
        &account.account,
        "--ckb-password",
        &account.password,
        "--ckb-stats-ttl-secs",
        ttl_secs,
        "--friend-sync-secs",
        "0",
    ]);
    args.extend_from_slice(extra);
    let app = TestApp::spawn_with(&args).await;
    app.query(
        &app.admin,
        "mutation($input: CreateCkbPlanInput!) { createCkbPlan(input: $input) { id } }",
        json!({ "input": { "name": "外部表单", "apiKey": CKB_KEY, "endpoint": ckb.base_url(), "purpose": "INTEGRATOR", "remotePlanId": CKB_PLAN_ID.to_string() } }),
    )
    .await;
    app
}

async fn plan_stats(app: &TestApp) -> Value {
    let data = app.query(&app.admin, OVERVIEW, json!({})).await;
    data["findPartnerOverview"]["plans"][0].clone()
}

fn management_requests(ckb: &SimulatorHandle, path: &str) -> u64 {
    ckb.counts()
        .management_requests
        .get(path)
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn stats_equal_the_simulators_counts_after_a_mixed_run() {
    let ckb = spawn_ckb_with(manual_clock(CkbVersion::Current)).await;
    let app = gateway(&ckb, "1").await;
    for n in 0..12 {
        app.query(
            &app.integrator,
            SUBMIT,
            json!({ "input": { "phone": format!("1350000{n:04}") } }),
        )
        .await;
    }
    for n in 0..3 {
        app.query(
            &app.integrator,
            SUBMIT,
            json!({ "input": { "phone": format!("1350000{n:04}") } }),
        )
        .await;
    }
    ckb.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let failing = app
        .query(
            &app.integrator,
            SUBMIT,
            json!({ "input": { "phone": "13599999999" } }),
        )
        .await;
    let failing_id = failing["submitLead"]["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let failed = eventually(10, || async {
        app.query(
            &app.admin,
            "query($id: ID!) { ckbLead(id: $id) { deliveryStatus } }",
            json!({ "id": failing_id }),
        )
        .await["ckbLead"]["deliveryStatus"]
            == "FAILED"
    })
    .await;
    assert!(failed);
    ckb.set_faults(Faults::default());
    for _ in 0..4 {
        ckb.advance();
    }

    app.state().friend_sync.run_once().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let stats = plan_stats(&app).await;

    let leads = ckb.plan_leads(CKB_PLAN_ID);
    let passed = leads.iter().filter(|l| matches!(l.status, 4 | 5)).count() as i64;
    let processed = leads.iter().filter(|l| (1..=5).contains(&l.status)).count() as i64;
    assert_eq!(stats["remote"]["acquired"], leads.len() as i64);
    assert_eq!(stats["remote"]["passed"], passed);
    assert_eq!(stats["remote"]["processed"], processed);
    assert!(
        passed > 0,
        "the clock passed no lead; the test would prove nothing"
    );
    let rate = stats["addSuccessRate"].as_f64().unwrap();
    assert!((rate - passed as f64 / leads.len() as f64).abs() < 1e-9);
    assert!(stats["remoteError"].is_null(), "{stats}");

    let local = &stats["local"];
    assert_eq!(local["submitted"], 16);
    assert_eq!(local["created"], 12);
    assert_eq!(local["existing"], 3);
    assert_eq!(local["failed"], 1);
    assert_eq!(local["pending"], 0);
    assert_eq!(local["deliverySuccessRate"], 15.0 / 16.0);
    // Every accepted lead of ours whose identifier CKB marks passed counts, repeats included.
    let passed_ids: std::collections::HashSet<String> = leads
        .iter()
        .filter(|l| matches!(l.status, 4 | 5))
        .map(|l| l.identifier.clone())
        .collect();
    let accepted_leads = (0..12).chain(0..3).map(|n| format!("1350000{n:04}"));
    let expected_friends = accepted_leads.filter(|id| passed_ids.contains(id)).count() as i64;
    assert_eq!(local["friendsAdded"], expected_friends);
}

#[tokio::test]
async fn friend_status_shows_on_match_records() {
    let ckb = spawn_ckb_with(SimulatorConfig {
        clock: ClockConfig {
            tick: None,
            pass_share: 1.0,
            fail_share: 0.0,
        },
        ..manual_clock(CkbVersion::Current)
    })
    .await;
    let app = gateway(&ckb, "1").await;
    app.query(
        &app.admin,
        "mutation($input: CreateCkbPlanInput!) { createCkbPlan(input: $input) { id } }",
        json!({ "input": { "name": "找伙伴", "apiKey": CKB_KEY, "endpoint": ckb.base_url(), "purpose": "MATCH", "remotePlanId": CKB_PLAN_ID.to_string() } }),
    )
    .await;
    let requester = app.create_member("发起人", Some("13500001111"), &[]).await;
    app.create_member("候选", None, &[]).await;
    app.create_pool(json!({ "name": "全体", "kind": "PARTNER", "source": "ALL_MEMBERS" }))
        .await;
    app.query(
        &app.service,
        "mutation($r: ID!) { recordMatch(requesterId: $r, kind: PARTNER) { matchRecord { id } } }",
        json!({ "r": requester }),
    )
    .await;
    for _ in 0..4 {
        ckb.advance();
    }
    let changed = app.state().friend_sync.run_once().await.unwrap();
    assert_eq!(changed, 1);

    let data = app
        .query(&app.admin, "{ matchRecords(filter: { friendStatus: PASSED }) { totalCount edges { node { friendAdded lead { friendStatus } } } } }", json!({}))
        .await;
    assert_eq!(data["matchRecords"]["totalCount"], 1);
    assert_eq!(
        data["matchRecords"]["edges"][0]["node"]["friendAdded"],
        true
    );
    let overview = app.query(&app.admin, "{ findPartnerOverview(window: TODAY) { matchesByKind { kind friendsAdded } totals { matchFriendsAdded } } }", json!({})).await;
    assert_eq!(
        overview["findPartnerOverview"]["totals"]["matchFriendsAdded"],
        1
    );
    assert_eq!(
        overview["findPartnerOverview"]["matchesByKind"][0]["friendsAdded"],
        1
    );
}

#[tokio::test]
async fn expired_ckb_token_is_renewed_once() {
    let ckb = spawn_ckb_with(manual_clock(CkbVersion::Current)).await;
    let app = gateway(&ckb, "1").await;
    let first = plan_stats(&app).await;
    assert!(first["remote"].is_object(), "{first}");
    assert_eq!(management_requests(&ckb, "/v1/auth/login"), 1);

    ckb.expire_tokens();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = plan_stats(&app).await;
    assert!(second["remoteError"].is_null(), "{second}");
    assert!(second["remote"]["fetchedAt"].as_str() > first["remote"]["fetchedAt"].as_str());
    assert_eq!(management_requests(&ckb, "/v1/auth/login"), 2);
}

#[tokio::test]
async fn ckb_down_gives_stale_numbers_with_the_error() {
    let ckb = spawn_ckb_with(manual_clock(CkbVersion::Current)).await;
    let app = gateway(&ckb, "1").await;
    app.query(
        &app.integrator,
        SUBMIT,
        json!({ "input": { "phone": "13500002222" } }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = plan_stats(&app).await;
    assert_eq!(fresh["remote"]["acquired"], 1);

    ckb.set_faults(Faults {
        down: true,
        ..Faults::default()
    });
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = app.post(Some(&app.admin), OVERVIEW, json!({})).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(
        body.get("errors").is_none(),
        "the overview failed because CKB did: {body}"
    );
    let stale = &body["data"]["findPartnerOverview"]["plans"][0];
    assert_eq!(stale["remote"]["acquired"], 1);
    assert_eq!(stale["remote"]["fetchedAt"], fresh["remote"]["fetchedAt"]);
    assert!(
        stale["remoteError"].as_str().unwrap().contains("CKB"),
        "{stale}"
    );
}

#[tokio::test]
async fn unreachable_ckb_gives_no_numbers_and_the_error() {
    let ckb = spawn_ckb_with(manual_clock(CkbVersion::Current)).await;
    ckb.set_faults(Faults {
        down: true,
        ..Faults::default()
    });
    let app = gateway(&ckb, "60").await;
    let stats = plan_stats(&app).await;
    assert!(stats["remote"].is_null());
    assert!(stats["addSuccessRate"].is_null());
    assert!(stats["remoteError"].is_string());
}

#[tokio::test]
async fn fifty_concurrent_overviews_fetch_from_ckb_once() {
    let ckb = spawn_ckb_with(manual_clock(CkbVersion::Current)).await;
    let app = gateway(&ckb, "60").await;
    let queries = (0..50).map(|_| app.post(Some(&app.admin), OVERVIEW, json!({})));
    for (status, body) in futures::future::join_all(queries).await {
        assert_eq!(status, reqwest::StatusCode::OK);
        assert!(
            body["data"]["findPartnerOverview"]["plans"][0]["remote"].is_object(),
            "{body}"
        );
    }
    assert_eq!(management_requests(&ckb, "/v1/plan/list"), 1);
    assert_eq!(management_requests(&ckb, "/v1/auth/login"), 1);
}

#[tokio::test]
async fn legacy_ckb_pass_rate_is_shown_raw_and_not_used() {
    let ckb = spawn_ckb_with(SimulatorConfig {
        clock: ClockConfig {
            tick: None,
            pass_share: 1.0,
            fail_share: 0.0,
        },
        ..manual_clock(CkbVersion::Legacy)
    })
    .await;
    let app = gateway(&ckb, "1").await;
    for n in 0..4 {
        app.query(
            &app.integrator,
            SUBMIT,
            json!({ "input": { "phone": format!("1350003{n:04}") } }),
        )
        .await;
    }
    for _ in 0..4 {
        ckb.advance();
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let stats = plan_stats(&app).await;
    let remote = &stats["remote"];
    assert_eq!(remote["acquired"], 4);
    let raw = remote["passRateRaw"].as_str().unwrap();
    let raw_value: f64 = raw.replace(',', "").parse().unwrap();
    assert!(
        raw_value >= 100.0,
        "the 2025 passRate is inverted, got {raw}"
    );
    let rate = stats["addSuccessRate"].as_f64().unwrap();
    assert!((rate - remote["passed"].as_f64().unwrap() / 4.0).abs() < 1e-9);

    // The 2025 code has no plan/getUserList: the sync reports nothing and sets nothing.
    assert_eq!(app.state().friend_sync.run_once().await.unwrap(), 0);
    let data = app
        .query(
            &app.admin,
            "{ ckbLeads { edges { node { friendStatus } } } }",
            json!({}),
        )
        .await;
    for edge in data["ckbLeads"]["edges"].as_array().unwrap() {
        assert!(edge["node"]["friendStatus"].is_null());
    }
}

#[tokio::test]
async fn missing_credentials_are_explained() {
    let app = TestApp::spawn().await;
    app.create_plan(
        "外部表单",
        CKB_KEY,
        "http://127.0.0.1:9",
        "INTEGRATOR",
        false,
    )
    .await;
    let data = app.query(&app.admin, "{ ckbPlans { stats(window: ALL) { remote { acquired } remoteError local { submitted } } } }", json!({})).await;
    let stats = &data["ckbPlans"][0]["stats"];
    assert!(stats["remote"].is_null());
    assert!(
        stats["remoteError"]
            .as_str()
            .unwrap()
            .contains("remotePlanId"),
        "{stats}"
    );
}

/// Posts `query` with `token` and an `x-request-id` header, and checks that it succeeded.
async fn post_with_request_id(app: &TestApp, token: &str, query: &str, variables: Value, id: &str) {
    let response = app
        .client
        .post(format!("{}/graphql", app.base))
        .bearer_auth(token)
        .header("x-request-id", id)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], id);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn ckb_calls_carry_the_request_id() {
    let ckb = spawn_ckb_with(manual_clock(CkbVersion::Current)).await;
    let app = gateway(&ckb, "60").await;

    let integrator = app.integrator.clone();
    post_with_request_id(
        &app,
        &integrator,
        SUBMIT,
        json!({ "input": { "phone": "13500001111" } }),
        "lead-trace-1",
    )
    .await;
    let admin = app.admin.clone();
    post_with_request_id(&app, &admin, OVERVIEW, json!({}), "overview-trace-1").await;
    app.state().friend_sync.run_once().await.unwrap();

    let counts = ckb.counts();
    let last = |path: &str| counts.last_request_ids.get(path).cloned();
    assert_eq!(last("/v1/api/scenarios").as_deref(), Some("lead-trace-1"));
    assert_eq!(last("/v1/auth/login").as_deref(), Some("overview-trace-1"));
    assert_eq!(last("/v1/plan/list").as_deref(), Some("overview-trace-1"));
    // The background sync has no request of its own, so its round makes up an id.
    let sync_id = last("/v1/plan/getUserList").expect("the sync read the plan's leads");
    assert!(!sync_id.is_empty());
    assert_ne!(sync_id, "overview-trace-1");
    assert!(
        counts.requests_without_id.is_empty(),
        "calls without a request id: {:?}",
        counts.requests_without_id
    );
}

#[tokio::test]
async fn friend_sync_reaches_every_page_over_rounds() {
    let ckb = spawn_ckb_with(SimulatorConfig {
        clock: ClockConfig {
            tick: None,
            pass_share: 1.0,
            fail_share: 0.0,
        },
        ..manual_clock(CkbVersion::Current)
    })
    .await;
    // Two pages per round: the newest page, and one older page in turn.
    let app = gateway_with(
        &ckb,
        "60",
        &[
            "--friend-sync-max-pages",
            "2",
            "--rate-leads-per-minute",
            "100000",
        ],
    )
    .await;
    // Four pages of CKB's 50 leads.
    for n in 0..160 {
        app.query(
            &app.integrator,
            SUBMIT,
            json!({ "input": { "phone": format!("1360000{n:04}") } }),
        )
        .await;
    }
    for _ in 0..4 {
        ckb.advance();
    }
    const PASSED: &str = "{ ckbLeads(filter: { friendStatus: PASSED }) { totalCount } }";
    let passed = |data: Value| data["ckbLeads"]["totalCount"].as_i64().unwrap();

    let mut counts = Vec::new();
    for _ in 0..3 {
        app.state().friend_sync.run_once().await.unwrap();
        counts.push(passed(app.query(&app.admin, PASSED, json!({})).await));
    }
    // Round one reads pages 1 and 2, round two page 3, round three page 4.
    assert_eq!(counts, vec![100, 150, 160]);
}
