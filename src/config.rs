//! Settings: `config/default.toml`, then `config/{TENANTGATE_ENV}.toml`, then the untracked
//! `config/local.toml`, then `TENANTGATE__SECTION__KEY` environment variables, then the
//! conventional `DATABASE_URL` and `PORT`. Everything is validated once, after loading, with
//! messages that name the key.

pub mod admin;
mod console;
pub mod credentials;
mod database;
mod database_url;
mod ingest;
mod log;
mod metrics;
pub mod notifications;
mod provider;
pub mod reconcile;
mod redact;
pub mod retention;
mod scheme;
mod seconds;
mod server;
mod source;
#[cfg(test)]
mod tests;
mod worker;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

pub use admin::{AdminSettings, Role};
pub use console::ConsoleSettings;
pub use database::DatabaseSettings;
pub use database_url::DatabaseUrl;
pub use ingest::IngestSettings;
pub use log::{LogFormat, LogSettings};
pub use metrics::MetricsSettings;
pub use notifications::NotificationSettings;
pub use provider::{AirbyteSettings, DeletionPolicy, DestinationTemplate, ProviderKind, ProviderSettings};
pub use reconcile::{FronteggSettings, ReconcileSettings};
pub use retention::RetentionSettings;
pub use scheme::{Scheme, UnknownScheme};
pub use server::ServerSettings;
pub use source::{gives_a_key_anyone_can_sign_with, SourceSettings, SourcesSettings};
pub use worker::WorkerSettings;

/// The environment chosen when `TENANTGATE_ENV` is unset.
pub const DEFAULT_ENVIRONMENT: &str = credentials::DEVELOPMENT;

/// Every setting of the service.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Settings {
    /// The active environment: `TENANTGATE_ENV`, else development. Not a key of the files.
    #[serde(skip_deserializing, default = "default_environment")]
    pub environment: String,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub log: LogSettings,
    pub sources: SourcesSettings,
    pub worker: WorkerSettings,
    pub provider: ProviderSettings,
    pub admin: AdminSettings,
    pub console: ConsoleSettings,
    pub ingest: IngestSettings,
    pub retention: RetentionSettings,
    pub notifications: NotificationSettings,
    pub metrics: MetricsSettings,
    pub reconcile: ReconcileSettings,
}

fn default_environment() -> String {
    DEFAULT_ENVIRONMENT.to_owned()
}

impl Settings {
    /// Loads the layered configuration from `dir` (normally `config/`), refuses credentials
    /// written in the repository's files, completes the development profile's credentials
    /// (generated on first use, see [`credentials`]) and validates everything.
    pub fn load(dir: &Path) -> anyhow::Result<Settings> {
        let mut settings = Self::read(dir)?;
        credentials::refuse_tracked(dir, &settings.environment)?;
        if settings.is_development() {
            credentials::complete_development(&mut settings)?;
        }
        settings.validate()?;
        Ok(settings)
    }

    /// The layers as they are, without checks: tests start from it and set their own values.
    pub fn read(dir: &Path) -> anyhow::Result<Settings> {
        let environment = std::env::var("TENANTGATE_ENV")
            .ok()
            .filter(|e| !e.trim().is_empty())
            .unwrap_or_else(default_environment);
        if environment.contains(['/', '\\']) || environment.starts_with('.') {
            bail!("TENANTGATE_ENV `{environment}` is not an environment name (e.g. development, production)");
        }
        let default_file = dir.join("default.toml");
        if !default_file.is_file() {
            bail!(
                "configuration file {} not found: run from the project folder or pass --config DIR",
                default_file.display()
            );
        }
        let builder = config::Config::builder()
            .add_source(config::File::from(default_file))
            .add_source(config::File::from(dir.join(format!("{environment}.toml"))).required(false))
            .add_source(config::File::from(dir.join("local.toml")).required(false))
            .add_source(
                config::Environment::with_prefix("TENANTGATE")
                    .prefix_separator("__")
                    .separator("__")
                    .list_separator(",")
                    .with_list_parse_key("sources.frontegg.schemes")
                    .with_list_parse_key("sources.frontegg.secrets")
                    .with_list_parse_key("sources.frontegg.allowed_ips")
                    .with_list_parse_key("sources.frontegg.trusted_proxies")
                    .with_list_parse_key("admin.tokens")
                    .with_list_parse_key("admin.viewer_tokens")
                    .with_list_parse_key("worker.retry_schedule_secs")
                    .with_list_parse_key("notifications.retry_schedule_secs")
                    .with_list_parse_key("notifications.allowed_private_networks")
                    .with_list_parse_key("notifications.encryption_keys")
                    .try_parsing(true),
            )
            .set_override_option("database.url", std::env::var("DATABASE_URL").ok())?
            .set_override_option("server.port", std::env::var("PORT").ok())?;
        let mut settings: Settings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .context("invalid configuration")?;
        settings.environment = environment;
        Ok(settings)
    }

    /// Whether this is the development profile (`TENANTGATE_ENV` unset or `development`).
    pub fn is_development(&self) -> bool {
        self.environment == credentials::DEVELOPMENT
    }

    /// Checks what types alone cannot; each message names the key and what is allowed.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.server.validate()?;
        self.database.validate()?;
        self.log.validate()?;
        self.sources.frontegg.validate("sources.frontegg")?;
        self.admin.validate()?;
        self.console.validate()?;
        credentials::refuse_published(self)?;
        self.metrics.validate()?;
        self.worker.validate()?;
        self.retention.validate()?;
        self.reconcile.validate()?;
        self.notifications.validate()?;
        self.ingest.validate(self.database.pool_size)?;
        self.provider.validate()
    }

    /// The port to bind; validated, so the conversion cannot fail.
    pub fn port(&self) -> u16 {
        u16::try_from(self.server.port).unwrap_or_default()
    }

    /// The effective configuration as TOML, secrets redacted.
    pub fn redacted_toml(&self) -> anyhow::Result<String> {
        let value = serde_json::to_value(self)?;
        Ok(redact::toml_like(&value, ""))
    }
}

/// Where the configuration folder is when `--config` is not given.
pub fn default_config_dir() -> PathBuf {
    PathBuf::from("config")
}
