//! Tokens and roles at the HTTP boundary.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn request_without_token_is_unauthenticated() {
    let app = TestApp::spawn().await;
    let (status, body) = app.post(None, "{ viewer { name } }", json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert!(body.get("data").is_none());
}

#[tokio::test]
async fn unknown_token_is_unauthenticated() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post(
            Some("pgw_not_a_real_token"),
            "{ viewer { name } }",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn integrator_asking_for_match_records_is_forbidden() {
    let app = TestApp::spawn().await;
    let (code, _) = app
        .query_error(
            &app.integrator,
            "{ matchRecords(first: 5) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
}

#[tokio::test]
async fn viewer_reports_token_name_and_role() {
    let app = TestApp::spawn().await;
    let data = app
        .query(&app.service, "{ viewer { name role } }", json!({}))
        .await;
    assert_eq!(data["viewer"]["name"], "test-service");
    assert_eq!(data["viewer"]["role"], "SERVICE");
}

#[tokio::test]
async fn viewer_reports_utc_offset() {
    // A process of its own: the day counters' offset is one setting per process, and this
    // test's offset must not reach the gateways of the tests running beside it.
    let (_database, url) = crate::support::process_database().await;
    let token = crate::support::cli_token(&url, "INTEGRATOR", "offset-test");
    let gateway = crate::support::GatewayProcess::start(&url, &["--utc-offset-hours", "-3"]).await;
    let (status, body) = crate::support::post_to(
        &reqwest::Client::new(),
        &gateway.base,
        &token,
        "{ viewer { utcOffsetHours } }",
        json!({}),
    )
    .await
    .expect("the gateway answered");
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["data"]["viewer"]["utcOffsetHours"], -3);
}

#[tokio::test]
async fn revoked_token_stops_working_at_once_without_the_cache() {
    let app = TestApp::spawn_with(&["--token-cache-ms", "0"]).await;
    let db = &app.state().db;
    let (info, token) = partner_gateway::auth::create_token(
        db,
        partner_gateway::domain::Role::Admin,
        "short-lived",
    )
    .await
    .unwrap();
    app.query(&token, "{ viewer { name } }", json!({})).await;
    partner_gateway::auth::revoke_token(db, info.id)
        .await
        .unwrap();
    let (status, body) = app
        .post(Some(&token), "{ viewer { name } }", json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("revoked"));
}

#[tokio::test]
async fn service_sees_personal_data_masked() {
    let app = TestApp::spawn().await;
    let id = app.create_member("张三", Some("13812345678"), &[]).await;
    let query = "query($id: ID!) { member(id: $id) { phone } }";
    let admin = app.query(&app.admin, query, json!({ "id": id })).await;
    assert_eq!(admin["member"]["phone"], "13812345678");
    let service = app.query(&app.service, query, json!({ "id": id })).await;
    assert_eq!(service["member"]["phone"], "138****5678");
}

#[tokio::test]
async fn service_cannot_manage_pools() {
    let app = TestApp::spawn().await;
    let (code, _) = app
        .query_error(
            &app.service,
            "mutation { createPartnerPool(input: { name: \"x\", kind: PARTNER, source: ALL_MEMBERS }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
}

#[tokio::test]
async fn revoked_token_stops_working_within_the_cache_lifetime() {
    let app = TestApp::spawn_with(&["--token-cache-ms", "500"]).await;
    let db = &app.state().db;
    let (info, token) =
        partner_gateway::auth::create_token(db, partner_gateway::domain::Role::Admin, "cached")
            .await
            .unwrap();
    app.query(&token, "{ viewer { name } }", json!({})).await;
    partner_gateway::auth::revoke_token(db, info.id)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let (status, _) = app
        .post(Some(&token), "{ viewer { name } }", json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
