//! Per-token rate limits, one token bucket per token and kind of operation.
//!
//! NOTE: the buckets live in this process, so with N replicas behind a load balancer a token
//! may make up to N times its budget. A shared limit would need the database or a cache on
//! every request.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// The kinds of operation that have separate budgets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperationKind {
    Read,
    Write,
    /// `submitLead` and `linkKaruo`, which reach a paid CRM.
    Lead,
}

impl OperationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OperationKind::Read => "read",
            OperationKind::Write => "write",
            OperationKind::Lead => "lead",
        }
    }
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

pub struct RateLimiter {
    per_minute: HashMap<OperationKind, u32>,
    buckets: Mutex<HashMap<(i64, OperationKind), Bucket>>,
}

impl RateLimiter {
    pub fn new(reads: u32, writes: u32, leads: u32) -> Self {
        RateLimiter {
            per_minute: HashMap::from([
                (OperationKind::Read, reads),
                (OperationKind::Write, writes),
                (OperationKind::Lead, leads),
            ]),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `cost` operations from the token's budget, or returns how long to wait.
    /// Returns the budget of one token for `kind`, per minute.
    pub fn per_minute(&self, kind: OperationKind) -> u32 {
        self.per_minute[&kind]
    }

    pub fn check(&self, token_id: i64, kind: OperationKind, cost: u32) -> Result<(), Duration> {
        let capacity = f64::from(self.per_minute[&kind]);
        let per_second = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .expect("rate limiter lock is never held across a panic");
        let bucket = buckets.entry((token_id, kind)).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.updated = now;
        let cost = f64::from(cost);
        if bucket.tokens >= cost {
            bucket.tokens -= cost;
            Ok(())
        } else {
            let missing = cost - bucket.tokens;
            Err(Duration::from_secs_f64(missing / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refuses_after_budget() {
        let limiter = RateLimiter::new(60, 60, 2);
        assert!(limiter.check(1, OperationKind::Lead, 1).is_ok());
        assert!(limiter.check(1, OperationKind::Lead, 1).is_ok());
        let wait = limiter.check(1, OperationKind::Lead, 1).unwrap_err();
        assert!(
            wait > Duration::from_secs(20) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
    }

    #[test]
    fn tokens_and_kinds_have_separate_budgets() {
        let limiter = RateLimiter::new(1, 1, 1);
        assert!(limiter.check(1, OperationKind::Lead, 1).is_ok());
        assert!(limiter.check(2, OperationKind::Lead, 1).is_ok());
        assert!(limiter.check(1, OperationKind::Read, 1).is_ok());
        assert!(limiter.check(1, OperationKind::Lead, 1).is_err());
    }
}
