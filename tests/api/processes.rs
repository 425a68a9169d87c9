//! The gateway as separate processes: SIGTERM under load, and two replicas on one database
//! with one killed.

use std::{collections::HashSet, sync::Arc, time::Duration};

use partner_gateway::ckb::simulator::{Faults, SimulatorConfig};
use serde_json::json;
use tokio::sync::Mutex;

use crate::support::{
    cli_token, eventually, post_to, process_database, spawn_ckb_with, GatewayProcess, CKB_KEY,
};

const SUBMIT: &str = "mutation($input: SubmitLeadInput!) { submitLead(input: $input) { lead { id deliveryStatus } } }";
const CREATE_PLAN: &str =
    "mutation($input: CreateCkbPlanInput!) { createCkbPlan(input: $input) { id } }";
const PENDING: &str =
    "{ ckbLeads(filter: { deliveryStatus: PENDING }) { totalCount } all: ckbLeads { totalCount } }";

/// Settings for gateway processes: short waits and leases so the tests run in seconds.
const PROCESS_SETTINGS: &[&str] = &[
    "--lead-wait-ms",
    "100",
    "--ckb-timeout-ms",
    "2000",
    "--lead-lease-secs",
    "3",
    "--lead-backoff-ms",
    "100",
    "--lead-backoff-max-ms",
    "500",
    "--outbox-poll-ms",
    "100",
    "--rate-leads-per-minute",
    "1000000",
    "--shutdown-timeout-secs",
    "10",
];

#[tokio::test]
async fn sigterm_under_load_loses_no_accepted_lead() {
    let ckb = spawn_ckb_with(SimulatorConfig {
        faults: Faults {
            latency: Duration::from_millis(20),
            ..Faults::default()
        },
        ..SimulatorConfig::default()
    })
    .await;
    let (_dir, database_url) = process_database().await;
    let admin = cli_token(&database_url, "ADMIN", "shutdown-test");
    let gateway = GatewayProcess::start(&database_url, PROCESS_SETTINGS).await;
    let client = reqwest::Client::new();
    post_to(&client, &gateway.base, &admin, CREATE_PLAN, json!({ "input": { "name": "外部表单", "apiKey": CKB_KEY, "endpoint": ckb.base_url(), "purpose": "INTEGRATOR" } }))
        .await
        .unwrap();

    let accepted = Arc::new(Mutex::new(Vec::new()));
    let mut senders = Vec::new();
    for worker in 0..8 {
        let (client, base, admin, accepted) = (
            client.clone(),
            gateway.base.clone(),
            admin.clone(),
            Arc::clone(&accepted),
        );
        senders.push(tokio::spawn(async move {
            for n in 0..100 {
                let phone = format!("137{worker:02}{n:06}");
                let Some((status, body)) = post_to(
                    &client,
                    &base,
                    &admin,
                    SUBMIT,
                    json!({ "input": { "phone": phone } }),
                )
                .await
                else {
                    break;
                };
                if status.is_success() && body.get("errors").is_none() {
                    accepted.lock().await.push(phone);
                }
            }
        }));
    }
    let loaded = eventually(30, || async { accepted.lock().await.len() >= 150 }).await;
    assert!(loaded, "the gateway did not accept leads under load");
    gateway.sigterm();
    for sender in senders {
        sender.await.unwrap();
    }
    assert!(
        gateway.wait().await,
        "the gateway did not exit cleanly after SIGTERM"
    );

    // Every lead the gateway answered for is stored; a restarted gateway delivers those still
    // pending, each once.
    let accepted: Vec<String> = accepted.lock().await.clone();
    let restarted = GatewayProcess::start(&database_url, PROCESS_SETTINGS).await;
    let delivered = eventually(30, || async {
        let (_, body) = post_to(&client, &restarted.base, &admin, PENDING, json!({}))
            .await
            .unwrap();
        body["data"]["ckbLeads"]["totalCount"] == 0
    })
    .await;
    assert!(delivered, "leads stayed pending after the restart");
    let (_, body) = post_to(&client, &restarted.base, &admin, PENDING, json!({}))
        .await
        .unwrap();
    let stored = body["data"]["all"]["totalCount"].as_u64().unwrap() as usize;
    assert!(
        stored >= accepted.len(),
        "{} leads were accepted but only {stored} stored",
        accepted.len()
    );
    let counts = ckb.counts();
    for phone in &accepted {
        let created = counts
            .identifiers
            .get(phone)
            .map(|c| c.created)
            .unwrap_or(0);
        assert_eq!(
            created, 1,
            "accepted lead {phone} reached CKB {created} times"
        );
    }
}

#[tokio::test]
async fn two_replicas_deliver_every_lead_once_when_one_is_killed() {
    const LEADS: usize = 1000;
    let ckb = spawn_ckb_with(SimulatorConfig {
        faults: Faults {
            latency: Duration::from_millis(20),
            ..Faults::default()
        },
        ..SimulatorConfig::default()
    })
    .await;
    let (_dir, database_url) = process_database().await;
    let admin = cli_token(&database_url, "ADMIN", "replica-test");
    let first = GatewayProcess::start(&database_url, PROCESS_SETTINGS).await;
    let second = GatewayProcess::start(&database_url, PROCESS_SETTINGS).await;
    let client = reqwest::Client::new();
    post_to(&client, &first.base, &admin, CREATE_PLAN, json!({ "input": { "name": "外部表单", "apiKey": CKB_KEY, "endpoint": ckb.base_url(), "purpose": "INTEGRATOR" } }))
        .await
        .unwrap();

    let bases = [first.base.clone(), second.base.clone()];
    let submitted = Arc::new(Mutex::new(HashSet::new()));
    let killed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = Vec::new();
    for worker in 0..10 {
        let (client, bases, admin, submitted, killed) = (
            client.clone(),
            bases.clone(),
            admin.clone(),
            Arc::clone(&submitted),
            Arc::clone(&killed),
        );
        senders.push(tokio::spawn(async move {
            for n in 0..LEADS / 10 {
                let phone = format!("136{worker:02}{n:06}");
                // Alternate between the replicas; after the kill, only the survivor answers.
                let mut target = (worker + n) % 2;
                loop {
                    if killed.load(std::sync::atomic::Ordering::SeqCst) {
                        target = 1;
                    }
                    // The idempotency key makes a retry of a lead the killed replica stored
                    // return that lead instead of storing a second one.
                    let input = json!({ "phone": phone, "idempotencyKey": phone });
                    if let Some((status, body)) = post_to(
                        &client,
                        &bases[target],
                        &admin,
                        SUBMIT,
                        json!({ "input": input }),
                    )
                    .await
                    {
                        assert!(
                            status.is_success() && body.get("errors").is_none(),
                            "{body}"
                        );
                        submitted.lock().await.insert(phone);
                        break;
                    }
                    // The request died with the killed replica; the client retries on the
                    // survivor. The lead may or may not have been stored.
                    target = 1;
                }
            }
        }));
    }
    let halfway = eventually(60, || async { submitted.lock().await.len() >= LEADS / 2 }).await;
    assert!(halfway);
    first.sigkill();
    killed.store(true, std::sync::atomic::Ordering::SeqCst);
    for sender in senders {
        sender.await.unwrap();
    }
    assert_eq!(submitted.lock().await.len(), LEADS);

    // The survivor finishes everything, including leads the killed replica had claimed.
    let done = eventually(60, || async {
        let (_, body) = post_to(&client, &second.base, &admin, PENDING, json!({}))
            .await
            .unwrap();
        body["data"]["ckbLeads"]["totalCount"] == 0
    })
    .await;
    assert!(done, "leads stayed pending on the survivor");

    let counts = ckb.counts();
    let mut sent_twice = 0;
    for phone in submitted.lock().await.iter() {
        let per_id = counts.identifiers.get(phone).cloned().unwrap_or_default();
        assert_eq!(
            per_id.created, 1,
            "lead {phone} was created {} times in CKB",
            per_id.created
        );
        if per_id.requests > 1 {
            sent_twice += 1;
        }
    }
    assert_eq!(counts.outcomes.created, LEADS as u64);
    let (_, body) = post_to(&client, &second.base, &admin, PENDING, json!({}))
        .await
        .unwrap();
    assert_eq!(
        body["data"]["all"]["totalCount"], LEADS,
        "a retried submission stored a second lead"
    );
    // A lead the killed replica was sending when it died is sent again after its lease runs
    // out; CKB answers 已存在 and creates nothing.
    println!("replicas: {LEADS} of {LEADS} leads created once each in CKB; leads sent a second time after the kill (answered 已存在): {sent_twice}");
}

#[tokio::test]
async fn concurrent_migrations_apply_once() {
    let (_database, url) = process_database().await;
    // Each `migrate apply` is its own process, as replicas started together would be.
    let runs: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            tokio::task::spawn_blocking(move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_partner-gateway"))
                    .args(["migrate", "apply", "--database-url", &url])
                    .output()
                    .expect("partner-gateway runs")
            })
        })
        .collect();
    for run in runs {
        let output = run.await.unwrap();
        assert!(
            output.status.success(),
            "a concurrent migrate failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_partner-gateway"))
        .args(["migrate", "status", "--database-url", &url])
        .output()
        .unwrap();
    let status = String::from_utf8(status.stdout).unwrap();
    assert!(
        !status.is_empty() && !status.to_lowercase().contains("pending"),
        "{status}"
    );
}
