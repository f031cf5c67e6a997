//! `tenantgate`: parse the command line and call in.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = tenantgate::cli::Cli::parse();
    match tenantgate::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the cause chain on one line, without a backtrace.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
