//! Injected faults: HTML 500 pages, dropped and hung connections, a server
//! that is down, and latency.

use std::time::{Duration, Instant};

use partner_gateway::ckb::simulator::{Faults, SimulatorConfig};
use serde_json::json;

use crate::helpers::{client, default_config, start, success_body};

#[tokio::test]
async fn error_rate_answers_html_500() {
    let test = start(SimulatorConfig {
        faults: Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
        ..default_config()
    })
    .await;

    let answer = test.submit(json!({"phone": "1"})).await;

    assert_eq!(answer.status, 500);
    assert_eq!(
        answer.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert!(answer.text.contains("页面错误！请稍后再试～"));
    assert!(test.sim.plan_leads(1).is_empty());
    let counts = test.sim.counts();
    assert_eq!(counts.lead_requests, 1);
    assert_eq!(counts.faults.error_pages, 1);
    assert_eq!(counts.outcomes.created, 0);
}

#[tokio::test]
async fn error_rate_spares_management_api() {
    let test = start(SimulatorConfig {
        faults: Faults {
            error_rate: 1.0,
            drop_rate: 1.0,
            ..Faults::default()
        },
        ..default_config()
    })
    .await;

    let token = test.login().await;

    assert!(!token.is_empty());
}

#[tokio::test]
async fn drop_rate_closes_connection_unanswered() {
    let test = start(default_config()).await;
    test.sim.set_faults(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    });

    let result = test
        .client
        .post(test.url("/v1/api/scenarios"))
        .json(&test.lead(json!({"phone": "1"})))
        .send()
        .await;

    let error = result.expect_err("a dropped request has no response");
    assert!(!error.is_timeout(), "{error}");
    assert!(test.sim.plan_leads(1).is_empty());
    assert_eq!(test.sim.counts().faults.dropped, 1);
}

#[tokio::test]
async fn fault_after_processing_keeps_lead() {
    let test = start(default_config()).await;
    test.sim.set_faults(Faults {
        drop_rate: 1.0,
        process_before_fault: true,
        ..Faults::default()
    });
    let params = test.lead(json!({"phone": "13800000000"}));

    let lost = test
        .client
        .post(test.url("/v1/api/scenarios"))
        .json(&params)
        .send()
        .await;
    test.sim.set_faults(Faults::default());
    let retry = test.post_json(&params).await;

    assert!(lost.is_err());
    assert_eq!(retry.text, success_body("已存在", "13800000000"));
    let counts = test.sim.counts();
    assert_eq!(counts.identifiers["13800000000"].created, 1);
    assert_eq!(counts.identifiers["13800000000"].requests, 2);
}

#[tokio::test]
async fn timeout_rate_hangs_request() {
    let test = start(default_config()).await;
    test.sim.set_faults(Faults {
        timeout_rate: 1.0,
        ..Faults::default()
    });
    let impatient = client(Duration::from_millis(300));

    let started = Instant::now();
    let result = impatient
        .post(test.url("/v1/api/scenarios"))
        .json(&test.lead(json!({"phone": "1"})))
        .send()
        .await;

    let error = result.expect_err("a hung request has no response");
    assert!(error.is_timeout(), "{error}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(test.sim.counts().faults.hung, 1);
    assert!(test.sim.plan_leads(1).is_empty());
}

#[tokio::test]
async fn shutdown_ends_hung_requests() {
    let test = start(default_config()).await;
    test.sim.set_faults(Faults {
        timeout_rate: 1.0,
        ..Faults::default()
    });
    let request = test
        .client
        .post(test.url("/v1/api/scenarios"))
        .json(&test.lead(json!({"phone": "1"})))
        .send();
    let pending = tokio::spawn(request);
    while test.sim.counts().faults.hung == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), test.sim.shutdown())
        .await
        .expect("shutdown finishes while a request hangs");
    let result = pending.await.unwrap();

    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(result.is_err());
}

#[tokio::test]
async fn down_closes_every_ckb_path() {
    let test = start(default_config()).await;
    test.sim.set_faults(Faults {
        down: true,
        ..Faults::default()
    });

    let lead = test
        .client
        .post(test.url("/v1/api/scenarios"))
        .json(&test.lead(json!({"phone": "1"})))
        .send()
        .await;
    let login = test
        .client
        .post(test.url("/v1/auth/login"))
        .json(&json!({"account": "ckb-demo"}))
        .send()
        .await;
    let unknown = test.client.get(test.url("/v1/nothing")).send().await;
    let counts = test.send(test.client.get(test.url("/__sim/counts"))).await;

    assert!(lead.is_err());
    assert!(login.is_err());
    assert!(unknown.is_err());
    assert_eq!(counts.status, 200);
    assert_eq!(counts.json()["faults"]["refusedWhileDown"], 3);
    assert_eq!(test.sim.counts().lead_requests, 0);
}

#[tokio::test]
async fn server_recovers_after_down() {
    let test = start(default_config()).await;
    test.sim.set_faults(Faults {
        down: true,
        ..Faults::default()
    });
    let during = test
        .client
        .post(test.url("/v1/api/scenarios"))
        .json(&test.lead(json!({"phone": "1"})))
        .send()
        .await;

    test.sim.set_faults(Faults::default());
    let after = test.submit(json!({"phone": "1"})).await;

    assert!(during.is_err());
    assert_eq!(after.text, success_body("新增成功", "1"));
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let test = start(default_config()).await;
    test.sim.set_faults(Faults {
        latency: Duration::from_millis(300),
        ..Faults::default()
    });

    let started = Instant::now();
    let lead = test.submit(json!({"phone": "1"})).await;
    let lead_elapsed = started.elapsed();
    let started = Instant::now();
    test.login().await;
    let login_elapsed = started.elapsed();

    assert_eq!(lead.text, success_body("新增成功", "1"));
    assert!(
        lead_elapsed >= Duration::from_millis(300),
        "{lead_elapsed:?}"
    );
    assert!(
        login_elapsed >= Duration::from_millis(300),
        "{login_elapsed:?}"
    );
}

#[tokio::test]
async fn fault_rates_split_requests() {
    // With rates of one half, a seeded run of 40 requests gets both
    // successful and failed requests, and every request is counted once.
    let test = start(SimulatorConfig {
        seed: 7,
        ..default_config()
    })
    .await;
    test.sim.set_faults(Faults {
        error_rate: 0.5,
        ..Faults::default()
    });

    let mut answered = 0;
    let mut failed = 0;
    for index in 0..40 {
        let answer = test.submit(json!({ "phone": format!("{index}") })).await;
        match answer.status {
            200 => answered += 1,
            500 => failed += 1,
            other => panic!("unexpected HTTP status {other}"),
        }
    }

    assert!(answered > 0);
    assert!(failed > 0);
    let counts = test.sim.counts();
    assert_eq!(counts.outcomes.created, answered);
    assert_eq!(counts.faults.error_pages, failed);
}
