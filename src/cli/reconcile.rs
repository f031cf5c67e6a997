//! `tenantgate reconcile`: one run now (a dry run unless `--apply`), printing each drift and what
//! was done; `reconcile runs` and `reconcile show ID` read the recorded runs.

use std::sync::Arc;

use anyhow::{bail, Context};

use super::output::{or_dash, print_table, time};
use super::{ReconcileArgs, ReconcileCommand};
use crate::app::open_database;
use crate::config::Settings;
use crate::http::admin::reconcile::RunView;
use crate::metrics::Metrics;
use crate::operations::reconcile as operation;
use crate::provisioning::{build_provider, provider_gate};
use crate::reconcile::{Action, Reconciler, RunOutcome, RunRecord};

pub(super) async fn run(settings: &Settings, args: ReconcileArgs) -> anyhow::Result<()> {
    let db = open_database(settings)?;
    match args.command {
        Some(ReconcileCommand::Runs { limit }) => {
            let list = operation::list(&db, limit, None).await?;
            print_runs(&list);
            Ok(())
        }
        Some(ReconcileCommand::Show { id, json }) => {
            let Some(record) = operation::find(&db, id).await? else {
                bail!("reconcile run {id} not found");
            };
            print_run(&record, json)
        }
        None => {
            let metrics = Arc::new(Metrics::new()?);
            let gate = provider_gate(&settings.provider, settings.worker.concurrency)?;
            let provider = build_provider(&settings.provider, gate, metrics)?;
            let reconciler = Reconciler::new(db, provider, settings, None, None)?;
            let outcome = operation::run(&reconciler, args.apply, &super::events::operator())
                .await
                .context("the run could not be recorded")?;
            match outcome {
                RunOutcome::Busy { run_id } => {
                    bail!("another reconcile run (run {run_id}) is applying repairs now; nothing was done")
                }
                RunOutcome::Finished(record) => {
                    print_run(&record, args.json)?;
                    if let Some(error) = &record.error {
                        bail!("reconcile run {} failed: {error}", record.id);
                    }
                    Ok(())
                }
            }
        }
    }
}

fn print_runs(list: &[RunRecord]) {
    let rows = list
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                time(r.started_at),
                r.finished_at.map_or_else(|| "-".to_owned(), time),
                if r.apply { "apply" } else { "dry run" }.to_owned(),
                r.status.to_string(),
                r.counts.values().sum::<i64>().to_string(),
                if r.brake.is_some() { "on" } else { "-" }.to_owned(),
                r.triggered_by.clone(),
            ]
        })
        .collect();
    print_table(
        &["ID", "STARTED", "FINISHED", "MODE", "STATUS", "DRIFT", "BRAKE", "BY"],
        rows,
    );
}

fn print_run(record: &RunRecord, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(&RunView::of(record.clone(), true))?);
        return Ok(());
    }
    let mode = if record.apply {
        "apply"
    } else {
        "dry run: nothing changed"
    };
    println!("reconcile run {} ({mode}): {}", record.id, record.status);
    println!(
        "  started {}, finished {}, by {}",
        time(record.started_at),
        record.finished_at.map_or_else(|| "-".to_owned(), time),
        record.triggered_by
    );
    if let (Some(tenants), Some(mappings)) = (record.tenants_listed, record.mappings_seen) {
        println!("  {tenants} tenant(s) listed by Frontegg, {mappings} mapping row(s)");
    }
    if let Some(error) = &record.error {
        println!("  error: {error}");
    }
    if let Some(brake) = &record.brake {
        println!("  BRAKE: {brake}");
    }
    if record.drifts.is_empty() {
        if record.error.is_none() {
            println!("  no drift");
        }
        return Ok(());
    }
    let counts: Vec<String> = record.counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!("  drift: {}", counts.join(", "));
    let rows = record
        .drifts
        .iter()
        .map(|d| {
            vec![
                d.kind.as_str().to_owned(),
                or_dash(d.tenant_id.as_deref()),
                or_dash(d.workspace_id.as_deref()),
                action(&d.action),
                d.detail.clone(),
            ]
        })
        .collect();
    print_table(&["KIND", "TENANT", "WORKSPACE", "ACTION", "DETAIL"], rows);
    Ok(())
}

fn action(action: &Action) -> String {
    match action {
        Action::WouldRepair => "would repair".to_owned(),
        Action::Queued { event_id } => format!("queued event {event_id}"),
        Action::AlreadyQueued { event_id } => format!("already queued (event {event_id})"),
        Action::Reported => "reported".to_owned(),
        Action::HeldByBrake => "held by the brake".to_owned(),
    }
}
