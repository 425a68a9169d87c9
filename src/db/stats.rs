//! Aggregate counts behind the overview and the plan statistics.
//!
//! Each function is one SQL statement whatever the number of rows, kinds or plans, so the
//! overview's cost in statements is fixed. The statements are written as SQL because grouped
//! aggregates read more clearly that way than through the query builder.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, Value};

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

/// Record counts of each tab, created (or matched) since `since`; pools and plans are counted
/// whole because they are configuration, not activity.
#[derive(Debug, Clone, Default, PartialEq, Eq, FromQueryResult)]
pub struct TabCounts {
    pub match_records: i64,
    pub partner_pools: i64,
    pub mentor_bookings: i64,
    pub resource_matches: i64,
    pub team_recruits: i64,
    pub ckb_plans: i64,
}

pub async fn tab_counts(db: &impl ConnectionTrait, since: DateTime<Utc>) -> Result<TabCounts> {
    let sql = "SELECT \
        (SELECT COUNT(*) FROM match_records WHERE matched_at >= ?) AS match_records, \
        (SELECT COUNT(*) FROM partner_pools) AS partner_pools, \
        (SELECT COUNT(*) FROM mentor_bookings WHERE created_at >= ?) AS mentor_bookings, \
        (SELECT COUNT(*) FROM resource_matches WHERE created_at >= ?) AS resource_matches, \
        (SELECT COUNT(*) FROM team_recruits WHERE created_at >= ?) AS team_recruits, \
        (SELECT COUNT(*) FROM ckb_plans) AS ckb_plans";
    let values = vec![since.into(), since.into(), since.into(), since.into()];
    let row = TabCounts::find_by_statement(statement(db.get_database_backend(), sql, values))
        .one(db)
        .await?;
    Ok(row.unwrap_or_default())
}

/// Matches of one kind since a time, and what became of their leads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindCounts {
    pub matches: i64,
    pub with_lead: i64,
    pub leads_accepted: i64,
    pub friends_added: i64,
}

#[derive(FromQueryResult)]
struct KindRow {
    kind: MatchKind,
    matches: i64,
    with_lead: i64,
    leads_accepted: Option<i64>,
    friends_added: Option<i64>,
}

pub async fn match_counts_by_kind(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<HashMap<MatchKind, KindCounts>> {
    let sql = "SELECT m.kind AS kind, COUNT(*) AS matches, COUNT(m.lead_id) AS with_lead, \
        SUM(CASE WHEN l.delivery_status IN ('CREATED', 'EXISTING') THEN 1 ELSE 0 END) AS leads_accepted, \
        SUM(CASE WHEN l.friend_status = 'PASSED' THEN 1 ELSE 0 END) AS friends_added \
        FROM match_records m LEFT JOIN ckb_leads l ON l.id = m.lead_id \
        WHERE m.matched_at >= ? GROUP BY m.kind";
    let rows = KindRow::find_by_statement(statement(
        db.get_database_backend(),
        sql,
        vec![since.into()],
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            (
                row.kind,
                KindCounts {
                    matches: row.matches,
                    with_lead: row.with_lead,
                    leads_accepted: row.leads_accepted.unwrap_or(0),
                    friends_added: row.friends_added.unwrap_or(0),
                },
            )
        })
        .collect())
}

/// Lead counts of one plan and origin since a time, by delivery status.
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
}

#[derive(FromQueryResult)]
struct LeadRow {
    plan_id: i64,
    origin: LeadOrigin,
    delivery_status: DeliveryStatus,
    leads: i64,
    friends_added: Option<i64>,
}

/// Lead counts since `since` for every (plan, origin) pair that has leads.
pub async fn lead_counts(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<HashMap<(i64, LeadOrigin), LeadCounts>> {
    let sql = "SELECT plan_id, origin, delivery_status, COUNT(*) AS leads, \
        SUM(CASE WHEN friend_status = 'PASSED' THEN 1 ELSE 0 END) AS friends_added \
        FROM ckb_leads WHERE created_at >= ? GROUP BY plan_id, origin, delivery_status";
    let rows = LeadRow::find_by_statement(statement(
        db.get_database_backend(),
        sql,
        vec![since.into()],
    ))
    .all(db)
    .await?;
    let mut counts: HashMap<(i64, LeadOrigin), LeadCounts> = HashMap::new();
    for row in rows {
        let entry = counts.entry((row.plan_id, row.origin)).or_default();
        entry.submitted += row.leads;
        entry.friends_added += row.friends_added.unwrap_or(0);
        match row.delivery_status {
            DeliveryStatus::Pending => entry.pending += row.leads,
            DeliveryStatus::Created => entry.created += row.leads,
            DeliveryStatus::Existing => entry.existing += row.leads,
            DeliveryStatus::Rejected => entry.rejected += row.leads,
            DeliveryStatus::Failed => entry.failed += row.leads,
        }
    }
    Ok(counts)
}

#[derive(FromQueryResult)]
struct LastLeadRow {
    plan_id: i64,
    last_lead_at: Option<DateTime<Utc>>,
}

/// The time of each plan's newest lead.
pub async fn last_lead_times(db: &impl ConnectionTrait) -> Result<HashMap<i64, DateTime<Utc>>> {
    let sql = "SELECT plan_id, MAX(created_at) AS last_lead_at FROM ckb_leads GROUP BY plan_id";
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
