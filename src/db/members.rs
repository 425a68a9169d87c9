//! Members: the people who ask for matches and get matched.

use std::collections::HashMap;

use sea_orm::{
    sea_query::Query, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    QueryFilter, QuerySelect, Set, TransactionTrait,
};

use super::{
    entities::{member, member_tag},
    page::{contains_pattern, into_page, keyset, like_lower, Cursor, Page, PageRequest},
};
use crate::error::{GatewayError, Result};

/// Filters of the members list.
#[derive(Default, Clone, Debug)]
pub struct MemberFilter {
    pub keyword: Option<String>,
    pub is_vip: Option<bool>,
    pub tag: Option<String>,
    pub city: Option<String>,
}

/// Fields of a new or updated member.
#[derive(Clone, Debug)]
pub struct MemberFields {
    pub nickname: String,
    pub phone: Option<String>,
    pub wechat_id: Option<String>,
    pub avatar_url: Option<String>,
    pub city: Option<String>,
    pub industry: Option<String>,
    pub tags: Vec<String>,
    pub is_vip: bool,
}

fn filtered(filter: &MemberFilter) -> sea_orm::Select<member::Entity> {
    let mut select = member::Entity::find();
    if let Some(keyword) = filter.keyword.as_deref() {
        select = select.filter(like_lower(
            member::Column::Nickname,
            &contains_pattern(keyword),
        ));
    }
    if let Some(is_vip) = filter.is_vip {
        select = select.filter(member::Column::IsVip.eq(is_vip));
    }
    if let Some(city) = filter.city.as_deref() {
        select = select.filter(member::Column::City.eq(city));
    }
    if let Some(tag) = filter.tag.as_deref() {
        select = select.filter(
            member::Column::Id.in_subquery(
                Query::select()
                    .column(member_tag::Column::MemberId)
                    .from(member_tag::Entity)
                    .and_where(member_tag::Column::Tag.eq(tag))
                    .to_owned(),
            ),
        );
    }
    select
}

pub async fn list(
    db: &impl ConnectionTrait,
    filter: &MemberFilter,
    page: &PageRequest,
) -> Result<Page<member::Model>> {
    let rows = keyset(
        filtered(filter),
        member::Column::CreatedAt,
        member::Column::Id,
        page,
    )
    .all(db)
    .await?;
    Ok(into_page(rows, page, |m| Cursor {
        at: m.created_at,
        id: m.id,
    }))
}

pub async fn count(db: &impl ConnectionTrait, filter: &MemberFilter) -> Result<u64> {
    use sea_orm::PaginatorTrait;
    Ok(filtered(filter).count(db).await?)
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<member::Model> {
    member::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| GatewayError::not_found("Member", id))
}

/// Loads members by id, for the DataLoader.
pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> Result<HashMap<i64, member::Model>> {
    let rows = member::Entity::find()
        .filter(member::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// Loads the tags of members, for the DataLoader.
pub async fn tags_by_member(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<String>>> {
    let rows = member_tag::Entity::find()
        .filter(member_tag::Column::MemberId.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
    for row in rows {
        tags.entry(row.member_id).or_default().push(row.tag);
    }
    for list in tags.values_mut() {
        list.sort();
    }
    Ok(tags)
}

pub async fn create(
    db: &(impl ConnectionTrait + TransactionTrait),
    fields: MemberFields,
) -> Result<member::Model> {
    let txn = db.begin().await?;
    let now = crate::db::now();
    let model = member::ActiveModel {
        nickname: Set(fields.nickname),
        phone: Set(fields.phone),
        wechat_id: Set(fields.wechat_id),
        avatar_url: Set(fields.avatar_url),
        city: Set(fields.city),
        industry: Set(fields.industry),
        is_vip: Set(fields.is_vip),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    replace_tags(&txn, model.id, &fields.tags).await?;
    txn.commit().await?;
    Ok(model)
}

pub async fn update(
    db: &(impl ConnectionTrait + TransactionTrait),
    id: i64,
    fields: MemberFields,
) -> Result<member::Model> {
    let txn = db.begin().await?;
    super::touch(&txn, "members", id).await?;
    let existing = find(&txn, id).await?;
    let mut active: member::ActiveModel = existing.into();
    active.nickname = Set(fields.nickname);
    active.phone = Set(fields.phone);
    active.wechat_id = Set(fields.wechat_id);
    active.avatar_url = Set(fields.avatar_url);
    active.city = Set(fields.city);
    active.industry = Set(fields.industry);
    active.is_vip = Set(fields.is_vip);
    active.updated_at = Set(crate::db::now());
    let model = active.update(&txn).await?;
    replace_tags(&txn, id, &fields.tags).await?;
    txn.commit().await?;
    Ok(model)
}

async fn replace_tags(db: &impl ConnectionTrait, member_id: i64, tags: &[String]) -> Result<()> {
    member_tag::Entity::delete_many()
        .filter(member_tag::Column::MemberId.eq(member_id))
        .exec(db)
        .await?;
    let mut unique: Vec<&String> = tags.iter().collect();
    unique.sort();
    unique.dedup();
    if unique.is_empty() {
        return Ok(());
    }
    member_tag::Entity::insert_many(unique.into_iter().map(|tag| member_tag::ActiveModel {
        member_id: Set(member_id),
        tag: Set(tag.clone()),
    }))
    .exec(db)
    .await?;
    Ok(())
}

/// Members that exist among `ids`; used to report unknown ids in one error.
pub async fn existing_ids(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<i64>> {
    let rows: Vec<i64> = member::Entity::find()
        .select_only()
        .column(member::Column::Id)
        .filter(Condition::all().add(member::Column::Id.is_in(ids.iter().copied())))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows)
}
