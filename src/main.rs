//! The `partner-gateway` command. Everything lives in the library; see `src/lib.rs`.

use clap::Parser;

// mimalloc instead of the system allocator: a request allocates many small short-lived objects
// (GraphQL values, rows, futures) across threads, which glibc's malloc serves slowly; see
// BENCHMARKS.md for the measured difference.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
