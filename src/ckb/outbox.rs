//! Durable delivery of stored leads to CKB.
//!
//! A lead is already in `ckb_leads` as PENDING when it reaches the outbox. Delivery is a claim
//! (a lease on the row, so that no two workers or replicas send the same lead at the same
//! time), one signed call, and a record of the answer that also releases the lease. A lead
//! whose worker died keeps its lease until it runs out and is then claimed again, so a crash
//! delays a lead but never loses it.
//!
//! NOTE: delivery is at least once. A worker that dies after CKB accepted a lead but before
//! the answer was stored leaves the lead PENDING; the next attempt sends it again and CKB
//! answers 已存在, which is stored as EXISTING.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use rand::Rng;
use sea_orm::DatabaseConnection;
use tokio::task::JoinHandle;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::client::{CkbClient, DeliveryOutcome, LeadFields};
use crate::{
    config::CkbSettings,
    db::{
        self,
        entities::{ckb_lead, ckb_plan},
        lead_writer::LeadWriter,
        leads::{AttemptRecord, Lease, NewLead},
    },
    domain::DeliveryStatus,
    error::{GatewayError, Result},
};

/// How often a mutation checks a lead that another worker is delivering.
const LEASE_POLL: Duration = Duration::from_millis(25);

/// Sends stored leads to CKB, at once after a mutation and from a background worker.
pub struct Outbox {
    db: DatabaseConnection,
    writer: LeadWriter,
    client: CkbClient,
    settings: CkbSettings,
    /// This process's name on the leases it takes.
    owner: String,
    /// The immediate attempts in flight, which shutdown waits for.
    attempts: TaskTracker,
}

impl Outbox {
    /// Starts the lead writer, so it needs a Tokio runtime.
    pub fn new(db: DatabaseConnection, client: CkbClient, settings: CkbSettings) -> Self {
        let owner = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        Outbox {
            writer: LeadWriter::spawn(db.clone()),
            db,
            client,
            settings,
            owner,
            attempts: TaskTracker::new(),
        }
    }

    /// Waits up to `timeout` for the immediate attempts in flight to store their results, at
    /// shutdown. Returns whether they all finished; the leases of the others run out and
    /// another worker, or this one after a restart, sends those leads.
    pub async fn finish_attempts(&self, timeout: Duration) -> bool {
        self.attempts.close();
        tokio::time::timeout(timeout, self.attempts.wait())
            .await
            .is_ok()
    }

    /// The CKB client deliveries go through.
    pub fn client(&self) -> &CkbClient {
        &self.client
    }

    /// A lease of this process for a lead stored to be sent at once: long enough for one call
    /// to CKB to end, so that no other worker sends the lead meanwhile, and short enough that a
    /// lead whose immediate attempt never started (its request was cancelled) is taken over
    /// within seconds instead of after a full lease.
    pub fn fresh_lease(&self) -> Lease {
        let lifetime = chrono::Duration::milliseconds(self.settings.ckb_timeout_ms as i64)
            + chrono::Duration::seconds(2);
        Lease {
            owner: self.owner.clone(),
            until: db::now() + lifetime,
        }
    }

    /// Stores a lead that has no record of its own (`submitLead`) and delivers it like
    /// [`Outbox::deliver_and_wait`]. Storing and sending run in one task apart from the
    /// caller: a client that disconnects once its request was read does not leave its lead
    /// waiting for the lease to run out. Returns `None`, and stores and sends nothing, when the
    /// same token already stored a lead with the same idempotency key.
    pub async fn store_and_deliver(
        self: &Arc<Self>,
        mut lead: NewLead,
        plan: ckb_plan::Model,
        request_id: Option<String>,
        wait: Duration,
    ) -> Result<Option<ckb_lead::Model>> {
        // Stored with this process's lease, so that the attempt needs no claim.
        lead.lease = Some(self.fresh_lease());
        let (stored_tx, stored_rx) = tokio::sync::oneshot::channel();
        let outbox = Arc::clone(self);
        let attempt = self.attempts.spawn(async move {
            let lead = match outbox.writer.insert(lead).await {
                Ok(Some(lead)) => {
                    let _ = stored_tx.send(Ok(Some(lead.clone())));
                    lead
                }
                other => {
                    let _ = stored_tx.send(other);
                    return Ok(None);
                }
            };
            outbox
                .deliver_one(lead, Some(plan), request_id.as_deref())
                .await
        });
        let stored = stored_rx.await.map_err(|_| {
            GatewayError::internal(anyhow::anyhow!("the lead task ended before storing"))
        })??;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let deadline = tokio::time::Instant::now() + wait;
        self.wait_for(stored.id, attempt, deadline).await.map(Some)
    }

    fn lease_until(&self) -> DateTime<Utc> {
        db::now() + chrono::Duration::seconds(self.settings.lead_lease_secs as i64)
    }

    /// Tries to deliver one lead now, in a task of its own so that the attempt completes even
    /// if the caller stops waiting, and waits at most `wait` for it. Returns the lead as it is
    /// stored when the attempt ends or the wait runs out.
    pub async fn deliver_and_wait(
        self: &Arc<Self>,
        lead: ckb_lead::Model,
        request_id: Option<String>,
        wait: Duration,
    ) -> Result<ckb_lead::Model> {
        let lead_id = lead.id;
        let deadline = tokio::time::Instant::now() + wait;
        let outbox = Arc::clone(self);
        let attempt = self
            .attempts
            .spawn(async move { outbox.deliver_one(lead, None, request_id.as_deref()).await });
        self.wait_for(lead_id, attempt, deadline).await
    }

    /// Waits until `deadline` for an immediate attempt, then returns the lead as stored.
    async fn wait_for(
        &self,
        lead_id: i64,
        attempt: JoinHandle<Result<Option<ckb_lead::Model>>>,
        deadline: tokio::time::Instant,
    ) -> Result<ckb_lead::Model> {
        match tokio::time::timeout_at(deadline, attempt).await {
            // This attempt's result is stored and is the lead's current state.
            Ok(Ok(Ok(Some(written)))) => return Ok(written),
            Ok(Ok(Err(error))) => {
                tracing::error!(lead.id = lead_id, error = ?error, "immediate delivery failed; the worker retries")
            }
            Ok(Err(error)) => {
                tracing::error!(lead.id = lead_id, error = %error, "immediate delivery task failed; the worker retries")
            }
            Ok(Ok(Ok(None))) | Err(_) => {}
        }
        // Another worker may have claimed the lead first; its answer counts as well, so wait
        // for it within the same deadline.
        loop {
            let lead = db::leads::find(&self.db, lead_id).await?;
            let in_flight = lead.delivery_status == DeliveryStatus::Pending
                && lead.lease_until.is_some_and(|until| until > db::now());
            if !in_flight || tokio::time::Instant::now() + LEASE_POLL >= deadline {
                return Ok(lead);
            }
            tokio::time::sleep(LEASE_POLL).await;
        }
    }

    /// Sends the lead if this process holds its lease or can claim it, and records the answer.
    /// Returns the lead as written, or `None` when another worker has it.
    async fn deliver_one(
        &self,
        lead: ckb_lead::Model,
        plan: Option<ckb_plan::Model>,
        request_id: Option<&str>,
    ) -> Result<Option<ckb_lead::Model>> {
        // A lead stored with this process's lease needs no claim: one write fewer per lead.
        let lead_id = lead.id;
        let held = lead.delivery_status == DeliveryStatus::Pending
            && lead.lease_owner.as_deref() == Some(self.owner.as_str())
            && lead.lease_until.is_some_and(|until| until > db::now());
        if held {
            return self.attempt(lead, plan, request_id).await;
        }
        let Some(lead) =
            db::leads::claim_one(&self.db, lead_id, &self.owner, self.lease_until()).await?
        else {
            return Ok(None);
        };
        self.attempt(lead, plan, request_id).await
    }

    /// Sends a claimed lead and records the outcome. Returns the lead as written, or `None`
    /// when the lease ran out first.
    async fn attempt(
        &self,
        lead: ckb_lead::Model,
        plan: Option<ckb_plan::Model>,
        request_id: Option<&str>,
    ) -> Result<Option<ckb_lead::Model>> {
        let plan = match plan {
            Some(plan) if plan.id == lead.plan_id => plan,
            _ => db::plans::find(&self.db, lead.plan_id).await?,
        };
        let request_id = request_id
            .map(str::to_owned)
            .or_else(|| lead.request_id.clone());
        let outcome = if plan.enabled {
            self.client
                .submit_lead(&plan, &fields_of(&lead), request_id.as_deref())
                .await
        } else {
            DeliveryOutcome::Rejected {
                code: None,
                message: format!(
                    "CKB plan {} is disabled; enable it and retry the lead",
                    plan.id
                ),
            }
        };
        let attempts = lead.attempts + 1;
        let record = self.record_for(&outcome, attempts);
        match &outcome {
            DeliveryOutcome::Created { .. } | DeliveryOutcome::Existing { .. } => {
                tracing::debug!(
                    lead.id = lead.id,
                    plan.id = plan.id,
                    attempts,
                    outcome = outcome.label(),
                    "lead delivered to CKB"
                )
            }
            DeliveryOutcome::Rejected { code, message } => {
                tracing::warn!(lead.id = lead.id, plan.id = plan.id, attempts, ckb.code = ?code, ckb.message = %message, "CKB rejected the lead; an admin must fix it and retry")
            }
            DeliveryOutcome::Transient { reason, .. } => {
                tracing::warn!(lead.id = lead.id, plan.id = plan.id, attempts, reason = %reason, status = ?record.status, next_attempt_at = %record.next_attempt_at, "lead delivery failed")
            }
        }
        let lead_id = lead.id;
        let written = self
            .writer
            .record_attempt(lead, self.owner.clone(), record)
            .await?;
        if written.is_none() {
            tracing::warn!(
                lead.id = lead_id,
                "the lease ran out before the answer was stored; another worker owns the lead now"
            );
        }
        Ok(written)
    }

    fn record_for(&self, outcome: &DeliveryOutcome, attempts: i32) -> AttemptRecord {
        let now = db::now();
        let (status, error) = match outcome {
            DeliveryOutcome::Created { .. } => (DeliveryStatus::Created, None),
            DeliveryOutcome::Existing { .. } => (DeliveryStatus::Existing, None),
            DeliveryOutcome::Rejected { message, .. } => (
                DeliveryStatus::Rejected,
                Some(format!("CKB rejected the lead: {message}")),
            ),
            DeliveryOutcome::Transient { reason, .. }
                if attempts as u32 >= self.settings.lead_max_attempts =>
            {
                (
                    DeliveryStatus::Failed,
                    Some(format!("{reason} (gave up after {attempts} attempts)")),
                )
            }
            DeliveryOutcome::Transient { reason, .. } => {
                (DeliveryStatus::Pending, Some(reason.clone()))
            }
        };
        let next_attempt_at = if status == DeliveryStatus::Pending {
            now + self.backoff(attempts)
        } else {
            now
        };
        AttemptRecord {
            status,
            error,
            ckb_code: outcome.ckb_code(),
            ckb_message: outcome.ckb_message().map(str::to_owned),
            next_attempt_at,
        }
    }

    /// The wait before the next attempt after `attempts` attempts: the base delay doubled per
    /// attempt, capped, plus random jitter of up to half the delay so that leads that failed
    /// together do not retry together.
    fn backoff(&self, attempts: i32) -> chrono::Duration {
        let exponent = (attempts.max(1) - 1).min(20) as u32;
        let delay = self
            .settings
            .lead_backoff_ms
            .saturating_mul(1 << exponent)
            .min(self.settings.lead_backoff_max_ms);
        let jitter = rand::rng().random_range(0..=delay / 2);
        chrono::Duration::milliseconds((delay + jitter) as i64)
    }

    /// Starts the background worker, which keeps up to `PGW_OUTBOX_CONCURRENCY` attempts in
    /// flight. A slot freed by a finished attempt is refilled with the next due lead, so a call
    /// that hangs until the CKB timeout delays only its own lead. When `stop` is cancelled the
    /// worker claims nothing more, finishes the attempts in flight and returns.
    pub fn spawn_worker(self: Arc<Self>, stop: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move {
            let poll = Duration::from_millis(self.settings.outbox_poll_ms);
            let capacity = self.settings.outbox_concurrency;
            tracing::info!(owner = %self.owner, poll_ms = poll.as_millis() as u64, capacity, "delivery worker started");
            let mut in_flight = tokio::task::JoinSet::new();
            // A ticker rather than a sleep per loop, so that attempts finishing often cannot
            // keep postponing the next look for due leads.
            let mut ticker = tokio::time::interval(poll);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // Whether the last claim filled every free slot, so more leads may be due now.
            let mut more_due = true;
            while !stop.is_cancelled() {
                let free = capacity - in_flight.len();
                if more_due && free > 0 {
                    match db::leads::claim_due(
                        &self.db,
                        &self.owner,
                        self.lease_until(),
                        free as u64,
                    )
                    .await
                    {
                        Ok(leads) => {
                            more_due = leads.len() == free;
                            for lead in leads {
                                let outbox = Arc::clone(&self);
                                in_flight.spawn(async move {
                                    let id = lead.id;
                                    if let Err(error) = outbox.attempt(lead, None, None).await {
                                        tracing::error!(lead.id = id, error = ?error, "delivery attempt could not be recorded");
                                    }
                                });
                            }
                        }
                        Err(error) => {
                            more_due = false;
                            tracing::error!(error = ?error, "delivery worker could not read the outbox; retrying");
                        }
                    }
                }
                // The attempts are not raced against `stop`, because dropping one midway would
                // abandon a call to CKB whose response then never gets stored.
                tokio::select! {
                    () = stop.cancelled() => break,
                    // A freed slot is refilled at once only if the last claim suggested more
                    // leads are due. Otherwise the next tick looks for them.
                    Some(finished) = in_flight.join_next(), if !in_flight.is_empty() => {
                        if let Err(error) = finished {
                            tracing::error!(error = %error, "a delivery attempt panicked");
                        }
                    }
                    _ = ticker.tick() => more_due = true,
                }
            }
            while let Some(finished) = in_flight.join_next().await {
                if let Err(error) = finished {
                    tracing::error!(error = %error, "a delivery attempt panicked");
                }
            }
            tracing::info!("delivery worker stopped");
        })
    }
}

/// The CKB fields of a stored lead.
pub fn fields_of(lead: &ckb_lead::Model) -> LeadFields {
    LeadFields {
        phone: lead.phone.clone(),
        wechat_id: lead.wechat_id.clone(),
        name: lead.name.clone(),
        source: lead.source.clone(),
        remark: lead.remark.clone(),
        tags: serde_json::from_str(&lead.tags).unwrap_or_default(),
        site_tags: serde_json::from_str(&lead.site_tags).unwrap_or_default(),
        portrait: lead
            .portrait
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok()),
    }
}
