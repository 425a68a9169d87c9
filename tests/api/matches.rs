//! `recordMatch`: picking a partner under the selected pool's rules.

use std::collections::HashSet;

use serde_json::json;

use crate::support::TestApp;

const RECORD: &str = "mutation($r: ID!, $k: MatchKind!) { recordMatch(requesterId: $r, kind: $k) { matchRecord { id kind requester { id } partner { id } pool { id } } } }";

async fn record(app: &TestApp, requester: &str, kind: &str) -> Result<String, (String, String)> {
    let (_, body) = app
        .post(
            Some(&app.service),
            RECORD,
            json!({ "r": requester, "k": kind }),
        )
        .await;
    match body["data"]["recordMatch"]["matchRecord"]["partner"]["id"].as_str() {
        Some(partner) => Ok(partner.to_owned()),
        None => Err((
            body["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )),
    }
}

#[tokio::test]
async fn match_never_picks_the_requester_or_a_recent_partner() {
    let app = TestApp::spawn().await;
    let requester = app.create_member("发起人", None, &[]).await;
    let mut others = HashSet::new();
    for n in 0..4 {
        others.insert(app.create_member(&format!("候选{n}"), None, &[]).await);
    }
    app.create_pool(json!({ "name": "全体", "kind": "PARTNER", "source": "ALL_MEMBERS", "dailyMatchLimit": 0, "excludeMatchedWithinDays": 30 })).await;
    let mut partners = HashSet::new();
    for _ in 0..4 {
        let partner = record(&app, &requester, "PARTNER")
            .await
            .expect("a candidate is left");
        assert_ne!(partner, requester);
        assert!(
            partners.insert(partner),
            "a recent partner was picked again"
        );
    }
    assert_eq!(partners, others);
    let (code, message) = record(&app, &requester, "PARTNER").await.unwrap_err();
    assert_eq!(code, "CONFLICT");
    assert!(message.contains("eligible"), "{message}");
}

#[tokio::test]
async fn daily_limit_stops_further_matches() {
    let app = TestApp::spawn().await;
    let requester = app.create_member("发起人", None, &[]).await;
    for n in 0..6 {
        app.create_member(&format!("候选{n}"), None, &[]).await;
    }
    app.create_pool(json!({ "name": "全体", "kind": "TEAM", "source": "ALL_MEMBERS", "dailyMatchLimit": 2, "excludeMatchedWithinDays": 0 })).await;
    assert!(record(&app, &requester, "TEAM").await.is_ok());
    assert!(record(&app, &requester, "TEAM").await.is_ok());
    let (code, message) = record(&app, &requester, "TEAM").await.unwrap_err();
    assert_eq!(code, "CONFLICT");
    assert!(message.contains("daily limit"), "{message}");
}

#[tokio::test]
async fn concurrent_matches_respect_the_daily_limit() {
    let app = TestApp::spawn().await;
    let requester = app.create_member("发起人", None, &[]).await;
    for n in 0..20 {
        app.create_member(&format!("候选{n}"), None, &[]).await;
    }
    app.create_pool(json!({ "name": "全体", "kind": "PARTNER", "source": "ALL_MEMBERS", "dailyMatchLimit": 3, "excludeMatchedWithinDays": 0 })).await;
    let calls = (0..12).map(|_| record(&app, &requester, "PARTNER"));
    let results = futures::future::join_all(calls).await;
    let succeeded = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(succeeded, 3, "{results:?}");
    for failure in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(failure.0, "CONFLICT", "{failure:?}");
    }
}

#[tokio::test]
async fn match_draws_only_from_the_selected_pool() {
    let app = TestApp::spawn().await;
    let requester = app.create_member("发起人", None, &[]).await;
    let mentor = app.create_member("导师", None, &[]).await;
    for n in 0..5 {
        app.create_member(&format!("成员{n}"), None, &[]).await;
    }
    let manual = app.create_pool(json!({ "name": "导师名单", "kind": "MENTOR", "source": "MANUAL", "dailyMatchLimit": 0, "excludeMatchedWithinDays": 0 })).await;
    app.query(
        &app.admin,
        "mutation($p: ID!, $m: [ID!]!) { addPartnerPoolMembers(poolId: $p, memberIds: $m) { id } }",
        json!({ "p": manual, "m": [mentor] }),
    )
    .await;
    for _ in 0..5 {
        assert_eq!(record(&app, &requester, "MENTOR").await.unwrap(), mentor);
    }
}

#[tokio::test]
async fn kind_without_a_pool_is_a_conflict() {
    let app = TestApp::spawn().await;
    let requester = app.create_member("发起人", None, &[]).await;
    let (code, message) = record(&app, &requester, "RESOURCE").await.unwrap_err();
    assert_eq!(code, "CONFLICT");
    assert!(message.contains("createPartnerPool"), "{message}");
}

#[tokio::test]
async fn unknown_requester_is_not_found() {
    let app = TestApp::spawn().await;
    app.create_pool(json!({ "name": "全体", "kind": "PARTNER", "source": "ALL_MEMBERS" }))
        .await;
    let (code, _) = record(&app, "4242", "PARTNER").await.unwrap_err();
    assert_eq!(code, "NOT_FOUND");
}

#[tokio::test]
async fn recorded_match_appears_in_the_tab() {
    let app = TestApp::spawn().await;
    let requester = app.create_member("发起人", None, &[]).await;
    app.create_member("候选", None, &[]).await;
    app.create_pool(json!({ "name": "全体", "kind": "PARTNER", "source": "ALL_MEMBERS" }))
        .await;
    record(&app, &requester, "PARTNER").await.unwrap();
    let data = app
        .query(&app.admin, "query($m: ID) { matchRecords(filter: { memberId: $m, kind: PARTNER }) { totalCount edges { node { status requester { nickname } } } } }", json!({ "m": requester }))
        .await;
    assert_eq!(data["matchRecords"]["totalCount"], 1);
    assert_eq!(
        data["matchRecords"]["edges"][0]["node"]["status"],
        "MATCHED"
    );
}

#[tokio::test]
async fn concurrent_matches_respect_the_exclusion_window() {
    let app = TestApp::spawn().await;
    const UPDATE_POOL: &str = "mutation($id: ID!, $tag: String!) { updatePartnerPool(id: $id, input: { requiredTags: [$tag] }) { id } }";
    let pool = app.create_pool(json!({ "name": "同标签", "kind": "PARTNER", "source": "TAGGED", "requiredTags": ["round-0"], "dailyMatchLimit": 0, "excludeMatchedWithinDays": 30 })).await;
    // Each round the pool admits only two new members, so each is the other's only
    // candidate, and the exclusion window allows one match between them.
    for round in 0..20 {
        let tag = format!("round-{round}");
        let first = app.create_member("甲", None, &[&tag]).await;
        let second = app.create_member("乙", None, &[&tag]).await;
        app.query(&app.admin, UPDATE_POOL, json!({ "id": pool, "tag": tag }))
            .await;
        let (from_first, from_second) = futures::join!(
            record(&app, &first, "PARTNER"),
            record(&app, &second, "PARTNER"),
        );
        for failure in [&from_first, &from_second]
            .into_iter()
            .filter_map(|r| r.as_ref().err())
        {
            assert_eq!(failure.0, "CONFLICT", "round {round}: {failure:?}");
        }
        if let Ok(partner) = &from_first {
            assert_eq!(partner, &second, "round {round}");
        }
        if let Ok(partner) = &from_second {
            assert_eq!(partner, &first, "round {round}");
        }
        assert!(
            from_first.is_err() || from_second.is_err(),
            "round {round}: the two members were matched with each other twice"
        );
    }
}

#[tokio::test]
async fn concurrent_status_changes_keep_a_closed_match_closed() {
    let app = TestApp::spawn().await;
    const SET_STATUS: &str =
        "mutation($id: ID!, $s: MatchStatus!) { setMatchStatus(id: $id, status: $s) { status } }";
    const STATUS: &str = "query($id: ID!) { matchRecord(id: $id) { status } }";
    let requester = app.create_member("发起人", None, &[]).await;
    app.create_member("候选", None, &[]).await;
    app.create_pool(json!({ "name": "全体", "kind": "PARTNER", "source": "ALL_MEMBERS", "dailyMatchLimit": 0, "excludeMatchedWithinDays": 0 })).await;
    // Each round races closing a new match against marking it contacted: either may come
    // first, but once the close succeeded the match must stay closed.
    for round in 0..40 {
        let (_, body) = app
            .post(
                Some(&app.service),
                RECORD,
                json!({ "r": requester, "k": "PARTNER" }),
            )
            .await;
        let id = body["data"]["recordMatch"]["matchRecord"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("round {round}: {body}"))
            .to_owned();
        let (close, contact) = futures::join!(
            app.post(
                Some(&app.service),
                SET_STATUS,
                json!({ "id": id, "s": "CLOSED" })
            ),
            app.post(
                Some(&app.service),
                SET_STATUS,
                json!({ "id": id, "s": "CONTACTED" })
            ),
        );
        assert!(
            close.1.get("errors").is_none(),
            "round {round}: {}",
            close.1
        );
        if let Some(errors) = contact.1.get("errors") {
            assert_eq!(
                errors[0]["extensions"]["code"], "CONFLICT",
                "round {round}: {}",
                contact.1
            );
        }
        let data = app.query(&app.service, STATUS, json!({ "id": id })).await;
        assert_eq!(
            data["matchRecord"]["status"], "CLOSED",
            "round {round}: contact answered {}",
            contact.1
        );
    }
}
