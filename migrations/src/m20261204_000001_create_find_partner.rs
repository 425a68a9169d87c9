//! Creates the find-partner tables: members, partner pools, the four tabs, CKB plans and leads,
//! and API tokens.
//!
//! Enumerations are stored as short strings so that rows stay readable in `sqlite3` and `psql`
//! and adding a variant needs no migration. Every filter and count the GraphQL API offers has
//! an index here; the comment above each index names what it serves.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000001_create_find_partner"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_members(manager).await?;
        create_ckb_plans(manager).await?;
        create_partner_pools(manager).await?;
        create_ckb_leads(manager).await?;
        create_match_records(manager).await?;
        create_mentor_bookings(manager).await?;
        create_resource_matches(manager).await?;
        create_team_recruits(manager).await?;
        create_api_tokens(manager).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "api_tokens",
            "team_applications",
            "team_recruits",
            "resource_matches",
            "mentor_bookings",
            "match_records",
            "ckb_leads",
            "partner_pool_members",
            "partner_pools",
            "ckb_plans",
            "member_tags",
            "members",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}

fn id() -> ColumnDef {
    ColumnDef::new(Alias::new("id"))
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn timestamp(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn optional_timestamp(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

fn text(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .text()
        .not_null()
        .to_owned()
}

fn optional_text(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).text().null().to_owned()
}

/// A short string column for an enumeration value.
fn label(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .string_len(32)
        .not_null()
        .to_owned()
}

fn integer(name: &str, default: i32) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .integer()
        .not_null()
        .default(default)
        .to_owned()
}

fn boolean(name: &str, default: bool) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .boolean()
        .not_null()
        .default(default)
        .to_owned()
}

fn reference(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .big_integer()
        .not_null()
        .to_owned()
}

fn optional_reference(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .big_integer()
        .null()
        .to_owned()
}

fn foreign_key(table: &str, column: &str, target: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(Alias::new(table), Alias::new(column))
        .to(Alias::new(target), Alias::new("id"))
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

async fn create_index(
    manager: &SchemaManager<'_>,
    table: &str,
    columns: &[&str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index
        .name(format!("idx_{table}_{}", columns.join("_")))
        .table(Alias::new(table));
    for column in columns {
        index.col(Alias::new(*column));
    }
    if unique {
        index.unique();
    }
    manager.create_index(index.to_owned()).await
}

async fn create_members(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Alias::new("members"))
                .col(id())
                .col(text("nickname"))
                .col(optional_text("phone"))
                .col(optional_text("wechat_id"))
                .col(optional_text("avatar_url"))
                .col(optional_text("city"))
                .col(optional_text("industry"))
                .col(boolean("is_vip", false))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .to_owned(),
        )
        .await?;
    // Members tab order and the keyset cursor.
    create_index(manager, "members", &["created_at", "id"], false).await?;
    // VIP_MEMBERS pools.
    create_index(manager, "members", &["is_vip", "id"], false).await?;

    // Tags live in their own table so that a TAGGED pool can find members by tag with an index
    // on either database, instead of matching text inside a JSON column.
    manager
        .create_table(
            Table::create()
                .table(Alias::new("member_tags"))
                .col(reference("member_id"))
                .col(text("tag"))
                .primary_key(
                    Index::create()
                        .col(Alias::new("member_id"))
                        .col(Alias::new("tag")),
                )
                .foreign_key(
                    &mut foreign_key("member_tags", "member_id", "members")
                        .on_delete(ForeignKeyAction::Cascade)
                        .to_owned(),
                )
                .to_owned(),
        )
        .await?;
    create_index(manager, "member_tags", &["tag", "member_id"], false).await
}

async fn create_ckb_plans(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Alias::new("ckb_plans"))
                .col(id())
                .col(text("name"))
                .col(text("api_key"))
                .col(text("endpoint"))
                .col(
                    ColumnDef::new(Alias::new("remote_plan_id"))
                        .big_integer()
                        .null(),
                )
                .col(label("purpose"))
                .col(label("content_type"))
                .col(boolean("is_default", false))
                .col(boolean("enabled", true))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .to_owned(),
        )
        .await?;
    // Routing a lead to the plan of its purpose.
    create_index(manager, "ckb_plans", &["purpose", "enabled"], false).await?;
    // At most one plan sits behind the 链接卡若 button.
    manager
        .get_connection()
        .execute_unprepared(
            "CREATE UNIQUE INDEX idx_ckb_plans_one_default ON ckb_plans (is_default) WHERE is_default",
        )
        .await?;
    Ok(())
}

async fn create_partner_pools(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Alias::new("partner_pools"))
                .col(id())
                .col(text("name"))
                .col(optional_text("description"))
                .col(label("kind"))
                .col(label("source"))
                .col(text("required_tags"))
                .col(boolean("require_phone", false))
                .col(boolean("require_wechat", false))
                .col(integer("exclude_matched_within_days", 0))
                .col(integer("daily_match_limit", 0))
                .col(boolean("enabled", true))
                .col(boolean("selected", false))
                .col(optional_reference("ckb_plan_id"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut foreign_key(
                    "partner_pools",
                    "ckb_plan_id",
                    "ckb_plans",
                ))
                .to_owned(),
        )
        .await?;
    create_index(manager, "partner_pools", &["kind", "created_at"], false).await?;
    create_index(manager, "partner_pools", &["created_at", "id"], false).await?;
    // The database's half of "exactly one selected pool per kind": never two. The code keeps
    // at least one by refusing to disable the selected pool and by selecting the first pool
    // created for a kind.
    manager
        .get_connection()
        .execute_unprepared(
            "CREATE UNIQUE INDEX idx_partner_pools_one_selected ON partner_pools (kind) WHERE selected",
        )
        .await?;

    manager
        .create_table(
            Table::create()
                .table(Alias::new("partner_pool_members"))
                .col(reference("pool_id"))
                .col(reference("member_id"))
                .col(timestamp("created_at"))
                .primary_key(
                    Index::create()
                        .col(Alias::new("pool_id"))
                        .col(Alias::new("member_id")),
                )
                .foreign_key(
                    &mut foreign_key("partner_pool_members", "pool_id", "partner_pools")
                        .on_delete(ForeignKeyAction::Cascade)
                        .to_owned(),
                )
                .foreign_key(
                    &mut foreign_key("partner_pool_members", "member_id", "members")
                        .on_delete(ForeignKeyAction::Cascade)
                        .to_owned(),
                )
                .to_owned(),
        )
        .await?;
    create_index(manager, "partner_pool_members", &["member_id"], false).await
}

async fn create_ckb_leads(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Alias::new("ckb_leads"))
                .col(id())
                .col(reference("plan_id"))
                .col(label("origin"))
                .col(optional_reference("origin_id"))
                .col(text("identifier"))
                .col(optional_text("phone"))
                .col(optional_text("wechat_id"))
                .col(text("name"))
                .col(text("source"))
                .col(text("remark"))
                .col(text("tags"))
                .col(text("site_tags"))
                .col(optional_text("portrait"))
                .col(optional_text("idempotency_key"))
                .col(optional_reference("submitted_by"))
                .col(optional_text("request_id"))
                .col(label("delivery_status"))
                .col(integer("attempts", 0))
                .col(optional_text("last_error"))
                .col(ColumnDef::new(Alias::new("ckb_code")).integer().null())
                .col(optional_text("ckb_message"))
                .col(optional_timestamp("delivered_at"))
                .col(timestamp("next_attempt_at"))
                .col(optional_text("lease_owner"))
                .col(optional_timestamp("lease_until"))
                .col(
                    ColumnDef::new(Alias::new("friend_status"))
                        .string_len(32)
                        .null(),
                )
                .col(optional_timestamp("friend_status_at"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut foreign_key("ckb_leads", "plan_id", "ckb_plans"))
                .to_owned(),
        )
        .await?;
    // The delivery worker's claim: due PENDING leads in order.
    create_index(
        manager,
        "ckb_leads",
        &["delivery_status", "next_attempt_at"],
        false,
    )
    .await?;
    // Leads tab order, the plan statistics by window, and the friend-status sync by plan.
    create_index(manager, "ckb_leads", &["created_at", "id"], false).await?;
    create_index(manager, "ckb_leads", &["plan_id", "created_at"], false).await?;
    create_index(manager, "ckb_leads", &["plan_id", "identifier"], false).await?;
    // A record's lead, looked up from the record.
    create_index(manager, "ckb_leads", &["origin", "origin_id"], false).await?;
    // An integrator's own leads, and idempotent submission per token.
    create_index(manager, "ckb_leads", &["submitted_by", "created_at"], false).await?;
    create_index(
        manager,
        "ckb_leads",
        &["submitted_by", "idempotency_key"],
        true,
    )
    .await
}

async fn create_match_records(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Alias::new("match_records"))
                .col(id())
                .col(label("kind"))
                .col(reference("pool_id"))
                .col(reference("requester_id"))
                .col(reference("partner_id"))
                .col(label("status"))
                .col(optional_reference("lead_id"))
                .col(timestamp("matched_at"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut foreign_key(
                    "match_records",
                    "pool_id",
                    "partner_pools",
                ))
                .foreign_key(&mut foreign_key("match_records", "requester_id", "members"))
                .foreign_key(&mut foreign_key("match_records", "partner_id", "members"))
                .foreign_key(&mut foreign_key("match_records", "lead_id", "ckb_leads"))
                .to_owned(),
        )
        .await?;
    create_index(manager, "match_records", &["matched_at", "id"], false).await?;
    create_index(manager, "match_records", &["kind", "matched_at"], false).await?;
    create_index(manager, "match_records", &["pool_id", "matched_at"], false).await?;
    create_index(manager, "match_records", &["status", "matched_at"], false).await?;
    // The daily limit and the "not matched recently" rule look up a requester's matches.
    create_index(
        manager,
        "match_records",
        &["requester_id", "matched_at"],
        false,
    )
    .await?;
    create_index(
        manager,
        "match_records",
        &["partner_id", "matched_at"],
        false,
    )
    .await?;
    create_index(manager, "match_records", &["lead_id"], false).await
}

async fn create_mentor_bookings(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Alias::new("mentor_bookings"))
                .col(id())
                .col(reference("mentor_id"))
                .col(reference("member_id"))
                .col(text("topic"))
                .col(timestamp("slot_start"))
                .col(timestamp("slot_end"))
                .col(label("status"))
                .col(optional_text("note"))
                .col(optional_reference("lead_id"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut foreign_key("mentor_bookings", "mentor_id", "members"))
                .foreign_key(&mut foreign_key("mentor_bookings", "member_id", "members"))
                .foreign_key(&mut foreign_key("mentor_bookings", "lead_id", "ckb_leads"))
                .to_owned(),
        )
        .await?;
    create_index(manager, "mentor_bookings", &["created_at", "id"], false).await?;
    create_index(manager, "mentor_bookings", &["slot_start", "id"], false).await?;
    create_index(manager, "mentor_bookings", &["status", "created_at"], false).await?;
    // Overlap check of a mentor's slots, and the mentor filter.
    create_index(
        manager,
        "mentor_bookings",
        &["mentor_id", "slot_start"],
        false,
    )
    .await?;
    create_index(
        manager,
        "mentor_bookings",
        &["member_id", "created_at"],
        false,
    )
    .await
}

async fn create_resource_matches(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Alias::new("resource_matches"))
                .col(id())
                .col(label("direction"))
                .col(text("title"))
                .col(text("description"))
                .col(text("tags"))
                .col(reference("owner_id"))
                .col(optional_reference("counterpart_id"))
                .col(label("status"))
                .col(optional_timestamp("matched_at"))
                .col(optional_reference("lead_id"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut foreign_key("resource_matches", "owner_id", "members"))
                .foreign_key(&mut foreign_key(
                    "resource_matches",
                    "counterpart_id",
                    "members",
                ))
                .foreign_key(&mut foreign_key("resource_matches", "lead_id", "ckb_leads"))
                .to_owned(),
        )
        .await?;
    create_index(manager, "resource_matches", &["created_at", "id"], false).await?;
    create_index(
        manager,
        "resource_matches",
        &["direction", "status", "created_at"],
        false,
    )
    .await?;
    create_index(
        manager,
        "resource_matches",
        &["status", "created_at"],
        false,
    )
    .await?;
    create_index(
        manager,
        "resource_matches",
        &["owner_id", "created_at"],
        false,
    )
    .await?;
    create_index(manager, "resource_matches", &["counterpart_id"], false).await
}

async fn create_team_recruits(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Alias::new("team_recruits"))
                .col(id())
                .col(text("project_name"))
                .col(text("stage"))
                .col(text("description"))
                .col(text("roles"))
                .col(integer("headcount", 1))
                .col(integer("filled_count", 0))
                .col(label("status"))
                .col(reference("owner_id"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut foreign_key("team_recruits", "owner_id", "members"))
                .to_owned(),
        )
        .await?;
    create_index(manager, "team_recruits", &["created_at", "id"], false).await?;
    create_index(manager, "team_recruits", &["status", "created_at"], false).await?;
    create_index(manager, "team_recruits", &["owner_id", "created_at"], false).await?;

    manager
        .create_table(
            Table::create()
                .table(Alias::new("team_applications"))
                .col(id())
                .col(reference("recruit_id"))
                .col(reference("member_id"))
                .col(text("role"))
                .col(text("message"))
                .col(label("status"))
                .col(optional_reference("lead_id"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(
                    &mut foreign_key("team_applications", "recruit_id", "team_recruits")
                        .on_delete(ForeignKeyAction::Cascade)
                        .to_owned(),
                )
                .foreign_key(&mut foreign_key(
                    "team_applications",
                    "member_id",
                    "members",
                ))
                .foreign_key(&mut foreign_key(
                    "team_applications",
                    "lead_id",
                    "ckb_leads",
                ))
                .to_owned(),
        )
        .await?;
    // One application per member and recruitment; also the recruitment's application list.
    create_index(
        manager,
        "team_applications",
        &["recruit_id", "member_id"],
        true,
    )
    .await?;
    create_index(manager, "team_applications", &["member_id"], false).await
}

async fn create_api_tokens(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Alias::new("api_tokens"))
                .col(id())
                .col(text("name"))
                .col(label("role"))
                .col(
                    ColumnDef::new(Alias::new("token_hash"))
                        .string_len(64)
                        .not_null(),
                )
                .col(timestamp("created_at"))
                .col(optional_timestamp("revoked_at"))
                .col(optional_timestamp("last_used_at"))
                .to_owned(),
        )
        .await?;
    create_index(manager, "api_tokens", &["token_hash"], true).await
}
