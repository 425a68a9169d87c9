//! The command line: `serve`, `demo`, `migrate`, `export-schema` and `token`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::{
    app::App,
    auth,
    config::{LogFormat, Settings},
    db, demo,
    domain::Role,
    graphql, telemetry,
};

/// GraphQL gateway of the 找伙伴 (find partner) feature, delivering leads to 存客宝 (CKB).
#[derive(Parser, Debug)]
#[command(name = "partner-gateway", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the GraphQL API, GraphiQL and the health probes.
    Serve(Settings),
    /// Serve on a fresh SQLite database filled with generated demo data, and print the
    /// GraphiQL URL and an admin token.
    Demo(DemoArgs),
    /// Apply or list database migrations.
    Migrate(MigrateArgs),
    /// Print the GraphQL schema (SDL) to standard output.
    ExportSchema,
    /// Create, list or revoke API tokens.
    Token(TokenArgs),
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    pub settings: Settings,

    /// SQLite file of the demo; it is deleted and created again at every start.
    #[arg(long, env = "PGW_DEMO_DATABASE", default_value = "data/demo.db")]
    pub demo_database: PathBuf,

    /// Seed of the generated data; the same seed gives the same data.
    #[arg(long, env = "PGW_DEMO_SEED", default_value_t = 20261204)]
    pub seed: u64,
}

#[derive(Args, Debug)]
pub struct DatabaseArg {
    /// Database URL: `sqlite://PATH?mode=rwc` or `postgres://USER:PASSWORD@HOST/DB`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/partner-gateway.db?mode=rwc"
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
        #[arg(long)]
        role: Role,
        /// A name that identifies the token in logs and listings, such as `landing-page`.
        #[arg(long)]
        name: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id; it stops working with the next request.
    Revoke {
        /// The token's id, from `token list`.
        #[arg(long)]
        id: i64,
    },
}

impl clap::builder::ValueParserFactory for Role {
    type Parser = clap::builder::ValueParser;

    fn value_parser() -> Self::Parser {
        clap::builder::ValueParser::new(|value: &str| value.parse::<Role>())
    }
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(settings) => {
            telemetry::init(settings.telemetry.log_format);
            let app = App::start(settings).await?;
            tracing::info!(graphiql = %format!("http://{}/graphiql", app.addr()), "partner-gateway ready");
            app.run_until_signal().await
        }
        Command::Demo(args) => demo::run(args).await,
        Command::Migrate(args) => {
            telemetry::init(LogFormat::Text);
            let db = open(&args.database.database_url).await?;
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
        Command::ExportSchema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Token(args) => {
            let db = open(&args.database.database_url).await?;
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
                    let info = auth::revoke_token(&db, id)
                        .await
                        .map_err(|e| anyhow::anyhow!("{}", e.client_message()))?;
                    println!("revoked token {} ({})", info.id, info.name);
                }
            }
            Ok(())
        }
    }
}

async fn open(url: &str) -> anyhow::Result<sea_orm::DatabaseConnection> {
    if let Some(path) = crate::config::sqlite_path(url) {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("failed to create {}", parent.display()))?;
        }
    }
    Ok(db::connect(url, 2).await?.0)
}
