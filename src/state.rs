//! The state shared by every request and background worker.

use std::{ops::Deref, sync::Arc};

use chrono::{DateTime, FixedOffset, NaiveTime, TimeZone, Utc};
use sea_orm::DatabaseConnection;

use crate::{
    ckb::{manage::ManageClient, outbox::Outbox, stats::RemoteStats, sync::FriendSync},
    config::Settings,
    db::StatementCounter,
    metrics::Metrics,
};

/// Cheap to clone: one `Arc` around everything.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

pub struct AppStateInner {
    pub db: DatabaseConnection,
    pub settings: Settings,
    pub statements: StatementCounter,
    pub outbox: Arc<Outbox>,
    pub manage: Arc<ManageClient>,
    pub remote_stats: Arc<RemoteStats>,
    pub friend_sync: Arc<FriendSync>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(inner: AppStateInner) -> Self {
        AppState(Arc::new(inner))
    }

    /// How long a lead mutation waits for CKB's answer.
    pub fn lead_wait(&self) -> std::time::Duration {
        self.settings.lead_wait()
    }

    /// The admins' time zone, from `PGW_UTC_OFFSET_HOURS`.
    pub fn time_zone(&self) -> FixedOffset {
        FixedOffset::east_opt(self.settings.telemetry.utc_offset_hours * 3600)
            .expect("offset validated at start to lie within -12..=14 hours")
    }

    /// Midnight of the day `days_back` days before today, in the admins' time zone, as UTC.
    pub fn day_start(&self, now: DateTime<Utc>, days_back: i64) -> DateTime<Utc> {
        let zone = self.time_zone();
        let local_date = now.with_timezone(&zone).date_naive() - chrono::Duration::days(days_back);
        zone.from_local_datetime(&local_date.and_time(NaiveTime::MIN))
            .single()
            .expect("a fixed offset has no gaps or folds")
            .with_timezone(&Utc)
    }
}

impl Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
