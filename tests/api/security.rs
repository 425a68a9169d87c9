//! graphql-cop's probes, each with its expected refusal, a fuzz test of random documents and
//! variables, and every role against every operation.

use std::collections::BTreeSet;

use proptest::{prelude::*, test_runner::TestRunner};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::TestApp;

async fn post_raw(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .post(format!("{}/graphql", app.base))
        .bearer_auth(token)
        .header("accept", "application/graphql-response+json")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn first_message(body: &Value) -> String {
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn introspection_is_answered_for_admins_only() {
    let app = TestApp::spawn().await;
    let query = json!({ "query": "{ __schema { queryType { name } } }" });
    let (status, body) = post_raw(&app, &app.admin, query.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "QueryRoot");
    for token in [&app.service, &app.integrator] {
        let (status, body) = post_raw(&app, token, query.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body.get("data").is_none());
        assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    }
    let hidden = json!({ "query": "{ viewer { name } ... on QueryRoot { __type(name: \"CkbLead\") { fields { name } } } }" });
    let (status, _) = post_raw(&app, &app.service, hidden).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn field_suggestions_are_shown_to_admins_only() {
    let app = TestApp::spawn().await;
    let query = json!({ "query": "{ matchRecordz { totalCount } }" });
    let (_, admin) = post_raw(&app, &app.admin, query.clone()).await;
    assert!(first_message(&admin).contains("Did you mean"), "{admin}");
    for token in [&app.service, &app.integrator] {
        let (_, body) = post_raw(&app, token, query.clone()).await;
        assert!(!first_message(&body).contains("Did you mean"), "{body}");
        assert!(
            !body.to_string().contains("matchRecords"),
            "the field name leaked: {body}"
        );
    }
}

#[tokio::test]
async fn graphiql_can_be_switched_off() {
    let app = TestApp::spawn_with(&["--graphiql", "false"]).await;
    let response = app
        .client
        .get(format!("{}/graphiql", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn alias_overloading_is_refused() {
    let app = TestApp::spawn().await;
    let aliases: Vec<String> = (0..101).map(|n| format!("a{n}: __typename")).collect();
    let (status, body) = post_raw(
        &app,
        &app.admin,
        json!({ "query": format!("{{ {} }}", aliases.join(" ")) }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(first_message(&body).contains("aliases"), "{body}");
}

#[tokio::test]
async fn field_duplication_is_refused() {
    let app = TestApp::spawn().await;
    let query = format!("{{ {} }}", ["__typename"; 500].join(" "));
    let (status, body) = post_raw(&app, &app.admin, json!({ "query": query })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(first_message(&body).contains("fields"), "{body}");
}

#[tokio::test]
async fn directive_overloading_is_refused() {
    let app = TestApp::spawn().await;
    let query = format!("{{ __typename {} }}", ["@aa"; 10].join(" "));
    let (status, body) = post_raw(&app, &app.admin, json!({ "query": query })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let repeated = format!("{{ __typename {} }}", ["@include(if: true)"; 10].join(" "));
    let (status, _) = post_raw(&app, &app.admin, json!({ "query": repeated })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn batch_of_ten_operations_is_refused() {
    let app = TestApp::spawn().await;
    let batch: Vec<Value> = (0..10)
        .map(|_| json!({ "query": "{ __typename }" }))
        .collect();
    let (status, _) = post_raw(&app, &app.admin, Value::Array(batch)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn circular_introspection_is_refused_by_depth() {
    let app = TestApp::spawn().await;
    let mut selection = String::from("name");
    for _ in 0..8 {
        selection = format!("fields {{ type {{ {selection} }} }}");
    }
    let query = format!("{{ __schema {{ types {{ {selection} }} }} }}");
    let (status, body) = post_raw(&app, &app.admin, json!({ "query": query })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        first_message(&body).contains("nested deeper than the limit of 12 levels"),
        "{body}"
    );
}

#[tokio::test]
async fn connection_cost_counts_page_size() {
    let app = TestApp::spawn().await;
    let query = "{ a: matchRecords(first: 100) { edges { node { id requester { id nickname } partner { id nickname } pool { id name } lead { id deliveryStatus } } } }
                   b: matchRecords(first: 100) { edges { node { id requester { id nickname } partner { id nickname } pool { id name } lead { id deliveryStatus } } } } }";
    let (status, body) = post_raw(&app, &app.admin, json!({ "query": query })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        first_message(&body).contains("complexity is over the limit of"),
        "{body}"
    );
    assert!(first_message(&body).contains("`first`"), "{body}");
    let cheap = "{ matchRecords(first: 5) { edges { node { id requester { id } } } } }";
    let (status, _) = post_raw(&app, &app.admin, json!({ "query": cheap })).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn unnamed_operations_need_operation_name() {
    let app = TestApp::spawn().await;
    let query = "query A { viewer { name } } query B { viewer { role } }";
    let (status, body) = post_raw(&app, &app.admin, json!({ "query": query })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(first_message(&body).contains("`operationName`"), "{body}");
}

#[tokio::test]
async fn errors_never_carry_traces_or_internals() {
    let app = TestApp::spawn().await;
    for query in [
        "{{{{",
        "query { matchRecord(id: \"1\") { id } }",
        "{ __typename @skip }",
        "}",
    ] {
        let (status, body) = post_raw(&app, &app.admin, json!({ "query": query })).await;
        assert!(
            status.is_client_error() || status == StatusCode::OK,
            "{query}: {status}"
        );
        let text = body.to_string().to_lowercase();
        for leak in [
            "stacktrace",
            "backtrace",
            "exception",
            "tracing",
            "panicked",
            "sqlx",
            "sea_orm",
            ".rs:",
        ] {
            assert!(!text.contains(leak), "{query} leaked {leak}: {text}");
        }
    }
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let app = TestApp::spawn_with(&["--rate-reads-per-minute", "3"]).await;
    for _ in 0..3 {
        app.query(&app.service, "{ viewer { name } }", json!({}))
            .await;
    }
    let response = app
        .client
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&app.service)
        .json(&json!({ "query": "{ viewer { name } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "Retry-After {retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    assert_eq!(body["errors"][0]["extensions"]["retryAfter"], retry_after);
    // Another token has its own budget.
    app.query(&app.admin, "{ viewer { name } }", json!({}))
        .await;
}

#[tokio::test]
async fn lead_budget_counts_each_aliased_lead() {
    let app = TestApp::spawn_with(&["--rate-leads-per-minute", "5"]).await;
    let leads = |count: usize| {
        let fields: Vec<String> = (0..count)
            .map(|n| format!("l{n}: submitLead(input: {{ phone: \"1390000000{n}\" }}) {{ alreadySubmitted }}"))
            .collect();
        format!("mutation {{ {} }}", fields.join(" "))
    };
    let post = |query: String| {
        app.client
            .post(format!("{}/graphql", app.base))
            .bearer_auth(&app.integrator)
            .json(&json!({ "query": query }))
            .send()
    };

    let too_many = post(leads(6)).await.unwrap();
    assert_eq!(too_many.status(), StatusCode::OK);
    let body: Value = too_many.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("submits 6 leads"));

    let first = post(leads(3)).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let second = post(leads(3)).await.unwrap();
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn lead_budget_ignores_skipped_leads() {
    let app = TestApp::spawn_with(&["--rate-leads-per-minute", "5"]).await;
    let fields: Vec<String> = (0..6)
        .map(|n| {
            let directive = if n % 2 == 0 { "@skip(if: $skip)" } else { "" };
            format!("l{n}: submitLead(input: {{ phone: \"1391000000{n}\" }}) {directive} {{ alreadySubmitted }}")
        })
        .collect();
    let query = format!("mutation($skip: Boolean!) {{ {} }}", fields.join(" "));
    let (status, body) = app
        .post(Some(&app.integrator), &query, json!({ "skip": true }))
        .await;
    assert_eq!(status, StatusCode::OK);
    // No plan is configured, so each lead that ran fails with CONFLICT; the budget let the
    // three that were not skipped run.
    let ran: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| {
            assert_eq!(error["extensions"]["code"], "CONFLICT", "{body}");
            error["path"][0].as_str().unwrap()
        })
        .collect();
    assert_eq!(ran, vec!["l1", "l3", "l5"]);

    // The same six fields with none skipped are over the budget of 5.
    let (_, body) = app
        .post(Some(&app.integrator), &query, json!({ "skip": false }))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
}

#[tokio::test]
async fn lead_budget_counts_leads_behind_spreads() {
    // Hundreds of spreads of a fragment chain before the lead fields must not hide them.
    let app = TestApp::spawn_with(&["--rate-leads-per-minute", "5"]).await;
    let mut query = String::from("mutation {");
    for _ in 0..340 {
        query.push_str(" ...C0");
    }
    for n in 0..6 {
        query.push_str(&format!(
            " l{n}: submitLead(input: {{ phone: \"1390000000{n}\" }}) {{ alreadySubmitted }}"
        ));
    }
    query.push_str(" }");
    for n in 0..30 {
        query.push_str(&format!(
            " fragment C{n} on MutationRoot {{ ...C{} }}",
            n + 1
        ));
    }
    query.push_str(" fragment C30 on MutationRoot { __typename }");
    let body = app
        .client
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&app.integrator)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("submits 6 leads"));
}

#[tokio::test]
async fn unknown_fragment_is_rejected_before_validation() {
    // Expanding these spreads would take 2^24 steps before validation finds the missing
    // fragment.
    let app = TestApp::spawn().await;
    let mut query = String::from("{ ...F0 }");
    for n in 0..24 {
        query.push_str(&format!(
            " fragment F{n} on QueryRoot {{ ...F{m} ...F{m} }}",
            m = n + 1
        ));
    }
    query.push_str(" fragment F24 on QueryRoot { ...Missing }");
    let (_, body) = app.post(Some(&app.service), &query, json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    // The gateway's own message: the document never reached the validator.
    assert_eq!(
        body["errors"][0]["message"],
        "unknown fragment \"Missing\"; define it in the document or remove the spread"
    );
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let app = TestApp::spawn_with(&["--cors-origins", "https://admin.example.com"]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let allowed = preflight("https://admin.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://admin.example.com"
    );
    let refused = preflight("https://evil.example.net").await.unwrap();
    assert!(!refused
        .headers()
        .contains_key("access-control-allow-origin"));
}

/// Words that random documents are made of, so that many of them parse and reach validation
/// and execution instead of failing at the first character.
const VOCABULARY: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    ":",
    "$v",
    "...",
    "@include(if: $v)",
    "query",
    "mutation",
    "fragment F on QueryRoot",
    "on",
    "matchRecords",
    "findPartnerOverview",
    "window:",
    "ALL",
    "first:",
    "after:",
    "filter:",
    "kind:",
    "PARTNER",
    "1",
    "-1",
    "100000",
    "\"x\"",
    "edges",
    "node",
    "id",
    "__typename",
    "__schema",
    "types",
    "name",
    ",",
    "[",
    "]",
    "!",
    "submitLead",
    "input:",
    "phone:",
    "\"13800000000\"",
    "ckbLeads",
    "totalCount",
    "member(id: \"1\")",
    "nickname",
    "viewer",
    "recordMatch",
    "requesterId:",
    "linkKaruo",
    "memberId:",
    "null",
    "true",
    "\"\"",
    "#",
    "\"\\u0000\"",
];

fn documents() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCABULARY), 0..40).prop_map(|words| words.join(" "))
}

fn variables() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 20, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z$]{1,8}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_documents_and_variables_never_cause_a_server_error() {
    let app = TestApp::spawn_with(&[
        "--rate-reads-per-minute",
        "1000000",
        "--rate-writes-per-minute",
        "1000000",
        "--rate-leads-per-minute",
        "1000000",
    ])
    .await;
    app.create_member("成员", Some("13800000000"), &[]).await;
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = (
        documents(),
        variables(),
        prop::option::of("[A-Za-z]{0,6}"),
        0usize..3,
    );
    let result = tokio::task::block_in_place(|| {
        runner.run(&strategy, |(document, variables, operation_name, token)| {
            let token = [&app.admin, &app.service, &app.integrator][token].clone();
            let body = json!({ "query": document, "variables": variables, "operationName": operation_name });
            let (status, response) = handle.block_on(post_raw(&app, &token, body));
            prop_assert!(status.as_u16() < 500, "{status} for {document:?}: {response}");
            prop_assert!(!response.is_null(), "no JSON body for {document:?}");
            Ok(())
        })
    });
    result.unwrap();
    let health = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

/// Who may call each root field: ADMIN (A), SERVICE (S), INTEGRATOR (I).
const ROLE_MATRIX: &[(&str, &str, &str)] = &[
    ("query", "findPartnerOverview", "AS"),
    ("query", "matchRecords", "AS"),
    ("query", "matchRecord(id: \"1\")", "AS"),
    ("query", "partnerPools", "AS"),
    ("query", "partnerPool(id: \"1\")", "AS"),
    ("query", "selectedPartnerPool(kind: PARTNER)", "AS"),
    ("query", "mentorBookings", "AS"),
    ("query", "mentorBooking(id: \"1\")", "AS"),
    ("query", "resourceMatches", "AS"),
    ("query", "resourceMatch(id: \"1\")", "AS"),
    ("query", "teamRecruits", "AS"),
    ("query", "teamRecruit(id: \"1\")", "AS"),
    ("query", "teamApplication(id: \"1\")", "AS"),
    ("query", "ckbPlans", "AS"),
    ("query", "ckbPlan(id: \"1\")", "AS"),
    ("query", "ckbLeads", "ASI"),
    ("query", "ckbLead(id: \"1\")", "ASI"),
    ("query", "members", "AS"),
    ("query", "member(id: \"1\")", "AS"),
    ("query", "viewer", "ASI"),
    ("mutation", "recordMatch(requesterId: \"1\", kind: PARTNER)", "AS"),
    ("mutation", "setMatchStatus(id: \"1\", status: CLOSED)", "AS"),
    ("mutation", "createPartnerPool(input: { name: \"p\", kind: PARTNER, source: ALL_MEMBERS })", "A"),
    ("mutation", "updatePartnerPool(id: \"1\", input: {})", "A"),
    ("mutation", "setPartnerPoolEnabled(id: \"1\", enabled: true)", "A"),
    ("mutation", "selectPartnerPool(id: \"1\")", "A"),
    ("mutation", "addPartnerPoolMembers(poolId: \"1\", memberIds: [\"1\"])", "A"),
    ("mutation", "removePartnerPoolMembers(poolId: \"1\", memberIds: [\"1\"])", "A"),
    ("mutation", "createMentorBooking(input: { mentorId: \"1\", memberId: \"2\", topic: \"t\", slotStart: \"2030-01-01T00:00:00Z\", slotEnd: \"2030-01-01T01:00:00Z\" })", "AS"),
    ("mutation", "setMentorBookingStatus(id: \"1\", status: CONFIRMED)", "AS"),
    ("mutation", "createResourceMatch(input: { direction: OFFER, title: \"t\", ownerId: \"1\" })", "AS"),
    ("mutation", "matchResource(id: \"1\", counterpartId: \"2\")", "AS"),
    ("mutation", "closeResourceMatch(id: \"1\")", "AS"),
    ("mutation", "createTeamRecruit(input: { projectName: \"p\", stage: \"s\", roles: [{ title: \"t\", count: 1 }], ownerId: \"1\" })", "AS"),
    ("mutation", "applyToTeamRecruit(input: { recruitId: \"1\", memberId: \"2\", role: \"t\" })", "AS"),
    ("mutation", "setTeamApplicationStatus(id: \"1\", status: ACCEPTED)", "AS"),
    ("mutation", "closeTeamRecruit(id: \"1\")", "AS"),
    ("mutation", "createCkbPlan(input: { name: \"n\", apiKey: \"k\", endpoint: \"http://127.0.0.1:9\", purpose: INTEGRATOR })", "A"),
    ("mutation", "updateCkbPlan(id: \"1\", input: {})", "A"),
    ("mutation", "setCkbPlanEnabled(id: \"1\", enabled: true)", "A"),
    ("mutation", "sendTestLead(planId: \"1\")", "A"),
    ("mutation", "submitLead(input: { phone: \"13800000000\" })", "AI"),
    ("mutation", "linkKaruo(memberId: \"1\")", "AS"),
    ("mutation", "retryLead(id: \"1\")", "A"),
    ("mutation", "createMember(input: { nickname: \"n\" })", "AS"),
    ("mutation", "updateMember(id: \"1\", input: { nickname: \"n\" })", "AS"),
];

/// The root fields a schema's SDL declares on a type.
fn root_fields(sdl: &str, type_name: &str) -> BTreeSet<String> {
    use async_graphql::parser::{
        parse_schema,
        types::{TypeKind, TypeSystemDefinition},
    };
    let document = parse_schema(sdl).expect("the SDL parses");
    for definition in document.definitions {
        if let TypeSystemDefinition::Type(ty) = definition {
            if ty.node.name.node == type_name {
                if let TypeKind::Object(object) = ty.node.kind {
                    return object
                        .fields
                        .iter()
                        .map(|field| field.node.name.node.to_string())
                        .collect();
                }
            }
        }
    }
    panic!("no object type {type_name} in the SDL");
}

#[test]
fn role_matrix_covers_every_operation() {
    let sdl = partner_gateway::graphql::sdl();
    let declared: BTreeSet<String> = root_fields(&sdl, "QueryRoot")
        .into_iter()
        .chain(root_fields(&sdl, "MutationRoot"))
        .collect();
    let tested: BTreeSet<String> = ROLE_MATRIX
        .iter()
        .map(|(_, call, _)| call.chars().take_while(|c| c.is_alphanumeric()).collect())
        .collect();
    assert_eq!(
        declared, tested,
        "every root field needs a row in ROLE_MATRIX"
    );
}

#[tokio::test]
async fn every_role_against_every_operation() {
    let app = TestApp::spawn().await;
    let roles = [
        ('A', app.admin.clone()),
        ('S', app.service.clone()),
        ('I', app.integrator.clone()),
    ];
    for (kind, call, allowed) in ROLE_MATRIX {
        let document = format!("{kind} {{ x: {call} {{ __typename }} }}");
        for (role, token) in &roles {
            let (_, body) = app.post(Some(token), &document, json!({})).await;
            let code = body["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            if allowed.contains(*role) {
                assert_ne!(code, "FORBIDDEN", "role {role} was refused {call}: {body}");
                assert_ne!(code, "UNAUTHENTICATED", "{body}");
            } else {
                assert_eq!(
                    code, "FORBIDDEN",
                    "role {role} was let through to {call}: {body}"
                );
            }
        }
    }
}

#[tokio::test]
async fn plan_interface_is_for_admins_only() {
    let app = TestApp::spawn().await;
    app.create_plan(
        "计划",
        "some-key-123",
        "http://127.0.0.1:9",
        "INTEGRATOR",
        false,
    )
    .await;
    let (_, body) = app
        .post(
            Some(&app.service),
            "{ ckbPlans { name interface { url } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    app.query(
        &app.admin,
        "{ ckbPlans { name interface { url } } }",
        json!({}),
    )
    .await;
}

#[tokio::test]
async fn fragment_bomb_is_refused_at_once() {
    let app = TestApp::spawn().await;
    let mut document = String::from("{ viewer { ...F26 } } fragment F0 on Viewer { name }");
    for level in 1..=26 {
        document.push_str(&format!(
            " fragment F{level} on Viewer {{ ...F{} ...F{} }}",
            level - 1,
            level - 1
        ));
    }
    let started = std::time::Instant::now();
    let (status, body) = post_raw(&app, &app.integrator, json!({ "query": document })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(first_message(&body).contains("expanded"), "{body}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "refusing took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(format!("{}/graphql", app.base))
        .header("authorization", format!("Bearer {}", app.integrator))
        .header("authorization", format!("Bearer {}", app.admin))
        .json(&json!({ "query": "{ viewer { role } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
