//! The `partner-gateway` command. Everything lives in the library; see `src/lib.rs`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // A missing .env file is normal: settings then come from flags and the environment.
    dotenvy::dotenv().ok();
    let cli = partner_gateway::cli::Cli::parse();
    match partner_gateway::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
