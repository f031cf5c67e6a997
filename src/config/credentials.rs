//! Where credentials may come from. Closed by default: no value written in the repository opens
//! an instance.
//!
//! - The files kept in the repository (`default.toml`, `{TENANTGATE_ENV}.toml`) never hold a
//!   credential: one set there is refused at start, naming the key. Credentials come from
//!   environment variables or the untracked `local.toml`.
//! - Values that were once published in tenantgate's documentation are refused everywhere.
//! - The development profile needs no set-up: a credential it lacks is generated on first use,
//!   kept beside its SQLite database (readable by the owner only) and printed once.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

use super::admin::TokenEntry;
use super::{DatabaseUrl, Settings};

/// The environment that generates its own credentials.
pub const DEVELOPMENT: &str = "development";

/// Every key that holds a credential or a key.
const CREDENTIAL_KEYS: [&str; 8] = [
    "sources.frontegg.secrets",
    "admin.tokens",
    "admin.viewer_tokens",
    "metrics.token",
    "notifications.encryption_keys",
    "provider.airbyte.token",
    "provider.airbyte.client_secret",
    "reconcile.frontegg.secret",
];

/// Values an earlier README and `config/development.toml` printed. Anyone can read them, so no
/// instance accepts them, whatever its environment.
const PUBLISHED: [&str; 2] = [
    "dev-only-secret-not-for-production",
    "dev-only-admin-token-not-for-production",
];

/// Refuses a credential set in a configuration file kept in the repository.
pub fn refuse_tracked(dir: &Path, environment: &str) -> anyhow::Result<()> {
    for name in ["default.toml".to_owned(), format!("{environment}.toml")] {
        let file = dir.join(&name);
        if !file.is_file() {
            continue;
        }
        let layer = config::Config::builder()
            .add_source(config::File::from(file.clone()))
            .build()
            .with_context(|| format!("cannot read {}", file.display()))?;
        for key in CREDENTIAL_KEYS {
            let Ok(value) = layer.get::<serde_json::Value>(key) else {
                continue;
            };
            let set = match &value {
                serde_json::Value::String(s) => !s.is_empty(),
                serde_json::Value::Array(items) => !items.is_empty(),
                serde_json::Value::Null => false,
                _ => true,
            };
            if set {
                bail!(
                    "{key} is set in {}, a file kept in the repository: a credential written there is readable by \
                     anyone who can read the repository. Set it in an environment variable ({}) or in the untracked \
                     config/local.toml",
                    file.display(),
                    env_name(key)
                );
            }
        }
    }
    Ok(())
}

/// Refuses the values tenantgate's documentation once printed.
pub fn refuse_published(settings: &Settings) -> anyhow::Result<()> {
    let admin = settings.admin.tokens.iter().map(TokenEntry::token);
    let named = settings
        .sources
        .frontegg
        .secrets
        .iter()
        .map(|s| ("sources.frontegg.secrets", s))
        .chain(admin.map(|s| ("admin.tokens", s)))
        .chain(settings.admin.viewer_tokens.iter().map(|s| ("admin.viewer_tokens", s)))
        .chain(std::iter::once(("metrics.token", &settings.metrics.token)));
    for (key, value) in named {
        if PUBLISHED.contains(&value.expose_secret().trim()) {
            bail!("{key} holds a value published in tenantgate's documentation, which opens nothing: use a random value of your own");
        }
    }
    Ok(())
}

/// The environment variable that sets `key`.
fn env_name(key: &str) -> String {
    format!("TENANTGATE__{}", key.replace('.', "__").to_ascii_uppercase())
}

/// Fills the credentials the development profile lacks from the folder beside its database,
/// generating each one on first use and printing what was generated.
pub fn complete_development(settings: &mut Settings) -> anyhow::Result<()> {
    let dir = folder(settings.database.url.expose_secret());
    let mut generated = Vec::new();
    let source = &mut settings.sources.frontegg;
    if !source.insecure_skip_verification && source.secrets.iter().all(|s| s.expose_secret().is_empty()) {
        let (secret, created) = read_or_create(&dir, WEBHOOK_SECRET, || random_text(32))?;
        if created {
            generated.push(format!(
                "  webhook secret   {}\n                   (`tenantgate replay` and `tenantgate sign` sign with it; give it to your sender)",
                secret.expose_secret()
            ));
        }
        source.secrets = vec![secret];
    }
    let admin = &mut settings.admin;
    if admin.tokens.is_empty() && admin.viewer_tokens.is_empty() {
        let (token, created) = read_or_create(&dir, ADMIN_TOKEN, || random_text(32))?;
        if created {
            generated.push(format!(
                "  admin token      {} (an operator)\n                   curl -s localhost:{}/api/admin/events -H \"authorization: Bearer $(cat {})\"",
                token.expose_secret(),
                settings.server.port,
                dir.join(ADMIN_TOKEN).display()
            ));
        }
        admin.tokens = vec![TokenEntry::Plain(token)];
    }
    let notifications = &mut settings.notifications;
    if notifications.encryption_keys.is_empty() {
        let (key, created) = read_or_create(&dir, ENCRYPTION_KEY, random_key)?;
        if created {
            generated.push("  encryption key   (encrypts subscription secrets in the database)".to_owned());
        }
        notifications.encryption_keys = vec![key];
    }
    if !generated.is_empty() {
        eprintln!(
            "Development credentials generated in {}/ (readable by you only); every later run reads them there:\n{}\n\
             They belong to this machine's development profile. Outside development (TENANTGATE_ENV=production) \
             nothing is generated: set your own.",
            dir.display(),
            generated.join("\n")
        );
    }
    Ok(())
}

/// File names inside the credentials folder.
pub const WEBHOOK_SECRET: &str = "webhook-secret";
pub const ADMIN_TOKEN: &str = "admin-token";
pub const ENCRYPTION_KEY: &str = "encryption-key";

/// `credentials/` beside the SQLite database file; `data/credentials` on PostgreSQL.
pub fn folder(database_url: &str) -> PathBuf {
    let base = match DatabaseUrl::parse(database_url) {
        Ok(DatabaseUrl::Sqlite(path)) => path.parent().map(Path::to_path_buf).unwrap_or_default(),
        _ => PathBuf::from("data"),
    };
    base.join("credentials")
}

/// The value kept in `dir/name`, or a new one made by `make` and written there first. Two
/// processes starting at once agree: the file appears whole (written aside, then linked) and
/// only the first link wins.
fn read_or_create(
    dir: &Path,
    name: &str,
    make: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<(SecretString, bool)> {
    let path = dir.join(name);
    if let Some(value) = read(&path)? {
        return Ok((value, false));
    }
    create_private_dir(dir)?;
    let staging = dir.join(format!(".{name}.{}", uuid::Uuid::new_v4().simple()));
    let value = make()?;
    write_private(&staging, &value)?;
    let linked = std::fs::hard_link(&staging, &path);
    let _ = std::fs::remove_file(&staging);
    match linked {
        Ok(()) => Ok((SecretString::from(value), true)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let value = read(&path)?.with_context(|| format!("{} is empty", path.display()))?;
            Ok((value, false))
        }
        Err(e) => Err(e).with_context(|| format!("cannot write {}", path.display())),
    }
}

fn read(path: &Path) -> anyhow::Result<Option<SecretString>> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => Ok(Some(SecretString::from(text.trim().to_owned()))),
        Ok(_) => bail!("{} is empty: delete it to have a new value generated", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

fn write_private(path: &Path, value: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(file, "{value}")
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// `bytes` random bytes from the operating system, as hex.
fn random_text(bytes: usize) -> anyhow::Result<String> {
    Ok(hex::encode(random_bytes(bytes)?))
}

/// A 256-bit key, base64 as `notifications.encryption_keys` takes it.
fn random_key() -> anyhow::Result<String> {
    Ok(base64::engine::general_purpose::STANDARD.encode(random_bytes(32)?))
}

fn random_bytes(n: usize) -> anyhow::Result<Vec<u8>> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("the operating system gave no random bytes: {e}"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_in_a_tracked_file_is_refused_naming_the_key_and_where_to_set_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("default.toml"), "[admin]\ntokens = []\n").unwrap();
        refuse_tracked(dir.path(), "production").unwrap();
        std::fs::write(
            dir.path().join("production.toml"),
            "[admin]\ntokens = [\"0123456789abcdef0123456789abcdef\"]\n",
        )
        .unwrap();
        let err = refuse_tracked(dir.path(), "production").unwrap_err().to_string();
        assert!(
            err.contains("admin.tokens is set in") && err.contains("production.toml"),
            "{err}"
        );
        assert!(
            err.contains("TENANTGATE__ADMIN__TOKENS") && err.contains("local.toml"),
            "{err}"
        );
        // local.toml is the untracked layer: credentials may live there.
        std::fs::remove_file(dir.path().join("production.toml")).unwrap();
        std::fs::write(dir.path().join("local.toml"), "[admin]\ntokens = [\"x\"]\n").unwrap();
        refuse_tracked(dir.path(), "production").unwrap();
    }

    #[test]
    fn the_shipped_files_hold_no_credential_in_any_environment() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if let Some(environment) = name.strip_suffix(".toml") {
                refuse_tracked(&dir, environment).unwrap();
            }
        }
    }

    #[test]
    fn credentials_live_beside_the_sqlite_database() {
        assert_eq!(folder("sqlite://data/tenantgate.db"), Path::new("data/credentials"));
        assert_eq!(folder("/var/lib/tg/x.db"), Path::new("/var/lib/tg/credentials"));
        assert_eq!(folder("postgres://h/db"), Path::new("data/credentials"));
    }

    #[test]
    fn a_generated_value_is_private_kept_and_the_same_for_every_reader() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("credentials");
        let (first, created) = read_or_create(&folder, "admin-token", || random_text(32)).unwrap();
        assert!(created);
        assert_eq!(first.expose_secret().len(), 64);
        let (again, created) = read_or_create(&folder, "admin-token", || unreachable!()).unwrap();
        assert!(!created);
        assert_eq!(first.expose_secret(), again.expose_secret());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(folder.join("admin-token"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = std::fs::metadata(&folder).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        let leftovers: Vec<_> = std::fs::read_dir(&folder).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no staging file is left behind");
    }

    #[test]
    fn processes_starting_together_agree_on_one_value() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("credentials");
        let values: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        let (value, _) = read_or_create(&folder, "webhook-secret", || random_text(32)).unwrap();
                        value.expose_secret().to_owned()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(values.windows(2).all(|w| w[0] == w[1]), "{values:?}");
    }
}
