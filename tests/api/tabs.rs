//! The tab lists: pagination, filters, relations through the DataLoader, and the mutations
//! that move records through their statuses.

use std::collections::HashSet;

use partner_gateway::demo::DemoSize;
use serde_json::{json, Value};

use crate::support::{TestApp, STATEMENT_COUNT_SETTINGS};

const PAGE_OF_MATCHES: &str = "query($after: String) { matchRecords(first: 50, after: $after) {
    edges { cursor node { id kind matchedAt requester { id nickname } partner { id nickname } pool { id name } } }
    pageInfo { hasNextPage endCursor }
} }";

async fn page_statements(app: &TestApp) -> u64 {
    let before = app.statements();
    let data = app.query(&app.admin, PAGE_OF_MATCHES, json!({})).await;
    assert_eq!(data["matchRecords"]["edges"].as_array().unwrap().len(), 50);
    app.statements() - before
}

#[tokio::test]
async fn match_page_with_relations_costs_fixed_statements() {
    let small = TestApp::spawn_with(&STATEMENT_COUNT_SETTINGS).await;
    small
        .seed(DemoSize {
            members: 60,
            matches: 120,
            bookings: 5,
            resources: 5,
            recruits: 2,
            applications: 4,
            days: 60,
        })
        .await;
    let large = TestApp::spawn_with(&STATEMENT_COUNT_SETTINGS).await;
    large.seed(DemoSize::default()).await;
    let small_count = page_statements(&small).await;
    let large_count = page_statements(&large).await;
    assert_eq!(small_count, large_count);
    // One token lookup, one page query, one batch of members, one batch of pools.
    assert!(
        large_count <= 4,
        "a page of 50 matches with relations ran {large_count} statements"
    );
}

#[tokio::test]
async fn paging_visits_every_match_once() {
    let app = TestApp::spawn().await;
    app.seed(DemoSize {
        members: 60,
        matches: 230,
        bookings: 5,
        resources: 5,
        recruits: 2,
        applications: 4,
        days: 60,
    })
    .await;
    let mut seen = HashSet::new();
    let mut after: Value = Value::Null;
    let mut previous_time = String::from("9999");
    loop {
        let data = app
            .query(&app.admin, PAGE_OF_MATCHES, json!({ "after": after }))
            .await;
        for edge in data["matchRecords"]["edges"].as_array().unwrap() {
            assert!(
                seen.insert(edge["node"]["id"].as_str().unwrap().to_owned()),
                "match {} seen twice",
                edge["node"]["id"]
            );
            let time = edge["node"]["matchedAt"].as_str().unwrap().to_owned();
            assert!(time <= previous_time, "matches out of order");
            previous_time = time;
        }
        if !data["matchRecords"]["pageInfo"]["hasNextPage"]
            .as_bool()
            .unwrap()
        {
            break;
        }
        after = data["matchRecords"]["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.len(), 230);
}

#[tokio::test]
async fn invalid_cursor_is_bad_input() {
    let app = TestApp::spawn().await;
    let (code, _) = app
        .query_error(
            &app.admin,
            "{ matchRecords(after: \"garbage\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
}

#[tokio::test]
async fn tab_filters_narrow_results() {
    let app = TestApp::spawn().await;
    app.seed(DemoSize::default()).await;
    let all = app
        .query(&app.admin, "{ resourceMatches { totalCount } }", json!({}))
        .await["resourceMatches"]["totalCount"]
        .as_i64()
        .unwrap();
    let offers = app.query(&app.admin, "{ resourceMatches(filter: { direction: OFFER }) { totalCount edges { node { direction } } } }", json!({})).await;
    let offer_count = offers["resourceMatches"]["totalCount"].as_i64().unwrap();
    assert!(offer_count > 0 && offer_count < all);
    for edge in offers["resourceMatches"]["edges"].as_array().unwrap() {
        assert_eq!(edge["node"]["direction"], "OFFER");
    }
    let bookings = app.query(&app.admin, "{ mentorBookings(filter: { status: COMPLETED }) { edges { node { status mentor { id } } } } }", json!({})).await;
    for edge in bookings["mentorBookings"]["edges"].as_array().unwrap() {
        assert_eq!(edge["node"]["status"], "COMPLETED");
    }
    let recruits = app.query(&app.admin, "{ teamRecruits(first: 100) { edges { node { headcount filledCount status applications { status } } } } }", json!({})).await;
    for edge in recruits["teamRecruits"]["edges"].as_array().unwrap() {
        let node = &edge["node"];
        let accepted = node["applications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["status"] == "ACCEPTED")
            .count() as i64;
        assert_eq!(node["filledCount"].as_i64().unwrap(), accepted);
    }
}

#[tokio::test]
async fn keyword_filter_matches_nicknames_literally() {
    let app = TestApp::spawn().await;
    app.create_member("100%_测试", None, &[]).await;
    app.create_member("普通会员", None, &[]).await;
    let data = app
        .query(
            &app.admin,
            "{ members(filter: { keyword: \"%_\" }) { totalCount edges { node { nickname } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["members"]["totalCount"], 1);
    assert_eq!(data["members"]["edges"][0]["node"]["nickname"], "100%_测试");
}

async fn booking(
    app: &TestApp,
    mentor: &str,
    member: &str,
    start_hours: i64,
) -> (Option<String>, Value) {
    let start = chrono::Utc::now() + chrono::Duration::hours(start_hours);
    let (_, body) = app
        .post(
            Some(&app.service),
            "mutation($input: CreateMentorBookingInput!) { createMentorBooking(input: $input) { mentorBooking { id status } } }",
            json!({ "input": { "mentorId": mentor, "memberId": member, "topic": "融资", "slotStart": start, "slotEnd": start + chrono::Duration::hours(1) } }),
        )
        .await;
    let id = body["data"]["createMentorBooking"]["mentorBooking"]["id"]
        .as_str()
        .map(str::to_owned);
    (id, body)
}

#[tokio::test]
async fn overlapping_booking_of_a_mentor_is_refused() {
    let app = TestApp::spawn().await;
    let mentor = app.create_member("导师甲", None, &[]).await;
    let a = app.create_member("会员甲", None, &[]).await;
    let b = app.create_member("会员乙", None, &[]).await;
    let (first, _) = booking(&app, &mentor, &a, 24).await;
    assert!(first.is_some());
    let (second, body) = booking(&app, &mentor, &b, 24).await;
    assert!(second.is_none());
    assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT");
    let (later, _) = booking(&app, &mentor, &b, 26).await;
    assert!(later.is_some());
}

#[tokio::test]
async fn confirming_a_cancelled_booking_is_a_conflict() {
    let app = TestApp::spawn().await;
    let mentor = app.create_member("导师甲", None, &[]).await;
    let member = app.create_member("会员甲", None, &[]).await;
    let (id, _) = booking(&app, &mentor, &member, 48).await;
    let id = id.unwrap();
    let set = "mutation($id: ID!, $status: BookingStatus!) { setMentorBookingStatus(id: $id, status: $status) { status } }";
    app.query(
        &app.service,
        set,
        json!({ "id": id, "status": "CANCELLED" }),
    )
    .await;
    let (code, message) = app
        .query_error(
            &app.service,
            set,
            json!({ "id": id, "status": "CONFIRMED" }),
        )
        .await;
    assert_eq!(code, "CONFLICT");
    assert!(message.contains("CANCELLED"), "{message}");
}

#[tokio::test]
async fn concurrent_same_booking_change_both_succeed() {
    let app = TestApp::spawn().await;
    let mentor = app.create_member("导师甲", None, &[]).await;
    let member = app.create_member("会员甲", None, &[]).await;
    let set = "mutation($id: ID!, $status: BookingStatus!) { setMentorBookingStatus(id: $id, status: $status) { status } }";
    // Each round confirms a new booking twice at once; either request may land first.
    for round in 0..20 {
        let (id, _) = booking(&app, &mentor, &member, 48 + 2 * round).await;
        let variables = json!({ "id": id.unwrap(), "status": "CONFIRMED" });
        let (first, second) = futures::join!(
            app.post(Some(&app.service), set, variables.clone()),
            app.post(Some(&app.service), set, variables.clone()),
        );
        for (_, body) in [first, second] {
            assert!(body.get("errors").is_none(), "round {round}: {body}");
            assert_eq!(
                body["data"]["setMentorBookingStatus"]["status"],
                "CONFIRMED"
            );
        }
    }
}

#[tokio::test]
async fn booking_in_the_past_is_bad_input() {
    let app = TestApp::spawn().await;
    let mentor = app.create_member("导师甲", None, &[]).await;
    let member = app.create_member("会员甲", None, &[]).await;
    let (id, body) = booking(&app, &mentor, &member, -2).await;
    assert!(id.is_none());
    assert_eq!(body["errors"][0]["extensions"]["field"], "slotStart");
}

async fn recruit(app: &TestApp, owner: &str, count: i32) -> String {
    let data = app
        .query(
            &app.service,
            "mutation($input: CreateTeamRecruitInput!) { createTeamRecruit(input: $input) { id headcount status } }",
            json!({ "input": { "projectName": "智能客服", "stage": "种子轮", "roles": [{ "title": "技术合伙人", "count": count, "skills": ["Rust"] }], "ownerId": owner } }),
        )
        .await;
    assert_eq!(data["createTeamRecruit"]["headcount"], count);
    data["createTeamRecruit"]["id"].as_str().unwrap().to_owned()
}

const APPLY: &str = "mutation($input: ApplyToTeamRecruitInput!) { applyToTeamRecruit(input: $input) { application { id status } } }";
const SET_APPLICATION: &str = "mutation($id: ID!, $status: ApplicationStatus!) { setTeamApplicationStatus(id: $id, status: $status) { status recruit { status filledCount } } }";

#[tokio::test]
async fn applying_to_a_full_recruitment_is_a_conflict() {
    let app = TestApp::spawn().await;
    let owner = app.create_member("发起人", None, &[]).await;
    let a = app.create_member("申请人甲", None, &[]).await;
    let b = app.create_member("申请人乙", None, &[]).await;
    let recruit = recruit(&app, &owner, 1).await;
    let data = app
        .query(
            &app.service,
            APPLY,
            json!({ "input": { "recruitId": recruit, "memberId": a, "role": "技术合伙人" } }),
        )
        .await;
    let application = data["applyToTeamRecruit"]["application"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let accepted = app
        .query(
            &app.service,
            SET_APPLICATION,
            json!({ "id": application, "status": "ACCEPTED" }),
        )
        .await;
    assert_eq!(
        accepted["setTeamApplicationStatus"]["recruit"]["status"],
        "FULL"
    );
    assert_eq!(
        accepted["setTeamApplicationStatus"]["recruit"]["filledCount"],
        1
    );

    let (code, message) = app
        .query_error(
            &app.service,
            APPLY,
            json!({ "input": { "recruitId": recruit, "memberId": b, "role": "技术合伙人" } }),
        )
        .await;
    assert_eq!(code, "CONFLICT");
    assert!(message.contains("FULL"), "{message}");

    let withdrawn = app
        .query(
            &app.service,
            SET_APPLICATION,
            json!({ "id": application, "status": "WITHDRAWN" }),
        )
        .await;
    assert_eq!(
        withdrawn["setTeamApplicationStatus"]["recruit"]["status"],
        "RECRUITING"
    );
    assert_eq!(
        withdrawn["setTeamApplicationStatus"]["recruit"]["filledCount"],
        0
    );
}

#[tokio::test]
async fn applying_twice_or_for_an_unknown_role_is_refused() {
    let app = TestApp::spawn().await;
    let owner = app.create_member("发起人", None, &[]).await;
    let a = app.create_member("申请人甲", None, &[]).await;
    let recruit = recruit(&app, &owner, 2).await;
    app.query(
        &app.service,
        APPLY,
        json!({ "input": { "recruitId": recruit, "memberId": a, "role": "技术合伙人" } }),
    )
    .await;
    let (code, _) = app
        .query_error(
            &app.service,
            APPLY,
            json!({ "input": { "recruitId": recruit, "memberId": a, "role": "技术合伙人" } }),
        )
        .await;
    assert_eq!(code, "CONFLICT");
    let b = app.create_member("申请人乙", None, &[]).await;
    let (code, message) = app
        .query_error(
            &app.service,
            APPLY,
            json!({ "input": { "recruitId": recruit, "memberId": b, "role": "厨师" } }),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("技术合伙人"), "{message}");
}

#[tokio::test]
async fn a_resource_is_matched_once() {
    let app = TestApp::spawn().await;
    let owner = app.create_member("资源方", None, &[]).await;
    let a = app.create_member("对接甲", None, &[]).await;
    let b = app.create_member("对接乙", None, &[]).await;
    let data = app
        .query(&app.service, "mutation { createResourceMatch(input: { direction: OFFER, title: \"投资人引荐\", ownerId: \"1\" }) { id status } }", json!({}))
        .await;
    assert_eq!(owner, "1");
    let id = data["createResourceMatch"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let matched = app
        .query(&app.service, "mutation($id: ID!, $c: ID!) { matchResource(id: $id, counterpartId: $c) { resourceMatch { status counterpart { id } } } }", json!({ "id": id, "c": a }))
        .await;
    assert_eq!(
        matched["matchResource"]["resourceMatch"]["status"],
        "MATCHED"
    );
    assert_eq!(
        matched["matchResource"]["resourceMatch"]["counterpart"]["id"],
        a.as_str()
    );
    let (code, _) = app
        .query_error(&app.service, "mutation($id: ID!, $c: ID!) { matchResource(id: $id, counterpartId: $c) { resourceMatch { status } } }", json!({ "id": id, "c": b }))
        .await;
    assert_eq!(code, "CONFLICT");
}
