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
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
    TransactionTrait,
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

/// Opens the database named by `url` and installs the statement counter. A missing SQLite file
/// is created.
pub async fn connect(
    url: &str,
    max_connections: u32,
) -> anyhow::Result<(DatabaseConnection, StatementCounter)> {
    connect_with(url, max_connections, true).await
}

/// Opens the database named by `url` like [`connect`], but fails instead of creating a missing
/// SQLite file, even when the URL sets `mode=rwc`.
pub async fn connect_existing(
    url: &str,
    max_connections: u32,
) -> anyhow::Result<(DatabaseConnection, StatementCounter)> {
    connect_with(url, max_connections, false).await
}

async fn connect_with(
    url: &str,
    max_connections: u32,
    create_if_missing: bool,
) -> anyhow::Result<(DatabaseConnection, StatementCounter)> {
    let mut db = if url.starts_with("sqlite:") {
        connect_sqlite(url, max_connections, create_if_missing).await?
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

/// Rows buffered per SQLite query; see [`connect_sqlite`].
const ROW_BUFFER_SIZE: usize = 512;

/// SQLite gets write-ahead logging, so readers never wait for the writer, and a busy timeout,
/// so that concurrent writers queue instead of failing with "database is locked".
async fn connect_sqlite(
    url: &str,
    max_connections: u32,
    create_if_missing: bool,
) -> anyhow::Result<DatabaseConnection> {
    // The flag overrides the URL's `mode` parameter.
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| "invalid SQLite DATABASE_URL")?
        .create_if_missing(create_if_missing)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // Rows cross from the connection's thread through a channel of this size. When a
        // result outgrows it, the thread blocks on every further row, so on a busy core each
        // row then costs two context switches. Page relations (up to 200 members) and the
        // counter sums fit whole.
        .row_buffer_size(ROW_BUFFER_SIZE);
    // A connection to a local file does not go stale, so the pool skips the ping it would
    // otherwise send before lending one out: a round trip to the connection's thread per
    // statement.
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .context(
            "failed to open the SQLite database; check DATABASE_URL and the folder's permissions",
        )?;
    Ok(sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
}

/// The PostgreSQL advisory lock key that serialises migrations: "pgw-migr" in ASCII.
const MIGRATION_LOCK_KEY: i64 = 0x7067_772d_6d69_6772;

/// Applies every pending migration.
///
/// Replicas started together on a new database would otherwise all find the same migrations
/// pending, and all but the first would fail creating the same tables. So each applies them in
/// one transaction that first takes a lock: an advisory lock on PostgreSQL, and on SQLite the
/// database's write lock, taken by a write that changes nothing. The replicas after the first
/// wait for it, then find nothing pending.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    // NOTE: six processes migrating one new SQLite file at once failed about once in fifteen
    // runs of the loaded test suite, and the cause was not found. A failed attempt is rolled
    // back, so SQLite gets a few more tries; PostgreSQL's advisory lock has shown no failure.
    let attempts: u64 = if is_postgres(db) { 1 } else { 4 };
    for attempt in 1..attempts {
        match apply_migrations(db).await {
            Ok(()) => return Ok(()),
            Err(error) => {
                tracing::warn!(attempt, error = %error, "applying migrations failed; trying again");
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
        }
    }
    apply_migrations(db)
        .await
        .context("failed to apply migrations")
}

/// Applies the pending migrations once, in one transaction behind the migration lock.
async fn apply_migrations(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    let lock = if is_postgres(db) {
        format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
    } else {
        // The write needs the migration table; SQLite serialises its creation itself.
        Migrator::install(db).await?;
        format!(
            "UPDATE \"{}\" SET applied_at = applied_at WHERE 0 = 1",
            Migrator::migration_table_name().to_string()
        )
    };
    let transaction = db.begin().await?;
    transaction.execute_unprepared(&lock).await?;
    Migrator::up(&transaction, None).await?;
    transaction.commit().await
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

/// A flag that at most one row of its table may carry, guarded by a partial unique index.
#[derive(Clone, Copy, Debug)]
pub enum SingleFlag {
    /// `partner_pools.selected`, one per match kind.
    SelectedPool = 1,
    /// `ckb_plans.is_default`.
    DefaultPlan = 2,
}

/// The first key of every PostgreSQL advisory lock this gateway takes ("pgw" in ASCII), which
/// keeps them apart from advisory locks of other programs using the same database.
const ADVISORY_LOCK_SPACE: i32 = 0x0070_6777;

/// Makes the transactions that move `flag` to another row run one after the other, until the
/// end of the calling transaction. Call it before reading which row carries the flag.
///
/// PostgreSQL needs this because under its default READ COMMITTED isolation two transactions
/// can each clear the flag on the rows they see and then set it on their own row. The partial
/// unique index then rejects the second with a duplicate key error, and a new row is invisible
/// to row locks. A transaction-scoped advisory lock makes the second transaction wait, and its
/// next statement sees what the first committed. SQLite needs nothing here, because the callers
/// write before they read, and the first write takes SQLite's single write lock until commit.
pub async fn lock_single_flag(
    txn: &impl ConnectionTrait,
    flag: SingleFlag,
) -> crate::error::Result<()> {
    lock_advisory(txn, flag as i32).await
}

/// The second key of the advisory lock of [`lock_match_recording`]. It follows the keys of
/// [`SingleFlag`].
const MATCH_RECORDING_LOCK_KEY: i32 = 3;

/// Makes the transactions that record a match under an exclusion window run one after the
/// other, until the end of the calling transaction. Call it before reading the candidates.
///
/// The window is a rule about pairs of members, but a match locks only its requester's row.
/// Without this lock, two members on PostgreSQL could each request a match at the same moment,
/// each find no recent match with the other, and be matched with each other twice. SQLite needs
/// nothing here, because a match writes the requester's row first, and that write takes
/// SQLite's single write lock until commit.
pub async fn lock_match_recording(txn: &impl ConnectionTrait) -> crate::error::Result<()> {
    lock_advisory(txn, MATCH_RECORDING_LOCK_KEY).await
}

/// Takes this gateway's transaction-scoped PostgreSQL advisory lock `key`. It does nothing on
/// SQLite.
async fn lock_advisory(txn: &impl ConnectionTrait, key: i32) -> crate::error::Result<()> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1, $2)",
            [ADVISORY_LOCK_SPACE.into(), key.into()],
        ))
        .await?;
    }
    Ok(())
}

pub mod bookings;
pub mod counters;
pub mod lead_writer;
pub mod leads;
pub mod matches;
pub mod members;
pub mod plans;
pub mod pools;
pub mod recruits;
pub mod resources;
pub mod stats;

/// Rewrites a row's `updated_at` with itself and returns whether the row exists. As the first
/// statement of a transaction it takes SQLite's write lock before the reads that follow, which
/// could otherwise fail with "database is locked" when another writer commits in between; on
/// PostgreSQL it locks the row for the rest of the transaction.
pub async fn touch(db: &impl ConnectionTrait, table: &str, id: i64) -> crate::error::Result<bool> {
    let sql = format!("UPDATE {table} SET updated_at = updated_at WHERE id = ?");
    let result = db
        .execute(stats::statement(
            db.get_database_backend(),
            &sql,
            vec![id.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// The current time, truncated to microseconds: PostgreSQL keeps microseconds, and truncating
/// on SQLite too makes stored timestamps, cursors and comparisons behave the same on both.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
