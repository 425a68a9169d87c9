//! Persistence: the connection, migrations, and the queries of each find-partner area.
//!
//! Resolvers never build SQL themselves; they call the functions of the area modules here,
//! which return [`crate::error::Result`] so that a database error can only leave the process as
//! an `INTERNAL` error.

pub mod entities;
pub mod page;

use std::{
    str::FromStr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
};

/// Counts the SQL statements the process has run. Tests use it to check that a query's cost
/// does not grow with the data, and `/metrics` exports it.
#[derive(Clone, Default, Debug)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Opens the database named by `url` and installs the statement counter.
pub async fn connect(
    url: &str,
    max_connections: u32,
) -> anyhow::Result<(DatabaseConnection, StatementCounter)> {
    let mut db = if url.starts_with("sqlite:") {
        connect_sqlite(url, max_connections).await?
    } else {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(max_connections)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false);
        Database::connect(options).await.context(
            "failed to connect to PostgreSQL; check DATABASE_URL and that the server is running",
        )?
    };
    let counter = StatementCounter::default();
    let inner = counter.0.clone();
    db.set_metric_callback(move |_| {
        inner.fetch_add(1, Ordering::Relaxed);
    });
    Ok((db, counter))
}

/// SQLite gets write-ahead logging, so readers never wait for the writer, and a busy timeout,
/// so that concurrent writers queue instead of failing with "database is locked".
async fn connect_sqlite(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| "invalid SQLite DATABASE_URL")?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options)
        .await
        .context(
            "failed to open the SQLite database; check DATABASE_URL and the folder's permissions",
        )?;
    Ok(sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("failed to apply migrations")
}

/// The names of migrations not yet applied.
pub async fn pending_migrations(db: &DatabaseConnection) -> anyhow::Result<Vec<String>> {
    let pending = Migrator::get_pending_migrations(db)
        .await
        .context("failed to read the migration table")?;
    Ok(pending.iter().map(|m| m.name().to_owned()).collect())
}

/// The applied and pending migrations, in order, for `partner-gateway migrate status`.
pub async fn migration_status(db: &DatabaseConnection) -> anyhow::Result<Vec<(String, bool)>> {
    let pending = pending_migrations(db).await?;
    Ok(Migrator::migrations()
        .iter()
        .map(|m| {
            let name = m.name().to_owned();
            let applied = !pending.contains(&name);
            (name, applied)
        })
        .collect())
}

pub fn is_postgres(db: &DatabaseConnection) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

pub mod bookings;
pub mod counters;
pub mod leads;
pub mod matches;
pub mod members;
pub mod plans;
pub mod pools;
pub mod recruits;
pub mod resources;
pub mod stats;

/// The current time, truncated to microseconds: PostgreSQL keeps microseconds, and truncating
/// on SQLite too makes stored timestamps, cursors and comparisons behave the same on both.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
