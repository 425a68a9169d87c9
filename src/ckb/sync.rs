//! The friend-status sync: reads each plan's leads back from CKB and stores what CKB did with
//! them (`friendStatus`) on our leads, matched by plan and identifier.
//!
//! CKB has no callbacks, so polling `plan/getUserList` is the only way to learn whether a
//! friend request was accepted. CKB's 2025 code has no such endpoint; against it the job logs
//! that once per server and leaves the field empty.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use sea_orm::DatabaseConnection;
use tokio::{sync::Mutex, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::manage::{ManageClient, ManageError, PAGE_SIZE};
use crate::{db, domain::FriendStatus, error::Result};

pub struct FriendSync {
    db: DatabaseConnection,
    manage: Arc<ManageClient>,
    max_pages: i64,
    /// CKB servers that answered that they have no `plan/getUserList`.
    unsupported: Mutex<HashSet<String>>,
    /// Per CKB server and plan, the older page the next round reads first.
    resume: Mutex<HashMap<(String, i64), i64>>,
}

impl FriendSync {
    pub fn new(db: DatabaseConnection, manage: Arc<ManageClient>, max_pages: i64) -> Self {
        FriendSync {
            db,
            manage,
            max_pages,
            unsupported: Mutex::new(HashSet::new()),
            resume: Mutex::new(HashMap::new()),
        }
    }

    /// Reads every plan that has a remote plan id and stores the statuses; returns how many
    /// leads changed. The round's CKB calls share one fresh request id, which its log lines
    /// carry too.
    pub async fn run_once(&self) -> Result<u64> {
        if !self.manage.is_configured() {
            return Ok(0);
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        self.run_round(&request_id)
            .instrument(tracing::info_span!("friend_sync", request_id = %request_id))
            .await
    }

    async fn run_round(&self, request_id: &str) -> Result<u64> {
        let plans = db::plans::list(&self.db).await?;
        let mut changed = 0;
        for plan in plans.into_iter().filter(|plan| plan.enabled) {
            let Some(remote_id) = plan.remote_plan_id else {
                continue;
            };
            let base = plan.endpoint.trim_end_matches('/').to_owned();
            if self.unsupported.lock().await.contains(&base) {
                continue;
            }
            match self.sync_plan(plan.id, &base, remote_id, request_id).await {
                Ok(count) => changed += count,
                Err(SyncError::Ckb(ManageError::NotSupported(message))) => {
                    tracing::warn!(ckb = %base, %message, "CKB has no plan/getUserList (its 2025 version); friend statuses stay empty for its plans");
                    self.unsupported.lock().await.insert(base);
                }
                Err(SyncError::Ckb(error)) => {
                    tracing::warn!(plan.id = plan.id, ckb = %base, error = %error, "reading a plan's leads from CKB failed; trying again next round")
                }
                Err(SyncError::Database(error)) => return Err(error),
            }
        }
        Ok(changed)
    }

    /// Reads one plan's leads from CKB and stores their statuses, in at most `max_pages`
    /// pages. Half of them are the newest pages, read every round because new leads change
    /// status most often. The other half continue through the older pages from where the last
    /// round stopped, so every lead is read again after a few rounds however large the plan.
    async fn sync_plan(
        &self,
        plan_id: i64,
        base: &str,
        remote_id: i64,
        request_id: &str,
    ) -> std::result::Result<u64, SyncError> {
        let head = (self.max_pages + 1) / 2;
        let (mut changed, pages) = self
            .sync_pages(plan_id, base, remote_id, 1, head, request_id)
            .await?;
        let tail_budget = self.max_pages - head;
        if pages <= head || tail_budget == 0 {
            return Ok(changed);
        }
        let key = (base.to_owned(), remote_id);
        let start = {
            let resume = self.resume.lock().await;
            resume
                .get(&key)
                .copied()
                .filter(|page| *page > head && *page <= pages)
                .unwrap_or(head + 1)
        };
        let end = (start + tail_budget - 1).min(pages);
        let (tail_changed, _) = self
            .sync_pages(plan_id, base, remote_id, start, end, request_id)
            .await?;
        changed += tail_changed;
        // Past the last page the sweep starts again after the newest pages.
        let next = if end >= pages { head + 1 } else { end + 1 };
        self.resume.lock().await.insert(key, next);
        Ok(changed)
    }

    /// Reads pages `first..=last` of a plan's leads (fewer if the plan has fewer) and stores
    /// their statuses. Returns the leads changed and the plan's number of pages.
    async fn sync_pages(
        &self,
        plan_id: i64,
        base: &str,
        remote_id: i64,
        first: i64,
        last: i64,
        request_id: &str,
    ) -> std::result::Result<(u64, i64), SyncError> {
        let mut changed = 0;
        let mut pages = 0;
        for page in first..=last {
            let (total, leads) = self
                .manage
                .plan_leads(base, remote_id, page, request_id)
                .await
                .map_err(SyncError::Ckb)?;
            pages = (total + PAGE_SIZE - 1) / PAGE_SIZE;
            for status in [
                FriendStatus::New,
                FriendStatus::Requested,
                FriendStatus::Sent,
                FriendStatus::Rejected,
                FriendStatus::Passed,
            ] {
                let identifiers: Vec<String> = leads
                    .iter()
                    .filter(|lead| FriendStatus::from_ckb_status(lead.status) == Some(status))
                    .map(|lead| lead.identifier.clone())
                    .collect();
                if !identifiers.is_empty() {
                    changed +=
                        db::leads::set_friend_status(&self.db, plan_id, &identifiers, status)
                            .await
                            .map_err(SyncError::Database)?;
                }
            }
            if page >= pages || leads.is_empty() {
                break;
            }
        }
        Ok((changed, pages))
    }

    /// Starts the sync on `interval` until `stop` is cancelled.
    pub fn spawn_worker(
        self: Arc<Self>,
        interval: Duration,
        stop: CancellationToken,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            tracing::info!(
                interval_secs = interval.as_secs(),
                "friend-status sync started"
            );
            while !stop.is_cancelled() {
                match self.run_once().await {
                    Ok(0) => {}
                    Ok(changed) => tracing::info!(changed, "friend statuses updated from CKB"),
                    Err(error) => {
                        tracing::error!(error = ?error, "friend-status sync could not write to the database")
                    }
                }
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(interval) => {}
                }
            }
        })
    }
}

enum SyncError {
    Ckb(ManageError),
    Database(crate::error::GatewayError),
}
