//! CKB plans: at most one default plan, also when admins change it at the same time.

use serde_json::{json, Value};

use crate::support::TestApp;

const CREATE: &str =
    "mutation($input: CreateCkbPlanInput!) { createCkbPlan(input: $input) { id isDefault } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdateCkbPlanInput!) { updateCkbPlan(id: $id, input: $input) { id isDefault } }";

fn plan_input(n: usize, is_default: bool) -> Value {
    json!({
        "name": format!("计划 {n}"),
        "apiKey": format!("key-{n}"),
        "endpoint": "http://127.0.0.1:9",
        "purpose": "INTEGRATOR",
        "isDefault": is_default,
    })
}

async fn default_plan_ids(app: &TestApp) -> Vec<String> {
    let data = app
        .query(&app.admin, "{ ckbPlans { id isDefault } }", json!({}))
        .await;
    data["ckbPlans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|plan| plan["isDefault"] == true)
        .map(|plan| plan["id"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_succeeded(results: Vec<(reqwest::StatusCode, Value)>, field: &str) {
    for (status, body) in results {
        assert_eq!(status, reqwest::StatusCode::OK, "body: {body}");
        assert!(body.get("errors").is_none(), "a request failed: {body}");
        assert_eq!(body["data"][field]["isDefault"], true, "body: {body}");
    }
}

#[tokio::test]
async fn new_default_plan_replaces_the_old() {
    let app = TestApp::spawn().await;
    let first = app
        .query(&app.admin, CREATE, json!({ "input": plan_input(1, true) }))
        .await;
    let second = app
        .query(&app.admin, CREATE, json!({ "input": plan_input(2, true) }))
        .await;
    let second_id = second["createCkbPlan"]["id"].as_str().unwrap().to_owned();
    assert_eq!(first["createCkbPlan"]["isDefault"], true);
    assert_eq!(default_plan_ids(&app).await, vec![second_id]);
}

#[tokio::test]
async fn concurrent_default_creations_leave_one() {
    let app = TestApp::spawn().await;
    let calls = (0..10).map(|n| {
        app.post(
            Some(&app.admin),
            CREATE,
            json!({ "input": plan_input(n, true) }),
        )
    });
    assert_succeeded(futures::future::join_all(calls).await, "createCkbPlan");
    assert_eq!(default_plan_ids(&app).await.len(), 1);
}

#[tokio::test]
async fn concurrent_default_updates_leave_one() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let data = app
            .query(
                &app.admin,
                CREATE,
                json!({ "input": plan_input(n, n == 0) }),
            )
            .await;
        ids.push(data["createCkbPlan"]["id"].as_str().unwrap().to_owned());
    }
    let calls = ids.iter().cycle().take(20).map(|id| {
        app.post(
            Some(&app.admin),
            UPDATE,
            json!({ "id": id, "input": { "isDefault": true } }),
        )
    });
    assert_succeeded(futures::future::join_all(calls).await, "updateCkbPlan");
    assert_eq!(default_plan_ids(&app).await.len(), 1);
}
