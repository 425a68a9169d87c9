//! 团队招募: the team recruitment tab and its applications.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::{
    connection::{connection, PageConnection, TotalCount},
    context::{lead_context, loader, state},
    inputs::{keyword, DateRange},
    leads::{CkbLead, LeadReceipt},
    loaders::{ApplicationsKey, LeadKey, MemberKey, RecruitKey},
    members::Member,
    validate,
};
use crate::{
    auth::{RoleGuard, ADMIN_SERVICE},
    db::{
        self,
        entities::{team_application, team_recruit},
        page::PageRequest,
        recruits::{NewApplication, NewRecruit, RecruitFilter, RecruitRole},
    },
    domain::{ApplicationStatus, RecruitStatus},
    error::{GatewayError, Result},
};

/// A project looking for people (团队招募).
pub struct TeamRecruit(pub team_recruit::Model);

/// One role a recruitment looks for.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "TeamRoleInput")]
pub struct TeamRole {
    /// Role title (岗位), such as 技术合伙人.
    pub title: String,
    /// People wanted for the role, 1 to 50.
    pub count: i32,
    /// Skills wanted (技能).
    #[graphql(default)]
    pub skills: Vec<String>,
}

#[Object]
impl TeamRecruit {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Project name (项目名称).
    async fn project_name(&self) -> &str {
        &self.0.project_name
    }

    /// Stage of the project (阶段), such as 天使轮.
    async fn stage(&self) -> &str {
        &self.0.stage
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    /// The roles wanted.
    async fn roles(&self) -> Vec<TeamRole> {
        let roles: Vec<RecruitRole> = serde_json::from_str(&self.0.roles).unwrap_or_default();
        roles
            .into_iter()
            .map(|r| TeamRole {
                title: r.title,
                count: r.count,
                skills: r.skills,
            })
            .collect()
    }

    /// People wanted in all (招募人数): the sum of the roles' counts.
    async fn headcount(&self) -> i32 {
        self.0.headcount
    }

    /// Places filled by accepted applications (已招人数).
    async fn filled_count(&self) -> i32 {
        self.0.filled_count
    }

    async fn status(&self) -> RecruitStatus {
        self.0.status
    }

    /// The member running the recruitment (发起人).
    async fn owner(&self, ctx: &Context<'_>) -> Result<Member> {
        let member = loader(ctx)?.load_one(MemberKey(self.0.owner_id)).await?;
        member
            .map(Member)
            .ok_or_else(|| GatewayError::not_found("Member", self.0.owner_id))
    }

    /// Applications to the recruitment (申请), oldest first.
    async fn applications(&self, ctx: &Context<'_>) -> Result<Vec<TeamApplication>> {
        let applications = loader(ctx)?.load_one(ApplicationsKey(self.0.id)).await?;
        Ok(applications
            .unwrap_or_default()
            .into_iter()
            .map(TeamApplication)
            .collect())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A member's application to a team recruitment (招募申请).
pub struct TeamApplication(pub team_application::Model);

#[Object]
impl TeamApplication {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn recruit(&self, ctx: &Context<'_>) -> Result<TeamRecruit> {
        let recruit = loader(ctx)?.load_one(RecruitKey(self.0.recruit_id)).await?;
        recruit
            .map(TeamRecruit)
            .ok_or_else(|| GatewayError::not_found("TeamRecruit", self.0.recruit_id))
    }

    /// The applicant (申请人).
    async fn member(&self, ctx: &Context<'_>) -> Result<Member> {
        let member = loader(ctx)?.load_one(MemberKey(self.0.member_id)).await?;
        member
            .map(Member)
            .ok_or_else(|| GatewayError::not_found("Member", self.0.member_id))
    }

    /// The role applied for.
    async fn role(&self) -> &str {
        &self.0.role
    }

    async fn message(&self) -> &str {
        &self.0.message
    }

    async fn status(&self) -> ApplicationStatus {
        self.0.status
    }

    /// The applicant's CKB lead, if one was made.
    async fn lead(&self, ctx: &Context<'_>) -> Result<Option<CkbLead>> {
        let Some(lead_id) = self.0.lead_id else {
            return Ok(None);
        };
        Ok(loader(ctx)?.load_one(LeadKey(lead_id)).await?.map(CkbLead))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Filters of the team recruitment tab.
#[derive(InputObject, Default)]
pub struct TeamRecruitFilter {
    pub status: Option<RecruitStatus>,
    pub owner_id: Option<ID>,
    pub stage: Option<String>,
    /// When the recruitment was posted.
    pub created_at: Option<DateRange>,
    /// Part of the project name or description, case-insensitive.
    pub keyword: Option<String>,
}

/// A new team recruitment.
#[derive(InputObject)]
pub struct CreateTeamRecruitInput {
    /// 1 to 60 characters.
    pub project_name: String,
    /// 1 to 20 characters, such as 种子轮.
    pub stage: String,
    #[graphql(default)]
    pub description: String,
    /// 1 to 10 roles.
    pub roles: Vec<TeamRole>,
    pub owner_id: ID,
}

/// A new application.
#[derive(InputObject)]
pub struct ApplyToTeamRecruitInput {
    pub recruit_id: ID,
    pub member_id: ID,
    /// One of the recruitment's role titles.
    pub role: String,
    /// Up to 500 characters.
    #[graphql(default)]
    pub message: String,
}

/// The result of `applyToTeamRecruit`.
#[derive(SimpleObject)]
pub struct ApplyToTeamRecruitPayload {
    pub application: TeamApplication,
    /// The lead submitted for the applicant, or null when none was made.
    pub lead: Option<LeadReceipt>,
}

#[derive(Default)]
pub struct RecruitsQuery;

#[Object]
impl RecruitsQuery {
    /// The team recruitment tab (团队招募), newest first.
    #[graphql(
        guard = "RoleGuard(ADMIN_SERVICE)",
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn team_recruits(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
        filter: Option<TeamRecruitFilter>,
    ) -> Result<PageConnection<TeamRecruit>> {
        let state = state(ctx)?.clone();
        let page = PageRequest::new(first, after.as_deref(), true)?;
        let filter = filter.unwrap_or_default();
        let (from, to) = DateRange::checked(filter.created_at, "createdAt")?;
        let filter = RecruitFilter {
            status: filter.status,
            owner_id: filter
                .owner_id
                .as_ref()
                .map(|id| validate::id("ownerId", id))
                .transpose()?,
            stage: filter.stage.filter(|s| !s.trim().is_empty()),
            from,
            to,
            keyword: keyword(filter.keyword)?,
        };
        let rows = db::recruits::list(&state.db, &filter, &page).await?;
        let total = TotalCount::new(move || {
            let (state, filter) = (state.clone(), filter.clone());
            async move { db::recruits::count(&state.db, &filter).await }
        });
        Ok(connection(rows, TeamRecruit, total))
    }

    /// One team recruitment by id.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn team_recruit(&self, ctx: &Context<'_>, id: ID) -> Result<TeamRecruit> {
        let id = validate::id("id", &id)?;
        Ok(TeamRecruit(db::recruits::find(&state(ctx)?.db, id).await?))
    }

    /// One application by id.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn team_application(&self, ctx: &Context<'_>, id: ID) -> Result<TeamApplication> {
        let id = validate::id("id", &id)?;
        Ok(TeamApplication(
            db::recruits::find_application(&state(ctx)?.db, id).await?,
        ))
    }
}

#[derive(Default)]
pub struct RecruitsMutation;

#[Object]
impl RecruitsMutation {
    /// Posts a team recruitment (status RECRUITING). Its headcount is the sum of its roles'
    /// counts.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn create_team_recruit(
        &self,
        ctx: &Context<'_>,
        input: CreateTeamRecruitInput,
    ) -> Result<TeamRecruit> {
        if input.roles.is_empty() || input.roles.len() > 10 {
            return Err(GatewayError::bad_input(
                "roles",
                "a recruitment needs 1 to 10 roles",
            ));
        }
        let mut roles = Vec::with_capacity(input.roles.len());
        for role in &input.roles {
            let title = validate::text("roles.title", &role.title, 1, 30)?;
            if roles.iter().any(|r: &RecruitRole| r.title == title) {
                return Err(GatewayError::bad_input(
                    "roles.title",
                    format!("role {title:?} appears twice"),
                ));
            }
            roles.push(RecruitRole {
                title,
                count: validate::range("roles.count", role.count, 1, 50)?,
                skills: validate::tags("roles.skills", &role.skills, 10)?,
            });
        }
        let new = NewRecruit {
            project_name: validate::text("projectName", &input.project_name, 1, 60)?,
            stage: validate::text("stage", &input.stage, 1, 20)?,
            description: validate::text("description", &input.description, 0, 2000)?,
            roles,
            owner_id: validate::id("ownerId", &input.owner_id)?,
        };
        Ok(TeamRecruit(
            db::recruits::create(&state(ctx)?.db, new).await?,
        ))
    }

    /// Applies a member to a RECRUITING recruitment. Fails with CONFLICT when the recruitment
    /// is FULL or CLOSED or the member already applied. The applicant's contact is submitted as
    /// a lead to the plan with purpose TEAM_RECRUIT, or else the MATCH plan, when one exists.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn apply_to_team_recruit(
        &self,
        ctx: &Context<'_>,
        input: ApplyToTeamRecruitInput,
    ) -> Result<ApplyToTeamRecruitPayload> {
        let new = NewApplication {
            recruit_id: validate::id("recruitId", &input.recruit_id)?,
            member_id: validate::id("memberId", &input.member_id)?,
            role: validate::text("role", &input.role, 1, 30)?,
            message: validate::text("message", &input.message, 0, 500)?,
        };
        let created = db::recruits::apply(&state(ctx)?.db, new, lead_context(ctx)?).await?;
        let lead = match created.lead {
            Some(lead) => Some(LeadReceipt::deliver(ctx, lead, false).await?),
            None => None,
        };
        Ok(ApplyToTeamRecruitPayload {
            application: TeamApplication(created.application),
            lead,
        })
    }

    /// Moves an application: PENDING → ACCEPTED, REJECTED or WITHDRAWN, or ACCEPTED →
    /// WITHDRAWN. Accepting fills a place and marks the recruitment FULL at its headcount;
    /// withdrawing an accepted application frees the place.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn set_team_application_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        status: ApplicationStatus,
    ) -> Result<TeamApplication> {
        let id = validate::id("id", &id)?;
        Ok(TeamApplication(
            db::recruits::set_application_status(&state(ctx)?.db, id, status).await?,
        ))
    }

    /// Closes a recruitment (status CLOSED); it takes no more applications.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn close_team_recruit(&self, ctx: &Context<'_>, id: ID) -> Result<TeamRecruit> {
        let id = validate::id("id", &id)?;
        Ok(TeamRecruit(db::recruits::close(&state(ctx)?.db, id).await?))
    }
}
