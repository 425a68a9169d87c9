//! Prometheus metrics, served at `/metrics`.
//!
//! Each gateway owns its registry (no global recorder), so several gateways in one process, as
//! in the tests, keep separate numbers. Labels are bounded: GraphQL requests are labelled by
//! their root field, which the schema limits, never by a client-chosen operation name.

use std::sync::atomic::Ordering;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::state::AppState;

/// Latency buckets in seconds, from 1 ms to 30 s.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

pub struct Metrics {
    registry: Registry,
    /// Requests by route, GraphQL root field and outcome.
    pub requests: IntCounterVec,
    pub request_seconds: HistogramVec,
    /// Calls to CKB by call and outcome.
    pub ckb_calls: IntCounterVec,
    pub ckb_call_seconds: HistogramVec,
    outbox_pending: IntGauge,
    outbox_oldest_pending_seconds: IntGauge,
    stats_cache_hits: IntCounter,
    stats_cache_misses: IntCounter,
    db_statements: IntCounter,
}

impl Metrics {
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("pgw".into()), None).expect("a valid metric prefix");
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route, GraphQL operation (root field) and outcome",
            ),
            &["route", "operation", "outcome"],
        )
        .expect("valid metric");
        let request_seconds = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route and GraphQL operation",
            )
            .buckets(BUCKETS.to_vec()),
            &["route", "operation"],
        )
        .expect("valid metric");
        let ckb_calls = IntCounterVec::new(
            Opts::new(
                "ckb_calls_total",
                "Calls to CKB by call (lead, login, plan_list, user_list) and outcome",
            ),
            &["call", "outcome"],
        )
        .expect("valid metric");
        let ckb_call_seconds = HistogramVec::new(
            HistogramOpts::new(
                "ckb_call_duration_seconds",
                "Latency of calls to CKB by call and outcome",
            )
            .buckets(BUCKETS.to_vec()),
            &["call", "outcome"],
        )
        .expect("valid metric");
        let outbox_pending = IntGauge::new(
            "outbox_pending_leads",
            "Leads stored and not yet accepted or given up (PENDING)",
        )
        .expect("valid metric");
        let outbox_oldest_pending_seconds = IntGauge::new(
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest PENDING lead, 0 when none",
        )
        .expect("valid metric");
        let stats_cache_hits = IntCounter::new(
            "ckb_stats_cache_hits_total",
            "Reads of CKB's plan numbers answered from the cache",
        )
        .expect("valid metric");
        let stats_cache_misses = IntCounter::new(
            "ckb_stats_cache_misses_total",
            "Reads of CKB's plan numbers that fetched plan/list",
        )
        .expect("valid metric");
        let db_statements =
            IntCounter::new("db_statements_total", "SQL statements run since the start")
                .expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(request_seconds.clone()),
            Box::new(ckb_calls.clone()),
            Box::new(ckb_call_seconds.clone()),
            Box::new(outbox_pending.clone()),
            Box::new(outbox_oldest_pending_seconds.clone()),
            Box::new(stats_cache_hits.clone()),
            Box::new(stats_cache_misses.clone()),
            Box::new(db_statements.clone()),
        ] {
            registry
                .register(collector)
                .expect("each metric is registered once");
        }
        Metrics {
            registry,
            requests,
            request_seconds,
            ckb_calls,
            ckb_call_seconds,
            outbox_pending,
            outbox_oldest_pending_seconds,
            stats_cache_hits,
            stats_cache_misses,
            db_statements,
        }
    }

    /// Records one call to CKB.
    pub fn ckb_call(&self, call: &str, outcome: &str, seconds: f64) {
        self.ckb_calls.with_label_values(&[call, outcome]).inc();
        self.ckb_call_seconds
            .with_label_values(&[call, outcome])
            .observe(seconds);
    }

    /// Reads the gauges that live elsewhere (the outbox depth from the database, the cache and
    /// statement counters) and renders every metric in Prometheus's text format.
    pub async fn render(&self, state: &AppState) -> String {
        match crate::db::leads::pending_depth(&state.db).await {
            Ok((depth, oldest)) => {
                self.outbox_pending.set(depth as i64);
                let age = oldest
                    .map(|at| (crate::db::now() - at).num_seconds().max(0))
                    .unwrap_or(0);
                self.outbox_oldest_pending_seconds.set(age);
            }
            Err(error) => {
                tracing::warn!(error = ?error, "metrics: reading the outbox depth failed")
            }
        }
        // These counts are kept where they happen; the counters catch up with them here.
        catch_up(
            &self.stats_cache_hits,
            state.remote_stats.hits.load(Ordering::Relaxed),
        );
        catch_up(
            &self.stats_cache_misses,
            state.remote_stats.misses.load(Ordering::Relaxed),
        );
        catch_up(&self.db_statements, state.statements.get());
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(error = %error, "metrics could not be encoded");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

fn catch_up(counter: &IntCounter, total: u64) {
    let seen = counter.get();
    if total > seen {
        counter.inc_by(total - seen);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
