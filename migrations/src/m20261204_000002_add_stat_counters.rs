//! Adds the counters behind the overview, and the match kind of each match lead.
//!
//! The overview must cost the same at a million records as at ten thousand, so it reads
//! counters per local day instead of counting rows. Every write that changes a counted row
//! updates its counters in the same transaction. A counter row is split into shards that writers
//! pick at random, so concurrent writers on PostgreSQL rarely wait for the same row lock.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000002_add_stat_counters"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("stat_counters"))
                    .col(ColumnDef::new(Alias::new("day")).date().not_null())
                    .col(
                        ColumnDef::new(Alias::new("metric"))
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Alias::new("dimension"))
                            .string_len(96)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Alias::new("shard"))
                            .small_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Alias::new("value")).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(Alias::new("day"))
                            .col(Alias::new("metric"))
                            .col(Alias::new("dimension"))
                            .col(Alias::new("shard")),
                    )
                    .to_owned(),
            )
            .await?;
        // The kind of match a MATCH lead came from, so that a lead's status change can update
        // the per-kind counters without a join.
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("ckb_leads"))
                    .add_column(
                        ColumnDef::new(Alias::new("match_kind"))
                            .string_len(32)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("ckb_leads"))
                    .drop_column(Alias::new("match_kind"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Alias::new("stat_counters")).to_owned())
            .await
    }
}
