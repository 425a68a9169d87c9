//! CKB's own numbers of each plan, cached.
//!
//! `plan/list` is read at most once per CKB server per cache period however many queries ask
//! at the same moment: the first caller fetches while the others wait for its result. When CKB
//! fails, callers get the last good numbers with their fetch time and the error, or no numbers
//! and the error; a query never fails because CKB did.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use super::manage::{ManageClient, RemotePlan};

/// The plans of one CKB server as last read.
#[derive(Debug)]
pub struct Snapshot {
    pub fetched_at: DateTime<Utc>,
    pub plans: HashMap<i64, RemotePlan>,
}

/// What a caller gets for one CKB server.
#[derive(Debug, Clone, Default)]
pub struct RemoteView {
    /// The last good numbers, if CKB was ever read.
    pub snapshot: Option<Arc<Snapshot>>,
    /// The error of the last read, when it failed; the snapshot is then stale.
    pub error: Option<String>,
}

#[derive(Default)]
struct Entry {
    snapshot: Option<Arc<Snapshot>>,
    error: Option<String>,
    checked: Option<Instant>,
}

/// The cache of `plan/list` per CKB server.
pub struct RemoteStats {
    manage: Arc<ManageClient>,
    ttl: Duration,
    entries: std::sync::Mutex<HashMap<String, Arc<Mutex<Entry>>>>,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

impl RemoteStats {
    pub fn new(manage: Arc<ManageClient>, ttl: Duration) -> Self {
        RemoteStats {
            manage,
            ttl,
            entries: Default::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Reads the numbers of every server in `bases` concurrently. A fetch this call makes
    /// carries `request_id`, or a fresh id when the caller has none.
    pub async fn views(
        &self,
        bases: &[String],
        request_id: Option<&str>,
    ) -> HashMap<String, RemoteView> {
        let request_id = request_id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let request_id = request_id.as_str();
        let reads = bases
            .iter()
            .map(|base| async move { (base.clone(), self.view(base, request_id).await) });
        futures::future::join_all(reads).await.into_iter().collect()
    }

    /// The numbers of one server, fetched if the cached ones are older than the period.
    pub async fn view(&self, base: &str, request_id: &str) -> RemoteView {
        if !self.manage.is_configured() {
            return RemoteView {
                snapshot: None,
                error: Some(super::manage::ManageError::NotConfigured.to_string()),
            };
        }
        let entry = {
            let mut entries = self
                .entries
                .lock()
                .expect("the entry map lock is never held across a panic");
            Arc::clone(entries.entry(base.to_owned()).or_default())
        };
        // Holding the entry's lock across the fetch is what makes concurrent callers share one
        // fetch: they queue here and find the fresh result when their turn comes.
        let mut entry = entry.lock().await;
        if entry
            .checked
            .is_some_and(|checked| checked.elapsed() < self.ttl)
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
        } else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            match self.manage.plan_list(base, request_id).await {
                Ok(plans) => {
                    entry.snapshot = Some(Arc::new(Snapshot {
                        fetched_at: crate::db::now(),
                        plans: plans.into_iter().map(|plan| (plan.id, plan)).collect(),
                    }));
                    entry.error = None;
                }
                Err(error) => {
                    tracing::warn!(ckb = %base, request_id, error = %error, "reading CKB's plan numbers failed; showing the last good numbers");
                    entry.error = Some(error.to_string());
                }
            }
            entry.checked = Some(Instant::now());
        }
        RemoteView {
            snapshot: entry.snapshot.clone(),
            error: entry.error.clone(),
        }
    }
}
