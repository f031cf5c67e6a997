//! One run of the reconciler, from taking the turn to recording what it found.

use std::collections::{BTreeMap, HashSet};

use chrono::{NaiveDateTime, Utc};
use serde_json::json;

use super::compare::{self, compare, Observed};
use super::drift::{Action, Drift, DriftKind};
use super::runs::{self, Begun, Ending};
use super::{repair, snapshot, Reconciler, RunOutcome, LEASE};
use crate::db::audit::NewAudit;
use crate::db::status::{MappingStatus, RunStatus};
use crate::db::StoreError;
use crate::inbox::{self, InsertOutcome};
use crate::operations::Actor;

/// Repair events written per statement.
const INSERT_CHUNK: usize = 500;

/// What was found, before anything is done about it.
struct Found {
    drifts: Vec<Drift>,
    brake: Option<String>,
    tenants_listed: i64,
    mappings_seen: i64,
}

pub(super) async fn run(r: &Reconciler, apply: bool, by: &Actor) -> Result<RunOutcome, StoreError> {
    let started = now();
    let lease_until = started + LEASE;
    let who = by.as_str().to_owned();
    let run_id = match r
        .db
        .run(move |c| runs::begin(c, started, lease_until, apply, &who))
        .await?
    {
        Begun::Started { run_id } => run_id,
        Begun::Busy { run_id } => {
            tracing::info!(
                reconcile.run = run_id,
                "another instance is reconciling: this run is skipped"
            );
            return Ok(RunOutcome::Busy { run_id });
        }
    };
    tracing::info!(reconcile.run = run_id, apply, by = %by, "reconcile run started");
    let heartbeat = apply.then(|| Heartbeat(tokio::spawn(renew_lease(r.db.clone(), run_id))));
    let found = find(r, started).await;
    let ending = match found {
        Ok(found) => {
            let drifts = if apply {
                queue_repairs(r, found.drifts, started).await
            } else {
                Ok(found.drifts)
            };
            match drifts {
                Ok(drifts) => Ending {
                    at: now(),
                    status: RunStatus::Succeeded,
                    brake: found.brake,
                    tenants_listed: Some(found.tenants_listed),
                    mappings_seen: Some(found.mappings_seen),
                    counts: counts(&drifts),
                    drifts,
                    error: None,
                },
                Err(e) => failed(format!("queueing the repairs failed: {e}")),
            }
        }
        Err(reason) => failed(reason),
    };
    drop(heartbeat);
    let entry = apply.then(|| audit(run_id, by, &ending));
    let written = ending.clone();
    r.db.run(move |c| runs::finish(c, run_id, &written, entry.as_ref()))
        .await?;
    log_end(run_id, &ending);
    if let Some(metrics) = &r.metrics {
        metrics.reconcile.observe_run(
            &ending.counts,
            ending.brake.is_some(),
            (ending.status == RunStatus::Succeeded).then(|| ending.at.and_utc().timestamp() as f64),
        );
    }
    let record = r.db.run(move |c| runs::find(c, run_id)).await?;
    record
        .map(RunOutcome::Finished)
        .ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("run {run_id} vanished")))
}

fn failed(reason: String) -> Ending {
    Ending {
        at: now(),
        status: RunStatus::Failed,
        brake: None,
        tenants_listed: None,
        mappings_seen: None,
        counts: BTreeMap::new(),
        drifts: Vec::new(),
        error: Some(reason),
    }
}

/// Lists, compares, confirms and brakes. An error is the run's failure, in words.
async fn find(r: &Reconciler, started: NaiveDateTime) -> Result<Found, String> {
    let snapshot =
        r.db.run(snapshot::read)
            .await
            .map_err(|e| format!("reading the mapping failed: {e}"))?;
    let listing = r.frontegg.list_tenants().await.map_err(|e| e.to_string())?;
    let active: Vec<String> = snapshot
        .mappings
        .iter()
        .filter(|m| m.status == MappingStatus::Active && !snapshot.in_flight.contains(&m.tenant_id))
        .filter_map(|m| m.workspace_id.clone())
        .collect();
    let live: HashSet<String> = r
        .provider
        .live_workspaces(&active)
        .await
        .map_err(|e| format!("airbyte list_workspaces: {e}"))?
        .into_iter()
        .map(|w| w.id)
        .collect();
    let all = r
        .provider
        .all_workspaces()
        .await
        .map_err(|e| format!("airbyte list_workspaces: {e}"))?;
    let observed = Observed {
        tenants: &listing.tenants,
        mappings: &snapshot.mappings,
        in_flight: &snapshot.in_flight,
        live_mapped: &live,
        all_workspaces: &all,
        name_template: &r.name_template,
    };
    let candidates = compare(&observed);
    let active_mappings = snapshot
        .mappings
        .iter()
        .filter(|m| m.status == MappingStatus::Active)
        .count();
    let (drifts, brake) = confirm(r, candidates, listing.tenants.is_empty() && active_mappings > 0).await?;
    tracing::debug!(
        since_start_ms = (now() - started).num_milliseconds(),
        "reconcile compared"
    );
    Ok(Found {
        drifts,
        brake,
        tenants_listed: i64::try_from(listing.tenants.len()).unwrap_or(i64::MAX),
        mappings_seen: i64::try_from(snapshot.mappings.len()).unwrap_or(i64::MAX),
    })
}

/// Keeps the absences a look-up confirms, and puts the brake on deletions when the list was
/// empty or they are too many (then the remaining ones are not even looked up).
async fn confirm(
    r: &Reconciler,
    candidates: Vec<Drift>,
    empty_list: bool,
) -> Result<(Vec<Drift>, Option<String>), String> {
    let max = r.settings.max_deletions_per_run;
    let mut brake = empty_list.then(|| {
        "Frontegg listed no tenant while mappings are active: an empty list never deletes; nothing deleted".to_owned()
    });
    let mut kept = Vec::with_capacity(candidates.len());
    let mut deletions = 0;
    for mut drift in candidates {
        match drift.kind {
            DriftKind::DeletedTenant if brake.is_some() => drift.action = Action::HeldByBrake,
            DriftKind::DeletedTenant => {
                let tenant = drift.tenant_id.clone().unwrap_or_default();
                if r.frontegg
                    .find_tenant(&tenant)
                    .await
                    .map_err(|e| e.to_string())?
                    .is_some()
                {
                    continue;
                }
                drift.detail.push_str("; the look-up confirms it is gone");
                deletions += 1;
                if deletions > max {
                    brake = Some(format!(
                        "more than reconcile.max_deletions_per_run ({max}) tenants are gone from Frontegg: nothing deleted"
                    ));
                }
            }
            // Listed while its mapping says it was deleted or archived: the list may lag the
            // deletion, and a repair would bring the tenant back. Frontegg's own look-up decides.
            DriftKind::UnprovisionedTenant if drift.observed != compare::NO_MAPPING => {
                let tenant = drift.tenant_id.clone().unwrap_or_default();
                if r.frontegg
                    .find_tenant(&tenant)
                    .await
                    .map_err(|e| e.to_string())?
                    .is_none()
                {
                    continue;
                }
                drift.detail.push_str("; the look-up confirms it is there");
            }
            DriftKind::MissingWorkspace => {
                let id = drift.workspace_id.clone().unwrap_or_default();
                match r.provider.workspace_exists(&id).await {
                    Ok(true) => continue,
                    Ok(false) => {
                        drift.detail.push_str("; GET /workspaces/{id} answers 404 (deleted)");
                        if !r.settings.recreate_missing_workspaces {
                            drift.action = Action::Reported;
                        }
                    }
                    Err(e) => {
                        drift.detail.push_str(&format!("; not confirmed ({e}): reported only"));
                        drift.action = Action::Reported;
                    }
                }
            }
            _ => {}
        }
        kept.push(drift);
    }
    if brake.is_some() {
        for drift in kept.iter_mut().filter(|d| d.kind == DriftKind::DeletedTenant) {
            drift.action = Action::HeldByBrake;
        }
    }
    Ok((kept, brake))
}

/// Writes the repair events into the inbox; each drift records what came of it.
async fn queue_repairs(
    r: &Reconciler,
    mut drifts: Vec<Drift>,
    observed_at: NaiveDateTime,
) -> Result<Vec<Drift>, StoreError> {
    let at = now();
    let wanted: Vec<(usize, inbox::NewEvent)> = drifts
        .iter()
        .enumerate()
        .filter(|(_, d)| d.action == Action::WouldRepair)
        .filter_map(|(i, d)| repair::event_for(d, observed_at, at).map(|e| (i, e)))
        .collect();
    let mut queued = 0;
    for chunk in wanted.chunks(INSERT_CHUNK) {
        let events: Vec<inbox::NewEvent> = chunk.iter().map(|(_, e)| e.clone()).collect();
        let outcomes = r.db.run(move |c| inbox::insert_batch(c, &events)).await?;
        for ((i, _), outcome) in chunk.iter().zip(outcomes) {
            drifts[*i].action = match outcome {
                InsertOutcome::Inserted { id } => {
                    queued += 1;
                    Action::Queued { event_id: id }
                }
                InsertOutcome::Duplicate { id } | InsertOutcome::Conflict { id } => {
                    Action::AlreadyQueued { event_id: id }
                }
            };
        }
    }
    if queued > 0 {
        if let Some(wake) = &r.wake {
            wake.notify_one();
        }
    }
    Ok(drifts)
}

/// The task renewing a run's lease, stopped however the run ends: finished, failed, panicked or
/// cancelled (left running, it would keep a dead run's lease fresh and every later run `Busy`).
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn renew_lease(db: crate::db::Database, run_id: i64) {
    loop {
        tokio::time::sleep(LEASE / 3).await;
        let until = now() + LEASE;
        if let Err(e) = db.run(move |c| runs::renew(c, run_id, until)).await {
            tracing::warn!(reconcile.run = run_id, error = %e, "renewing the reconcile lease failed");
        }
    }
}

fn counts(drifts: &[Drift]) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for drift in drifts {
        *counts.entry(drift.kind.as_str().to_owned()).or_insert(0) += 1;
    }
    counts
}

fn audit(run_id: i64, by: &Actor, ending: &Ending) -> NewAudit {
    let queued = ending
        .drifts
        .iter()
        .filter(|d| matches!(d.action, Action::Queued { .. }))
        .count();
    NewAudit::general(
        ending.at,
        "reconcile.applied",
        json!({"by": by, "run_id": run_id, "status": ending.status, "counts": ending.counts,
               "queued": queued, "brake": ending.brake, "error": ending.error}),
    )
}

fn log_end(run_id: i64, ending: &Ending) {
    let drifts = ending.drifts.len();
    match (&ending.error, &ending.brake) {
        (Some(error), _) => {
            tracing::warn!(reconcile.run = run_id, error = %error, "reconcile run failed; the next run tries again")
        }
        (None, Some(brake)) => {
            tracing::warn!(reconcile.run = run_id, drifts, brake = %brake, "reconcile run held deletions back")
        }
        (None, None) => tracing::info!(reconcile.run = run_id, drifts, "reconcile run finished"),
    }
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}
