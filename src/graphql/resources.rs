//! 资源对接: the resource matching tab.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::{
    connection::{connection, PageConnection, TotalCount},
    context::{lead_context, loader, state},
    inputs::{keyword, DateRange},
    leads::{CkbLead, LeadReceipt},
    loaders::{LeadKey, MemberKey},
    members::Member,
    validate,
};
use crate::{
    auth::{RoleGuard, ADMIN_SERVICE},
    db::{
        self,
        entities::resource_match,
        page::PageRequest,
        resources::{NewResource, ResourceFilter},
    },
    domain::{ResourceDirection, ResourceStatus},
    error::{GatewayError, Result},
};

/// A resource a member offers or needs (资源对接), and the member it was matched with.
pub struct ResourceMatch(pub resource_match::Model);

#[Object]
impl ResourceMatch {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Offer (提供) or need (需求).
    async fn direction(&self) -> ResourceDirection {
        self.0.direction
    }

    /// Title (资源标题).
    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    async fn tags(&self) -> Vec<String> {
        serde_json::from_str(&self.0.tags).unwrap_or_default()
    }

    /// The member who posted the entry (发布人).
    async fn owner(&self, ctx: &Context<'_>) -> Result<Member> {
        let member = loader(ctx)?.load_one(MemberKey(self.0.owner_id)).await?;
        member
            .map(Member)
            .ok_or_else(|| GatewayError::not_found("Member", self.0.owner_id))
    }

    /// The member it was matched with (对接人), once MATCHED.
    async fn counterpart(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        let Some(id) = self.0.counterpart_id else {
            return Ok(None);
        };
        Ok(loader(ctx)?.load_one(MemberKey(id)).await?.map(Member))
    }

    async fn status(&self) -> ResourceStatus {
        self.0.status
    }

    /// When it was matched.
    async fn matched_at(&self) -> Option<DateTime<Utc>> {
        self.0.matched_at
    }

    /// The CKB lead of the counterpart, if one was made.
    async fn lead(&self, ctx: &Context<'_>) -> Result<Option<CkbLead>> {
        let Some(lead_id) = self.0.lead_id else {
            return Ok(None);
        };
        Ok(loader(ctx)?.load_one(LeadKey(lead_id)).await?.map(CkbLead))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Filters of the resource matching tab.
#[derive(InputObject, Default)]
pub struct ResourceMatchFilter {
    pub direction: Option<ResourceDirection>,
    pub status: Option<ResourceStatus>,
    /// Entries this member posted or was matched with.
    pub member_id: Option<ID>,
    /// When the entry was posted.
    pub created_at: Option<DateRange>,
    /// Part of the title or description, case-insensitive.
    pub keyword: Option<String>,
}

/// A new resource entry.
#[derive(InputObject)]
pub struct CreateResourceMatchInput {
    pub direction: ResourceDirection,
    /// 1 to 60 characters.
    pub title: String,
    /// Up to 1000 characters.
    #[graphql(default)]
    pub description: String,
    /// Up to 10 tags.
    #[graphql(default)]
    pub tags: Vec<String>,
    pub owner_id: ID,
}

/// The result of `matchResource`.
#[derive(SimpleObject)]
pub struct MatchResourcePayload {
    pub resource_match: ResourceMatch,
    /// The lead submitted for the counterpart, or null when none was made.
    pub lead: Option<LeadReceipt>,
}

#[derive(Default)]
pub struct ResourcesQuery;

#[Object]
impl ResourcesQuery {
    /// The resource matching tab (资源对接), newest first.
    #[graphql(
        guard = "RoleGuard(ADMIN_SERVICE)",
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn resource_matches(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
        filter: Option<ResourceMatchFilter>,
    ) -> Result<PageConnection<ResourceMatch>> {
        let state = state(ctx)?.clone();
        let page = PageRequest::new(first, after.as_deref(), true)?;
        let filter = filter.unwrap_or_default();
        let (from, to) = DateRange::checked(filter.created_at, "createdAt")?;
        let filter = ResourceFilter {
            direction: filter.direction,
            status: filter.status,
            member_id: filter
                .member_id
                .as_ref()
                .map(|id| validate::id("memberId", id))
                .transpose()?,
            from,
            to,
            keyword: keyword(filter.keyword)?,
        };
        let rows = db::resources::list(&state.db, &filter, &page).await?;
        let total = TotalCount::new(move || {
            let (state, filter) = (state.clone(), filter.clone());
            async move { db::resources::count(&state.db, &filter).await }
        });
        Ok(connection(rows, ResourceMatch, total))
    }

    /// One resource entry by id.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn resource_match(&self, ctx: &Context<'_>, id: ID) -> Result<ResourceMatch> {
        let id = validate::id("id", &id)?;
        Ok(ResourceMatch(
            db::resources::find(&state(ctx)?.db, id).await?,
        ))
    }
}

#[derive(Default)]
pub struct ResourcesMutation;

#[Object]
impl ResourcesMutation {
    /// Posts a resource offer or need (status OPEN).
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn create_resource_match(
        &self,
        ctx: &Context<'_>,
        input: CreateResourceMatchInput,
    ) -> Result<ResourceMatch> {
        let new = NewResource {
            direction: input.direction,
            title: validate::text("title", &input.title, 1, 60)?,
            description: validate::text("description", &input.description, 0, 1000)?,
            tags: validate::tags("tags", &input.tags, 10)?,
            owner_id: validate::id("ownerId", &input.owner_id)?,
        };
        Ok(ResourceMatch(
            db::resources::create(&state(ctx)?.db, new).await?,
        ))
    }

    /// Matches an OPEN entry with a counterpart (status MATCHED). The counterpart's contact is
    /// submitted as a lead to the plan with purpose RESOURCE_MATCH, or else the MATCH plan, when
    /// one exists. Fails with CONFLICT when the entry is not OPEN.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn match_resource(
        &self,
        ctx: &Context<'_>,
        id: ID,
        counterpart_id: ID,
    ) -> Result<MatchResourcePayload> {
        let id = validate::id("id", &id)?;
        let counterpart_id = validate::id("counterpartId", &counterpart_id)?;
        let matched = db::resources::match_counterpart(
            &state(ctx)?.db,
            id,
            counterpart_id,
            lead_context(ctx)?,
        )
        .await?;
        let lead = match matched.lead {
            Some(lead) => Some(LeadReceipt::deliver(ctx, lead, false).await?),
            None => None,
        };
        Ok(MatchResourcePayload {
            resource_match: ResourceMatch(matched.resource),
            lead,
        })
    }

    /// Closes an entry (status CLOSED).
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn close_resource_match(&self, ctx: &Context<'_>, id: ID) -> Result<ResourceMatch> {
        let id = validate::id("id", &id)?;
        Ok(ResourceMatch(
            db::resources::close(&state(ctx)?.db, id).await?,
        ))
    }
}
