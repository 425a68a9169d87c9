//! GraphiQL at /graphiql, in headless Chromium, with every file served by the gateway.

use serde_json::Value;

use crate::support::{console_problems, foreign_urls, Browser, Gateway};

/// Reads the text of every CodeMirror editor on the page, in page order.
async fn editors(browser: &Browser) -> Vec<String> {
    let texts = browser
        .eval(
            "return Array.from(document.querySelectorAll('.CodeMirror'))
               .map(e => e.CodeMirror.getValue());",
        )
        .await;
    serde_json::from_value(texts).expect("a list of editor texts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and ChromeDriver: apt-get install chromium chromium-driver"]
async fn graphiql_runs_the_overview_offline() {
    let gateway = Gateway::start(&[]).await;
    let browser = Browser::start().await;
    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
        run_overview_in_graphiql(&browser, &gateway),
    ))
    .await;
    browser.close().await;
    gateway.shutdown().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn run_overview_in_graphiql(browser: &Browser, gateway: &Gateway) {
    browser
        .client
        .goto(&format!("{}/graphiql", gateway.base))
        .await
        .expect("GraphiQL opens");
    browser
        .wait_until(
            "GraphiQL's editors",
            30,
            "return document.querySelectorAll('.graphiql-container .CodeMirror').length >= 3;",
        )
        .await;

    // The example tab contains the overview query, and the headers start ready to fill.
    let texts = editors(browser).await;
    assert!(
        texts
            .iter()
            .any(|text| text.contains("findPartnerOverview")),
        "no editor holds the overview query: {texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|text| text.trim() == r#"{"Authorization": "Bearer "}"#),
        "no editor holds the empty Authorization header: {texts:?}"
    );

    // Before a token is filled in, the result pane shows what to do.
    browser
        .wait_until(
            "the token hint in the result pane",
            30,
            "const result = document.querySelector('.result-window .CodeMirror');
             return result !== null && result.CodeMirror.getValue().includes('Fill in your token');",
        )
        .await;

    // With the token filled in, the query runs against /graphql and returns the overview.
    let script = format!(
        "const editor = Array.from(document.querySelectorAll('.CodeMirror'))
           .find(e => e.CodeMirror.getValue().includes('Authorization'));
         editor.CodeMirror.setValue('{{\"Authorization\": \"Bearer {}\"}}');
         return true;",
        gateway.admin
    );
    browser.eval(&script).await;
    browser.click(".graphiql-execute-button").await;
    browser
        .wait_until(
            "the overview in the result pane",
            30,
            "const result = document.querySelector('.result-window .CodeMirror');
             return result !== null && result.CodeMirror.getValue().includes('\"matchesByKind\"');",
        )
        .await;
    let result = browser
        .eval("return document.querySelector('.result-window .CodeMirror').CodeMirror.getValue();")
        .await;
    let result: Value = serde_json::from_str(result.as_str().unwrap()).expect("JSON result");
    assert!(
        result.get("errors").is_none(),
        "errors in GraphiQL: {result}"
    );
    assert_eq!(
        result["data"]["findPartnerOverview"]["window"],
        "LAST_7_DAYS"
    );

    // The settings dialog opens, and its scroll lock passes the page's style hash.
    browser
        .click(".graphiql-sidebar button[aria-label='Open settings dialog']")
        .await;
    browser
        .wait_until(
            "the settings dialog",
            10,
            "return document.querySelector('[role=dialog]') !== null
               && document.querySelector('style') !== null;",
        )
        .await;

    // GraphiQL came from the gateway alone, with no request leaving the machine.
    let loaded = browser.loaded_urls().await;
    assert!(
        loaded
            .iter()
            .any(|url| url.contains("/assets/vendor/graphiql.min.js")),
        "the resource list misses GraphiQL's script: {loaded:?}"
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
    let problems: Vec<String> = console_problems(&browser.log("browser").await)
        .into_iter()
        // GraphiQL reads the schema when it opens, before a token is filled in, and the
        // gateway rejects that request with 401.
        .filter(|problem| !problem.contains("401"))
        .collect();
    assert_eq!(problems, Vec::<String>::new());
}
