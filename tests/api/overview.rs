//! `findPartnerOverview`: every tab, counted correctly, in a fixed number of statements.

use partner_gateway::demo::DemoSize;
use serde_json::{json, Value};

use crate::support::{TestApp, STATEMENT_COUNT_SETTINGS};

const OVERVIEW: &str = "query($window: StatsWindow!) { findPartnerOverview(window: $window) {
    window since
    tabs { key labelZh labelEn count windowed }
    matchesByKind { kind matches matchesWithLead leadsAccepted friendsAdded }
    totals { matches matchesWithLead matchLeadsAccepted matchFriendsAdded leads { submitted created existing pending rejected failed accepted deliverySuccessRate friendsAdded } }
    plans { plan { id name } local { submitted created existing accepted friendsAdded } byOrigin { origin counts { submitted } } lastLeadAt }
} }";

fn small() -> DemoSize {
    DemoSize {
        members: 60,
        matches: 300,
        bookings: 30,
        resources: 20,
        recruits: 8,
        applications: 30,
        days: 60,
    }
}

async fn overview(app: &TestApp, window: &str) -> Value {
    app.query(&app.admin, OVERVIEW, json!({ "window": window }))
        .await["findPartnerOverview"]
        .clone()
}

#[tokio::test]
async fn overview_returns_every_tab_with_nonzero_counts() {
    let app = TestApp::spawn().await;
    app.seed(DemoSize::default()).await;
    let overview = overview(&app, "ALL").await;
    let tabs = overview["tabs"].as_array().unwrap();
    let keys: Vec<&str> = tabs.iter().map(|t| t["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "MATCH_RECORDS",
            "PARTNER_POOLS",
            "MENTOR_BOOKINGS",
            "RESOURCE_MATCHES",
            "TEAM_RECRUITS",
            "CKB_PLANS"
        ]
    );
    for tab in tabs {
        assert!(
            tab["count"].as_i64().unwrap() > 0,
            "tab {} has no records",
            tab["key"]
        );
    }
    assert_eq!(tabs[0]["count"], 2000);
    assert_eq!(tabs[0]["labelZh"], "匹配记录");
    assert_eq!(overview["totals"]["matches"], 2000);
}

#[tokio::test]
async fn overview_counts_match_the_tab_queries() {
    let app = TestApp::spawn().await;
    app.seed(small()).await;
    let overview = overview(&app, "LAST_7_DAYS").await;
    let since = overview["since"].as_str().unwrap().to_owned();

    for kind in &overview["matchesByKind"].as_array().unwrap().clone() {
        let filter = json!({ "kind": kind["kind"], "matchedAt": { "from": since } });
        let total = app
            .query(
                &app.admin,
                "query($f: MatchRecordFilter) { matchRecords(filter: $f) { totalCount } }",
                json!({ "f": filter }),
            )
            .await["matchRecords"]["totalCount"]
            .clone();
        assert_eq!(kind["matches"], total, "kind {}", kind["kind"]);
        let with_lead =
            json!({ "kind": kind["kind"], "matchedAt": { "from": since }, "hasLead": true });
        let total = app
            .query(
                &app.admin,
                "query($f: MatchRecordFilter) { matchRecords(filter: $f) { totalCount } }",
                json!({ "f": with_lead }),
            )
            .await["matchRecords"]["totalCount"]
            .clone();
        assert_eq!(kind["matchesWithLead"], total, "kind {}", kind["kind"]);
        let passed = json!({ "kind": kind["kind"], "matchedAt": { "from": since }, "friendStatus": "PASSED" });
        let total = app
            .query(
                &app.admin,
                "query($f: MatchRecordFilter) { matchRecords(filter: $f) { totalCount } }",
                json!({ "f": passed }),
            )
            .await["matchRecords"]["totalCount"]
            .clone();
        assert_eq!(kind["friendsAdded"], total, "kind {}", kind["kind"]);
    }

    let leads = &overview["totals"]["leads"];
    let total_leads = app
        .query(
            &app.admin,
            "query($f: CkbLeadFilter) { ckbLeads(filter: $f) { totalCount } }",
            json!({ "f": { "createdAt": { "from": since } } }),
        )
        .await["ckbLeads"]["totalCount"]
        .clone();
    assert_eq!(leads["submitted"], total_leads);
    let parts: i64 = ["created", "existing", "pending", "rejected", "failed"]
        .iter()
        .map(|k| leads[*k].as_i64().unwrap())
        .sum();
    assert_eq!(leads["submitted"].as_i64().unwrap(), parts);
    let plans_total: i64 = overview["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["local"]["submitted"].as_i64().unwrap())
        .sum();
    assert_eq!(leads["submitted"].as_i64().unwrap(), plans_total);
}

#[tokio::test]
async fn overview_windows_nest() {
    let app = TestApp::spawn().await;
    app.seed(small()).await;
    let mut previous = 0;
    for window in ["TODAY", "LAST_7_DAYS", "LAST_30_DAYS", "ALL"] {
        let matches = overview(&app, window).await["totals"]["matches"]
            .as_i64()
            .unwrap();
        assert!(
            matches >= previous,
            "{window} has {matches} matches, fewer than the narrower window's {previous}"
        );
        previous = matches;
    }
    assert_eq!(previous, 300);
}

async fn overview_statements(app: &TestApp) -> u64 {
    let before = app.statements();
    overview(app, "LAST_30_DAYS").await;
    app.statements() - before
}

#[tokio::test]
async fn overview_statement_count_does_not_grow_with_rows_or_plans() {
    let small_app = TestApp::spawn_with(&STATEMENT_COUNT_SETTINGS).await;
    small_app
        .seed(DemoSize {
            members: 40,
            matches: 50,
            bookings: 5,
            resources: 5,
            recruits: 2,
            applications: 4,
            days: 60,
        })
        .await;
    let large_app = TestApp::spawn_with(&STATEMENT_COUNT_SETTINGS).await;
    large_app.seed(DemoSize::default()).await;
    for n in 0..10 {
        large_app
            .query(
                &large_app.admin,
                "mutation($input: CreateCkbPlanInput!) { createCkbPlan(input: $input) { id } }",
                json!({ "input": { "name": format!("plan {n}"), "apiKey": format!("key-{n}"), "endpoint": "http://127.0.0.1:9", "purpose": "INTEGRATOR" } }),
            )
            .await;
    }

    let small = overview_statements(&small_app).await;
    let large = overview_statements(&large_app).await;
    assert_eq!(
        small, large,
        "the overview ran {small} statements on the small data set and {large} on the large one"
    );
    assert!(large <= 8, "the overview ran {large} statements");
}

/// Counter sums after a mix of writes, then after recounting everything from the rows: the
/// counters kept up to date by the writes must equal a recount.
#[tokio::test]
async fn counters_match_a_recount_after_mixed_writes() {
    use partner_gateway::{
        ckb::simulator::{ClockConfig, Faults, SimulatorConfig},
        db::counters,
    };

    use crate::support::{eventually, spawn_ckb_with, CKB_KEY, CKB_PLAN_ID, FAST_DELIVERY};

    let ckb = spawn_ckb_with(SimulatorConfig {
        clock: ClockConfig {
            tick: None,
            pass_share: 0.6,
            fail_share: 0.2,
        },
        ..SimulatorConfig::default()
    })
    .await;
    let account = partner_gateway::ckb::simulator::SimAccount::default();
    let mut args = FAST_DELIVERY.to_vec();
    args.extend_from_slice(&[
        "--ckb-account",
        &account.account,
        "--ckb-password",
        &account.password,
        "--friend-sync-secs",
        "0",
    ]);
    let app = TestApp::spawn_with(&args).await;
    app.seed(small()).await;
    let remote = CKB_PLAN_ID.to_string();
    for (name, purpose, default) in [
        ("找伙伴", "MATCH", false),
        ("链接卡若", "LINK_KARUO", true),
        ("外部", "INTEGRATOR", false),
    ] {
        app.query(
            &app.admin,
            "mutation($input: CreateCkbPlanInput!) { createCkbPlan(input: $input) { id } }",
            json!({ "input": { "name": name, "apiKey": CKB_KEY, "endpoint": ckb.base_url(), "purpose": purpose, "isDefault": default, "remotePlanId": remote } }),
        )
        .await;
    }
    // Matches with leads, bookings, resources, recruitments and applications.
    for requester in 1..=8 {
        let kind = ["PARTNER", "RESOURCE", "TEAM", "MENTOR"][requester % 4];
        app.post(Some(&app.service), "mutation($r: ID!, $k: MatchKind!) { recordMatch(requesterId: $r, kind: $k) { matchRecord { id } } }", json!({ "r": requester.to_string(), "k": kind }))
            .await;
    }
    app.query(&app.service, "mutation { createResourceMatch(input: { direction: NEED, title: \"融资\", ownerId: \"3\" }) { id } }", json!({})).await;
    app.query(&app.service, "mutation { createTeamRecruit(input: { projectName: \"新项目\", stage: \"种子轮\", roles: [{ title: \"运营\", count: 2 }], ownerId: \"4\" }) { id } }", json!({})).await;
    for member in 10..14 {
        app.query(
            &app.service,
            "mutation($m: ID!) { linkKaruo(memberId: $m) { lead { id } } }",
            json!({ "m": member.to_string() }),
        )
        .await;
    }
    // Leads that fail, then are retried; leads whose friend status CKB moves.
    ckb.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let failing = app
        .query(
            &app.integrator,
            "mutation { submitLead(input: { phone: \"13911110000\" }) { lead { id } } }",
            json!({}),
        )
        .await["submitLead"]["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let failed = eventually(10, || async {
        app.query(
            &app.admin,
            "query($id: ID!) { ckbLead(id: $id) { deliveryStatus } }",
            json!({ "id": failing }),
        )
        .await["ckbLead"]["deliveryStatus"]
            == "FAILED"
    })
    .await;
    assert!(failed);
    ckb.set_faults(Faults::default());
    app.query(
        &app.admin,
        "mutation($id: ID!) { retryLead(id: $id) { lead { id } } }",
        json!({ "id": failing }),
    )
    .await;
    for _ in 0..4 {
        ckb.advance();
    }
    let changed = app.state().friend_sync.run_once().await.unwrap();
    assert!(
        changed > 0,
        "the friend sync changed nothing; the test would prove little"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let db = &app.state().db;
    let kept = counters::sums(db, None).await.unwrap();
    counters::rebuild(db).await.unwrap();
    let recounted = counters::sums(db, None).await.unwrap();
    let nonzero = |sums: &counters::Sums| -> std::collections::BTreeMap<(String, String), i64> {
        sums.iter()
            .filter(|(_, v)| **v != 0)
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    };
    assert_eq!(nonzero(&kept), nonzero(&recounted));
}

#[tokio::test]
async fn folding_old_days_keeps_every_window() {
    use partner_gateway::db::counters;
    use sea_orm::{ConnectionTrait, Statement};

    let app = TestApp::spawn().await;
    app.seed(small()).await;
    let windows = ["TODAY", "LAST_7_DAYS", "LAST_30_DAYS", "ALL"];
    let mut before = Vec::new();
    for window in windows {
        before.push(overview(&app, window).await);
    }

    let db = &app.state().db;
    let today = counters::local_day(partner_gateway::db::now());
    let folded = counters::fold_old_days(db, today).await.unwrap();
    assert!(folded > 0, "the demo's 60 days left nothing to fold");
    for (window, expected) in windows.iter().zip(&before) {
        assert_eq!(&overview(&app, window).await, expected, "window {window}");
    }

    // Every day row older than the cutoff is gone, and a second fold finds nothing.
    let cutoff = today - chrono::Duration::days(counters::FOLD_AFTER_DAYS);
    let backend = db.get_database_backend();
    let old_rows = db
        .query_one(Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DbBackend::Postgres => {
                    "SELECT COUNT(*) AS n FROM stat_counters WHERE day < $1 AND day <> $2"
                }
                _ => "SELECT COUNT(*) AS n FROM stat_counters WHERE day < ? AND day <> ?",
            },
            [cutoff.into(), counters::folded_day().into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(old_rows, 0);
    assert_eq!(counters::fold_old_days(db, today).await.unwrap(), 0);
}
