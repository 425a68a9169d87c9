//! The admin home screen in one query: `findPartnerOverview`.

use std::collections::HashMap;

use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::{
    context::{request_id, state},
    plans::CkbPlan,
};
use crate::{
    auth::{RoleGuard, ADMIN_SERVICE},
    ckb::stats::RemoteView,
    db::{self, entities::ckb_plan, stats::LeadCounts},
    domain::{LeadOrigin, MatchKind},
    error::Result,
    state::AppState,
};

/// A time window for counts. Days start at midnight in the admins' time zone (Asia/Shanghai,
/// UTC+8, unless configured otherwise).
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum StatsWindow {
    /// 今天: since midnight today.
    Today,
    /// 近7天: today and the six days before it.
    #[default]
    Last7Days,
    /// 近30天: today and the 29 days before it.
    Last30Days,
    /// 全部: all time.
    All,
}

impl StatsWindow {
    /// Start of the window, or `None` for all time.
    pub fn since(self, state: &AppState, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            StatsWindow::Today => Some(state.day_start(now, 0)),
            StatsWindow::Last7Days => Some(state.day_start(now, 6)),
            StatsWindow::Last30Days => Some(state.day_start(now, 29)),
            StatsWindow::All => None,
        }
    }
}

/// The tabs of find partner.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum FindPartnerTabKey {
    /// 匹配记录
    MatchRecords,
    /// 伙伴池
    PartnerPools,
    /// 导师预约
    MentorBookings,
    /// 资源对接
    ResourceMatches,
    /// 团队招募
    TeamRecruits,
    /// 存客宝计划
    CkbPlans,
}

/// One tab of find partner with its count.
#[derive(SimpleObject)]
pub struct FindPartnerTab {
    pub key: FindPartnerTabKey,
    /// Label in Chinese, as the admin front end shows it.
    pub label_zh: &'static str,
    pub label_en: &'static str,
    /// Records of the tab in the window: matches made, bookings, resource entries and
    /// recruitments created in it. Pools and plans are configuration and are counted whole.
    pub count: i64,
    /// Whether `count` is limited to the window (false for pools and plans).
    pub windowed: bool,
}

/// Matches of one kind in the window, and what became of them.
#[derive(SimpleObject)]
pub struct MatchKindStats {
    pub kind: MatchKind,
    pub label_zh: &'static str,
    /// Matches made in the window (匹配次数).
    pub matches: i64,
    /// Of those, matches that produced a CKB lead (产生线索).
    pub matches_with_lead: i64,
    /// Of those leads, the ones CKB accepted: answered 新增成功 or 已存在 (线索已接收).
    pub leads_accepted: i64,
    /// Of those leads, the ones whose WeChat friend request was accepted (好友已通过).
    pub friends_added: i64,
}

/// Lead counts of one origin or plan in the window.
#[derive(SimpleObject, Clone, Default)]
pub struct LeadCountsView {
    /// Leads stored in the window (提交).
    pub submitted: i64,
    /// CKB answered 新增成功.
    pub created: i64,
    /// CKB answered 已存在.
    pub existing: i64,
    /// Not yet answered; the delivery worker is on it.
    pub pending: i64,
    /// Refused by CKB for a reason a retry cannot fix.
    pub rejected: i64,
    /// Transient errors until the attempts ran out.
    pub failed: i64,
    /// created + existing (已接收).
    pub accepted: i64,
    /// (created + existing) / (submitted − pending), from 0 to 1; null while nothing is
    /// decided.
    pub delivery_success_rate: Option<f64>,
    /// Leads whose friend status, read back from CKB, is PASSED (好友已通过).
    pub friends_added: i64,
}

impl From<&LeadCounts> for LeadCountsView {
    fn from(counts: &LeadCounts) -> Self {
        LeadCountsView {
            submitted: counts.submitted,
            created: counts.created,
            existing: counts.existing,
            pending: counts.pending,
            rejected: counts.rejected,
            failed: counts.failed,
            accepted: counts.accepted(),
            delivery_success_rate: counts.delivery_success_rate(),
            friends_added: counts.friends_added,
        }
    }
}

/// Lead counts of one origin.
#[derive(SimpleObject)]
pub struct LeadOriginStats {
    pub origin: LeadOrigin,
    pub counts: LeadCountsView,
}

/// CKB's own numbers of a plan, from CKB's `plan/list`. They cover the plan's whole life in
/// CKB, whatever the window, and every lead of the plan, including leads that reached CKB by
/// other ways than this gateway.
#[derive(SimpleObject, Clone)]
pub struct RemotePlanStats {
    /// CKB's plan id.
    pub remote_plan_id: ID,
    /// The plan's name in CKB.
    pub name: String,
    /// `acquiredCount` (已获客): every lead of the plan in CKB.
    pub acquired: i64,
    /// `addedCount` (已添加): leads CKB acted on, failed friend requests included.
    pub processed: i64,
    /// `passCount` (通过): friend requests accepted.
    pub passed: i64,
    /// CKB's `passRate` exactly as sent. It is not the add success rate: one CKB version
    /// computes it inverted (100 or more, sometimes with a thousands separator) and the other
    /// divides by processed leads. Use `addSuccessRate`.
    pub pass_rate_raw: String,
    /// When these numbers were read from CKB.
    pub fetched_at: DateTime<Utc>,
}

/// The numbers of one CKB plan over a window (计划统计).
#[derive(SimpleObject)]
pub struct CkbPlanStats {
    pub plan: CkbPlan,
    pub window: StatsWindow,
    /// The gateway's own counts of the plan's leads stored in the window.
    pub local: LeadCountsView,
    /// The same counts split by origin.
    pub by_origin: Vec<LeadOriginStats>,
    /// When the plan's newest lead was stored, over all time.
    pub last_lead_at: Option<DateTime<Utc>>,
    /// CKB's own numbers; null when they could not be read (see `remoteError`).
    pub remote: Option<RemotePlanStats>,
    /// Why CKB's numbers are missing, or why they are stale: CKB could not be read and
    /// `remote` holds the last good numbers from `remote.fetchedAt`.
    pub remote_error: Option<String>,
    /// The add success rate (添加成功率) = passed / acquired, from CKB's counts, 0 to 1; null
    /// without CKB's numbers or while acquired is 0.
    pub add_success_rate: Option<f64>,
}

/// Totals of find partner as a whole in the window.
#[derive(SimpleObject)]
pub struct FindPartnerTotals {
    pub matches: i64,
    pub matches_with_lead: i64,
    pub match_leads_accepted: i64,
    pub match_friends_added: i64,
    /// Every lead of the window, whatever its origin.
    pub leads: LeadCountsView,
}

/// Everything the admin home screen shows, for one window.
#[derive(SimpleObject)]
pub struct FindPartnerOverview {
    pub window: StatsWindow,
    /// Start of the window; null for ALL.
    pub since: Option<DateTime<Utc>>,
    /// When these numbers were computed.
    pub generated_at: DateTime<Utc>,
    /// The tabs with their counts, in display order.
    pub tabs: Vec<FindPartnerTab>,
    /// Matches by kind, in the order PARTNER, RESOURCE, MENTOR, TEAM.
    pub matches_by_kind: Vec<MatchKindStats>,
    pub totals: FindPartnerTotals,
    /// Every CKB plan with its numbers, oldest plan first.
    pub plans: Vec<CkbPlanStats>,
}

/// CKB's numbers of a plan from the cached `plan/list` of its server, with the error to show.
fn remote_of(
    plan: &ckb_plan::Model,
    views: &HashMap<String, RemoteView>,
) -> (Option<RemotePlanStats>, Option<String>) {
    let Some(remote_id) = plan.remote_plan_id else {
        return (
            None,
            Some(
                "the plan has no remotePlanId; set it to CKB's plan id to read CKB's numbers"
                    .into(),
            ),
        );
    };
    let Some(view) = views.get(endpoint_key(&plan.endpoint)) else {
        return (None, None);
    };
    let Some(snapshot) = &view.snapshot else {
        return (None, view.error.clone());
    };
    match snapshot.plans.get(&remote_id) {
        Some(remote) => (
            Some(RemotePlanStats {
                remote_plan_id: ID(remote.id.to_string()),
                name: remote.name.clone(),
                acquired: remote.acquired,
                processed: remote.processed,
                passed: remote.passed,
                pass_rate_raw: remote.pass_rate_raw.clone(),
                fetched_at: snapshot.fetched_at,
            }),
            view.error.clone(),
        ),
        None => (
            None,
            Some(format!(
                "CKB lists no plan with id {remote_id}; check the plan's remotePlanId"
            )),
        ),
    }
}

/// The cache key of a plan's CKB server.
fn endpoint_key(endpoint: &str) -> &str {
    endpoint.trim_end_matches('/')
}

/// Reads CKB's numbers for every server the plans live on, concurrently and through the cache.
pub async fn remote_views(
    state: &AppState,
    plans: &[ckb_plan::Model],
    request_id: Option<&str>,
) -> HashMap<String, RemoteView> {
    let mut bases: Vec<String> = plans
        .iter()
        .filter(|plan| plan.remote_plan_id.is_some())
        .map(|plan| endpoint_key(&plan.endpoint).to_owned())
        .collect();
    bases.sort();
    bases.dedup();
    state.remote_stats.views(&bases, request_id).await
}

/// Builds the plan statistics of a window from the window's lead counts and CKB's cached
/// numbers: a fixed number of statements whatever the number of plans.
pub async fn plan_stats(
    state: &AppState,
    plans: Vec<ckb_plan::Model>,
    window: StatsWindow,
    counts: &HashMap<(i64, LeadOrigin), LeadCounts>,
    request_id: Option<&str>,
) -> Result<(Vec<CkbPlanStats>, LeadCounts)> {
    let (last_leads, views) = futures::join!(
        db::stats::last_lead_times(&state.db),
        remote_views(state, &plans, request_id),
    );
    let last_leads = last_leads?;
    let mut all = LeadCounts::default();
    let mut stats = Vec::with_capacity(plans.len());
    for plan in plans {
        let mut local = LeadCounts::default();
        let mut by_origin = Vec::new();
        for origin in ORIGINS {
            if let Some(origin_counts) = counts.get(&(plan.id, origin)) {
                local.add(origin_counts);
                by_origin.push(LeadOriginStats {
                    origin,
                    counts: origin_counts.into(),
                });
            }
        }
        all.add(&local);
        let (remote, remote_error) = remote_of(&plan, &views);
        let add_success_rate = remote
            .as_ref()
            .filter(|remote| remote.acquired > 0)
            .map(|remote| remote.passed as f64 / remote.acquired as f64);
        stats.push(CkbPlanStats {
            last_lead_at: last_leads.get(&plan.id).copied(),
            plan: CkbPlan(plan),
            window,
            local: (&local).into(),
            by_origin,
            remote,
            remote_error,
            add_success_rate,
        });
    }
    Ok((stats, all))
}

const ORIGINS: [LeadOrigin; 6] = [
    LeadOrigin::LinkKaruo,
    LeadOrigin::Match,
    LeadOrigin::MentorBooking,
    LeadOrigin::ResourceMatch,
    LeadOrigin::TeamRecruit,
    LeadOrigin::Integrator,
];

#[derive(Default)]
pub struct OverviewQuery;

#[Object]
impl OverviewQuery {
    /// The admin home screen in one query (找伙伴概览): the tabs with their counts, matches by
    /// kind with their leads and added friends, and every CKB plan's numbers. It runs a fixed
    /// number of SQL statements whatever the number of rows or plans.
    #[graphql(guard = "RoleGuard(ADMIN_SERVICE)")]
    async fn find_partner_overview(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] window: StatsWindow,
    ) -> Result<FindPartnerOverview> {
        let state = state(ctx)?;
        let now = crate::db::now();
        let since = window.since(state, now);

        let counts = db::stats::window_counts(&state.db, since).await?;
        let (tab_counts, by_kind) = (&counts.tabs, &counts.by_kind);
        let plans = db::plans::list(&state.db).await?;
        let request_id = request_id(ctx);
        let (plans, leads) =
            plan_stats(state, plans, window, &counts.leads, request_id.as_deref()).await?;

        let tab = |key, label_zh, label_en, count, windowed| FindPartnerTab {
            key,
            label_zh,
            label_en,
            count,
            windowed,
        };
        let tabs = vec![
            tab(
                FindPartnerTabKey::MatchRecords,
                "匹配记录",
                "Match records",
                tab_counts.match_records,
                true,
            ),
            tab(
                FindPartnerTabKey::PartnerPools,
                "伙伴池",
                "Partner pools",
                tab_counts.partner_pools,
                false,
            ),
            tab(
                FindPartnerTabKey::MentorBookings,
                "导师预约",
                "Mentor bookings",
                tab_counts.mentor_bookings,
                true,
            ),
            tab(
                FindPartnerTabKey::ResourceMatches,
                "资源对接",
                "Resource matching",
                tab_counts.resource_matches,
                true,
            ),
            tab(
                FindPartnerTabKey::TeamRecruits,
                "团队招募",
                "Team recruitment",
                tab_counts.team_recruits,
                true,
            ),
            tab(
                FindPartnerTabKey::CkbPlans,
                "存客宝计划",
                "CKB plans",
                tab_counts.ckb_plans,
                false,
            ),
        ];
        let matches_by_kind: Vec<MatchKindStats> = MatchKind::ALL
            .into_iter()
            .map(|kind| {
                let counts = by_kind.get(&kind).cloned().unwrap_or_default();
                MatchKindStats {
                    kind,
                    label_zh: kind.label_zh(),
                    matches: counts.matches,
                    matches_with_lead: counts.with_lead,
                    leads_accepted: counts.leads_accepted,
                    friends_added: counts.friends_added,
                }
            })
            .collect();
        let totals = FindPartnerTotals {
            matches: matches_by_kind.iter().map(|k| k.matches).sum(),
            matches_with_lead: matches_by_kind.iter().map(|k| k.matches_with_lead).sum(),
            match_leads_accepted: matches_by_kind.iter().map(|k| k.leads_accepted).sum(),
            match_friends_added: matches_by_kind.iter().map(|k| k.friends_added).sum(),
            leads: (&leads).into(),
        };
        Ok(FindPartnerOverview {
            window,
            since,
            generated_at: now,
            tabs,
            matches_by_kind,
            totals,
            plans,
        })
    }
}
