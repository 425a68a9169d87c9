//! The find-partner console at /admin, in headless Chromium.

use std::collections::HashMap;

use partner_gateway::http::pages::OVERVIEW_QUERY;
use serde_json::{json, Value};

use crate::support::{
    console_problems, eventually, foreign_urls, page_metrics, Browser, Gateway, GatewayProcess,
};

/// Waits until the console shows `screen` loaded for `window`, and fails with the console's
/// error list if the screen failed.
async fn wait_for_screen(browser: &Browser, screen: &str, window: &str) {
    let script = format!(
        "const s = document.getElementById('screen');
         if (s.dataset.status === 'error') {{
           throw new Error('screen failed: ' + document.getElementById('errors').textContent);
         }}
         return s.dataset.screen === '{screen}' && s.dataset.status === 'ready'
           && s.dataset.window === '{window}';"
    );
    browser
        .wait_until(&format!("screen {screen} ({window})"), 30, &script)
        .await;
}

/// Parses the number a metric shows, without thousands separators.
fn metric_int(metrics: &HashMap<String, String>, key: &str) -> i64 {
    let text = metrics
        .get(key)
        .unwrap_or_else(|| panic!("the page shows no metric {key}"));
    text.replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("metric {key} is not a whole number: {text:?}"))
}

/// Checks a rate the page shows as a percentage with one decimal against the API's 0-to-1
/// value, or — for null.
fn assert_rate(metrics: &HashMap<String, String>, key: &str, expected: &Value) {
    let text = metrics
        .get(key)
        .unwrap_or_else(|| panic!("the page shows no metric {key}"));
    match expected.as_f64() {
        None => assert_eq!(text, "—", "metric {key}"),
        Some(rate) => {
            let shown: f64 = text
                .trim_end_matches('%')
                .parse()
                .unwrap_or_else(|_| panic!("metric {key} is not a percentage: {text:?}"));
            assert!(
                (shown - rate * 100.0).abs() <= 0.051,
                "metric {key}: page {text}, API {rate}"
            );
        }
    }
}

/// Compares every number of the overview screen with the API's response for the same window.
fn assert_overview_matches(metrics: &HashMap<String, String>, overview: &Value) {
    for tab in overview["tabs"].as_array().unwrap() {
        let key = format!("tab.{}", tab["key"].as_str().unwrap());
        assert_eq!(metric_int(metrics, &key), tab["count"], "{key}");
    }
    for kind in overview["matchesByKind"].as_array().unwrap() {
        for field in [
            "matches",
            "matchesWithLead",
            "leadsAccepted",
            "friendsAdded",
        ] {
            let key = format!("kind.{}.{field}", kind["kind"].as_str().unwrap());
            assert_eq!(metric_int(metrics, &key), kind[field], "{key}");
        }
    }
    let totals = &overview["totals"];
    for field in [
        "matches",
        "matchesWithLead",
        "matchLeadsAccepted",
        "matchFriendsAdded",
    ] {
        let key = format!("totals.{field}");
        assert_eq!(metric_int(metrics, &key), totals[field], "{key}");
    }
    for field in [
        "submitted",
        "created",
        "existing",
        "pending",
        "rejected",
        "failed",
        "accepted",
        "friendsAdded",
    ] {
        let key = format!("totals.leads.{field}");
        assert_eq!(metric_int(metrics, &key), totals["leads"][field], "{key}");
    }
    assert_rate(
        metrics,
        "totals.leads.deliverySuccessRate",
        &totals["leads"]["deliverySuccessRate"],
    );
    for plan in overview["plans"].as_array().unwrap() {
        let id = plan["plan"]["id"].as_str().unwrap();
        for field in [
            "submitted",
            "created",
            "existing",
            "pending",
            "rejected",
            "failed",
        ] {
            let key = format!("plan.{id}.{field}");
            assert_eq!(metric_int(metrics, &key), plan["local"][field], "{key}");
        }
        for field in ["acquired", "processed", "passed"] {
            let key = format!("plan.{id}.{field}");
            assert_eq!(metric_int(metrics, &key), plan["remote"][field], "{key}");
        }
        assert_rate(
            metrics,
            &format!("plan.{id}.addSuccessRate"),
            &plan["addSuccessRate"],
        );
    }
}

async fn overview_over_http(gateway: &Gateway, window: &str) -> Value {
    gateway
        .query(OVERVIEW_QUERY, json!({ "window": window }))
        .await["findPartnerOverview"]
        .clone()
}

async fn log_in(browser: &Browser, gateway: &Gateway) {
    log_in_at(browser, &gateway.base, &gateway.admin).await;
}

/// Opens the console at `base` and logs in with `token`.
async fn log_in_at(browser: &Browser, base: &str, token: &str) {
    browser
        .client
        .goto(&format!("{base}/admin"))
        .await
        .expect("console opens");
    browser
        .wait_until(
            "the token form",
            10,
            "return !document.getElementById('login').hidden;",
        )
        .await;
    let field = browser
        .client
        .find(fantoccini::Locator::Id("token"))
        .await
        .expect("token field");
    field.send_keys(token).await.expect("token typed");
    browser.click("#login-form button[type=submit]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and ChromeDriver: apt-get install chromium chromium-driver"]
async fn console_shows_the_apis_numbers() {
    let gateway = Gateway::start(&[]).await;
    let browser = Browser::start().await;
    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(walk_console(
        &browser, &gateway,
    )))
    .await;
    browser.close().await;
    gateway.shutdown().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and ChromeDriver: apt-get install chromium chromium-driver"]
async fn console_times_follow_utc_offset() {
    // A gateway process of its own: the day counters' offset is one setting per process, and
    // this test's offset must not reach the gateways of the tests running beside it.
    let gateway = GatewayProcess::start(&["--utc-offset-hours", "-5"]).await;
    let browser = Browser::start().await;
    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(async {
        log_in_at(&browser, &gateway.base, &gateway.admin).await;
        wait_for_screen(&browser, "overview", "LAST_7_DAYS").await;
        browser.click("button[data-window=TODAY]").await;
        wait_for_screen(&browser, "overview", "TODAY").await;
        let line = browser
            .eval("return document.querySelector('#screen .toolbar .muted').textContent;")
            .await;
        let line = line.as_str().unwrap().to_owned();
        // TODAY starts at midnight at UTC−5, so a console on Beijing time would show 13:00:00.
        assert!(line.contains(" 00:00:00 起"), "{line}");
        assert!(line.contains("（UTC−5）"), "{line}");
        let since = gateway
            .query("{ findPartnerOverview(window: TODAY) { since } }")
            .await["findPartnerOverview"]["since"]
            .clone();
        let since: chrono::DateTime<chrono::Utc> = since.as_str().unwrap().parse().unwrap();
        let local = since.with_timezone(&chrono::FixedOffset::west_opt(5 * 3600).unwrap());
        assert!(
            line.contains(&local.format("%Y/%m/%d 00:00:00").to_string()),
            "{line} does not show {local}"
        );
    }))
    .await;
    browser.close().await;
    drop(gateway);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn walk_console(browser: &Browser, gateway: &Gateway) {
    log_in(browser, gateway).await;

    // The overview shows the API's numbers for the default window, 近7天.
    wait_for_screen(browser, "overview", "LAST_7_DAYS").await;
    let url = browser.eval("return location.href;").await;
    assert!(
        !url.as_str().unwrap().contains(&gateway.admin),
        "the token is in the URL: {url}"
    );
    let stored = browser
        .eval("return sessionStorage.getItem('partner-gateway.admin-token');")
        .await;
    assert_eq!(stored, Value::String(gateway.admin.clone()));
    let metrics = page_metrics(browser).await;
    let overview = overview_over_http(gateway, "LAST_7_DAYS").await;
    assert_overview_matches(&metrics, &overview);
    assert!(
        metric_int(&metrics, "tab.MATCH_RECORDS") > 0,
        "the demo has matches in the last 7 days"
    );
    assert!(
        metric_int(&metrics, "plan.1.acquired") > 0,
        "CKB's numbers reached the page"
    );
    browser.screenshot("overview").await;

    // Each window shows that window's numbers.
    for window in ["TODAY", "LAST_30_DAYS", "ALL"] {
        browser
            .click(&format!("button[data-window={window}]"))
            .await;
        wait_for_screen(browser, "overview", window).await;
        let metrics = page_metrics(browser).await;
        let overview = overview_over_http(gateway, window).await;
        assert_overview_matches(&metrics, &overview);
    }

    // Every tab opens without an error and lists records.
    for (screen, list) in [
        ("matches", "table"),
        ("pools", "table"),
        ("bookings", "table"),
        ("resources", "table"),
        ("recruits", "table"),
        ("plans", "section.plan"),
    ] {
        browser
            .click(&format!("#tabs a[data-screen={screen}]"))
            .await;
        wait_for_screen(browser, screen, "ALL").await;
        let rows = browser
            .eval(&format!(
                "return document.querySelectorAll('#screen {list}').length;"
            ))
            .await;
        assert!(rows.as_u64().unwrap() > 0, "tab {screen} shows no {list}");
        let errors_hidden = browser
            .eval("return document.getElementById('errors').hidden;")
            .await;
        assert_eq!(
            errors_hidden,
            Value::Bool(true),
            "tab {screen} shows an error"
        );
        browser.screenshot(&format!("tab-{screen}")).await;
    }

    match_records_page_and_filter(browser).await;
    select_a_pool(browser, gateway).await;
    retry_a_rejected_lead(browser, gateway).await;
    send_a_test_lead(browser).await;

    // Nothing the console loaded came from anywhere but the gateway.
    let loaded = browser.loaded_urls().await;
    assert!(
        loaded
            .iter()
            .any(|url| url.contains("/assets/admin/main.js")),
        "the resource list misses the console's script: {loaded:?}"
    );
    assert_eq!(foreign_urls(&gateway.base, &loaded), Vec::<String>::new());
    let requested = browser.requested_urls().await;
    assert!(
        requested.iter().any(|url| url.ends_with("/graphql")),
        "the performance log misses the API requests: {requested:?}"
    );
    assert_eq!(
        foreign_urls(&gateway.base, &requested),
        Vec::<String>::new()
    );
    assert_eq!(
        console_problems(&browser.log("browser").await),
        Vec::<String>::new()
    );
}

async fn match_records_page_and_filter(browser: &Browser) {
    browser.click("#tabs a[data-screen=matches]").await;
    wait_for_screen(browser, "matches", "ALL").await;
    browser.click("#screen button[data-next]").await;
    browser
        .wait_until(
            "the second page of match records",
            30,
            "return document.getElementById('screen').dataset.status === 'ready'
               && document.querySelector('.pager span').textContent.includes('第 2 页');",
        )
        .await;

    // Filtering on the friend status PASSED lists only matches whose friend was added.
    browser
        .eval(
            "document.getElementById('filter-friendStatus').value = 'PASSED';
             return true;",
        )
        .await;
    browser
        .click("#screen form.filters button[type=submit]")
        .await;
    browser
        .wait_until(
            "the filtered match records",
            30,
            "return document.getElementById('screen').dataset.status === 'ready'
               && document.querySelector('.pager span').textContent.includes('第 1 页');",
        )
        .await;
    let statuses = browser
        .eval(
            "return Array.from(document.querySelectorAll('#screen tbody tr'))
               .map(row => row.lastElementChild.querySelector('[data-enum]')?.dataset.enum ?? '');",
        )
        .await;
    let statuses = statuses.as_array().unwrap();
    assert!(!statuses.is_empty(), "no match led to an added friend");
    assert!(
        statuses.iter().all(|status| status == "PASSED"),
        "friend statuses in the filtered list: {statuses:?}"
    );
}

async fn select_a_pool(browser: &Browser, gateway: &Gateway) {
    browser.click("#tabs a[data-screen=pools]").await;
    wait_for_screen(browser, "pools", "ALL").await;
    // Pool 2 (创业合伙·VIP) is an enabled pool of kind PARTNER that the demo does not select.
    browser.click("button[data-select-pool='2']").await;
    browser
        .wait_until(
            "pool 2 selected",
            30,
            "const badge = document.querySelector('[data-selected=\"2\"]');
             return badge !== null
               && document.querySelector('[data-selected-pool=PARTNER]').textContent === '创业合伙·VIP';",
        )
        .await;
    let selected = gateway
        .query("{ selectedPartnerPool(kind: PARTNER) { id } }", json!({}))
        .await;
    assert_eq!(selected["selectedPartnerPool"]["id"], "2");
}

async fn retry_a_rejected_lead(browser: &Browser, gateway: &Gateway) {
    // CKB does not know this plan's apiKey, so it rejects the plan's leads, retries included.
    let plan = gateway
        .query(
            "mutation($input: CreateCkbPlanInput!) { createCkbPlan(input: $input) { id } }",
            json!({ "input": {
                "name": "密钥错误的计划",
                "apiKey": "wrong-00000-11111-22222-33333",
                "endpoint": gateway.simulator.base_url(),
                "purpose": "INTEGRATOR",
            } }),
        )
        .await;
    let receipt = gateway
        .query(
            "mutation($input: SubmitLeadInput!) { submitLead(input: $input) { lead { id deliveryStatus } } }",
            json!({ "input": {
                "planId": plan["createCkbPlan"]["id"],
                "phone": "13800138000",
                "name": "重试测试",
            } }),
        )
        .await;
    let lead_id = receipt["submitLead"]["lead"]["id"].as_str().unwrap();
    let is_rejected = || async {
        let data = gateway
            .query(
                "query($id: ID!) { ckbLead(id: $id) { deliveryStatus } }",
                json!({ "id": lead_id }),
            )
            .await;
        data["ckbLead"]["deliveryStatus"] == "REJECTED"
    };
    assert!(
        eventually(30, is_rejected).await,
        "CKB did not reject the lead"
    );

    browser.click("#tabs a[data-screen=plans]").await;
    wait_for_screen(browser, "plans", "ALL").await;
    let button = format!("[data-leads=REJECTED] button[data-retry-lead='{lead_id}']");
    browser.click(&button).await;
    let result = format!("document.querySelector(\"{button}\").nextElementSibling.textContent");
    browser
        .wait_until(
            "the retry's result",
            30,
            &format!("return {result} !== '';"),
        )
        .await;
    let errors_hidden = browser
        .eval("return document.getElementById('errors').hidden;")
        .await;
    assert_eq!(
        errors_hidden,
        Value::Bool(true),
        "the retry showed an error"
    );

    // The console shows the lead as CKB left it within the lead wait: rejected again, or
    // pending when CKB was slow, in which case the delivery worker finishes the attempt.
    let retry_text = browser.eval(&format!("return {result};")).await;
    let retry_text = retry_text.as_str().unwrap();
    assert!(
        retry_text.contains("被拒绝") || retry_text.contains("待投递"),
        "the retry's result: {retry_text}"
    );
    assert!(
        eventually(30, is_rejected).await,
        "the retried lead did not end REJECTED"
    );
}

async fn send_a_test_lead(browser: &Browser) {
    browser.click("#tabs a[data-screen=plans]").await;
    wait_for_screen(browser, "plans", "ALL").await;
    let key = browser
        .eval("return document.querySelector('[data-api-key=\"1\"]').textContent;")
        .await;
    assert!(
        key.as_str().unwrap().starts_with("****"),
        "the apiKey is not masked: {key}"
    );

    browser.click("button[data-send-test-lead='1']").await;
    browser
        .wait_until(
            "CKB's answer to the test lead",
            30,
            "return document.querySelector('[data-test-output=\"1\"] [data-ckb-message]') !== null
               || !document.getElementById('errors').hidden;",
        )
        .await;
    let message = browser
        .eval(
            "const m = document.querySelector('[data-test-output=\"1\"] [data-ckb-message]');
             return m ? m.textContent : document.getElementById('errors').textContent;",
        )
        .await;
    let message = message.as_str().unwrap();
    assert!(
        message == "新增成功" || message == "已存在",
        "CKB's message: {message}"
    );

    let body = browser
        .eval("return document.querySelector('[data-test-output=\"1\"] [data-code=test-body]').textContent;")
        .await;
    assert!(
        body.as_str().unwrap().contains(message),
        "the raw body does not carry the message: {body}"
    );

    browser
        .eval("document.querySelectorAll('details.interface').forEach(d => { d.open = true; }); return true;")
        .await;
    browser.screenshot("plans").await;
}
