//! Database migrations of partner-gateway.
//!
//! The same migrations run on SQLite (the embedded default) and PostgreSQL (production), so
//! they use sea-query's schema builder and fall back to raw SQL only for statements that both
//! databases spell the same way (partial unique indexes). A released migration is never edited;
//! a change to the schema is a new file.

pub use sea_orm_migration::prelude::*;

mod m20261204_000001_create_find_partner;
mod m20261204_000002_add_stat_counters;

/// The ordered list of migrations, applied by `partner-gateway migrate` and at server start.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261204_000001_create_find_partner::Migration),
            Box::new(m20261204_000002_add_stat_counters::Migration),
        ]
    }
}
