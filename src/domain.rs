//! The find-partner vocabulary shared by the database and the GraphQL schema.
//!
//! Each enumeration is stored as its SCREAMING_CASE name in a short text column and exposed
//! under the same name in GraphQL, so one Rust type serves both layers and the two can never
//! drift apart.

use async_graphql::Enum;
use sea_orm::{entity::prelude::StringLen, DeriveActiveEnum, EnumIter};

/// The four kinds of match, one per find-partner match tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum MatchKind {
    /// 创业合伙: a co-founder or business partner.
    #[sea_orm(string_value = "PARTNER")]
    Partner,
    /// 资源对接: someone who offers or needs a resource.
    #[sea_orm(string_value = "RESOURCE")]
    Resource,
    /// 导师顾问: a mentor or adviser.
    #[sea_orm(string_value = "MENTOR")]
    Mentor,
    /// 团队招募: a team member for a project.
    #[sea_orm(string_value = "TEAM")]
    Team,
}

impl MatchKind {
    pub const ALL: [MatchKind; 4] = [
        MatchKind::Partner,
        MatchKind::Resource,
        MatchKind::Mentor,
        MatchKind::Team,
    ];

    /// The label admins see, in Chinese.
    pub fn label_zh(self) -> &'static str {
        match self {
            MatchKind::Partner => "创业合伙",
            MatchKind::Resource => "资源对接",
            MatchKind::Mentor => "导师顾问",
            MatchKind::Team => "团队招募",
        }
    }

    /// The stored and wire name, as in `PARTNER`.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Partner => "PARTNER",
            MatchKind::Resource => "RESOURCE",
            MatchKind::Mentor => "MENTOR",
            MatchKind::Team => "TEAM",
        }
    }
}

/// Which members a partner pool draws from, before its other rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum PoolSource {
    /// 全部成员: every member.
    #[sea_orm(string_value = "ALL_MEMBERS")]
    AllMembers,
    /// VIP 成员: members with `isVip`.
    #[sea_orm(string_value = "VIP_MEMBERS")]
    VipMembers,
    /// 按标签: members who carry every tag in `requiredTags`.
    #[sea_orm(string_value = "TAGGED")]
    Tagged,
    /// 手动名单: the members an admin added to the pool by hand.
    #[sea_orm(string_value = "MANUAL")]
    Manual,
}

/// Where a match record stands after it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum MatchStatus {
    /// 已匹配: the partner was picked and shown to the requester.
    #[sea_orm(string_value = "MATCHED")]
    Matched,
    /// 已联系: the two members got in touch.
    #[sea_orm(string_value = "CONTACTED")]
    Contacted,
    /// 已关闭: the requester or an admin closed the match.
    #[sea_orm(string_value = "CLOSED")]
    Closed,
}

/// Status of a mentor booking. PENDING → CONFIRMED → COMPLETED, and PENDING or CONFIRMED →
/// CANCELLED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum BookingStatus {
    /// 待确认
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// 已确认
    #[sea_orm(string_value = "CONFIRMED")]
    Confirmed,
    /// 已完成
    #[sea_orm(string_value = "COMPLETED")]
    Completed,
    /// 已取消
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}

/// Whether a resource entry offers something or asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum ResourceDirection {
    /// 提供资源
    #[sea_orm(string_value = "OFFER")]
    Offer,
    /// 需要资源
    #[sea_orm(string_value = "NEED")]
    Need,
}

/// Status of a resource entry. OPEN → MATCHED → CLOSED, and OPEN → CLOSED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum ResourceStatus {
    /// 待对接
    #[sea_orm(string_value = "OPEN")]
    Open,
    /// 已对接
    #[sea_orm(string_value = "MATCHED")]
    Matched,
    /// 已关闭
    #[sea_orm(string_value = "CLOSED")]
    Closed,
}

/// Status of a team recruitment. RECRUITING ⇄ FULL as places fill and free up; either →
/// CLOSED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum RecruitStatus {
    /// 招募中
    #[sea_orm(string_value = "RECRUITING")]
    Recruiting,
    /// 已满员
    #[sea_orm(string_value = "FULL")]
    Full,
    /// 已结束
    #[sea_orm(string_value = "CLOSED")]
    Closed,
}

/// Status of an application to a team recruitment. PENDING → ACCEPTED, REJECTED or WITHDRAWN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum ApplicationStatus {
    /// 待处理
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// 已通过
    #[sea_orm(string_value = "ACCEPTED")]
    Accepted,
    /// 未通过
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
    /// 已撤回
    #[sea_orm(string_value = "WITHDRAWN")]
    Withdrawn,
}

/// What produced a lead, and therefore which CKB plan it goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum LeadOrigin {
    /// 链接卡若: the button at the top left of the mini-program home page.
    #[sea_orm(string_value = "LINK_KARUO")]
    LinkKaruo,
    /// 匹配记录: a match of any kind.
    #[sea_orm(string_value = "MATCH")]
    Match,
    /// 导师预约: a mentor booking.
    #[sea_orm(string_value = "MENTOR_BOOKING")]
    MentorBooking,
    /// 资源对接: a resource entry matched with a counterpart.
    #[sea_orm(string_value = "RESOURCE_MATCH")]
    ResourceMatch,
    /// 团队招募: an application to a team recruitment.
    #[sea_orm(string_value = "TEAM_RECRUIT")]
    TeamRecruit,
    /// 外部接入: submitted by an integrator through `submitLead`.
    #[sea_orm(string_value = "INTEGRATOR")]
    Integrator,
}

/// Where a lead is on its way to CKB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum DeliveryStatus {
    /// 待投递: stored, not yet accepted by CKB; the delivery worker will (re)try it.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// 新增成功: CKB answered code 200 with 新增成功.
    #[sea_orm(string_value = "CREATED")]
    Created,
    /// 已存在: CKB answered code 200 with 已存在; the identifier was already a lead of the plan.
    #[sea_orm(string_value = "EXISTING")]
    Existing,
    /// 被拒绝: CKB refused it for a reason a retry cannot fix (无效的apiKey, 签名验证失败, a
    /// missing field). An admin must act, then retry.
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
    /// 投递失败: every attempt hit a transient error (timeout, connection error, code 500). An
    /// admin can retry.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

impl DeliveryStatus {
    /// CKB has the lead: it answered 新增成功 or 已存在.
    pub fn is_accepted(self) -> bool {
        matches!(self, DeliveryStatus::Created | DeliveryStatus::Existing)
    }
}

/// What CKB did with a lead after accepting it, read back from CKB's plan lead list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum FriendStatus {
    /// 待添加 (CKB status 0): waiting for a WeChat account of the operator.
    #[sea_orm(string_value = "NEW")]
    New,
    /// 已建任务 (CKB status 1): the friend request task was created.
    #[sea_orm(string_value = "REQUESTED")]
    Requested,
    /// 已发送 (CKB status 2): the friend request was sent; waiting for acceptance.
    #[sea_orm(string_value = "SENT")]
    Sent,
    /// 添加失败 (CKB status 3): the request failed, for example 操作过于频繁.
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
    /// 已通过 (CKB status 4 or 5): the person accepted the friend request.
    #[sea_orm(string_value = "PASSED")]
    Passed,
}

impl FriendStatus {
    /// Maps CKB's `task_customer.status` code; `None` for a code CKB does not define.
    pub fn from_ckb_status(code: i64) -> Option<Self> {
        match code {
            0 => Some(FriendStatus::New),
            1 => Some(FriendStatus::Requested),
            2 => Some(FriendStatus::Sent),
            3 => Some(FriendStatus::Rejected),
            4 | 5 => Some(FriendStatus::Passed),
            _ => None,
        }
    }
}

/// How a plan's leads are encoded on the wire. CKB reads both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum CkbContentType {
    /// `application/json`, the encoding CKB's document recommends.
    #[sea_orm(string_value = "JSON")]
    Json,
    /// `application/x-www-form-urlencoded`.
    #[sea_orm(string_value = "FORM")]
    Form,
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum Role {
    /// 管理员: everything, including personal data in full and plan apiKeys (write only).
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    /// The mini-program back end: reads the tabs with personal data masked, records matches,
    /// bookings, resources, recruitments and applications, and presses 链接卡若.
    #[sea_orm(string_value = "SERVICE")]
    Service,
    /// An external system that submits leads and reads the status of its own leads only.
    #[sea_orm(string_value = "INTEGRATOR")]
    Integrator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::Service => "SERVICE",
            Role::Integrator => "INTEGRATOR",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_uppercase().as_str() {
            "ADMIN" => Ok(Role::Admin),
            "SERVICE" => Ok(Role::Service),
            "INTEGRATOR" => Ok(Role::Integrator),
            other => Err(format!(
                "invalid role {other:?}: expected ADMIN, SERVICE or INTEGRATOR"
            )),
        }
    }
}
