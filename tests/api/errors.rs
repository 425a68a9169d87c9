//! Bad input gets a clear message and a stable code; internal errors never leak.

use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn first_above_maximum_is_bad_input() {
    let app = TestApp::spawn().await;
    let (code, message) = app
        .query_error(
            &app.admin,
            "{ matchRecords(first: 101) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("between 1 and 100"), "{message}");
}

#[tokio::test]
async fn unknown_variable_type_reported_once() {
    let app = TestApp::spawn().await;
    let (_, body) = app
        .post(
            Some(&app.admin),
            "query($x: Nope) { viewer { name } }",
            json!({}),
        )
        .await;
    let errors = body["errors"].as_array().expect("errors");
    let unknown: Vec<_> = errors
        .iter()
        .filter(|error| error["message"] == "Unknown type \"Nope\"")
        .collect();
    assert_eq!(unknown.len(), 1, "{body}");
    assert_eq!(unknown[0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn unknown_id_is_not_found() {
    let app = TestApp::spawn().await;
    let (code, message) = app
        .query_error(&app.admin, "{ matchRecord(id: \"999\") { id } }", json!({}))
        .await;
    assert_eq!(code, "NOT_FOUND");
    assert!(message.contains("MatchRecord 999"), "{message}");
}

#[tokio::test]
async fn malformed_id_is_bad_input() {
    let app = TestApp::spawn().await;
    let (code, _) = app
        .query_error(&app.admin, "{ member(id: \"abc\") { id } }", json!({}))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
}

#[tokio::test]
async fn huge_id_is_not_echoed_in_full() {
    let app = TestApp::spawn().await;
    let (code, message) = app
        .query_error(
            &app.admin,
            "query($id: ID!) { member(id: $id) { id } }",
            json!({ "id": "9".repeat(5000) }),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("(5000 characters)"), "{message}");
    assert!(message.len() < 200, "{message}");
}

#[tokio::test]
async fn huge_variable_value_is_not_echoed() {
    let app = TestApp::spawn().await;
    let (_, body) = app
        .post(
            Some(&app.admin),
            "query($w: StatsWindow!) { findPartnerOverview(window: $w) { window } }",
            json!({ "w": "Z".repeat(1_000_000) }),
        )
        .await;
    let errors = body["errors"].as_array().expect("errors");
    assert!(!errors.is_empty(), "{body}");
    for error in errors {
        let message = error["message"].as_str().unwrap();
        assert!(
            message.chars().count() < 400,
            "{} characters",
            message.len()
        );
        assert!(message.contains("message cut"), "{message}");
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    }
}

#[tokio::test]
async fn empty_query_says_what_to_send() {
    let app = TestApp::spawn().await;
    let (_, body) = app.post(Some(&app.admin), "  ", json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("send a GraphQL document in `query`"),
        "{body}"
    );
}

#[tokio::test]
async fn reversed_date_range_is_bad_input() {
    let app = TestApp::spawn().await;
    let (code, message) = app
        .query_error(
            &app.admin,
            "{ matchRecords(filter: { matchedAt: { from: \"2026-12-01T00:00:00Z\", to: \"2026-11-01T00:00:00Z\" } }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("reversed"), "{message}");
}

#[tokio::test]
async fn empty_pool_name_is_bad_input_naming_the_field() {
    let app = TestApp::spawn().await;
    let (_, body) = app
        .post(
            Some(&app.admin),
            "mutation { createPartnerPool(input: { name: \"  \", kind: PARTNER, source: ALL_MEMBERS }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "name");
}

#[tokio::test]
async fn database_failure_returns_fixed_internal_message() {
    let app = TestApp::spawn().await;
    use sea_orm::ConnectionTrait;
    app.state()
        .db
        .execute_unprepared("DROP TABLE team_applications")
        .await
        .unwrap();
    app.state()
        .db
        .execute_unprepared("DROP TABLE team_recruits")
        .await
        .unwrap();
    let (_, body) = app
        .post(
            Some(&app.admin),
            "{ teamRecruits(first: 5) { totalCount } }",
            json!({}),
        )
        .await;
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "INTERNAL");
    assert!(error["extensions"]["requestId"].is_string(), "{body}");
    let text = body.to_string();
    assert!(!text.contains("team_recruits"), "table name leaked: {text}");
    assert!(
        !text.to_lowercase().contains("no such table"),
        "database error leaked: {text}"
    );
    assert!(
        !text.to_lowercase().contains("does not exist"),
        "database error leaked: {text}"
    );
}
