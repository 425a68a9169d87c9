//! Aggregate counts behind the overview and the plan statistics.
//!
//! The counts come from the day counters (`counters`), so their cost grows with the days of the
//! window and the number of plans, never with the number of rows; the number of statements is
//! fixed. The statements are written as SQL because aggregates read more clearly that way than
//! through the query builder.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveEnum, ConnectionTrait, DbBackend, FromQueryResult, Statement, Value};

use super::counters;
use crate::{
    domain::{DeliveryStatus, LeadOrigin, MatchKind},
    error::Result,
};

/// Builds a statement from SQL written with `?` placeholders, numbering them `$1, $2, …` for
/// PostgreSQL.
pub fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut numbered = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    numbered.push_str(&format!("${n}"));
                } else {
                    numbered.push(c);
                }
            }
            numbered
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Record counts of each tab in a window: matches made, bookings, resource entries and
/// recruitments created. Pools and plans are configuration and are counted whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TabCounts {
    pub match_records: i64,
    pub partner_pools: i64,
    pub mentor_bookings: i64,
    pub resource_matches: i64,
    pub team_recruits: i64,
    pub ckb_plans: i64,
}

/// Matches of one kind in a window, and what became of their leads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindCounts {
    pub matches: i64,
    pub with_lead: i64,
    pub leads_accepted: i64,
    pub friends_added: i64,
}

/// Lead counts of one plan and origin in a window, by delivery status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadCounts {
    pub submitted: i64,
    pub pending: i64,
    pub created: i64,
    pub existing: i64,
    pub rejected: i64,
    pub failed: i64,
    pub friends_added: i64,
}

impl LeadCounts {
    pub fn add(&mut self, other: &LeadCounts) {
        self.submitted += other.submitted;
        self.pending += other.pending;
        self.created += other.created;
        self.existing += other.existing;
        self.rejected += other.rejected;
        self.failed += other.failed;
        self.friends_added += other.friends_added;
    }

    /// Leads CKB has: answered 新增成功 or 已存在.
    pub fn accepted(&self) -> i64 {
        self.created + self.existing
    }

    /// (created + existing) / (submitted − pending), or `None` while nothing has been decided.
    pub fn delivery_success_rate(&self) -> Option<f64> {
        let decided = self.submitted - self.pending;
        (decided > 0).then(|| self.accepted() as f64 / decided as f64)
    }

    fn count(&mut self, status: DeliveryStatus, n: i64) {
        self.submitted += n;
        match status {
            DeliveryStatus::Pending => self.pending += n,
            DeliveryStatus::Created => self.created += n,
            DeliveryStatus::Existing => self.existing += n,
            DeliveryStatus::Rejected => self.rejected += n,
            DeliveryStatus::Failed => self.failed += n,
        }
    }
}

/// Everything the overview counts for one window.
#[derive(Debug, Clone, Default)]
pub struct WindowCounts {
    pub tabs: TabCounts,
    pub by_kind: HashMap<MatchKind, KindCounts>,
    /// Lead counts per (plan id, origin).
    pub leads: HashMap<(i64, LeadOrigin), LeadCounts>,
}

#[derive(FromQueryResult)]
struct ConfigCounts {
    partner_pools: i64,
    ckb_plans: i64,
}

/// The overview's counts for the window that starts at `since` (all time for `None`), from
/// the day counters: two statements whatever the number of rows.
pub async fn window_counts(
    db: &impl ConnectionTrait,
    since: Option<DateTime<Utc>>,
) -> Result<WindowCounts> {
    let sums = counters::sums(db, since.map(counters::local_day)).await?;
    let sql = "SELECT (SELECT COUNT(*) FROM partner_pools) AS partner_pools, (SELECT COUNT(*) FROM ckb_plans) AS ckb_plans";
    let config = ConfigCounts::find_by_statement(statement(db.get_database_backend(), sql, vec![]))
        .one(db)
        .await?;

    let mut counts = WindowCounts::default();
    if let Some(config) = config {
        counts.tabs.partner_pools = config.partner_pools;
        counts.tabs.ckb_plans = config.ckb_plans;
    }
    for ((metric, dimension), value) in sums {
        match metric.as_str() {
            "match" | "match_with_lead" | "match_friend" => {
                let Some(kind) = counters::kind_of(&dimension) else {
                    continue;
                };
                let entry = counts.by_kind.entry(kind).or_default();
                match metric.as_str() {
                    "match" => {
                        entry.matches += value;
                        counts.tabs.match_records += value;
                    }
                    "match_with_lead" => entry.with_lead += value,
                    _ => entry.friends_added += value,
                }
            }
            "match_lead" => {
                let Some((kind, status)) = dimension.split_once('|') else {
                    continue;
                };
                let (Some(kind), Ok(status)) = (
                    counters::kind_of(kind),
                    DeliveryStatus::try_from_value(&status.to_owned()),
                ) else {
                    continue;
                };
                if status.is_accepted() {
                    counts.by_kind.entry(kind).or_default().leads_accepted += value;
                }
            }
            "lead" | "lead_friend" => {
                let mut parts = dimension.split('|');
                let (Some(plan), Some(origin)) = (
                    parts.next().and_then(|p| p.parse::<i64>().ok()),
                    parts.next(),
                ) else {
                    continue;
                };
                let Ok(origin) = LeadOrigin::try_from_value(&origin.to_owned()) else {
                    continue;
                };
                let entry = counts.leads.entry((plan, origin)).or_default();
                if metric == "lead_friend" {
                    entry.friends_added += value;
                } else if let Some(Ok(status)) = parts
                    .next()
                    .map(|s| DeliveryStatus::try_from_value(&s.to_owned()))
                {
                    entry.count(status, value);
                }
            }
            "booking" => counts.tabs.mentor_bookings += value,
            "resource" => counts.tabs.resource_matches += value,
            "recruit" => counts.tabs.team_recruits += value,
            _ => {}
        }
    }
    Ok(counts)
}

#[derive(FromQueryResult)]
struct LastLeadRow {
    plan_id: i64,
    last_lead_at: Option<DateTime<Utc>>,
}

/// The time of each plan's newest lead. A subquery per plan finds it with one index seek on
/// `(plan_id, created_at)`, where grouping all leads by plan would read them all.
pub async fn last_lead_times(db: &impl ConnectionTrait) -> Result<HashMap<i64, DateTime<Utc>>> {
    let sql = "SELECT p.id AS plan_id, (SELECT MAX(l.created_at) FROM ckb_leads l WHERE l.plan_id = p.id) AS last_lead_at FROM ckb_plans p";
    let rows = LastLeadRow::find_by_statement(statement(db.get_database_backend(), sql, vec![]))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| row.last_lead_at.map(|at| (row.plan_id, at)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_placeholders_are_numbered() {
        let stmt = statement(
            DbBackend::Postgres,
            "a = ? AND b = ?",
            vec![1.into(), 2.into()],
        );
        assert_eq!(stmt.sql, "a = $1 AND b = $2");
    }

    #[test]
    fn delivery_success_rate_ignores_pending() {
        let counts = LeadCounts {
            submitted: 10,
            pending: 2,
            created: 5,
            existing: 1,
            rejected: 1,
            failed: 1,
            friends_added: 0,
        };
        assert_eq!(counts.delivery_success_rate(), Some(6.0 / 8.0));
        assert_eq!(
            LeadCounts {
                submitted: 3,
                pending: 3,
                ..Default::default()
            }
            .delivery_success_rate(),
            None
        );
    }
}
