//! The `tenantgate` command line.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::app::{open_database, Application};
use crate::config::{default_config_dir, Settings};

/// tenantgate: verifies identity-provider lifecycle webhooks, stores each one durably before
/// acknowledging it, and provisions one Airbyte workspace per tenant.
#[derive(Debug, Parser)]
#[command(name = "tenantgate", version, about, long_about = None)]
pub struct Cli {
    /// Folder holding default.toml, {TENANTGATE_ENV}.toml and local.toml.
    #[arg(long, global = true, value_name = "DIR", env = "TENANTGATE_CONFIG_DIR")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (webhooks, health) and the provisioning workers. Applies pending migrations first unless
    /// database.run_migrations = false. Stops gracefully on SIGINT/SIGTERM.
    Serve,
    /// Run only the provisioning workers (no HTTP server): scale receivers and workers apart.
    Worker,
    /// Apply pending database migrations and print each one applied. Safe to run again.
    Migrate,
    /// Load and validate the configuration, then print the effective values with secrets redacted.
    CheckConfig,
}

impl Cli {
    fn settings(&self) -> anyhow::Result<Settings> {
        Settings::load(&self.config.clone().unwrap_or_else(default_config_dir))
    }
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings()?;
    match cli.command {
        Command::Serve => {
            crate::telemetry::init(&settings.log, std::io::stdout);
            let app = Application::build(settings).await?;
            app.run_until_stopped().await
        }
        Command::Worker => {
            crate::telemetry::init(&settings.log, std::io::stdout);
            crate::app::run_workers(settings).await
        }
        Command::Migrate => {
            crate::telemetry::init(&settings.log, std::io::stderr);
            let db = open_database(&settings)?;
            let applied = tokio::task::spawn_blocking(move || db.migrate())
                .await
                .context("migration task failed")??;
            if applied.is_empty() {
                println!("database is up to date: no pending migrations");
            }
            for version in applied {
                println!("applied migration {version}");
            }
            Ok(())
        }
        Command::CheckConfig => {
            print!("{}", settings.redacted_toml()?);
            Ok(())
        }
    }
}
