//! 成员: the members of the community.

use async_graphql::{Context, InputObject, Object, ID};
use chrono::{DateTime, Utc};

use super::{
    connection::{connection, PageConnection, TotalCount},
    context::{caller, loader, sees_personal_data, state},
    loaders::MemberTagsKey,
    privacy::{mask_phone, mask_wechat_id},
    validate,
};
use crate::{
    auth::{RoleGuard, ADMIN_SERVICE},
    db::{self, entities::member, members::MemberFilter as DbFilter, page::PageRequest},
    error::Result,
};

/// A member of the founders' community (成员): someone who can ask for a match or be matched.
pub struct Member(pub member::Model);

#[Object]
impl Member {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Display name in the mini-program (昵称).
    async fn nickname(&self) -> &str {
        &self.0.nickname
    }

    /// Mobile number (手机号). In full for ADMIN tokens only; other roles see it masked as
    /// `138****0000`.
    async fn phone(&self, ctx: &Context<'_>) -> Option<String> {
        let phone = self.0.phone.as_deref()?;
        Some(if sees_personal_data(ctx) {
            phone.to_owned()
        } else {
            mask_phone(phone)
        })
    }

    /// WeChat id (微信号). In full for ADMIN tokens only; other roles see it masked.
    async fn wechat_id(&self, ctx: &Context<'_>) -> Option<String> {
        let wechat_id = self.0.wechat_id.as_deref()?;
        Some(if sees_personal_data(ctx) {
            wechat_id.to_owned()
        } else {
            mask_wechat_id(wechat_id)
        })
    }

    /// Whether the member has a phone number or a WeChat id, so that a lead can be made.
    async fn has_contact(&self) -> bool {
        self.0.phone.as_deref().is_some_and(|p| !p.is_empty())
            || self.0.wechat_id.as_deref().is_some_and(|w| !w.is_empty())
    }

    async fn avatar_url(&self) -> Option<&str> {
        self.0.avatar_url.as_deref()
    }

    /// City (城市).
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }

    /// Industry (行业).
    async fn industry(&self) -> Option<&str> {
        self.0.industry.as_deref()
    }

    /// Tags (标签) that TAGGED partner pools select on.
    async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        Ok(loader(ctx)?
            .load_one(MemberTagsKey(self.0.id))
            .await?
            .unwrap_or_default())
    }

    /// Whether the member is a VIP (VIP 会员), which VIP_MEMBERS pools select on.
    async fn is_vip(&self) -> bool {
        self.0.is_vip
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Filters of the members list; all given filters apply together.
#[derive(InputObject, Default)]
pub struct MemberFilter {
    /// Part of the nickname, case-insensitive.
    pub keyword: Option<String>,
    pub is_vip: Option<bool>,
    /// Members carrying this tag.
    pub tag: Option<String>,
    pub city: Option<String>,
}

impl From<MemberFilter> for DbFilter {
    fn from(filter: MemberFilter) -> Self {
        DbFilter {
            keyword: filter.keyword.filter(|k| !k.trim().is_empty()),
            is_vip: filter.is_vip,
            tag: filter.tag,
            city: filter.city,
        }
    }
}

/// A member to create or the new values of one; the whole record is replaced on update.
#[derive(InputObject)]
pub struct MemberInput {
    /// 1 to 40 characters.
    pub nickname: String,
    /// Mainland China mobile number.
    pub phone: Option<String>,
    pub wechat_id: Option<String>,
    pub avatar_url: Option<String>,
    pub city: Option<String>,
    pub industry: Option<String>,
    #[graphql(default)]
    pub tags: Vec<String>,
    #[graphql(default)]
    pub is_vip: bool,
}

impl MemberInput {
    fn validate(self) -> Result<db::members::MemberFields> {
        Ok(db::members::MemberFields {
            nickname: validate::text("nickname", &self.nickname, 1, 40)?,
            phone: self
                .phone
                .as_deref()
                .filter(|p| !p.trim().is_empty())
                .map(|p| validate::phone("phone", p))
                .transpose()?,
            wechat_id: self
                .wechat_id
                .as_deref()
                .filter(|w| !w.trim().is_empty())
                .map(|w| validate::wechat_id("wechatId", w))
                .transpose()?,
            avatar_url: validate::optional_text("avatarUrl", self.avatar_url.as_deref(), 500)?,
            city: validate::optional_text("city", self.city.as_deref(), 40)?,
            industry: validate::optional_text("industry", self.industry.as_deref(), 40)?,
            tags: validate::tags("tags", &self.tags, 20)?,
            is_vip: self.is_vip,
        })
    }
}

#[derive(Default)]
pub struct MembersQuery;

#[Object]
impl MembersQuery {
    /// Members of the community, newest first.
    #[graphql(
        guard = "RoleGuard(ADMIN_SERVICE)",
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
        filter: Option<MemberFilter>,
    ) -> Result<PageConnection<Member>> {
        let state = state(ctx)?.clone();
        let page = PageRequest::new(first, after.as_deref(), true)?;
        let filter: DbFilter = filter.unwrap_or_default().into();
        let rows = db::members::list(&state.db, &filter, &page).await?;
        let total = TotalCount::new(move || {
            let (state, filter) = (state.clone(), filter.clone());
            async move { db::members::count(&state.db, &filter).await }
        });
        Ok(connection(rows, Member, total))
    }

    /// One member by id.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn member(&self, ctx: &Context<'_>, id: ID) -> Result<Member> {
        let id = validate::id("id", &id)?;
        Ok(Member(db::members::find(&state(ctx)?.db, id).await?))
    }
}

#[derive(Default)]
pub struct MembersMutation;

#[Object]
impl MembersMutation {
    /// Adds a member, as the mini-program back end does when someone joins.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn create_member(&self, ctx: &Context<'_>, input: MemberInput) -> Result<Member> {
        caller(ctx)?;
        let fields = input.validate()?;
        Ok(Member(db::members::create(&state(ctx)?.db, fields).await?))
    }

    /// Replaces a member's profile, tags included.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn update_member(&self, ctx: &Context<'_>, id: ID, input: MemberInput) -> Result<Member> {
        let id = validate::id("id", &id)?;
        let fields = input.validate()?;
        Ok(Member(
            db::members::update(&state(ctx)?.db, id, fields).await?,
        ))
    }
}
