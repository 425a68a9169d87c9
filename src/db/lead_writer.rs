//! Group commit of the writes that carry a lead through delivery.
//!
//! Under a burst of `submitLead` calls every lead costs two write transactions: one stores
//! it, one records CKB's response. SQLite lets one writer in at a time, and every transaction is
//! a begin, its statements, a counter update and a commit, each a round trip to the database.
//! At one transaction per write, that bookkeeping rather than CKB or GraphQL bounds the leads
//! per second. The writer is one task per process: it takes every write queued while it was
//! busy and commits them in one transaction, with their counter changes merged into one
//! statement. A write waits for at most the batch ahead of it; on a quiet gateway each write
//! commits alone, at once.
//!
//! An idempotency key that another request stored first is not an error: that write stores
//! nothing and its caller reads the earlier lead. A batch that fails for any other reason is
//! rolled back and its writes run again one transaction each, so that a bad write fails alone
//! and the others go through.

use anyhow::anyhow;
use sea_orm::{DatabaseConnection, TransactionTrait};
use tokio::sync::{mpsc, oneshot};

use super::{
    counters,
    entities::ckb_lead,
    leads::{self, AttemptRecord, NewLead},
};
use crate::error::{GatewayError, Result};

/// Maximum writes committed in one transaction: large enough to absorb a burst, and small
/// enough to keep each transaction's hold on the SQLite write lock short.
const MAX_BATCH: usize = 128;

/// Writes waiting for the writer; a caller beyond this waits to enqueue.
const QUEUE: usize = 4096;

enum Write {
    /// Store a new PENDING lead and count it.
    Insert(Box<NewLead>),
    /// Record a delivery attempt on a lead held under `owner`'s lease.
    Attempt {
        lead: Box<ckb_lead::Model>,
        owner: String,
        attempt: AttemptRecord,
    },
}

struct Job {
    write: Write,
    reply: oneshot::Sender<Result<Option<ckb_lead::Model>>>,
}

/// A handle to this process's lead writer; cheap to clone.
#[derive(Clone)]
pub struct LeadWriter {
    jobs: mpsc::Sender<Job>,
}

impl LeadWriter {
    /// Starts the writer task. It runs until every handle is dropped, after finishing the
    /// writes already queued.
    pub fn spawn(db: DatabaseConnection) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(db, queue));
        LeadWriter { jobs }
    }

    /// Stores a lead as PENDING, due at once, and counts it, in a committed transaction.
    /// Returns `None`, and stores nothing, when the same token already stored a lead with the
    /// same idempotency key.
    pub async fn insert(&self, lead: NewLead) -> Result<Option<ckb_lead::Model>> {
        self.submit(Write::Insert(Box::new(lead))).await
    }

    /// Records a delivery attempt and releases the lease, in a committed transaction. Returns
    /// the lead as written, or `None` when `owner` no longer held the lease and nothing was
    /// written.
    pub async fn record_attempt(
        &self,
        lead: ckb_lead::Model,
        owner: String,
        attempt: AttemptRecord,
    ) -> Result<Option<ckb_lead::Model>> {
        self.submit(Write::Attempt {
            lead: Box::new(lead),
            owner,
            attempt,
        })
        .await
    }

    async fn submit(&self, write: Write) -> Result<Option<ckb_lead::Model>> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { write, reply })
            .await
            .map_err(|_| GatewayError::internal(anyhow!("the lead writer has stopped")))?;
        answer.await.map_err(|_| {
            GatewayError::internal(anyhow!("the lead writer stopped before returning a result"))
        })?
    }
}

async fn run(db: DatabaseConnection, mut queue: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        write_batch(&db, std::mem::take(&mut batch)).await;
    }
}

async fn write_batch(db: &DatabaseConnection, jobs: Vec<Job>) {
    if jobs.len() > 1 {
        let writes: Vec<&Write> = jobs.iter().map(|job| &job.write).collect();
        match commit(db, &writes).await {
            Ok(results) => {
                for (job, result) in jobs.into_iter().zip(results) {
                    // A caller that stopped waiting still had its write committed.
                    let _ = job.reply.send(Ok(result));
                }
                return;
            }
            Err(error) => {
                tracing::warn!(writes = jobs.len(), error = ?error, "a batch of lead writes failed; writing them one at a time");
            }
        }
    }
    for job in jobs {
        let result = commit(db, &[&job.write])
            .await
            .map(|mut results| results.pop().flatten());
        let _ = job.reply.send(result);
    }
}

/// Applies the writes and their counter changes in one transaction.
async fn commit(
    db: &DatabaseConnection,
    writes: &[&Write],
) -> Result<Vec<Option<ckb_lead::Model>>> {
    let txn = db.begin().await?;
    let mut deltas = Vec::new();
    let mut results = Vec::with_capacity(writes.len());
    for write in writes {
        let result = match write {
            Write::Insert(lead) => {
                let stored = leads::insert_row(&txn, lead).await?;
                if let Some(stored) = &stored {
                    deltas.extend(counters::lead_deltas(stored, 1));
                }
                stored
            }
            Write::Attempt {
                lead,
                owner,
                attempt,
            } => {
                let written = leads::update_attempt(&txn, lead, owner, attempt).await?;
                if let Some(after) = &written {
                    deltas.extend(counters::lead_change(lead, after));
                }
                written
            }
        };
        results.push(result);
    }
    counters::add(&txn, deltas).await?;
    txn.commit().await?;
    Ok(results)
}
