//! The reconciler at scale, against both fakes: 10,000 tenants, 1 % drift (25 missed creations,
//! 25 missed deletions, 25 workspaces deleted by hand, 25 renames). Not a test of speed: run on
//! purpose, and the figures go into BENCHMARKS.md.
//!
//! `cargo test --test api -- --ignored --nocapture reconcile::bench` (with `TEST_DATABASE_URL`
//! for Postgres too). Peak memory is the test process's resident peak (`VmHWM`) over the run,
//! reset before it, so it includes both fakes answering.

use std::time::{Duration, Instant};

use chrono::Utc;
use tenantgate::db::status::MappingStatus;
use tenantgate::reconcile::Action;

use super::*;

const TENANTS: usize = 10_000;
const EACH: usize = 25;

async fn bench(backend: Backend) {
    let w = World::start(backend).await;
    let now = Utc::now().naive_utc();
    let mut mappings = Vec::with_capacity(TENANTS);
    for i in 0..TENANTS {
        let tenant = format!("tenant-{i:05}");
        let name = format!("Tenant {i}");
        let workspace_name = format!("{name} [{tenant}]");
        let missed_creation = i < EACH;
        let missed_deletion = (EACH..2 * EACH).contains(&i);
        let renamed = (2 * EACH..3 * EACH).contains(&i);
        if !missed_deletion {
            w.frontegg.add_tenant(&tenant, if renamed { "Renamed" } else { &name });
        }
        if missed_creation {
            continue;
        }
        let workspace = w.airbyte.add_workspace(&workspace_name);
        if (3 * EACH..4 * EACH).contains(&i) {
            w.airbyte.delete_by_hand(&workspace);
        }
        mappings.push(Mapping {
            tenant_id: tenant,
            tenant_name: Some(name),
            workspace_id: Some(workspace),
            workspace_name: Some(workspace_name),
            status: MappingStatus::Active,
            last_event_at: Some(now),
            last_event_id: None,
            created_at: now,
            updated_at: now,
        });
    }
    w.app
        .db
        .run(move |c| c.transaction(|c| mappings.iter().try_for_each(|m| tenants::save_mapping(c, m))))
        .await
        .unwrap();
    let reconciler = w.reconciler(|s| {
        s.reconcile.max_deletions_per_run = 50;
        s.worker.enabled = false;
    });
    reset_peak_memory();
    let started = Instant::now();
    let run = finished(reconciler.run(true, &Actor::cli(Some("bench"))).await.unwrap());
    let took = started.elapsed();
    let peak = peak_memory_kib();
    // The reconciler's own provider counts its calls (the workers' go to the application's metrics).
    let calls = |operation: &str| provider_calls(&w.metrics, operation);
    let (listings, lookups) = (calls("list_workspaces"), calls("get_workspace"));
    let frontegg = w.frontegg.counters();
    let queued = run
        .drifts
        .iter()
        .filter(|d| matches!(d.action, Action::Queued { .. }))
        .count();
    println!(
        "reconcile bench ({backend:?}): {TENANTS} tenants, {} drifts ({queued} queued) {:?}: run {:.2} s; \
         Frontegg {} calls ({} auth, {} pages, {} look-ups); Airbyte {} calls ({listings} listings, {lookups} look-ups); \
         peak RSS {} MiB",
        run.drifts.len(),
        run.counts,
        took.as_secs_f64(),
        reconciler.frontegg.calls(),
        frontegg.auth_calls,
        frontegg.list_pages,
        frontegg.lookups,
        listings + lookups,
        peak / 1024,
    );
    assert_eq!(queued, 4 * EACH, "{:?}", run.counts);
    // The workers (16, paced) apply the repairs; then nothing is left to repair.
    let started = Instant::now();
    for drift in &run.drifts {
        if let Action::Queued { event_id } = drift.action {
            let done = w.app.finished_event(event_id, Duration::from_secs(120)).await;
            assert_eq!(done.status, "succeeded", "{done:?}");
        }
    }
    println!(
        "reconcile bench ({backend:?}): {queued} repairs applied in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let again = finished(reconciler.run(false, &Actor::cli(Some("bench"))).await.unwrap());
    assert!(again.drifts.is_empty(), "{:?}", again.counts);
}

fn provider_calls(metrics: &Metrics, operation: &str) -> u64 {
    let text = metrics.render().unwrap();
    let parsed = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let total: f64 = parsed
        .samples
        .iter()
        .filter(|s| s.metric == "tenantgate_provider_calls_total" && s.labels.get("operation") == Some(operation))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) => v,
            _ => 0.0,
        })
        .sum();
    total as u64
}

fn reset_peak_memory() {
    // Writing 5 resets VmHWM to the current resident size (Linux).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_memory_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run on purpose"]
async fn ten_thousand_tenants_with_one_percent_drift_sqlite() {
    bench(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run on purpose"]
async fn ten_thousand_tenants_with_one_percent_drift_postgres() {
    if postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    bench(Backend::Postgres).await;
}
