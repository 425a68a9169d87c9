//! The `partner-gateway` command. Everything lives in the library; see `src/lib.rs`.

// mimalloc instead of the system allocator: a request allocates many small short-lived objects
// (GraphQL values, rows, futures) across threads, which glibc's malloc serves slowly; see
// BENCHMARKS.md for the measured difference.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // A missing .env file is normal: settings then come from flags and the environment.
    dotenvy::dotenv().ok();
    let cli = partner_gateway::cli::parse();
    match partner_gateway::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            std::process::ExitCode::FAILURE
        }
    }
}

/// Joins the messages of `error` and its causes with ": ", like `{:#}`, but skips a cause
/// whose message the text so far already ends with. sea-orm's connection errors, for one,
/// repeat the message of the sqlx error they wrap, which repeats its own source's.
fn error_chain(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        if text.ends_with(&message) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&message);
    }
    text
}
