//! The friend-status sync: reads each plan's leads back from CKB and stores what CKB did with
//! them (`friendStatus`) on our leads, matched by plan and identifier.
//!
//! CKB has no callbacks, so polling `plan/getUserList` is the only way to learn whether a
//! friend request was accepted. CKB's 2025 code has no such endpoint; against it the job logs
//! that once per server and leaves the field empty.

use std::{collections::HashSet, sync::Arc, time::Duration};

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
}

impl FriendSync {
    pub fn new(db: DatabaseConnection, manage: Arc<ManageClient>, max_pages: i64) -> Self {
        FriendSync {
            db,
            manage,
            max_pages,
            unsupported: Mutex::new(HashSet::new()),
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

    async fn sync_plan(
        &self,
        plan_id: i64,
        base: &str,
        remote_id: i64,
        request_id: &str,
    ) -> std::result::Result<u64, SyncError> {
        let mut changed = 0;
        let mut page = 1;
        loop {
            let (total, leads) = self
                .manage
                .plan_leads(base, remote_id, page, request_id)
                .await
                .map_err(SyncError::Ckb)?;
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
            let pages = (total + PAGE_SIZE - 1) / PAGE_SIZE;
            if page >= pages || leads.is_empty() {
                break;
            }
            if page >= self.max_pages {
                // NOTE: leads past the page cap (newest first) keep their last known status
                // until an earlier page frees up; raise PGW_FRIEND_SYNC_MAX_PAGES for large plans.
                tracing::debug!(
                    plan.id = plan_id,
                    pages,
                    "friend-status sync stopped at its page cap"
                );
                break;
            }
            page += 1;
        }
        Ok(changed)
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
