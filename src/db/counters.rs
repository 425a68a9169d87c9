//! Counters per local day behind the overview.
//!
//! Counting rows at every overview would cost in proportion to the data: a million matches
//! mean a million index entries to visit. Instead, every write that adds or changes a counted
//! row adds its deltas to `stat_counters` in the same transaction, keyed by the local day of
//! the row's time, and the overview sums the days of its window: a cost that grows with days
//! and plans, never with rows. [`rebuild`] recomputes every counter from the rows, for bulk
//! loads and as a repair.
//!
//! No window but ALL reaches back more than 30 days, so [`fold_old_days`] adds the counters of
//! days older than [`FOLD_AFTER_DAYS`] into one row per counter on [`folded_day`]. ALL then
//! sums at most that many days of rows, however long the gateway has been running.
//!
//! The metrics and their dimensions:
//!
//! | metric | dimension | counts |
//! |---|---|---|
//! | `match` | kind | matches, by `matched_at` |
//! | `match_with_lead` | kind | matches that produced a lead |
//! | `match_lead` | kind `\|` delivery status | leads of matches |
//! | `match_friend` | kind | leads of matches whose friend status is PASSED |
//! | `lead` | plan id `\|` origin `\|` delivery status | leads, by `created_at` |
//! | `lead_friend` | plan id `\|` origin | leads whose friend status is PASSED |
//! | `booking`, `resource`, `recruit` | empty | records of those tabs, by `created_at` |

use std::{
    collections::HashMap,
    sync::atomic::{AtomicI32, Ordering},
};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use rand::Rng;
use sea_orm::{ActiveEnum, ConnectionTrait, DbBackend, FromQueryResult, TransactionTrait, Value};

use super::{entities::ckb_lead, stats::statement};
use crate::{
    domain::{FriendStatus, MatchKind},
    error::Result,
};

/// Shards per counter; see the migration that creates `stat_counters`.
const SHARDS: i16 = 8;

/// The admins' offset from UTC in seconds, which decides the day a row counts on. It is one
/// setting per process, set at start from `PGW_UTC_OFFSET_HOURS`.
static UTC_OFFSET_SECONDS: AtomicI32 = AtomicI32::new(8 * 3600);

pub fn set_utc_offset_hours(hours: i32) {
    UTC_OFFSET_SECONDS.store(hours * 3600, Ordering::Relaxed);
}

fn utc_offset_hours() -> i32 {
    UTC_OFFSET_SECONDS.load(Ordering::Relaxed) / 3600
}

/// The admins' local day of a time.
pub fn local_day(at: DateTime<Utc>) -> NaiveDate {
    let offset = FixedOffset::east_opt(UTC_OFFSET_SECONDS.load(Ordering::Relaxed))
        .expect("offset within a day");
    at.with_timezone(&offset).date_naive()
}

/// A change of one counter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delta {
    pub day: NaiveDate,
    pub metric: &'static str,
    pub dimension: String,
    pub value: i64,
}

impl Delta {
    pub fn new(
        at: DateTime<Utc>,
        metric: &'static str,
        dimension: impl Into<String>,
        value: i64,
    ) -> Self {
        Delta {
            day: local_day(at),
            metric,
            dimension: dimension.into(),
            value,
        }
    }
}

/// The counters a lead contributes, multiplied by `sign` (+1 to add the lead, -1 to take it
/// away).
pub fn lead_deltas(lead: &ckb_lead::Model, sign: i64) -> Vec<Delta> {
    let at = lead.created_at;
    let status = lead.delivery_status.to_value();
    let origin = lead.origin.to_value();
    let passed = lead.friend_status == Some(FriendStatus::Passed);
    let mut deltas = vec![Delta::new(
        at,
        "lead",
        format!("{}|{origin}|{status}", lead.plan_id),
        sign,
    )];
    if passed {
        deltas.push(Delta::new(
            at,
            "lead_friend",
            format!("{}|{origin}", lead.plan_id),
            sign,
        ));
    }
    if let Some(kind) = lead.match_kind {
        deltas.push(Delta::new(
            at,
            "match_lead",
            format!("{}|{status}", kind.as_str()),
            sign,
        ));
        if passed {
            deltas.push(Delta::new(at, "match_friend", kind.as_str(), sign));
        }
    }
    deltas
}

/// The counters that change when a lead goes from `before` to `after`.
pub fn lead_change(before: &ckb_lead::Model, after: &ckb_lead::Model) -> Vec<Delta> {
    let mut deltas = lead_deltas(before, -1);
    deltas.extend(lead_deltas(after, 1));
    deltas
}

/// Adds deltas to the counters, in one statement. Deltas of the same counter are merged first
/// (PostgreSQL refuses to update one row twice in a statement) and zero sums are dropped.
pub async fn add(db: &impl ConnectionTrait, deltas: Vec<Delta>) -> Result<()> {
    let mut merged: HashMap<(NaiveDate, &'static str, String), i64> = HashMap::new();
    for delta in deltas {
        *merged
            .entry((delta.day, delta.metric, delta.dimension))
            .or_default() += delta.value;
    }
    merged.retain(|_, value| *value != 0);
    if merged.is_empty() {
        return Ok(());
    }
    // Rows in one fixed order: PostgreSQL locks them in statement order, and two transactions
    // that lock the same rows in different orders deadlock.
    let mut merged: Vec<_> = merged.into_iter().collect();
    merged.sort();
    let shard = rand::rng().random_range(0..SHARDS);
    let mut sql =
        String::from("INSERT INTO stat_counters (day, metric, dimension, shard, value) VALUES ");
    let mut values: Vec<Value> = Vec::with_capacity(merged.len() * 5);
    for (index, ((day, metric, dimension), value)) in merged.into_iter().enumerate() {
        if index > 0 {
            sql.push_str(", ");
        }
        sql.push_str("(?, ?, ?, ?, ?)");
        values.extend([
            day.into(),
            metric.into(),
            dimension.into(),
            shard.into(),
            value.into(),
        ]);
    }
    sql.push_str(" ON CONFLICT (day, metric, dimension, shard) DO UPDATE SET value = stat_counters.value + excluded.value");
    db.execute(statement(db.get_database_backend(), &sql, values))
        .await?;
    Ok(())
}

#[derive(FromQueryResult)]
struct CounterRow {
    metric: String,
    dimension: String,
    value: i64,
}

/// Days older than this are folded into [`folded_day`]. It leaves a margin over the 30 days
/// of the longest dated window, so a change of `PGW_UTC_OFFSET_HOURS` cannot move a window's
/// start onto a folded day.
pub const FOLD_AFTER_DAYS: i64 = 40;

/// Returns the day that contains the folded counters, 1970-01-01. [`sums`] for ALL starts at it, and
/// every dated window starts after it.
pub fn folded_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date")
}

/// How often each replica folds old days.
pub const FOLD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Adds the counters of the days before `today - FOLD_AFTER_DAYS` into one row per counter on
/// [`folded_day`] and deletes their day rows, in one transaction. Returns how many day rows
/// were folded. Sums over ALL are the same before and after.
pub async fn fold_old_days(
    db: &(impl ConnectionTrait + TransactionTrait),
    today: NaiveDate,
) -> Result<u64> {
    let cutoff = today - chrono::Duration::days(FOLD_AFTER_DAYS);
    let backend = db.get_database_backend();
    let txn = db.begin().await?;
    let folded = match backend {
        DbBackend::Postgres => {
            // One statement sums exactly the rows it deletes, so a counter that a concurrent
            // write adds to an old day is either folded or left for the next fold, never lost.
            // The rows are locked in key order, the order in which each writer's statement
            // locks them. NOTE: a writer that adds to old days in two statements of one
            // transaction can still deadlock with a fold; PostgreSQL then aborts one of them.
            let sql = "WITH old AS (                   SELECT day, metric, dimension, shard FROM stat_counters                    WHERE day < ? AND day <> ? ORDER BY day, metric, dimension, shard FOR UPDATE                 ), moved AS (                   DELETE FROM stat_counters c USING old                    WHERE c.day = old.day AND c.metric = old.metric                      AND c.dimension = old.dimension AND c.shard = old.shard                    RETURNING c.metric, c.dimension, c.value                 ), inserted AS (                   INSERT INTO stat_counters (day, metric, dimension, shard, value)                    SELECT ?, metric, dimension, 0, CAST(SUM(value) AS BIGINT) FROM moved                    GROUP BY metric, dimension                    ON CONFLICT (day, metric, dimension, shard)                    DO UPDATE SET value = stat_counters.value + excluded.value                 ) SELECT COUNT(*) AS rows FROM moved";
            let row = txn
                .query_one(statement(
                    backend,
                    sql,
                    vec![cutoff.into(), folded_day().into(), folded_day().into()],
                ))
                .await?;
            row.map(|row| row.try_get::<i64>("", "rows"))
                .transpose()?
                .unwrap_or(0) as u64
        }
        _ => {
            // SQLite has one writer at a time, and the first statement takes the write lock
            // until commit, so the sum and the delete see the same rows.
            let insert = "INSERT INTO stat_counters (day, metric, dimension, shard, value)                  SELECT ?, metric, dimension, 0, SUM(value) FROM stat_counters                  WHERE day < ? AND day <> ? GROUP BY metric, dimension                  ON CONFLICT (day, metric, dimension, shard)                  DO UPDATE SET value = stat_counters.value + excluded.value";
            txn.execute(statement(
                backend,
                insert,
                vec![folded_day().into(), cutoff.into(), folded_day().into()],
            ))
            .await?;
            txn.execute(statement(
                backend,
                "DELETE FROM stat_counters WHERE day < ? AND day <> ?",
                vec![cutoff.into(), folded_day().into()],
            ))
            .await?
            .rows_affected()
        }
    };
    txn.commit().await?;
    Ok(folded)
}

/// Folds old days now and then every [`FOLD_INTERVAL`], until `stop` is cancelled.
pub fn spawn_folder(
    db: sea_orm::DatabaseConnection,
    stop: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while !stop.is_cancelled() {
            match fold_old_days(&db, local_day(crate::db::now())).await {
                Ok(0) => {}
                Ok(rows) => tracing::info!(rows, "folded the day counters of old days"),
                // The next round folds what this one could not; the sums are right either way.
                Err(error) => {
                    tracing::warn!(error = ?error, "folding old day counters failed; trying again later")
                }
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(FOLD_INTERVAL) => {}
            }
        }
    })
}

/// Counter sums since a day, keyed by metric and dimension.
pub type Sums = HashMap<(String, String), i64>;

/// Sums every counter from `since` on (all days when `None`), in one statement.
pub async fn sums(db: &impl ConnectionTrait, since: Option<NaiveDate>) -> Result<Sums> {
    // ALL starts at the folded day, which is before every other day.
    let since = since.unwrap_or_else(folded_day);
    // CAST keeps SUM an integer on PostgreSQL, where the sum of bigints is numeric.
    let sql = "SELECT metric, dimension, CAST(SUM(value) AS BIGINT) AS value FROM stat_counters WHERE day >= ? GROUP BY metric, dimension";
    let rows = CounterRow::find_by_statement(statement(
        db.get_database_backend(),
        sql,
        vec![since.into()],
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ((row.metric, row.dimension), row.value))
        .collect())
}

/// Recomputes every counter from the rows: after a bulk load, or to repair counters.
pub async fn rebuild(db: &impl ConnectionTrait) -> Result<()> {
    let backend = db.get_database_backend();
    let hours = utc_offset_hours();
    let day = |column: &str| match backend {
        DbBackend::Postgres => {
            format!("CAST(({column} AT TIME ZONE 'UTC') + INTERVAL '{hours} hours' AS DATE)")
        }
        _ => format!("date({column}, '{hours:+} hours')"),
    };
    let insert = "INSERT INTO stat_counters (day, metric, dimension, shard, value)";
    let statements = [
        "DELETE FROM stat_counters".to_owned(),
        format!("{insert} SELECT {}, 'match', kind, 0, COUNT(*) FROM match_records GROUP BY {}, kind", day("matched_at"), day("matched_at")),
        format!(
            "{insert} SELECT {}, 'match_with_lead', kind, 0, COUNT(*) FROM match_records WHERE lead_id IS NOT NULL GROUP BY {}, kind",
            day("matched_at"),
            day("matched_at")
        ),
        format!("{insert} SELECT {}, 'booking', '', 0, COUNT(*) FROM mentor_bookings GROUP BY {}", day("created_at"), day("created_at")),
        format!("{insert} SELECT {}, 'resource', '', 0, COUNT(*) FROM resource_matches GROUP BY {}", day("created_at"), day("created_at")),
        format!("{insert} SELECT {}, 'recruit', '', 0, COUNT(*) FROM team_recruits GROUP BY {}", day("created_at"), day("created_at")),
        format!(
            "{insert} SELECT {d}, 'lead', CAST(plan_id AS TEXT) || '|' || origin || '|' || delivery_status, 0, COUNT(*) \
             FROM ckb_leads GROUP BY {d}, plan_id, origin, delivery_status",
            d = day("created_at")
        ),
        format!(
            "{insert} SELECT {d}, 'lead_friend', CAST(plan_id AS TEXT) || '|' || origin, 0, COUNT(*) \
             FROM ckb_leads WHERE friend_status = 'PASSED' GROUP BY {d}, plan_id, origin",
            d = day("created_at")
        ),
        format!(
            "{insert} SELECT {d}, 'match_lead', match_kind || '|' || delivery_status, 0, COUNT(*) \
             FROM ckb_leads WHERE match_kind IS NOT NULL GROUP BY {d}, match_kind, delivery_status",
            d = day("created_at")
        ),
        format!(
            "{insert} SELECT {d}, 'match_friend', match_kind, 0, COUNT(*) \
             FROM ckb_leads WHERE match_kind IS NOT NULL AND friend_status = 'PASSED' GROUP BY {d}, match_kind",
            d = day("created_at")
        ),
    ];
    for sql in statements {
        db.execute(statement(backend, &sql, vec![])).await?;
    }
    Ok(())
}

/// Parses a kind from a counter dimension.
pub fn kind_of(dimension: &str) -> Option<MatchKind> {
    MatchKind::try_from_value(&dimension.to_owned()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_day_follows_the_offset() {
        let late_utc = DateTime::parse_from_rfc3339("2026-12-04T17:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        set_utc_offset_hours(8);
        assert_eq!(
            local_day(late_utc),
            NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()
        );
    }
}
