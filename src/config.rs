//! Settings: `config/default.toml`, then `config/{TENANTGATE_ENV}.toml`, then the untracked
//! `config/local.toml`, then `TENANTGATE__SECTION__KEY` environment variables, then the
//! conventional `DATABASE_URL` and `PORT`. Everything is validated once, after loading, with
//! messages that name the key.

pub mod admin;
pub mod credentials;
mod database_url;
pub mod notifications;
pub mod retention;
mod seconds;
mod source;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

use crate::provisioning::provider::DestinationTemplate;

pub use admin::{AdminSettings, Role};
pub use database_url::DatabaseUrl;
pub use notifications::NotificationSettings;
pub use retention::RetentionSettings;
pub use source::SourceSettings;

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
    pub ingest: IngestSettings,
    pub retention: RetentionSettings,
    pub notifications: NotificationSettings,
    pub metrics: MetricsSettings,
}

fn default_environment() -> String {
    DEFAULT_ENVIRONMENT.to_owned()
}

/// `GET /metrics`, `/readyz` and `/healthz`: public, so they never touch the database per request.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct MetricsSettings {
    /// When set, `/metrics` answers only requests carrying `Authorization: Bearer <token>`.
    #[serde(serialize_with = "redact_one")]
    pub token: SecretString,
    /// Seconds between two refreshes of the database-derived gauges (queue depth by status,
    /// oldest pending age), read by every scrape from memory.
    pub refresh_interval_secs: u64,
}

/// How deliveries are written to the inbox.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct IngestSettings {
    /// Most deliveries stored by one transaction (group commit).
    pub max_batch: usize,
    /// Batches being committed at the same time.
    pub concurrent_batches: usize,
}

/// The provisioning workers.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct WorkerSettings {
    pub enabled: bool,
    pub concurrency: usize,
    pub poll_interval_ms: u64,
    pub lease_secs: f64,
    #[serde(deserialize_with = "seconds::list")]
    pub retry_schedule_secs: Vec<f64>,
    pub retry_jitter: f64,
    pub shutdown_timeout_secs: f64,
}

impl WorkerSettings {
    pub fn retry_schedule(&self) -> Vec<Duration> {
        seconds::durations(&self.retry_schedule_secs)
    }

    pub fn lease(&self) -> Duration {
        Duration::from_secs_f64(self.lease_secs)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    DryRun,
    Airbyte,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeletionPolicy {
    Archive,
    Delete,
}

/// Where workspaces are made, and how.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ProviderSettings {
    pub kind: ProviderKind,
    pub deletion_policy: DeletionPolicy,
    pub workspace_name_template: String,
    pub default_destinations: Vec<DestinationTemplate>,
    pub airbyte: AirbyteSettings,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AirbyteSettings {
    pub base_url: String,
    #[serde(serialize_with = "redact_one")]
    pub token: SecretString,
    pub client_id: String,
    #[serde(serialize_with = "redact_one")]
    pub client_secret: SecretString,
    pub organization_id: String,
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    pub token_refresh_margin_secs: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ServerSettings {
    pub host: String,
    /// Read as a wide integer so that an out-of-range port gets our message, not serde's.
    pub port: i64,
    pub shutdown_timeout_secs: u64,
    /// A client must send its request head within this time (actix's client request timeout).
    pub client_request_timeout_ms: u64,
    /// A webhook's body must arrive within this time once its head is in, else 408.
    pub body_read_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DatabaseSettings {
    #[serde(serialize_with = "redact_url")]
    pub url: SecretString,
    pub pool_size: u32,
    pub connect_timeout_secs: u64,
    pub run_migrations: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum LogFormat {
    Human,
    Json,
}

impl TryFrom<String> for LogFormat {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "human" => Ok(Self::Human),
            "json" => Ok(Self::Json),
            other => Err(format!("`{other}` is not a log format: use \"human\" or \"json\"")),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SourcesSettings {
    pub frontegg: SourceSettings,
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
        let port = self.server.port;
        if !(0..=65535).contains(&port) {
            bail!("server.port must be between 0 and 65535, got {port}");
        }
        if self.server.body_read_timeout_ms == 0 {
            bail!("server.body_read_timeout_ms must be at least 1");
        }
        if self.database.url.expose_secret().trim().is_empty() {
            bail!("database.url must not be empty (a postgres:// URL, sqlite://PATH or a file path)");
        }
        if self.database.pool_size == 0 {
            bail!("database.pool_size must be at least 1");
        }
        if self.database.connect_timeout_secs == 0 {
            bail!("database.connect_timeout_secs must be at least 1");
        }
        if self.log.level.parse::<tracing_subscriber::EnvFilter>().is_err() {
            bail!(
                "log.level `{}` is not a level (trace, debug, info, warn, error) or filter",
                self.log.level
            );
        }
        self.sources.frontegg.validate("sources.frontegg")?;
        self.admin.validate()?;
        credentials::refuse_published(self)?;
        if self.metrics.refresh_interval_secs == 0 {
            bail!("metrics.refresh_interval_secs must be at least 1");
        }
        let metrics_token = self.metrics.token.expose_secret();
        if !metrics_token.is_empty()
            && (metrics_token.trim() != metrics_token || metrics_token.chars().count() < admin::MIN_TOKEN_CHARS)
        {
            bail!(
                "metrics.token must be empty (/metrics open) or a random value of at least {} characters without surrounding white space",
                admin::MIN_TOKEN_CHARS
            );
        }
        self.worker.validate()?;
        self.retention.validate()?;
        self.notifications.validate()?;
        if self.ingest.max_batch == 0 || self.ingest.concurrent_batches == 0 {
            bail!("ingest.max_batch and ingest.concurrent_batches must be at least 1");
        }
        if self.ingest.concurrent_batches >= self.database.pool_size as usize {
            bail!(
                "ingest.concurrent_batches ({}) must be below database.pool_size ({}) so that workers and the admin API keep connections",
                self.ingest.concurrent_batches,
                self.database.pool_size
            );
        }
        self.provider.validate()
    }

    /// The port to bind; validated, so the conversion cannot fail.
    pub fn port(&self) -> u16 {
        u16::try_from(self.server.port).unwrap_or_default()
    }

    /// The effective configuration as TOML, secrets redacted.
    pub fn redacted_toml(&self) -> anyhow::Result<String> {
        let value = serde_json::to_value(self)?;
        Ok(toml_like(&value, ""))
    }
}

impl WorkerSettings {
    fn validate(&self) -> anyhow::Result<()> {
        if self.concurrency == 0 {
            bail!("worker.concurrency must be at least 1");
        }
        if self.poll_interval_ms == 0 {
            bail!("worker.poll_interval_ms must be at least 1");
        }
        if !(self.lease_secs.is_finite() && self.lease_secs > 0.0) {
            bail!("worker.lease_secs must be a positive number of seconds");
        }
        if self.retry_schedule_secs.is_empty() || self.retry_schedule_secs.iter().any(|s| !(s.is_finite() && *s >= 0.0))
        {
            bail!("worker.retry_schedule_secs must list one or more delays in seconds, e.g. [30, 120, 600]");
        }
        if !(0.0..=1.0).contains(&self.retry_jitter) {
            bail!(
                "worker.retry_jitter must be between 0 and 1 (0.2 = ±20 %), got {}",
                self.retry_jitter
            );
        }
        if !(self.shutdown_timeout_secs.is_finite() && self.shutdown_timeout_secs >= 0.0) {
            bail!("worker.shutdown_timeout_secs must be zero or more seconds");
        }
        Ok(())
    }
}

impl ProviderSettings {
    fn validate(&self) -> anyhow::Result<()> {
        if !self.workspace_name_template.contains("{tenant_id}") {
            bail!(
                "provider.workspace_name_template must contain {{tenant_id}} so that every tenant's name is unique, got `{}`",
                self.workspace_name_template
            );
        }
        if self.kind == ProviderKind::Airbyte {
            let airbyte = &self.airbyte;
            if !(airbyte.base_url.starts_with("https://") || airbyte.base_url.starts_with("http://")) {
                bail!("provider.airbyte.base_url must be an http(s) URL, e.g. https://api.airbyte.com/v1");
            }
            let has_token = !airbyte.token.expose_secret().is_empty();
            let has_credentials = !airbyte.client_id.is_empty() && !airbyte.client_secret.expose_secret().is_empty();
            if has_token == has_credentials {
                bail!("provider.airbyte needs either token, or client_id and client_secret (exactly one of the two)");
            }
            if airbyte.connect_timeout_ms == 0 || airbyte.request_timeout_ms == 0 {
                bail!("provider.airbyte.connect_timeout_ms and request_timeout_ms must be at least 1");
            }
            let organization = airbyte.organization_id.trim();
            if !organization.is_empty() && !is_uuid(organization) {
                bail!(
                    "provider.airbyte.organization_id must be a UUID (Airbyte's organizationId), got `{organization}`"
                );
            }
        }
        for (i, destination) in self.default_destinations.iter().enumerate() {
            if destination.name.trim().is_empty() || !destination.configuration.is_object() {
                bail!("provider.default_destinations[{i}] needs a name and a configuration table");
            }
            if destination.definition_id.as_deref().is_some_and(|id| !is_uuid(id)) {
                bail!("provider.default_destinations[{i}].definition_id must be a UUID (Airbyte's definitionId)");
            }
        }
        Ok(())
    }
}

/// A UUID in its usual 36-character form, as Airbyte's document types its ids.
fn is_uuid(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

/// Where the configuration folder is when `--config` is not given.
pub fn default_config_dir() -> PathBuf {
    PathBuf::from("config")
}

const REDACTED: &str = "[redacted]";

fn redact_one<S: Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if secret.expose_secret().is_empty() {
        ""
    } else {
        REDACTED
    })
}

fn redact_all<S: Serializer>(secrets: &[SecretString], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(secrets.iter().map(|_| REDACTED))
}

/// Keeps the scheme and host of a database URL (useful to see), hides credentials.
fn redact_url<S: Serializer>(url: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&DatabaseUrl::describe(url.expose_secret()))
}

/// Renders a JSON object as TOML-ish sections for `check-config`.
fn toml_like(value: &serde_json::Value, prefix: &str) -> String {
    let serde_json::Value::Object(map) = value else {
        return String::new();
    };
    let mut scalars = String::new();
    let mut tables = String::new();
    for (key, v) in map {
        if v.is_object() {
            let name = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            let inner = toml_like(v, &name);
            if inner.starts_with('\n') {
                tables.push_str(&inner);
            } else {
                tables.push_str(&format!("\n[{name}]\n{inner}"));
            }
        } else {
            scalars.push_str(&format!("{key} = {v}\n"));
        }
    }
    scalars + &tables
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    /// The shipped files with the credentials a deployment would set.
    fn load_defaults() -> Settings {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut settings = Settings::read(&dir).expect("the shipped configuration reads");
        settings.sources.frontegg.secrets = vec![SecretString::from("a-test-secret".to_owned())];
        settings.notifications.encryption_keys = vec![SecretString::from(TEST_KEY.to_owned())];
        settings
            .validate()
            .expect("the shipped configuration with credentials is valid");
        settings
    }

    #[test]
    fn the_shipped_configuration_is_valid() {
        let settings = load_defaults();
        assert_eq!(settings.server.port, 8000);
    }

    #[test]
    fn an_out_of_range_port_is_refused_naming_the_key() {
        let mut settings = load_defaults();
        settings.server.port = 70000;
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains("server.port"), "{err}");
    }

    #[test]
    fn a_source_without_secrets_is_refused_unless_verification_is_skipped() {
        let mut settings = load_defaults();
        settings.sources.frontegg.secrets.clear();
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains("sources.frontegg.secrets"), "{err}");
        settings.sources.frontegg.insecure_skip_verification = true;
        settings.validate().unwrap();
    }

    #[test]
    fn a_secret_anyone_could_sign_with_is_refused_naming_it() {
        for weak in ["\0", "\0\0\0", "whsec_AA==", "whsec_AAAAAAAA", "   "] {
            let mut settings = load_defaults();
            settings.sources.frontegg.secrets = vec!["a-real-secret".to_owned().into(), weak.to_owned().into()];
            let err = settings.validate().unwrap_err().to_string();
            assert!(err.contains("sources.frontegg.secrets[1]"), "{weak:?}: {err}");
        }
    }

    #[test]
    fn a_bad_allow_list_entry_is_refused_naming_the_key() {
        let mut settings = load_defaults();
        settings.sources.frontegg.allowed_ips = vec!["10.0.0.0/99".into()];
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains("sources.frontegg.allowed_ips"), "{err}");
    }

    #[test]
    fn an_unknown_log_format_or_scheme_is_refused_naming_the_key_and_the_choices() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let load = |extra: &str| {
            let tmp = tempfile::tempdir().unwrap();
            for file in ["default.toml", "development.toml"] {
                std::fs::copy(dir.join(file), tmp.path().join(file)).unwrap();
            }
            let database = format!(
                "[database]\nurl = \"sqlite://{}/tenantgate.db\"\n",
                tmp.path().display()
            );
            std::fs::write(tmp.path().join("local.toml"), database + extra).unwrap();
            format!("{:#}", Settings::load(tmp.path()).unwrap_err())
        };
        let err = load("[log]\nformat = \"xml\"\n");
        assert!(err.contains("log.format") && err.contains("\"json\""), "{err}");
        let err = load("[sources.frontegg]\nschemes = [\"rot13\"]\n");
        assert!(
            err.contains("sources.frontegg.schemes") && err.contains("hmac-sha256"),
            "{err}"
        );
    }

    #[test]
    fn redacted_output_never_contains_a_secret() {
        let mut settings = load_defaults();
        settings.sources.frontegg.secrets = vec![SecretString::from("s3cr3t-value".to_owned())];
        settings.database.url = SecretString::from("postgres://user:pw-value@db/x".to_owned());
        let out = settings.redacted_toml().unwrap();
        assert!(!out.contains("s3cr3t-value") && !out.contains("pw-value"), "{out}");
        assert!(out.contains("[sources.frontegg]"), "{out}");
    }
}
