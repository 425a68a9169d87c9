//! GraphQL over HTTP: media types, status codes and request limits.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::TestApp;

async fn raw_post(
    app: &TestApp,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: String,
) -> (StatusCode, Option<String>, String) {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&app.admin)
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn response_type_follows_accept() {
    let app = TestApp::spawn().await;
    let body = json!({ "query": "{ __typename }" }).to_string();
    let (status, content_type, _) = raw_post(
        &app,
        Some("application/json"),
        Some("application/graphql-response+json"),
        body.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type
        .unwrap()
        .starts_with("application/graphql-response+json"));
    let (_, content_type, _) = raw_post(
        &app,
        Some("application/json"),
        Some("application/json"),
        body.clone(),
    )
    .await;
    assert!(content_type.unwrap().starts_with("application/json"));
    let (status, _, _) = raw_post(&app, Some("application/json"), Some("text/html"), body).await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn invalid_document_is_400_only_for_graphql_response_json() {
    let app = TestApp::spawn().await;
    let body = json!({ "query": "{ noSuchField }" }).to_string();
    let (status, _, text) = raw_post(
        &app,
        Some("application/json"),
        Some("application/graphql-response+json"),
        body.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert!(parsed.get("data").is_none(), "{text}");
    assert_eq!(parsed["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let (status, _, _) = raw_post(
        &app,
        Some("application/json"),
        Some("application/json"),
        body,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn compressed_body_is_unsupported_with_its_encoding_named() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&app.admin)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(vec![0x1f, 0x8b, 0x08, 0x00])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = response.json().await.unwrap();
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("\"gzip\""), "{body}");
    assert!(message.contains("uncompressed"), "{body}");
}

#[tokio::test]
async fn form_and_missing_content_types_are_unsupported() {
    let app = TestApp::spawn().await;
    let (status, _, _) = raw_post(
        &app,
        Some("application/x-www-form-urlencoded"),
        None,
        "query=%7B__typename%7D".into(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _, _) = raw_post(
        &app,
        Some("multipart/form-data; boundary=x"),
        None,
        "--x--".into(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _, _) = raw_post(
        &app,
        None,
        None,
        json!({ "query": "{ __typename }" }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn oversized_body_is_413() {
    let app =
        TestApp::spawn_with(&["--max-body-bytes", "1024", "--max-document-bytes", "1024"]).await;
    let body = json!({ "query": format!("{{ __typename }} #{}", "x".repeat(2000)) }).to_string();
    let (status, _, _) = raw_post(&app, Some("application/json"), None, body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn mutation_over_get_is_405() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/graphql", app.base))
        .query(&[(
            "query",
            "mutation { setMatchStatus(id: \"1\", status: CLOSED) { id } }",
        )])
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");
}

#[tokio::test]
async fn query_over_get_runs() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/graphql", app.base))
        .query(&[("query", "{ viewer { role } }")])
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["viewer"]["role"], "ADMIN");
}

#[tokio::test]
async fn batch_is_refused_unless_enabled() {
    let app = TestApp::spawn().await;
    let batch = json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]).to_string();
    let (status, _, _) = raw_post(&app, Some("application/json"), None, batch.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let enabled = TestApp::spawn_with(&["--max-batch", "2"]).await;
    let (status, _, text) = raw_post(&enabled, Some("application/json"), None, batch).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&text)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let three = json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }, { "query": "{ __typename }" }]).to_string();
    let (status, _, _) = raw_post(&enabled, Some("application/json"), None, three).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn rate_limited_batch_item_carries_retry_after() {
    let app = TestApp::spawn_with(&["--max-batch", "2", "--rate-reads-per-minute", "1"]).await;
    let batch = json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]).to_string();
    let (status, _, text) = raw_post(&app, Some("application/json"), None, batch).await;
    assert_eq!(status, StatusCode::OK);
    let items: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(items[0]["data"]["__typename"], "QueryRoot", "{items}");
    let error = &items[1]["errors"][0]["extensions"];
    assert_eq!(error["code"], "RATE_LIMITED", "{items}");
    assert!(error["retryAfter"].as_u64().unwrap() >= 1, "{items}");
}

#[tokio::test]
async fn missing_required_variable_is_a_request_error() {
    let app = TestApp::spawn().await;
    let body = json!({ "query": "query($id: ID!) { matchRecord(id: $id) { id } }" }).to_string();
    let (status, _, text) = raw_post(
        &app,
        Some("application/json"),
        Some("application/graphql-response+json"),
        body,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let response: Value = serde_json::from_str(&text).unwrap();
    assert!(response.get("data").is_none(), "{response}");
    assert_eq!(
        response["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    assert!(response["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("\"$id\" of required type ID!"));
}

#[tokio::test]
async fn every_response_carries_security_headers_and_request_id() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(format!("{}/graphql", app.base))
        .header("x-request-id", "trace-me-123")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-123");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert!(response.headers().contains_key("content-security-policy"));
}

#[tokio::test]
async fn graphiql_page_loads_without_token() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/graphiql", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("graphiql"));
}

#[tokio::test]
async fn healthz_answers_ok() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let ready = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}

#[tokio::test]
async fn shutdown_stops_accepting_requests() {
    let app = TestApp::spawn().await;
    let base = app.base.clone();
    let client = app.client.clone();
    app.shutdown().await;
    let result = client.get(format!("{base}/healthz")).send().await;
    assert!(result.is_err(), "the gateway still answered after shutdown");
}

#[tokio::test]
async fn metrics_count_requests_by_operation() {
    let app = TestApp::spawn().await;
    app.query(&app.admin, "{ viewer { name } }", json!({}))
        .await;
    app.post(None, "{ viewer { name } }", json!({})).await;
    let text = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"pgw_http_requests_total{operation="viewer",outcome="ok",route="graphql"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"outcome="unauthenticated""#), "{text}");
    assert!(text.contains("pgw_outbox_pending_leads 0"), "{text}");
    assert!(text.contains("pgw_db_statements_total"), "{text}");
}

#[tokio::test]
async fn readyz_reports_ckb_without_failing_on_it() {
    let app = TestApp::spawn().await;
    app.create_plan("不可达", "key-1", "http://127.0.0.1:9", "INTEGRATOR", false)
        .await;
    let response = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["ready"], true);
    assert_eq!(body["ckb"][0]["reachable"], false);
}

#[tokio::test]
async fn readyz_fails_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.state().db.clone().close().await.unwrap();
    let response = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn response_fields_keep_selection_order() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&app.admin)
        .json(&json!({ "query": "{ viewer { role name } b: __typename a: __typename }" }))
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    assert_eq!(
        text,
        r#"{"data":{"viewer":{"role":"ADMIN","name":"test-admin"},"b":"QueryRoot","a":"QueryRoot"}}"#
    );
}

#[tokio::test]
async fn repeated_document_runs_named_operation() {
    // The second and third requests reuse the parsed document of the first; each must still
    // choose its own operation and be checked for it.
    let app = TestApp::spawn().await;
    let document =
        "query Who { viewer { role } } mutation Select { selectPartnerPool(id: \"0\") { id } }";
    let send = |operation: &'static str, get: bool| {
        let request = if get {
            app.client
                .get(format!("{}/graphql", app.base))
                .query(&[("query", document), ("operationName", operation)])
        } else {
            app.client
                .post(format!("{}/graphql", app.base))
                .json(&json!({ "query": document, "operationName": operation }))
        };
        request.bearer_auth(&app.admin).send()
    };
    for _ in 0..2 {
        let response = send("Who", false).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["data"]["viewer"]["role"], "ADMIN", "{body}");
    }
    let response = send("Select", true).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}
