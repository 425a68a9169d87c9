//! Partner pools: exactly one selected pool per kind, and the pool rules.

use serde_json::json;

use crate::support::TestApp;

const SELECT: &str = "mutation($id: ID!) { selectPartnerPool(id: $id) { id selected } }";

async fn selected_ids(app: &TestApp, kind: &str) -> Vec<String> {
    let data = app
        .query(&app.admin, "query($kind: MatchKind) { partnerPools(first: 100, filter: { kind: $kind, selected: true }) { edges { node { id } } } }", json!({ "kind": kind }))
        .await;
    data["partnerPools"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn first_pool_of_a_kind_is_selected() {
    let app = TestApp::spawn().await;
    let first = app
        .create_pool(json!({ "name": "全体成员", "kind": "PARTNER", "source": "ALL_MEMBERS" }))
        .await;
    let second = app
        .create_pool(json!({ "name": "VIP", "kind": "PARTNER", "source": "VIP_MEMBERS" }))
        .await;
    let team = app
        .create_pool(json!({ "name": "团队", "kind": "TEAM", "source": "ALL_MEMBERS" }))
        .await;
    assert_eq!(selected_ids(&app, "PARTNER").await, vec![first.clone()]);
    assert_eq!(selected_ids(&app, "TEAM").await, vec![team]);
    assert_ne!(first, second);
}

#[tokio::test]
async fn selecting_a_pool_unselects_the_other() {
    let app = TestApp::spawn().await;
    let first = app
        .create_pool(json!({ "name": "全体成员", "kind": "PARTNER", "source": "ALL_MEMBERS" }))
        .await;
    let second = app
        .create_pool(json!({ "name": "VIP", "kind": "PARTNER", "source": "VIP_MEMBERS" }))
        .await;
    let data = app.query(&app.admin, SELECT, json!({ "id": second })).await;
    assert_eq!(data["selectPartnerPool"]["selected"], true);
    assert_eq!(selected_ids(&app, "PARTNER").await, vec![second]);
    let data = app
        .query(
            &app.admin,
            "query($id: ID!) { partnerPool(id: $id) { selected } }",
            json!({ "id": first }),
        )
        .await;
    assert_eq!(data["partnerPool"]["selected"], false);
}

#[tokio::test]
async fn concurrent_selections_leave_exactly_one_selected() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            app.create_pool(
                json!({ "name": format!("池 {n}"), "kind": "MENTOR", "source": "ALL_MEMBERS" }),
            )
            .await,
        );
    }
    let calls = ids
        .iter()
        .cycle()
        .take(20)
        .map(|id| app.post(Some(&app.admin), SELECT, json!({ "id": id })));
    for (status, body) in futures::future::join_all(calls).await {
        assert_eq!(status, reqwest::StatusCode::OK, "body: {body}");
        assert!(body.get("errors").is_none(), "a selection failed: {body}");
        assert_eq!(body["data"]["selectPartnerPool"]["selected"], true);
    }
    assert_eq!(selected_ids(&app, "MENTOR").await.len(), 1);
}

#[tokio::test]
async fn concurrent_first_pools_select_one() {
    let app = TestApp::spawn().await;
    let calls = (0..10).map(|n| {
        app.post(
            Some(&app.admin),
            "mutation($input: CreatePartnerPoolInput!) { createPartnerPool(input: $input) { id } }",
            json!({ "input": { "name": format!("池 {n}"), "kind": "TEAM", "source": "ALL_MEMBERS" } }),
        )
    });
    for (status, body) in futures::future::join_all(calls).await {
        assert_eq!(status, reqwest::StatusCode::OK, "body: {body}");
        assert!(body.get("errors").is_none(), "a creation failed: {body}");
    }
    assert_eq!(selected_ids(&app, "TEAM").await.len(), 1);
}

#[tokio::test]
async fn database_refuses_a_second_selected_pool() {
    let app = TestApp::spawn().await;
    let first = app
        .create_pool(json!({ "name": "A", "kind": "RESOURCE", "source": "ALL_MEMBERS" }))
        .await;
    let second = app
        .create_pool(json!({ "name": "B", "kind": "RESOURCE", "source": "ALL_MEMBERS" }))
        .await;
    use sea_orm::ConnectionTrait;
    let result = app
        .state()
        .db
        .execute_unprepared(&format!(
            "UPDATE partner_pools SET selected = true WHERE id IN ({first}, {second})"
        ))
        .await;
    assert!(
        result.is_err(),
        "the unique index let two pools of one kind be selected"
    );
}

#[tokio::test]
async fn selected_pool_cannot_be_disabled() {
    let app = TestApp::spawn().await;
    let id = app
        .create_pool(json!({ "name": "A", "kind": "PARTNER", "source": "ALL_MEMBERS" }))
        .await;
    let (code, message) = app
        .query_error(
            &app.admin,
            "mutation($id: ID!) { setPartnerPoolEnabled(id: $id, enabled: false) { enabled } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code, "CONFLICT");
    assert!(message.contains("select another pool"), "{message}");
}

#[tokio::test]
async fn disable_racing_select_keeps_pool_enabled() {
    let app = TestApp::spawn().await;
    let first = app
        .create_pool(json!({ "name": "A", "kind": "PARTNER", "source": "ALL_MEMBERS" }))
        .await;
    const ENABLE: &str =
        "mutation($id: ID!, $on: Boolean!) { setPartnerPoolEnabled(id: $id, enabled: $on) { enabled } }";
    const SELECTED: &str = "{ selectedPartnerPool(kind: PARTNER) { id enabled } }";
    // Each round races one pool's selection against its disabling: either may win, but the
    // kind must never end with a disabled pool selected.
    for round in 0..40 {
        let pool = app
            .create_pool(
                json!({ "name": format!("池 {round}"), "kind": "PARTNER", "source": "ALL_MEMBERS" }),
            )
            .await;
        let (select, disable) = futures::join!(
            app.post(Some(&app.admin), SELECT, json!({ "id": pool })),
            app.post(Some(&app.admin), ENABLE, json!({ "id": pool, "on": false })),
        );
        for (status, body) in [select, disable] {
            assert_eq!(status, reqwest::StatusCode::OK, "body: {body}");
            if let Some(errors) = body.get("errors") {
                assert_eq!(errors[0]["extensions"]["code"], "CONFLICT", "{body}");
            }
        }
        let selected = app.query(&app.admin, SELECTED, json!({})).await;
        assert_eq!(
            selected["selectedPartnerPool"]["enabled"], true,
            "round {round}: {selected}"
        );
        // Back to the first pool, so that the next round starts from the same state.
        app.query(&app.admin, SELECT, json!({ "id": first })).await;
    }
}

#[tokio::test]
async fn disabled_pool_cannot_be_selected() {
    let app = TestApp::spawn().await;
    app.create_pool(json!({ "name": "A", "kind": "PARTNER", "source": "ALL_MEMBERS" }))
        .await;
    let second = app
        .create_pool(json!({ "name": "B", "kind": "PARTNER", "source": "ALL_MEMBERS" }))
        .await;
    app.query(
        &app.admin,
        "mutation($id: ID!) { setPartnerPoolEnabled(id: $id, enabled: false) { enabled } }",
        json!({ "id": second }),
    )
    .await;
    let (code, _) = app
        .query_error(&app.admin, SELECT, json!({ "id": second }))
        .await;
    assert_eq!(code, "CONFLICT");
}

#[tokio::test]
async fn tagged_pool_needs_a_tag() {
    let app = TestApp::spawn().await;
    let (code, _) = app
        .query_error(&app.admin, "mutation { createPartnerPool(input: { name: \"T\", kind: TEAM, source: TAGGED }) { id } }", json!({}))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
}

#[tokio::test]
async fn eligible_members_follow_the_pool_rules() {
    let app = TestApp::spawn().await;
    let tagged_with_phone = app
        .create_member("甲", Some("13800000001"), &["AI", "融资"])
        .await;
    app.create_member("乙", None, &["AI", "融资"]).await;
    app.create_member("丙", Some("13800000003"), &["AI"]).await;
    let pool = app
        .create_pool(json!({ "name": "AI 融资", "kind": "RESOURCE", "source": "TAGGED", "requiredTags": ["AI", "融资"], "requirePhone": true }))
        .await;
    let data = app
        .query(&app.admin, "query($id: ID!) { partnerPool(id: $id) { eligibleMembers { totalCount edges { node { id } } } } }", json!({ "id": pool }))
        .await;
    assert_eq!(data["partnerPool"]["eligibleMembers"]["totalCount"], 1);
    assert_eq!(
        data["partnerPool"]["eligibleMembers"]["edges"][0]["node"]["id"],
        tagged_with_phone.as_str()
    );
}

#[tokio::test]
async fn manual_pool_lists_only_added_members() {
    let app = TestApp::spawn().await;
    let a = app.create_member("甲", None, &[]).await;
    app.create_member("乙", None, &[]).await;
    let pool = app
        .create_pool(json!({ "name": "名单", "kind": "MENTOR", "source": "MANUAL" }))
        .await;
    app.query(
        &app.admin,
        "mutation($p: ID!, $m: [ID!]!) { addPartnerPoolMembers(poolId: $p, memberIds: $m) { id } }",
        json!({ "p": pool, "m": [a] }),
    )
    .await;
    let data = app
        .query(
            &app.admin,
            "query($id: ID!) { partnerPool(id: $id) { eligibleMembers { totalCount } } }",
            json!({ "id": pool }),
        )
        .await;
    assert_eq!(data["partnerPool"]["eligibleMembers"]["totalCount"], 1);
    let (code, message) = app
        .query_error(&app.admin, "mutation($p: ID!, $m: [ID!]!) { addPartnerPoolMembers(poolId: $p, memberIds: $m) { id } }", json!({ "p": pool, "m": ["999"] }))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("999"), "{message}");
}

#[tokio::test]
async fn concurrent_pool_updates_keep_both_changes() {
    let app = TestApp::spawn().await;
    const UPDATE: &str = "mutation($id: ID!, $input: UpdatePartnerPoolInput!) { updatePartnerPool(id: $id, input: $input) { id } }";
    const RULES: &str = "query($id: ID!) { partnerPool(id: $id) { name dailyMatchLimit } }";
    let pool = app
        .create_pool(json!({ "name": "池 0", "kind": "PARTNER", "source": "ALL_MEMBERS", "dailyMatchLimit": 0 }))
        .await;
    // Each round two admins change different fields of the pool at once. An update keeps
    // the fields it does not name, so both changes must remain.
    for round in 1..=20 {
        let name = format!("池 {round}");
        let (rename, limit) = futures::join!(
            app.post(
                Some(&app.admin),
                UPDATE,
                json!({ "id": pool, "input": { "name": name } })
            ),
            app.post(
                Some(&app.admin),
                UPDATE,
                json!({ "id": pool, "input": { "dailyMatchLimit": round } })
            ),
        );
        for (status, body) in [rename, limit] {
            assert_eq!(status, reqwest::StatusCode::OK, "body: {body}");
            assert!(body.get("errors").is_none(), "round {round}: {body}");
        }
        let data = app.query(&app.admin, RULES, json!({ "id": pool })).await;
        assert_eq!(data["partnerPool"]["name"], name.as_str(), "round {round}");
        assert_eq!(
            data["partnerPool"]["dailyMatchLimit"], round,
            "round {round}"
        );
    }
}
