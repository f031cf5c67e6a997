//! The fault suite: the real `tenantgate serve` binary, each scenario with its own database and
//! its own fake Airbyte, under a crash, a database outage, provider chaos, a duplicate storm and
//! abuse. The binary is `TENANTGATE_BIN` when set (CI: the release build), else this profile's.
//!
//! Each scenario prints one line `fault-summary scenario=… backend=… key=value…` with its figures
//! (visible with `--nocapture`). Seeds are random and printed; `FAULTS_SEED=N` repeats a run's
//! random choices (kill moment, shuffles, chaos), though not the threads' interleaving.
//!
//! Scenarios run one at a time ([`exclusive`]): each sizes its load to keep both cores busy, and
//! the abuse scenario measures latency, which a second load next to it would distort.

mod abuse;
mod chaos;
mod chaos_front;
mod crash;
mod load;
mod outage;
mod pacing;
mod scrape;
mod storm;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use tenantgate::db::{schema, Database, DbConn, StoreError};
use tenantgate::inbox::claims::Attempt;
use tenantgate::inbox::listing;
use tenantgate::inbox::{self, EventRow};
use tenantgate::with_conn;

use crate::binary::{self, Server};
use crate::helpers::{Backend, TEST_ENCRYPTION_KEY, TEST_SECRET};

pub const AIRBYTE_TOKEN: &str = "test-airbyte-token-not-real";

/// Statuses an event may still leave.
const UNFINISHED: [&str; 3] = ["pending", "processing", "failed_retrying"];

/// The binary under test: `TENANTGATE_BIN` (a relative path is taken from the package root, where
/// `cargo test` runs), else this profile's build.
pub fn binary_path() -> PathBuf {
    let Some(path) = std::env::var_os("TENANTGATE_BIN").filter(|path| !path.is_empty()) else {
        return PathBuf::from(env!("CARGO_BIN_EXE_tenantgate"));
    };
    let path = std::env::current_dir().unwrap().join(path);
    assert!(path.is_file(), "TENANTGATE_BIN={} is not a file", path.display());
    path
}

/// Lets one scenario run at a time.
pub async fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    static GATE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    GATE.lock().await
}

/// A seeded random source; the seed is `FAULTS_SEED` or random, and is returned for the summary.
pub fn rng() -> (fastrand::Rng, u64) {
    let seed = std::env::var("FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    (fastrand::Rng::with_seed(seed), seed)
}

pub fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// Prints the scenario's figures as one line.
pub fn summary(scenario: &str, backend: Backend, figures: &[(&str, String)]) {
    let figures: Vec<String> = figures.iter().map(|(key, value)| format!("{key}={value}")).collect();
    println!(
        "fault-summary scenario={scenario} backend={} {}",
        backend_name(backend),
        figures.join(" ")
    );
}

/// The environment of a `tenantgate serve` process: every setting by environment variable.
#[derive(Clone)]
pub struct Config {
    vars: BTreeMap<String, String>,
}

impl Config {
    /// On `database_url`, with the test secret for every scheme, the dry-run provider, workers on
    /// with a compressed retry schedule, and logs at `warn` (plus the start-up lines).
    pub fn new(database_url: &str) -> Self {
        let mut config = Self { vars: BTreeMap::new() };
        config
            .set("DATABASE_URL", database_url)
            .set("TENANTGATE_ENV", "production")
            .set(
                "TENANTGATE__SOURCES__FRONTEGG__SCHEMES",
                "frontegg-jwt,hmac-sha256,standard-webhooks",
            )
            .set("TENANTGATE__SOURCES__FRONTEGG__SECRETS", TEST_SECRET)
            .set("TENANTGATE__NOTIFICATIONS__ENCRYPTION_KEYS", TEST_ENCRYPTION_KEY)
            .set("TENANTGATE__LOG__LEVEL", "warn,tenantgate::app=info")
            .set("TENANTGATE__DATABASE__CONNECT_TIMEOUT_SECS", "2")
            .set("TENANTGATE__WORKER__POLL_INTERVAL_MS", "200")
            .set("TENANTGATE__WORKER__RETRY_SCHEDULE_SECS", "0.2,0.4,0.8")
            .set("TENANTGATE__RETENTION__ENABLED", "false");
        config
    }

    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Airbyte at `base_url` with a static token and a 1 s call timeout.
    pub fn airbyte(&mut self, base_url: &str) -> &mut Self {
        self.set("TENANTGATE__PROVIDER__KIND", "airbyte")
            .set("TENANTGATE__PROVIDER__AIRBYTE__BASE_URL", base_url)
            .set("TENANTGATE__PROVIDER__AIRBYTE__TOKEN", AIRBYTE_TOKEN)
            .set("TENANTGATE__PROVIDER__AIRBYTE__CONNECT_TIMEOUT_MS", "1000")
            .set("TENANTGATE__PROVIDER__AIRBYTE__REQUEST_TIMEOUT_MS", "1000")
    }

    /// Starts `tenantgate serve` and waits until it listens.
    pub fn start(&self) -> Server {
        let mut command = binary::tenantgate_at(&binary_path(), &std::env::temp_dir(), &["serve"]);
        command.envs(&self.vars);
        Server::start(command)
    }
}

/// Lines of the server's output that report a panic.
pub fn panics(lines: &[String]) -> Vec<&String> {
    lines.iter().filter(|line| line.contains("panicked")).collect()
}

/// Lines containing `needle`.
pub fn count_lines(lines: &[String], needle: &str) -> usize {
    lines.iter().filter(|line| line.contains(needle)).count()
}

/// The resident memory of a process, in MiB (Linux).
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The CPU time a process has used so far (user and system, all threads), Linux.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel's USER_HZ, 100 on Linux everywhere tenantgate is tested.
    Some(Duration::from_millis(ticks * 10))
}

pub use crate::helpers::poll;

/// The test's own view of a scenario's database.
pub struct Inbox {
    db: Database,
}

impl Inbox {
    pub fn open(url: &str) -> Self {
        let db = Database::connect(url, 4, Duration::from_secs(5)).expect("the test connects to the database");
        Self { db }
    }

    /// Events by status.
    pub async fn counts(&self) -> Option<BTreeMap<String, i64>> {
        let now = chrono::Utc::now().naive_utc();
        let stats = self.db.run(move |c| listing::stats(c, now)).await.ok()?;
        Some(stats.by_status)
    }

    /// Waits until at least `at_least` events are stored and none is unfinished; returns the
    /// counts by status, or panics with the last counts after `timeout`.
    pub async fn settled(&self, at_least: i64, timeout: Duration) -> BTreeMap<String, i64> {
        let settled = poll(timeout, Duration::from_millis(100), || async {
            let counts = self.counts().await?;
            let total: i64 = counts.values().sum();
            let unfinished = UNFINISHED.iter().any(|s| counts.get(*s).is_some_and(|n| *n > 0));
            (total >= at_least && !unfinished).then_some(counts)
        })
        .await;
        match settled {
            Some(counts) => counts,
            None => panic!("events not settled in {timeout:?}: {:?}", self.counts().await),
        }
    }

    /// Runs a query; panics if it fails.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut DbConn) -> Result<T, StoreError> + Send + 'static,
    ) -> T {
        self.db.run(work).await.expect("the test's query runs")
    }

    /// How long until each of `held` (event id, attempt of a claim that was cut short) has been
    /// claimed again or finished; `timeout` at most.
    pub async fn claims_redone(&self, held: &[(i64, i32)], timeout: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let events = self.events().await;
            let waiting = held
                .iter()
                .filter(|(id, attempt)| {
                    events
                        .iter()
                        .any(|e| e.id == *id && e.status == "processing" && e.attempts == *attempt)
                })
                .count();
            if waiting == 0 || started.elapsed() > timeout {
                return started.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn events(&self) -> Vec<EventRow> {
        self.db.run(inbox::all).await.expect("events read")
    }

    /// Every attempt of every event.
    pub async fn attempts(&self) -> Vec<Attempt> {
        self.db
            .run(|conn| {
                use schema::event_attempts::dsl as a;
                with_conn!(conn, |c| Ok(a::event_attempts
                    .order((a::event_id.asc(), a::attempt.asc()))
                    .select(Attempt::as_select())
                    .load(c)?))
            })
            .await
            .expect("attempts read")
    }

    /// Audit entries per event id (entries without an event are left out).
    pub async fn audits_per_event(&self) -> BTreeMap<i64, usize> {
        let ids: Vec<Option<i64>> = self
            .db
            .run(|conn| {
                use schema::audit_log::dsl as l;
                with_conn!(conn, |c| Ok(l::audit_log.select(l::event_id).load(c)?))
            })
            .await
            .expect("audit read");
        let mut per_event = BTreeMap::new();
        for id in ids.into_iter().flatten() {
            *per_event.entry(id).or_default() += 1;
        }
        per_event
    }
}

/// Workspace creates the fake received, per workspace name.
pub async fn creates_per_name(fake: &crate::fake_airbyte::FakeAirbyte) -> BTreeMap<String, usize> {
    let mut per_name = BTreeMap::new();
    for body in fake.request_bodies("POST", "/v1/workspaces").await {
        let name = body["name"].as_str().unwrap_or_default().to_owned();
        *per_name.entry(name).or_default() += 1;
    }
    per_name
}

/// Creates beyond the first, per name: workspaces that should not exist.
pub fn extra_creates(per_name: &BTreeMap<String, usize>) -> usize {
    per_name.values().map(|n| n.saturating_sub(1)).sum()
}

/// Audit entries beyond the first, per event: effects applied twice.
pub fn extra_audits(per_event: &BTreeMap<i64, usize>) -> usize {
    per_event.values().map(|n| n.saturating_sub(1)).sum()
}

/// Claims that never got their attempt row: attempts cut short by a kill or an outage (each
/// claim counts an attempt; its row is written with its outcome).
pub fn claims_without_attempt_row(events: &[EventRow], attempts: &[Attempt]) -> i64 {
    let claimed: i64 = events.iter().map(|e| i64::from(e.attempts)).sum();
    claimed - attempts.len() as i64
}
