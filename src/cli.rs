//! The command line: `serve`, `demo`, `migrate`, `export-schema` and `token`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};

use crate::{
    app::App,
    auth, ckb,
    config::{LogFormat, Settings},
    db, demo,
    domain::Role,
    graphql, telemetry,
};

/// GraphQL gateway of the 找伙伴 (find partner) feature, delivering leads to 存客宝 (CKB).
#[derive(Parser, Debug)]
#[command(
    name = "partner-gateway",
    version,
    about,
    propagate_version = true,
    args_override_self = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the GraphQL API, GraphiQL and the health probes.
    Serve(Settings),
    /// Serve on a fresh SQLite database filled with generated demo data and a CKB simulator,
    /// and print the console and GraphiQL URLs with an ADMIN, a SERVICE and an INTEGRATOR token.
    Demo(DemoArgs),
    /// Apply or list database migrations.
    Migrate(MigrateArgs),
    /// Print the GraphQL schema (SDL) to standard output.
    ExportSchema,
    /// Create, list or revoke API tokens.
    Token(TokenArgs),
    /// Fill an empty database with generated find-partner data, for benchmarks and trials.
    Generate(GenerateArgs),
    /// Recount the overview's day counters from the rows, after a bulk load or to repair them.
    RecountStats(RecountArgs),
    /// Tools for integrators of 存客宝 (CKB).
    Ckb(CkbArgs),
    /// Run the CKB simulator: a local stand-in for CKB's lead and management API.
    CkbSim(CkbSimArgs),
}

#[derive(Args, Debug)]
pub struct RecountArgs {
    #[command(flatten)]
    pub database: DatabaseArg,
    /// Offset of the admins' time zone from UTC, in hours; it must match the gateway's.
    #[arg(
        long,
        env = "PGW_UTC_OFFSET_HOURS",
        default_value_t = 8,
        allow_hyphen_values = true
    )]
    pub utc_offset_hours: i32,
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub database: DatabaseArg,
    /// Match records to generate; members, leads and the other tabs follow in proportion.
    #[arg(long, env = "PGW_GENERATE_MATCHES", default_value_t = 2000)]
    pub matches: usize,
    /// Base URL of CKB for the generated plans.
    #[arg(
        long,
        env = "PGW_GENERATE_CKB_ENDPOINT",
        default_value = "http://127.0.0.1:9"
    )]
    pub ckb_endpoint: String,
    /// Seed of the generated data; the same seed gives the same data.
    #[arg(long, env = "PGW_GENERATE_SEED", default_value_t = 20261204)]
    pub seed: u64,
    /// Also write the generated plans as a CKB simulator plans file, for `ckb-sim --plans`.
    #[arg(long, env = "PGW_GENERATE_SIM_PLANS")]
    pub sim_plans: Option<PathBuf>,
    /// Offset of the admins' time zone from UTC, in hours, for the day counters.
    #[arg(
        long,
        env = "PGW_UTC_OFFSET_HOURS",
        default_value_t = 8,
        allow_hyphen_values = true
    )]
    pub utc_offset_hours: i32,
}

#[derive(Args, Debug)]
pub struct CkbArgs {
    #[command(subcommand)]
    pub action: CkbAction,
}

#[derive(Subcommand, Debug)]
pub enum CkbAction {
    /// Read one JSON object of lead parameters on standard input and print the string CKB
    /// signs and the sign, as `{"stringToSign": "...", "sign": "..."}`.
    Sign {
        /// The plan's apiKey.
        #[arg(long, env = "CKB_API_KEY")]
        api_key: String,
    },
}

#[derive(Args, Debug)]
pub struct CkbSimArgs {
    /// Address to listen on; keep it on loopback.
    #[arg(long, env = "CKB_SIM_LISTEN", default_value = "127.0.0.1:9100")]
    pub listen: std::net::SocketAddr,
    /// JSON file of plans: `[{"id": 1, "name": "…", "apiKey": "…"}]`.
    #[arg(long, env = "CKB_SIM_PLANS")]
    pub plans: PathBuf,
    /// Behave like CKB's 2025 code: status 4 only, the inverted passRate, no getUserList.
    #[arg(long, env = "CKB_SIM_LEGACY")]
    pub legacy: bool,
    /// Delay added to every request, in milliseconds.
    #[arg(long, env = "CKB_SIM_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of lead requests answered with an HTTP 500 page, 0 to 1.
    #[arg(long, env = "CKB_SIM_ERROR_RATE", default_value_t = 0.0, value_parser = parse_share, allow_negative_numbers = true)]
    pub error_rate: f64,
    /// Share of lead requests left unanswered, 0 to 1.
    #[arg(long, env = "CKB_SIM_TIMEOUT_RATE", default_value_t = 0.0, value_parser = parse_share, allow_negative_numbers = true)]
    pub timeout_rate: f64,
    /// Share of lead requests whose connection is closed unanswered, 0 to 1.
    #[arg(long, env = "CKB_SIM_DROP_RATE", default_value_t = 0.0, value_parser = parse_share, allow_negative_numbers = true)]
    pub drop_rate: f64,
    /// Milliseconds between two steps of the lead status clock; 0 stops the clock.
    #[arg(long, env = "CKB_SIM_TICK_MS", default_value_t = 10_000)]
    pub tick_ms: u64,
    /// Management login account.
    #[arg(long, env = "CKB_SIM_ACCOUNT", default_value = "ckb-demo")]
    pub account: String,
    /// Management login password.
    #[arg(long, env = "CKB_SIM_PASSWORD", default_value = "ckb-demo-password")]
    pub password: String,
    /// Seed of the clock's outcomes and the fault draws.
    #[arg(long, env = "CKB_SIM_SEED", default_value_t = 1)]
    pub seed: u64,
}

/// Parses a share of requests, a number from 0 to 1.
fn parse_share(value: &str) -> Result<f64, String> {
    const EXPECTED: &str = "expected a number from 0 to 1";
    let share: f64 = value.parse().map_err(|_| EXPECTED.to_owned())?;
    // NaN is outside every range, so it is rejected here too.
    if !(0.0..=1.0).contains(&share) {
        return Err(EXPECTED.to_owned());
    }
    Ok(share)
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    pub settings: Settings,

    /// SQLite file of the demo; it is deleted and created again at every start. The demo
    /// ignores DATABASE_URL.
    #[arg(
        long,
        env = "PGW_DEMO_DATABASE",
        default_value = "data/demo.db",
        help_heading = "Demo"
    )]
    pub demo_database: PathBuf,

    /// Seed of the generated data; the same seed gives the same data.
    #[arg(
        long,
        env = "PGW_DEMO_SEED",
        default_value_t = 20261204,
        help_heading = "Demo"
    )]
    pub seed: u64,
}

#[derive(Args, Debug)]
pub struct DatabaseArg {
    /// Database URL: `sqlite://PATH?mode=rwc` or `postgres://USER:PASSWORD@HOST/DB`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/partner-gateway.db?mode=rwc",
        global = true
    )]
    pub database_url: String,
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    #[command(subcommand)]
    pub action: MigrateAction,
    #[command(flatten)]
    pub database: DatabaseArg,
}

#[derive(Subcommand, Debug)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Apply,
    /// List the migrations and whether each is applied.
    Status,
}

#[derive(Args, Debug)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub action: TokenAction,
    #[command(flatten)]
    pub database: DatabaseArg,
}

#[derive(Subcommand, Debug)]
pub enum TokenAction {
    /// Create a token and print it once; only its hash is stored.
    Create {
        /// ADMIN, SERVICE or INTEGRATOR.
        #[arg(long, env = "PGW_TOKEN_ROLE")]
        role: Role,
        /// A name that identifies the token in logs and listings, such as `landing-page`.
        #[arg(long, env = "PGW_TOKEN_NAME")]
        name: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id; running gateways stop accepting it within PGW_TOKEN_CACHE_MS
    /// (100 ms by default).
    Revoke {
        /// The token's id, from `token list`.
        #[arg(long, env = "PGW_TOKEN_ID")]
        id: i64,
    },
}

impl clap::builder::ValueParserFactory for Role {
    type Parser = clap::builder::ValueParser;

    fn value_parser() -> Self::Parser {
        clap::builder::ValueParser::new(|value: &str| value.parse::<Role>())
    }
}

/// Parses the process's arguments like [`Parser::parse`] and exits on an error. When clap
/// rejects a value that came from an environment variable, the message also names the
/// variable, because clap's message names only the flag. That message is printed without
/// clap's colours.
pub fn parse() -> Cli {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    Cli::try_parse_from(&args).unwrap_or_else(|error| {
        let Some((flag, variable)) = rejected_variable(&error, &args) else {
            error.exit()
        };
        let quoted = format!("'{flag}'");
        let message = error.render().to_string().replacen(
            &quoted,
            &format!("{quoted} (set by {variable})"),
            1,
        );
        eprint!("{message}");
        std::process::exit(error.exit_code())
    })
}

/// Returns the flag whose value `error` rejects and the environment variable that value came
/// from, or `None` when the value was typed on the command line or the error is of another
/// kind.
fn rejected_variable(error: &clap::Error, args: &[std::ffi::OsString]) -> Option<(String, String)> {
    use clap::{
        error::{ContextKind, ContextValue, ErrorKind},
        CommandFactory,
    };

    if !matches!(
        error.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation | ErrorKind::InvalidUtf8
    ) {
        return None;
    }
    let Some(ContextValue::String(flag)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };

    // Several subcommands have a flag of the same name with different variables (`--seed`,
    // `--listen`), so the search follows the subcommands named in the arguments. build()
    // copies global flags into the subcommands.
    let mut root = Cli::command();
    root.build();
    let mut command = &root;
    for arg in args.iter().skip(1) {
        if arg == "--" {
            break;
        }
        if let Some(subcommand) = arg.to_str().and_then(|name| command.find_subcommand(name)) {
            command = subcommand;
        }
    }
    let arg = command
        .get_arguments()
        .find(|arg| arg.to_string() == *flag)?;

    // A value typed on the command line wins over the environment, so clap reads the
    // variable only when the flag is absent.
    let typed = args.iter().skip(1).any(|given| {
        let Some(given) = given.to_str() else {
            return false;
        };
        let long = arg.get_long().is_some_and(|long| {
            given == format!("--{long}") || given.starts_with(&format!("--{long}="))
        });
        let short = arg
            .get_short()
            .is_some_and(|short| given.starts_with(&format!("-{short}")));
        long || short
    });
    if typed {
        return None;
    }
    let variable = arg.get_env()?;
    std::env::var_os(variable)?;
    Some((flag.clone(), variable.to_string_lossy().into_owned()))
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(settings) => {
            telemetry::init(settings.telemetry.log_format)?;
            let app = App::start(settings).await?;
            tracing::info!(graphiql = %format!("http://{}/graphiql", app.addr()), "partner-gateway ready");
            app.run_until_signal().await
        }
        Command::Demo(args) => demo::run(args).await,
        Command::Migrate(args) => {
            telemetry::init(LogFormat::Text)?;
            let missing = match args.action {
                MigrateAction::Apply => MissingDatabase::Create,
                MigrateAction::Status => MissingDatabase::Reject,
            };
            let db = open(&args.database.database_url, missing).await?;
            match args.action {
                MigrateAction::Apply => {
                    db::migrate(&db).await?;
                    println!("all migrations applied");
                }
                MigrateAction::Status => {
                    for (name, applied) in db::migration_status(&db).await? {
                        println!("{}  {name}", if applied { "applied" } else { "pending" });
                    }
                }
            }
            Ok(())
        }
        Command::Generate(args) => {
            telemetry::init(LogFormat::Text)?;
            let db = open(&args.database.database_url, MissingDatabase::Create).await?;
            db::migrate(&db).await?;
            db::counters::set_utc_offset_hours(args.utc_offset_hours);
            // Generated rows take fixed ids, which clash with any rows already there.
            use sea_orm::{EntityTrait, PaginatorTrait};
            let members = db::entities::member::Entity::find()
                .count(&db)
                .await
                .context("failed to read the members table")?;
            if members > 0 {
                bail!(
                    "the database already has {members} members; generate fills an empty database only, so point --database-url at a new file"
                );
            }
            let size = demo::DemoSize::scaled(args.matches);
            let started = std::time::Instant::now();
            let options = demo::DemoOptions {
                endpoint: args.ckb_endpoint,
                leads: demo::LeadMode::Delivered,
            };
            demo::generate(&db, size, args.seed, &options).await?;
            if let Some(path) = &args.sim_plans {
                std::fs::write(path, demo::simulator_plans_json())
                    .with_context(|| format!("failed to write {}", path.display()))?;
            }
            println!(
                "generated {} members and {} match records with their leads, bookings, resources and recruitments in {:.1} s",
                size.members,
                size.matches,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::RecountStats(args) => {
            let db = open(&args.database.database_url, MissingDatabase::Reject).await?;
            db::migrate(&db).await?;
            db::counters::set_utc_offset_hours(args.utc_offset_hours);
            db::counters::rebuild(&db)
                .await
                .map_err(|e| anyhow::anyhow!("recounting failed: {e:?}"))?;
            println!("day counters recounted from the rows");
            Ok(())
        }
        Command::Ckb(CkbArgs {
            action: CkbAction::Sign { api_key },
        }) => sign_stdin(&api_key),
        Command::CkbSim(args) => run_simulator(args).await,
        Command::ExportSchema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Token(args) => {
            // Only `create` makes a new database, so that listing or revoking on a mistyped path
            // reports the missing file instead of creating an empty one.
            let missing = match args.action {
                TokenAction::Create { .. } => MissingDatabase::Create,
                TokenAction::List | TokenAction::Revoke { .. } => MissingDatabase::Reject,
            };
            let db = open(&args.database.database_url, missing).await?;
            db::migrate(&db).await?;
            match args.action {
                TokenAction::Create { role, name } => {
                    let (info, token) = auth::create_token(&db, role, &name)
                        .await
                        .map_err(|e| anyhow::anyhow!("{}", e.client_message()))?;
                    eprintln!(
                        "created token {} ({}, role {}); it is shown once, store it now:",
                        info.id, info.name, info.role
                    );
                    println!("{token}");
                }
                TokenAction::List => {
                    for info in auth::list_tokens(&db)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e:?}"))?
                    {
                        let state = match info.revoked_at {
                            Some(at) => format!("revoked {}", at.format("%Y-%m-%d %H:%M")),
                            None => "active".to_owned(),
                        };
                        println!(
                            "{:>4}  {:<10}  {:<24}  created {}  {state}",
                            info.id,
                            info.role,
                            info.name,
                            info.created_at.format("%Y-%m-%d %H:%M")
                        );
                    }
                }
                TokenAction::Revoke { id } => {
                    let before = auth::list_tokens(&db)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e:?}"))?
                        .into_iter()
                        .find(|token| token.id == id);
                    let info = auth::revoke_token(&db, id)
                        .await
                        .map_err(|e| anyhow::anyhow!("{}", e.client_message()))?;
                    if before.is_some_and(|token| token.revoked_at.is_some()) {
                        println!("token {} ({}) was already revoked", info.id, info.name);
                    } else {
                        println!("revoked token {} ({})", info.id, info.name);
                    }
                }
            }
            Ok(())
        }
    }
}

/// Handling of a missing SQLite database file by [`open`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum MissingDatabase {
    /// Create the file and its folders, as `serve` does.
    Create,
    /// Fail, for commands that only read and must leave no empty database behind.
    Reject,
}

async fn open(url: &str, missing: MissingDatabase) -> anyhow::Result<sea_orm::DatabaseConnection> {
    crate::config::validate_database_url(url)?;
    let path = crate::config::sqlite_path(url);
    if missing == MissingDatabase::Reject {
        // An error from try_exists, such as a folder without read permission, is left to the
        // connection to report.
        if let Some(path) = path.filter(|path| matches!(path.try_exists(), Ok(false))) {
            bail!(
                "no database at {}; `partner-gateway migrate apply` or `serve` creates it",
                path.display()
            );
        }
        return Ok(db::connect_existing(url, 2).await?.0);
    }
    if let Some(parent) = path
        .as_deref()
        .and_then(|path| path.parent())
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("failed to create {}", parent.display()))?;
    }
    Ok(db::connect(url, 2).await?.0)
}

fn sign_stdin(api_key: &str) -> anyhow::Result<()> {
    use std::io::Read;
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("failed to read standard input")?;
    let params: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&input)
        .context("standard input must be one JSON object of lead parameters, such as {\"phone\": \"13800000000\", \"timestamp\": 1710000000}")?;
    let signature = ckb::sign::sign(&params, api_key)?;
    // Written by hand to keep the documented key order; serde_json sorts object keys.
    println!(
        "{{\"stringToSign\":{},\"sign\":{}}}",
        serde_json::Value::String(signature.string_to_sign),
        serde_json::Value::String(signature.sign)
    );
    Ok(())
}

async fn run_simulator(args: CkbSimArgs) -> anyhow::Result<()> {
    use ckb::simulator::{self, CkbVersion, ClockConfig, Faults, SimAccount, SimulatorConfig};
    telemetry::init(LogFormat::Text)?;
    // A lead request gets at most one fault, drawn from the rates stacked in the order error,
    // timeout, drop, so beyond a sum of 1 the later rates would silently shrink. The tolerance
    // allows rounding, as in 0.1 + 0.2 + 0.7.
    let total_rate = args.error_rate + args.timeout_rate + args.drop_rate;
    if total_rate > 1.0 + 1e-9 {
        bail!(
            "invalid fault rates: --error-rate, --timeout-rate and --drop-rate \
             (CKB_SIM_ERROR_RATE, CKB_SIM_TIMEOUT_RATE, CKB_SIM_DROP_RATE) add up to {total_rate}, \
             more than 1; lower them so that their sum is at most 1"
        );
    }
    let config = SimulatorConfig {
        plans: simulator::load_plans(&args.plans)?,
        version: if args.legacy {
            CkbVersion::Legacy
        } else {
            CkbVersion::Current
        },
        account: SimAccount {
            account: args.account,
            password: args.password,
            ..SimAccount::default()
        },
        clock: ClockConfig {
            tick: (args.tick_ms > 0).then(|| std::time::Duration::from_millis(args.tick_ms)),
            ..ClockConfig::default()
        },
        faults: Faults {
            latency: std::time::Duration::from_millis(args.latency_ms),
            error_rate: args.error_rate,
            timeout_rate: args.timeout_rate,
            drop_rate: args.drop_rate,
            ..Faults::default()
        },
        seed: args.seed,
        ..SimulatorConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("failed to listen on {}", args.listen))?;
    let handle = simulator::spawn(config, listener).await?;
    println!("CKB simulator listening on http://{}", handle.addr());
    tokio::signal::ctrl_c().await.ok();
    handle.shutdown().await;
    Ok(())
}
