//! The demo: a fresh SQLite database with generated find-partner data, served at once.
//!
//! The data is random but repeatable (seeded) and shaped like a real community: members with
//! Chinese names, phones and WeChat ids, one selected pool per match kind, two thousand matches
//! over the last 60 days, bookings, resource entries, recruitments with applications, three CKB
//! plans and the leads the matches and sign-ups produced.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use rand::{rngs::StdRng, seq::IndexedRandom, Rng, SeedableRng};
use sea_orm::{
    sea_query::Expr, ActiveEnum, ActiveValue::Set, ConnectionTrait, DatabaseConnection,
    EntityTrait, TransactionTrait,
};

use crate::{
    app::App,
    auth,
    ckb::simulator,
    cli::DemoArgs,
    db::{
        entities::{
            ckb_lead, ckb_plan, match_record, member, member_tag, mentor_booking, partner_pool,
            partner_pool_member, resource_match, team_application, team_recruit,
        },
        recruits::RecruitRole,
    },
    domain::*,
    telemetry,
};

/// How the generated leads start out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadMode {
    /// PENDING, never sent: the delivery worker sends them to the plans' endpoint, so every
    /// status and count comes from CKB's answers. The demo uses this with its simulator.
    Pending,
    /// Already answered, with statuses drawn at random in proportions like a real plan's, for
    /// data sets too large to deliver (benchmarks) and for tests that need finished leads.
    Delivered,
}

/// Where generated plans point and how leads start.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Base URL of CKB for the generated plans.
    pub endpoint: String,
    pub leads: LeadMode,
}

impl Default for DemoOptions {
    /// Plans pointing at a loopback port where nothing listens, with finished leads.
    fn default() -> Self {
        DemoOptions {
            endpoint: "http://127.0.0.1:9".into(),
            leads: LeadMode::Delivered,
        }
    }
}

/// The demo's plans: id, name, purpose, whether it is the default, and CKB's plan id.
pub const DEMO_PLANS: [(i64, &str, LeadOrigin, bool, i64); 3] = [
    (1, "链接卡若", LeadOrigin::LinkKaruo, true, 101),
    (2, "找伙伴·匹配", LeadOrigin::Match, false, 102),
    (3, "外部表单", LeadOrigin::Integrator, false, 103),
];

/// The apiKey of a demo plan, in CKB's format (five groups of five characters).
pub fn demo_api_key(plan_id: i64) -> String {
    let mut rng = StdRng::seed_from_u64(plan_id as u64);
    let alphabet: Vec<char> = "abcdefghijklmnopqrstuvwxyz0123456789".chars().collect();
    (0..5)
        .map(|_| {
            (0..5)
                .map(|_| *alphabet.choose(&mut rng).unwrap())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// How much data to generate.
#[derive(Clone, Copy, Debug)]
pub struct DemoSize {
    pub members: usize,
    pub matches: usize,
    pub bookings: usize,
    pub resources: usize,
    pub recruits: usize,
    pub applications: usize,
    /// Days back from now over which matches spread.
    pub days: i64,
}

impl Default for DemoSize {
    fn default() -> Self {
        DemoSize {
            members: 240,
            matches: 2000,
            bookings: 160,
            resources: 120,
            recruits: 40,
            applications: 150,
            days: 60,
        }
    }
}

impl DemoSize {
    /// A data set with `matches` match records and the other tabs in proportion.
    pub fn scaled(matches: usize) -> Self {
        let base = DemoSize::default();
        let factor = matches as f64 / base.matches as f64;
        let scale = |n: usize| ((n as f64 * factor).round() as usize).max(n.min(20));
        DemoSize {
            members: scale(base.members).max(base.members),
            matches,
            bookings: scale(base.bookings),
            resources: scale(base.resources),
            recruits: scale(base.recruits),
            applications: scale(base.applications),
            days: base.days,
        }
    }
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "杰", "娟", "涛", "明", "超", "秀英",
    "子涵", "浩然", "雨桐", "思远", "一鸣", "晓峰", "佳怡", "志强", "梓萱",
];
const CITIES: &[&str] = &[
    "北京", "上海", "深圳", "杭州", "广州", "成都", "苏州", "武汉", "南京", "厦门",
];
const INDUSTRIES: &[&str] = &[
    "人工智能",
    "消费品",
    "跨境电商",
    "企业服务",
    "硬科技",
    "医疗健康",
    "教育",
    "新能源",
    "文化传媒",
    "供应链",
];
const TAGS: &[&str] = &[
    "AI",
    "消费",
    "出海",
    "SaaS",
    "硬科技",
    "医疗",
    "教育",
    "电商",
    "技术",
    "市场",
    "融资",
    "供应链",
    "导师",
];
const TOPICS: &[&str] = &[
    "天使轮融资准备",
    "产品冷启动",
    "团队股权设计",
    "出海渠道",
    "SaaS 定价",
    "供应链降本",
    "品牌定位",
    "技术架构评审",
];
const RESOURCES: &[(&str, &str)] = &[
    ("投资人引荐", "可引荐早期基金合伙人"),
    ("工厂产能", "华东代工厂有空闲产能"),
    ("海外渠道", "东南亚电商渠道资源"),
    ("技术外包团队", "十人规模的全栈团队"),
    ("办公场地", "园区工位免租三个月"),
    ("政府补贴申报", "熟悉高新企业申报流程"),
];
const PROJECTS: &[(&str, &str)] = &[
    ("智能客服", "种子轮"),
    ("宠物鲜食", "天使轮"),
    ("跨境独立站", "Pre-A"),
    ("AI 教育", "天使轮"),
    ("储能运维", "A轮"),
    ("社区团购", "种子轮"),
];
const ROLES: &[(&str, &[&str])] = &[
    ("技术合伙人", &["Rust", "架构"]),
    ("市场负责人", &["增长", "投放"]),
    ("产品经理", &["B端", "数据分析"]),
    ("运营", &["社群", "内容"]),
];

/// Runs `partner-gateway demo`.
/// Takes an exclusive lock on `{path}.lock` for as long as the returned file is open, or fails
/// when another demo holds it.
fn lock_demo_database(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    if let Some(folder) = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("failed to create {}", folder.display()))?;
    }
    let lock_path = std::path::PathBuf::from(format!("{}.lock", path.display()));
    let file = std::fs::File::create(&lock_path)
        .with_context(|| format!("failed to create {}", lock_path.display()))?;
    file.try_lock().map_err(|_| {
        anyhow::anyhow!(
            "another demo is running on {}; stop it first, or set PGW_DEMO_DATABASE to another file",
            path.display()
        )
    })?;
    Ok(file)
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let mut settings = args.settings;
    telemetry::init(settings.telemetry.log_format)?;
    let path = args.demo_database;
    // The port and the database are both taken before the old database is deleted, so that a
    // second demo that cannot start leaves a running demo's data alone.
    let listener = tokio::net::TcpListener::bind(settings.http.listen)
        .await
        .with_context(|| {
            format!(
                "failed to listen on {}; set PGW_LISTEN to a free port",
                settings.http.listen
            )
        })?;
    let _demo_lock = lock_demo_database(&path)?;
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::remove_file(&file).with_context(|| {
                format!("failed to delete the old demo database {}", file.display())
            })?;
        }
    }
    settings.database.database_url = format!("sqlite://{}?mode=rwc", path.display());
    // The demo reads CKB's numbers and friend statuses from its simulator, often enough that
    // they visibly move.
    let account = simulator::SimAccount::default();
    settings.ckb.ckb_account = Some(account.account);
    settings.ckb.ckb_password = Some(crate::ckb::manage::Secret::new(account.password));
    settings.ckb.ckb_stats_ttl_secs = 5;
    settings.ckb.friend_sync_secs = 5;

    let simulator = start_simulator(args.seed).await?;
    let ckb_url = format!("http://{}", simulator.addr());
    let state = App::build_state(settings.clone()).await?;
    let options = DemoOptions {
        endpoint: ckb_url.clone(),
        leads: LeadMode::Pending,
    };
    generate(&state.db, DemoSize::default(), args.seed, &options).await?;
    let (_, admin_token) = auth::create_token(&state.db, Role::Admin, "demo-admin")
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let (_, service_token) = auth::create_token(&state.db, Role::Service, "demo-mini-program")
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let (_, integrator_token) =
        auth::create_token(&state.db, Role::Integrator, "demo-landing-page")
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;

    let app = App::start_with(listener, state).await?;
    let base = format!("http://{}", app.addr());
    println!();
    println!(
        "partner-gateway demo is running on a fresh database at {}",
        path.display()
    );
    println!();
    println!("  Console       {base}/admin      (找伙伴 admin console, in Chinese)");
    println!("  GraphiQL      {base}/graphiql");
    println!("  GraphQL       {base}/graphql");
    println!(
        "  CKB simulator {ckb_url}  (stands in for 存客宝; the demo's plans send their leads here)"
    );
    println!();
    println!("  ADMIN token       {admin_token}");
    println!("  SERVICE token     {service_token}");
    println!("  INTEGRATOR token  {integrator_token}");
    println!();
    println!(
        "In GraphiQL, set the header  {{\"Authorization\": \"Bearer <ADMIN token>\"}}  and run:"
    );
    println!("  {{ findPartnerOverview(window: LAST_7_DAYS) {{ tabs {{ labelZh count }} matchesByKind {{ kind matches }} }} }}");
    println!();
    println!("Press Ctrl-C to stop.");
    app.run_until_signal().await?;
    simulator.shutdown().await;
    Ok(())
}

/// The demo's plans as the CKB simulator knows them: CKB's plan id, name and apiKey.
fn simulator_plans() -> Vec<simulator::SimPlan> {
    DEMO_PLANS
        .iter()
        .map(|(id, name, _, _, remote)| simulator::SimPlan {
            id: *remote,
            name: name.to_string(),
            api_key: demo_api_key(*id),
            enabled: true,
            has_messages: true,
            scene_id: 1,
        })
        .collect()
}

/// The demo's plans as a simulator plans file (`ckb-sim --plans`).
pub fn simulator_plans_json() -> String {
    let plans: Vec<serde_json::Value> = simulator_plans()
        .into_iter()
        .map(|plan| serde_json::json!({ "id": plan.id, "name": plan.name, "apiKey": plan.api_key }))
        .collect();
    serde_json::Value::Array(plans).to_string()
}

/// Starts the CKB simulator on a loopback port with the demo's plans. Its clock moves leads
/// through CKB's friend request statuses every few seconds, so the demo's numbers change while
/// one watches.
async fn start_simulator(seed: u64) -> anyhow::Result<simulator::SimulatorHandle> {
    let config = simulator::SimulatorConfig {
        plans: simulator_plans(),
        clock: simulator::ClockConfig {
            tick: Some(std::time::Duration::from_secs(5)),
            ..Default::default()
        },
        seed,
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("failed to open a loopback port for the CKB simulator")?;
    Ok(simulator::spawn(config, listener).await?)
}

/// Fills an empty database with demo data of the given size.
pub async fn generate(
    db: &DatabaseConnection,
    size: DemoSize,
    seed: u64,
    options: &DemoOptions,
) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let now = crate::db::now();
    let txn = db.begin().await?;

    let members = insert_members(&txn, &mut rng, size, now).await?;
    let plans = insert_plans(&txn, now, &options.endpoint).await?;
    let pools = insert_pools(&txn, &members, now).await?;
    let mut run = Run {
        rng,
        size,
        now,
        lead_ids: LeadIds(0),
    };
    insert_matches(&txn, &mut run, &members, &pools, plans.matches).await?;
    let mentors = &pools[&MatchKind::Mentor].1;
    insert_bookings(&txn, &mut run, &members, mentors, plans.matches).await?;
    insert_resources(&txn, &mut run, &members, plans.matches).await?;
    insert_recruits(&txn, &mut run, &members, plans.matches).await?;
    insert_link_karuo(&txn, &mut run, &members, plans.link_karuo).await?;
    reset_id_sequences(&txn).await?;
    if options.leads == LeadMode::Pending {
        ckb_lead::Entity::update_many()
            .col_expr(
                ckb_lead::Column::DeliveryStatus,
                Expr::value(DeliveryStatus::Pending.to_value()),
            )
            .col_expr(ckb_lead::Column::Attempts, Expr::value(0))
            .col_expr(
                ckb_lead::Column::LastError,
                Expr::value(Option::<String>::None),
            )
            .col_expr(ckb_lead::Column::CkbCode, Expr::value(Option::<i32>::None))
            .col_expr(
                ckb_lead::Column::CkbMessage,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                ckb_lead::Column::DeliveredAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                ckb_lead::Column::FriendStatus,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                ckb_lead::Column::FriendStatusAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(ckb_lead::Column::NextAttemptAt, Expr::value(now))
            .exec(&txn)
            .await?;
    }
    // The rows above were inserted without their counters; count them all at once.
    crate::db::counters::rebuild(&txn)
        .await
        .map_err(|e| anyhow::anyhow!("counting the demo data failed: {e:?}"))?;

    txn.commit().await?;
    Ok(())
}

fn random_time(rng: &mut StdRng, now: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    // Squaring a uniform number puts more records in recent days, as in a growing community.
    let share: f64 = rng.random::<f64>().powi(2);
    now - Duration::milliseconds((share * (days * 86_400_000) as f64) as i64)
        - Duration::seconds(60)
}

async fn insert_batches<A, E>(db: &impl ConnectionTrait, rows: Vec<A>) -> anyhow::Result<()>
where
    A: sea_orm::ActiveModelTrait<Entity = E> + Send,
    E: EntityTrait,
    E::Model: sea_orm::IntoActiveModel<A>,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(400).collect();
        E::insert_many(chunk).exec_without_returning(db).await?;
    }
    Ok(())
}

/// A demo member with what the generator needs to know of it.
#[derive(Clone)]
struct DemoMember {
    id: i64,
    nickname: String,
    phone: Option<String>,
    wechat_id: Option<String>,
    is_vip: bool,
    tags: Vec<&'static str>,
}

async fn insert_members(
    db: &impl ConnectionTrait,
    rng: &mut StdRng,
    size: DemoSize,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<DemoMember>> {
    let mut members = Vec::with_capacity(size.members);
    let mut rows = Vec::with_capacity(size.members);
    let mut tag_rows = Vec::new();
    for index in 0..size.members {
        let id = index as i64 + 1;
        let nickname = format!(
            "{}{}",
            SURNAMES.choose(rng).unwrap(),
            GIVEN.choose(rng).unwrap()
        );
        let phone = rng.random_bool(0.9).then(|| {
            let prefix = ["138", "139", "150", "186", "177", "199"]
                .choose(rng)
                .unwrap();
            format!("{prefix}{:08}", rng.random_range(0..100_000_000))
        });
        let wechat_id =
            (rng.random_bool(0.6) || phone.is_none()).then(|| format!("wx_demo{id:05}"));
        let is_vip = rng.random_bool(0.2);
        let tag_count = rng.random_range(1..=3);
        let mut tags: Vec<&'static str> = TAGS.choose_multiple(rng, tag_count).copied().collect();
        if index < 24 {
            tags.push("导师");
        }
        tags.sort_unstable();
        tags.dedup();
        let created_at = random_time(rng, now, 180);
        rows.push(member::ActiveModel {
            id: Set(id),
            nickname: Set(nickname.clone()),
            phone: Set(phone.clone()),
            wechat_id: Set(wechat_id.clone()),
            avatar_url: Set(None),
            city: Set(Some(CITIES.choose(rng).unwrap().to_string())),
            industry: Set(Some(INDUSTRIES.choose(rng).unwrap().to_string())),
            is_vip: Set(is_vip),
            created_at: Set(created_at),
            updated_at: Set(created_at),
        });
        for tag in &tags {
            tag_rows.push(member_tag::ActiveModel {
                member_id: Set(id),
                tag: Set(tag.to_string()),
            });
        }
        members.push(DemoMember {
            id,
            nickname,
            phone,
            wechat_id,
            is_vip,
            tags,
        });
    }
    insert_batches(db, rows).await?;
    insert_batches(db, tag_rows).await?;
    Ok(members)
}

struct DemoPlans {
    link_karuo: i64,
    matches: i64,
}

async fn insert_plans(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    endpoint: &str,
) -> anyhow::Result<DemoPlans> {
    let rows = DEMO_PLANS
        .iter()
        .map(
            |(id, name, purpose, is_default, remote)| ckb_plan::ActiveModel {
                id: Set(*id),
                name: Set(name.to_string()),
                api_key: Set(demo_api_key(*id)),
                endpoint: Set(endpoint.to_owned()),
                remote_plan_id: Set(Some(*remote)),
                purpose: Set(*purpose),
                content_type: Set(CkbContentType::Json),
                is_default: Set(*is_default),
                enabled: Set(true),
                created_at: Set(now - Duration::days(90)),
                updated_at: Set(now - Duration::days(90)),
            },
        )
        .collect();
    insert_batches(db, rows).await?;
    Ok(DemoPlans {
        link_karuo: 1,
        matches: 2,
    })
}

/// Inserts two pools per kind, the first selected, and returns each kind's selected pool id
/// with the members it admits.
async fn insert_pools(
    db: &impl ConnectionTrait,
    members: &[DemoMember],
    now: DateTime<Utc>,
) -> anyhow::Result<HashMap<MatchKind, (i64, Vec<DemoMember>)>> {
    let created = now - Duration::days(90);
    let pool = |id: i64,
                name: &str,
                kind: MatchKind,
                source: PoolSource,
                tags: &[&str],
                selected: bool| partner_pool::ActiveModel {
        id: Set(id),
        name: Set(name.to_owned()),
        description: Set(None),
        kind: Set(kind),
        source: Set(source),
        required_tags: Set(serde_json::to_string(tags).expect("tags serialize")),
        require_phone: Set(false),
        require_wechat: Set(false),
        exclude_matched_within_days: Set(30),
        daily_match_limit: Set(3),
        enabled: Set(true),
        selected: Set(selected),
        ckb_plan_id: Set(None),
        created_at: Set(created + Duration::minutes(id)),
        updated_at: Set(created + Duration::minutes(id)),
    };
    let rows = vec![
        pool(
            1,
            "创业合伙·全体成员",
            MatchKind::Partner,
            PoolSource::AllMembers,
            &[],
            true,
        ),
        pool(
            2,
            "创业合伙·VIP",
            MatchKind::Partner,
            PoolSource::VipMembers,
            &[],
            false,
        ),
        pool(
            3,
            "资源对接·全体成员",
            MatchKind::Resource,
            PoolSource::AllMembers,
            &[],
            true,
        ),
        pool(
            4,
            "资源对接·融资",
            MatchKind::Resource,
            PoolSource::Tagged,
            &["融资"],
            false,
        ),
        pool(
            5,
            "导师库",
            MatchKind::Mentor,
            PoolSource::Manual,
            &[],
            true,
        ),
        pool(
            6,
            "导师·标签",
            MatchKind::Mentor,
            PoolSource::Tagged,
            &["导师"],
            false,
        ),
        pool(
            7,
            "团队招募·全体成员",
            MatchKind::Team,
            PoolSource::AllMembers,
            &[],
            true,
        ),
        pool(
            8,
            "团队招募·技术",
            MatchKind::Team,
            PoolSource::Tagged,
            &["技术"],
            false,
        ),
    ];
    insert_batches(db, rows).await?;

    let mentors: Vec<DemoMember> = members
        .iter()
        .filter(|m| m.tags.contains(&"导师"))
        .cloned()
        .collect();
    let manual_rows = mentors
        .iter()
        .map(|m| partner_pool_member::ActiveModel {
            pool_id: Set(5),
            member_id: Set(m.id),
            created_at: Set(created),
        })
        .collect();
    insert_batches(db, manual_rows).await?;
    let _ = members.iter().filter(|m| m.is_vip).count();

    Ok(HashMap::from([
        (MatchKind::Partner, (1, members.to_vec())),
        (MatchKind::Resource, (3, members.to_vec())),
        (MatchKind::Mentor, (5, mentors)),
        (MatchKind::Team, (7, members.to_vec())),
    ]))
}

/// A delivered lead's outcome, as CKB would have answered over time.
fn demo_outcome(
    rng: &mut StdRng,
    stored: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (DeliveryStatus, Option<FriendStatus>) {
    let status = match rng.random_range(0..100) {
        0..=74 => DeliveryStatus::Created,
        75..=91 => DeliveryStatus::Existing,
        92..=95 => DeliveryStatus::Rejected,
        _ => DeliveryStatus::Failed,
    };
    if !status.is_accepted() {
        return (status, None);
    }
    // Older leads had more time to move through CKB's friend request states.
    let age_days = (now - stored).num_days();
    let friend = match (age_days, rng.random_range(0..100)) {
        (0, n) if n < 60 => FriendStatus::New,
        (0, _) => FriendStatus::Requested,
        (1..=2, n) if n < 30 => FriendStatus::Sent,
        (_, n) if n < 45 => FriendStatus::Passed,
        (_, n) if n < 60 => FriendStatus::Sent,
        (_, n) if n < 75 => FriendStatus::Requested,
        (_, n) if n < 85 => FriendStatus::New,
        _ => FriendStatus::Rejected,
    };
    (status, Some(friend))
}

struct LeadSeed<'a> {
    id: i64,
    plan_id: i64,
    origin: LeadOrigin,
    origin_id: i64,
    member: &'a DemoMember,
    source: String,
    remark: String,
    at: DateTime<Utc>,
    match_kind: Option<MatchKind>,
}

fn lead_row(rng: &mut StdRng, now: DateTime<Utc>, seed: LeadSeed<'_>) -> ckb_lead::ActiveModel {
    let (status, friend) = demo_outcome(rng, seed.at, now);
    let identifier = seed
        .member
        .wechat_id
        .clone()
        .or_else(|| seed.member.phone.clone())
        .unwrap_or_default();
    let (code, message, error) = match status {
        DeliveryStatus::Created => (Some(200), Some("新增成功".to_owned()), None),
        DeliveryStatus::Existing => (Some(200), Some("已存在".to_owned()), None),
        DeliveryStatus::Rejected => (
            Some(401),
            Some("签名验证失败".to_owned()),
            Some("CKB rejected the lead: 签名验证失败".to_owned()),
        ),
        _ => (
            Some(500),
            Some("系统错误".to_owned()),
            Some("CKB answered code 500 on every attempt".to_owned()),
        ),
    };
    ckb_lead::ActiveModel {
        id: Set(seed.id),
        plan_id: Set(seed.plan_id),
        origin: Set(seed.origin),
        origin_id: Set(Some(seed.origin_id)),
        identifier: Set(identifier),
        phone: Set(seed.member.phone.clone()),
        wechat_id: Set(seed.member.wechat_id.clone()),
        name: Set(seed.member.nickname.clone()),
        source: Set(seed.source),
        remark: Set(seed.remark),
        tags: Set("[]".into()),
        site_tags: Set("[]".into()),
        portrait: Set(None),
        idempotency_key: Set(None),
        submitted_by: Set(None),
        request_id: Set(None),
        delivery_status: Set(status),
        attempts: Set(if status == DeliveryStatus::Failed {
            8
        } else {
            1
        }),
        last_error: Set(error),
        ckb_code: Set(code),
        ckb_message: Set(message),
        delivered_at: Set(status
            .is_accepted()
            .then_some(seed.at + Duration::seconds(1))),
        next_attempt_at: Set(seed.at),
        lease_owner: Set(None),
        lease_until: Set(None),
        friend_status: Set(friend),
        friend_status_at: Set(friend.map(|_| (seed.at + Duration::hours(6)).min(now))),
        match_kind: Set(seed.match_kind),
        created_at: Set(seed.at),
        updated_at: Set(seed.at),
    }
}

/// PostgreSQL hands out ids from a sequence per table, which rows inserted with explicit ids
/// do not advance; this moves each sequence past the largest id so that later inserts do not
/// collide. SQLite derives the next id from the largest one and needs nothing.
async fn reset_id_sequences(db: &impl ConnectionTrait) -> anyhow::Result<()> {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Ok(());
    }
    for table in [
        "members",
        "ckb_plans",
        "partner_pools",
        "ckb_leads",
        "match_records",
        "mentor_bookings",
        "resource_matches",
        "team_recruits",
        "team_applications",
    ] {
        db.execute_unprepared(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        ))
        .await?;
    }
    Ok(())
}

/// What every generator step shares.
struct Run {
    rng: StdRng,
    size: DemoSize,
    now: DateTime<Utc>,
    lead_ids: LeadIds,
}

/// Lead ids are handed out by the generator so that records can point at their lead in one
/// insert.
struct LeadIds(i64);

impl LeadIds {
    fn next(&mut self) -> i64 {
        self.0 += 1;
        self.0
    }
}

async fn insert_matches(
    db: &impl ConnectionTrait,
    run: &mut Run,
    members: &[DemoMember],
    pools: &HashMap<MatchKind, (i64, Vec<DemoMember>)>,
    plan_id: i64,
) -> anyhow::Result<()> {
    let Run {
        rng,
        size,
        now,
        lead_ids,
    } = run;
    let (size, now) = (*size, *now);
    let mut times: Vec<DateTime<Utc>> = (0..size.matches)
        .map(|_| random_time(rng, now, size.days))
        .collect();
    times.sort_unstable();
    let mut leads = Vec::new();
    let mut records = Vec::with_capacity(size.matches);
    for (index, matched_at) in times.into_iter().enumerate() {
        let kind = *[
            MatchKind::Partner,
            MatchKind::Partner,
            MatchKind::Resource,
            MatchKind::Mentor,
            MatchKind::Team,
        ]
        .choose(rng)
        .unwrap();
        let (pool_id, eligible) = &pools[&kind];
        let requester = members.choose(rng).unwrap();
        let partner = loop {
            let candidate = eligible.choose(rng).unwrap();
            if candidate.id != requester.id {
                break candidate;
            }
        };
        let id = index as i64 + 1;
        let has_contact = requester.phone.is_some() || requester.wechat_id.is_some();
        let lead_id = has_contact.then(|| lead_ids.next());
        if let Some(lead_id) = lead_id {
            leads.push(lead_row(
                rng,
                now,
                LeadSeed {
                    id: lead_id,
                    plan_id,
                    origin: LeadOrigin::Match,
                    match_kind: Some(kind),
                    origin_id: id,
                    member: requester,
                    source: format!("找伙伴·{}", kind.label_zh()),
                    remark: format!("匹配到 {}", partner.nickname),
                    at: matched_at,
                },
            ));
        }
        let status = match rng.random_range(0..10) {
            0..=5 => MatchStatus::Matched,
            6..=8 => MatchStatus::Contacted,
            _ => MatchStatus::Closed,
        };
        records.push(match_record::ActiveModel {
            id: Set(id),
            kind: Set(kind),
            pool_id: Set(*pool_id),
            requester_id: Set(requester.id),
            partner_id: Set(partner.id),
            status: Set(status),
            lead_id: Set(lead_id),
            matched_at: Set(matched_at),
            created_at: Set(matched_at),
            updated_at: Set(matched_at),
        });
    }
    insert_batches(db, leads).await?;
    insert_batches(db, records).await
}

async fn insert_bookings(
    db: &impl ConnectionTrait,
    run: &mut Run,
    members: &[DemoMember],
    mentors: &[DemoMember],
    plan_id: i64,
) -> anyhow::Result<()> {
    let Run {
        rng,
        size,
        now,
        lead_ids,
    } = run;
    let (size, now) = (*size, *now);
    let mut leads = Vec::new();
    let mut rows = Vec::with_capacity(size.bookings);
    for index in 0..size.bookings {
        let id = index as i64 + 1;
        let mentor = &mentors[index % mentors.len()];
        let member = loop {
            let candidate = members.choose(rng).unwrap();
            if candidate.id != mentor.id {
                break candidate;
            }
        };
        // Each mentor's slots are a day apart, so no two bookings of a mentor overlap.
        let round = (index / mentors.len()) as i64;
        let slot_start =
            now + Duration::days(14 - round * 2) + Duration::hours(rng.random_range(1..8));
        // Booked one to ten days before the slot, and never later than a random time within
        // the data set's span, so that bookings spread over the windows like real ones.
        let booked = slot_start - Duration::days(rng.random_range(1..10));
        let created_at = booked.min(random_time(rng, now, size.days));
        let status = if slot_start < now {
            if rng.random_bool(0.85) {
                BookingStatus::Completed
            } else {
                BookingStatus::Cancelled
            }
        } else if rng.random_bool(0.5) {
            BookingStatus::Confirmed
        } else {
            BookingStatus::Pending
        };
        let lead_id =
            (member.phone.is_some() || member.wechat_id.is_some()).then(|| lead_ids.next());
        let topic = TOPICS.choose(rng).unwrap().to_string();
        if let Some(lead_id) = lead_id {
            leads.push(lead_row(
                rng,
                now,
                LeadSeed {
                    id: lead_id,
                    plan_id,
                    origin: LeadOrigin::MentorBooking,
                    origin_id: id,
                    member,
                    source: "找伙伴·导师预约".into(),
                    remark: format!("预约主题: {topic}"),
                    at: created_at,
                    match_kind: None,
                },
            ));
        }
        rows.push(mentor_booking::ActiveModel {
            id: Set(id),
            mentor_id: Set(mentor.id),
            member_id: Set(member.id),
            topic: Set(topic),
            slot_start: Set(slot_start),
            slot_end: Set(slot_start + Duration::hours(1)),
            status: Set(status),
            note: Set(None),
            lead_id: Set(lead_id),
            created_at: Set(created_at),
            updated_at: Set(created_at),
        });
    }
    insert_batches(db, leads).await?;
    insert_batches(db, rows).await
}

async fn insert_resources(
    db: &impl ConnectionTrait,
    run: &mut Run,
    members: &[DemoMember],
    plan_id: i64,
) -> anyhow::Result<()> {
    let Run {
        rng,
        size,
        now,
        lead_ids,
    } = run;
    let (size, now) = (*size, *now);
    let mut leads = Vec::new();
    let mut rows = Vec::with_capacity(size.resources);
    for index in 0..size.resources {
        let id = index as i64 + 1;
        let owner = members.choose(rng).unwrap();
        let (title, description) = RESOURCES.choose(rng).unwrap();
        let created_at = random_time(rng, now, size.days);
        let roll = rng.random_range(0..10);
        let (status, counterpart) = match roll {
            0..=4 => (ResourceStatus::Open, None),
            5..=8 => {
                let counterpart = loop {
                    let c = members.choose(rng).unwrap();
                    if c.id != owner.id {
                        break c;
                    }
                };
                (ResourceStatus::Matched, Some(counterpart))
            }
            _ => (ResourceStatus::Closed, None),
        };
        let matched_at =
            counterpart.map(|_| (created_at + Duration::hours(rng.random_range(1..72))).min(now));
        let lead_id = counterpart
            .filter(|c| c.phone.is_some() || c.wechat_id.is_some())
            .map(|_| lead_ids.next());
        if let (Some(lead_id), Some(counterpart), Some(matched_at)) =
            (lead_id, counterpart, matched_at)
        {
            leads.push(lead_row(
                rng,
                now,
                LeadSeed {
                    id: lead_id,
                    plan_id,
                    origin: LeadOrigin::ResourceMatch,
                    origin_id: id,
                    member: counterpart,
                    source: "找伙伴·资源对接".into(),
                    remark: format!("对接资源: {title}"),
                    at: matched_at,
                    match_kind: None,
                },
            ));
        }
        let tags: Vec<&str> = TAGS.choose_multiple(rng, 2).copied().collect();
        rows.push(resource_match::ActiveModel {
            id: Set(id),
            direction: Set(if rng.random_bool(0.5) {
                ResourceDirection::Offer
            } else {
                ResourceDirection::Need
            }),
            title: Set(title.to_string()),
            description: Set(description.to_string()),
            tags: Set(serde_json::to_string(&tags)?),
            owner_id: Set(owner.id),
            counterpart_id: Set(counterpart.map(|c| c.id)),
            status: Set(status),
            matched_at: Set(matched_at),
            lead_id: Set(lead_id),
            created_at: Set(created_at),
            updated_at: Set(matched_at.unwrap_or(created_at)),
        });
    }
    insert_batches(db, leads).await?;
    insert_batches(db, rows).await
}

async fn insert_recruits(
    db: &impl ConnectionTrait,
    run: &mut Run,
    members: &[DemoMember],
    plan_id: i64,
) -> anyhow::Result<()> {
    let Run {
        rng,
        size,
        now,
        lead_ids,
    } = run;
    let (size, now) = (*size, *now);
    let mut leads = Vec::new();
    let mut recruits = Vec::with_capacity(size.recruits);
    let mut applications = Vec::with_capacity(size.applications);
    let mut application_id = 0i64;
    let per_recruit = (size.applications / size.recruits.max(1)).max(1);
    for index in 0..size.recruits {
        let id = index as i64 + 1;
        let owner = members.choose(rng).unwrap();
        let (project, stage) = PROJECTS.choose(rng).unwrap();
        let role_count = rng.random_range(1..=3);
        let roles: Vec<RecruitRole> = ROLES
            .choose_multiple(rng, role_count)
            .map(|(title, skills)| RecruitRole {
                title: title.to_string(),
                count: rng.random_range(1..=3),
                skills: skills.iter().map(|s| s.to_string()).collect(),
            })
            .collect();
        let headcount: i32 = roles.iter().map(|r| r.count).sum();
        let created_at = random_time(rng, now, size.days);
        let mut filled = 0;
        // Draw distinct applicants other than the owner; drawing from the whole member list
        // each time would cost members × recruitments at benchmark sizes.
        let mut applicants: Vec<&DemoMember> = Vec::with_capacity(per_recruit);
        while applicants.len() < per_recruit.min(members.len() - 1) {
            let candidate = members.choose(rng).unwrap();
            if candidate.id != owner.id && !applicants.iter().any(|a| a.id == candidate.id) {
                applicants.push(candidate);
            }
        }
        for applicant in applicants {
            application_id += 1;
            let role = roles.choose(rng).unwrap();
            let status = match rng.random_range(0..10) {
                0..=3 if filled < headcount => {
                    filled += 1;
                    ApplicationStatus::Accepted
                }
                4..=5 => ApplicationStatus::Rejected,
                6 => ApplicationStatus::Withdrawn,
                _ => ApplicationStatus::Pending,
            };
            let at = (created_at + Duration::hours(rng.random_range(1..96))).min(now);
            let lead_id = (applicant.phone.is_some() || applicant.wechat_id.is_some())
                .then(|| lead_ids.next());
            if let Some(lead_id) = lead_id {
                leads.push(lead_row(
                    rng,
                    now,
                    LeadSeed {
                        id: lead_id,
                        plan_id,
                        origin: LeadOrigin::TeamRecruit,
                        origin_id: application_id,
                        member: applicant,
                        source: "找伙伴·团队招募".into(),
                        remark: format!("申请 {project} 的 {}", role.title),
                        at,
                        match_kind: None,
                    },
                ));
            }
            applications.push(team_application::ActiveModel {
                id: Set(application_id),
                recruit_id: Set(id),
                member_id: Set(applicant.id),
                role: Set(role.title.clone()),
                message: Set("希望加入，时间灵活".into()),
                status: Set(status),
                lead_id: Set(lead_id),
                created_at: Set(at),
                updated_at: Set(at),
            });
        }
        let status = if rng.random_bool(0.1) {
            RecruitStatus::Closed
        } else if filled >= headcount {
            RecruitStatus::Full
        } else {
            RecruitStatus::Recruiting
        };
        recruits.push(team_recruit::ActiveModel {
            id: Set(id),
            project_name: Set(format!("{project}{id}")),
            stage: Set(stage.to_string()),
            description: Set(format!("{project}项目寻找志同道合的伙伴")),
            roles: Set(serde_json::to_string(&roles)?),
            headcount: Set(headcount),
            filled_count: Set(filled),
            status: Set(status),
            owner_id: Set(owner.id),
            created_at: Set(created_at),
            updated_at: Set(created_at),
        });
    }
    insert_batches(db, recruits).await?;
    insert_batches(db, leads).await?;
    insert_batches(db, applications).await
}

async fn insert_link_karuo(
    db: &impl ConnectionTrait,
    run: &mut Run,
    members: &[DemoMember],
    plan_id: i64,
) -> anyhow::Result<()> {
    let Run {
        rng, now, lead_ids, ..
    } = run;
    let now = *now;
    let mut leads = Vec::new();
    for member in members
        .iter()
        .filter(|m| m.phone.is_some() || m.wechat_id.is_some())
        .step_by(4)
    {
        let at = random_time(rng, now, 60);
        leads.push(lead_row(
            rng,
            now,
            LeadSeed {
                id: lead_ids.next(),
                plan_id,
                origin: LeadOrigin::LinkKaruo,
                origin_id: member.id,
                member,
                source: LINK_KARUO_SOURCE.into(),
                remark: LINK_KARUO_REMARK.into(),
                at,
                match_kind: None,
            },
        ));
    }
    insert_batches(db, leads).await
}

/// The `source` and `remark` of every 链接卡若 lead.
pub const LINK_KARUO_SOURCE: &str = "找伙伴·首页链接卡若";
pub const LINK_KARUO_REMARK: &str = "会员在小程序首页点击「链接卡若」";
