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
