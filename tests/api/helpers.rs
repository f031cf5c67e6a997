//! `spawn_app()`: the real application on port 0 against a fresh database of its own.

use std::sync::OnceLock;
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use secrecy::{ExposeSecret, SecretString};
use tenantgate::app::Application;
use tenantgate::config::Settings;
use tenantgate::db::Database;
use tenantgate::inbox::{self, EventRow};
use tenantgate::verify::{self, Scheme, VerifyOptions};

/// TEST SECRETS: labelled as such, used only by the test suite.
pub const TEST_SECRET: &str = "test-secret-current-not-real";
pub const TEST_PREVIOUS_SECRET: &str = "test-secret-previous-not-real";
/// TEST KEY for subscription secrets at rest (base64 of 32 bytes), used only by the test suite.
pub const TEST_ENCRYPTION_KEY: &str = "dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcy1vayE=";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The Postgres server for tests, from `TEST_DATABASE_URL`. Under `CI=true` it must be set.
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but TEST_DATABASE_URL is not set: the Postgres tests must run in CI");
    }
    url
}

/// Runs a test body once per backend, as two tests: `name::sqlite` and `name::postgres`.
/// The Postgres one returns early (skips) when `TEST_DATABASE_URL` is unset outside CI.
#[macro_export]
macro_rules! on_both_backends {
    ($(async fn $name:ident($backend:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn body($backend: $crate::helpers::Backend) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                body($crate::helpers::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::helpers::postgres_url().is_none() {
                    eprintln!("skipped: TEST_DATABASE_URL is not set");
                    return;
                }
                body($crate::helpers::Backend::Postgres).await
            }
        }
    )*};
}

/// A running application and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    pub db: Database,
    pub database_url: String,
    pub client: reqwest::Client,
    _database: TestDatabase,
}

/// Settings as shipped (the development profile, without the credentials it would generate),
/// pointed at a fresh database, on a free port, with the test secrets.
pub fn test_settings() -> Settings {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut settings = Settings::read(&dir).expect("the shipped configuration reads");
    settings.notifications.encryption_keys = vec![SecretString::from(TEST_ENCRYPTION_KEY.to_owned())];
    settings.server.port = 0;
    settings.database.connect_timeout_secs = 2;
    settings.database.pool_size = 8;
    // Ingest tests look at events as stored; provisioning tests switch the workers on.
    settings.worker.enabled = false;
    settings.worker.retry_schedule_secs = vec![0.2, 0.4, 0.8];
    settings.worker.poll_interval_ms = 5_000;
    settings.worker.shutdown_timeout_secs = 5.0;
    let source = &mut settings.sources.frontegg;
    source.schemes = Scheme::ALL.to_vec();
    source.secrets = [TEST_SECRET, TEST_PREVIOUS_SECRET]
        .map(|s| SecretString::from(s.to_owned()))
        .to_vec();
    settings
}

/// The application on Postgres, or `None` (the test skips) when `TEST_DATABASE_URL` is unset
/// outside CI.
pub async fn spawn_postgres_app() -> Option<TestApp> {
    if postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return None;
    }
    Some(spawn_app(Backend::Postgres).await)
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts the application after `customize` has adjusted its settings.
pub async fn spawn_app_with(backend: Backend, customize: impl FnOnce(&mut Settings)) -> TestApp {
    let database = TestDatabase::create(backend);
    start(database, customize).await
}

/// A second instance on the same database as `other` (several instances, one database).
pub async fn spawn_instance(other: &TestApp, customize: impl FnOnce(&mut Settings)) -> TestApp {
    let database = TestDatabase {
        url: other.database_url.clone(),
        cleanup: Cleanup::None,
    };
    start(database, customize).await
}

async fn start(database: TestDatabase, customize: impl FnOnce(&mut Settings)) -> TestApp {
    init_test_logging();
    let mut settings = test_settings();
    settings.database.url = SecretString::from(database.url.clone());
    customize(&mut settings);
    let app = Application::build(settings.clone())
        .await
        .expect("the application builds");
    let port = app.port();
    let db = app.database();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        db,
        database_url: settings.database.url.expose_secret().to_owned(),
        client: reqwest::Client::new(),
        _database: database,
    }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request sent")
    }

    /// Posts `body` to `path` with exactly these headers (plus a JSON content type).
    pub async fn post_raw(&self, path: &str, body: &[u8], headers: &[(String, String)]) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.address))
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        request.send().await.expect("request sent")
    }

    /// Posts `body` to the general webhook route signed with `scheme` and the current test secret.
    pub async fn post_signed(&self, scheme: Scheme, body: &[u8]) -> reqwest::Response {
        self.post_signed_to("/api/webhooks/frontegg", scheme, body).await
    }

    pub async fn post_signed_to(&self, path: &str, scheme: Scheme, body: &[u8]) -> reqwest::Response {
        let headers = sign(scheme, TEST_SECRET, body, now(), &unique_id());
        self.post_raw(path, body, &headers).await
    }

    /// Posts a signed delivery that must be accepted; returns its event id.
    pub async fn deliver(&self, body: &serde_json::Value) -> i64 {
        let bytes = body.to_string().into_bytes();
        let response = self.post_signed(Scheme::HmacSha256, &bytes).await;
        assert_eq!(response.status(), 200, "delivery of {body} refused");
        let receipt: serde_json::Value = response.json().await.unwrap();
        receipt["event_id"].as_i64().expect("an event id")
    }

    /// One stored event.
    pub async fn event(&self, id: i64) -> EventRow {
        self.db
            .run(move |c| inbox::find(c, id))
            .await
            .unwrap()
            .expect("the event exists")
    }

    /// Waits until the event reaches a final status (or `timeout` passes) and returns it.
    pub async fn finished_event(&self, id: i64, timeout: Duration) -> EventRow {
        eventually(timeout, || async {
            let row = self.event(id).await;
            ["succeeded", "dead", "skipped", "ignored"]
                .contains(&row.status.as_str())
                .then_some(row)
        })
        .await
        .unwrap_or_else(|| panic!("event {id} did not finish in {timeout:?}"))
    }

    /// Every stored event, oldest first.
    pub async fn events(&self) -> Vec<EventRow> {
        self.db.run(inbox::all).await.expect("events read")
    }
}

/// Checks `probe` until it yields a value, at short intervals, for at most `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    poll(timeout, Duration::from_millis(10), probe).await
}

/// Checks `probe` every `every` until it yields a value or `timeout` passes.
pub async fn poll<T, F, Fut>(timeout: Duration, every: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return Some(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(every).await;
    }
}

pub fn sign(scheme: Scheme, secret: &str, body: &[u8], at: i64, msg_id: &str) -> Vec<(String, String)> {
    verify::sign(scheme, secret, body, at, msg_id, &VerifyOptions::default())
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn unique_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

/// A Frontegg-shaped tenant.created body for a fresh tenant.
pub fn tenant_created_body(tenant_id: &str) -> Vec<u8> {
    serde_json::json!({
        "eventKey": "frontegg.tenant.created",
        "eventContext": {"tenantId": tenant_id},
        "tenant": {"tenantId": tenant_id, "name": format!("Tenant {tenant_id}")},
    })
    .to_string()
    .into_bytes()
}

/// Test logs go to the test output only when TEST_LOG is set.
fn init_test_logging() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        if std::env::var("TEST_LOG").is_ok() {
            let settings = test_settings();
            tenantgate::telemetry::init(&settings.log, std::io::stdout);
        }
    });
}

/// A database that exists for one test and is removed when the test ends.
pub struct TestDatabase {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    /// Owned by another test app.
    None,
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl TestDatabase {
    pub fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary folder");
                let url = format!("sqlite://{}", dir.path().join("tenantgate.db").display());
                Self {
                    url,
                    cleanup: Cleanup::Sqlite(dir),
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_url().expect("TEST_DATABASE_URL is set");
                let template = postgres_template(&admin_url);
                let name = format!("tenantgate_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::establish(&admin_url).expect("connects to TEST_DATABASE_URL");
                // Copies of one template may race on its lock; a short retry settles it.
                let mut tries = 0;
                while let Err(e) =
                    diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}")).execute(&mut admin)
                {
                    tries += 1;
                    assert!(tries < 50, "cannot create the test database: {e}");
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Self {
                    url: with_database(&admin_url, &name),
                    cleanup: Cleanup::Postgres { admin_url, name },
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin);
            }
        }
    }
}

/// A migrated template database, made once per test process and named after the migrations'
/// content, so a changed migration gets a new template.
fn postgres_template(admin_url: &str) -> String {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let name = format!("tenantgate_template_{}", migrations_fingerprint());
            let mut admin = PgConnection::establish(admin_url).expect("connects to TEST_DATABASE_URL");
            // Several test processes may start at once: one makes the template, under a lock.
            diesel::sql_query("SELECT pg_advisory_lock(727274)")
                .execute(&mut admin)
                .expect("lock");
            let exists = diesel::sql_query(format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"))
                .execute(&mut admin)
                .expect("query")
                > 0;
            if !exists {
                let building = format!("{name}_building");
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)")).execute(&mut admin);
                diesel::sql_query(format!("CREATE DATABASE {building}"))
                    .execute(&mut admin)
                    .expect("create");
                let db = Database::connect(
                    &with_database(admin_url, &building),
                    1,
                    std::time::Duration::from_secs(5),
                )
                .expect("template connects");
                db.migrate().expect("template migrates");
                drop(db);
                diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
                    .execute(&mut admin)
                    .or_else(|_| {
                        // The pool may still be closing its connection.
                        std::thread::sleep(std::time::Duration::from_millis(200));
                        diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}")).execute(&mut admin)
                    })
                    .expect("rename template");
            }
            diesel::sql_query("SELECT pg_advisory_unlock(727274)")
                .execute(&mut admin)
                .expect("unlock");
            name
        })
        .clone()
}

fn migrations_fingerprint() -> String {
    use sha2::{Digest, Sha256};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut files: Vec<_> = walk(&root);
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(file.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&file).expect("migration readable"));
    }
    hex::encode(&hasher.finalize()[..6])
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("migrations folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// `host:port` of a postgres:// URL.
pub fn server_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap().to_owned()
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let (server, _) = base.rsplit_once('/').unwrap_or((base, ""));
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}
