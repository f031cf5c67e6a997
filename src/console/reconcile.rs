//! `/console/reconcile`: the reconciler's runs — when each ran, whether it applied, its counts per
//! kind of drift, the brake if it held — and one run with every drift and what was done.

use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::format::{badge, maybe_time, or_dash, pager, time};
use super::guard::Signed;
use super::page::{page, ConsoleError, Section};
use super::query::Params;
use crate::http::AppState;
use crate::operations::reconcile as operation;
use crate::reconcile::drift::Action;
use crate::reconcile::RunRecord;

/// Runs per page.
const PAGE: i64 = 25;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
}

pub async fn list(
    Signed(session): Signed,
    state: web::Data<AppState>,
    Params(query): Params<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let before = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| ConsoleError::BadRequest("cursor must be a run id".into()))?,
        ),
        None => None,
    };
    let mut runs = operation::list(&state.db, PAGE + 1, before).await?;
    let next = (runs.len() as i64 > PAGE).then(|| {
        runs.truncate(PAGE as usize);
        runs.last().map(|r| format!("/console/reconcile?cursor={}", r.id))
    });
    let body = html! {
        h1 { "Reconcile" }
        p.muted {
            "Each run compares the tenants Frontegg lists with the mappings and Airbyte's workspaces, and repairs the difference through the inbox. "
            "Runs start with " code { "tenantgate reconcile [--apply]" } " or every " code { "reconcile.interval_secs" } " when " code { "reconcile.enabled" } " is on."
        }
        @if runs.is_empty() { p.muted { "No run yet." } }
        @else {
            div.table-wrap {
                table {
                    thead { tr { th { "Run" } th { "Started" } th { "Mode" } th { "Status" } th.opt { "By" } th { "Drift" } th.opt { "Brake" } } }
                    tbody {
                        @for r in &runs {
                            tr {
                                td { a href=(format!("/console/reconcile/{}", r.id)) { (r.id) } }
                                td { (time(r.started_at)) }
                                td { @if r.apply { "apply" } @else { "dry run" } }
                                td { (badge(r.status.as_str())) }
                                td.opt { (r.triggered_by) }
                                td { (counts(r)) }
                                td.wrap.opt.error { (or_dash(r.brake.as_deref())) }
                            }
                        }
                    }
                }
            }
        }
        (pager(before.map(|_| "/console/reconcile"), next.flatten()))
    };
    Ok(page("Reconcile", Section::Reconcile, &session, body))
}

pub async fn show(
    Signed(session): Signed,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let id: i64 = id.parse().map_err(|_| ConsoleError::NotFound("not a run id".into()))?;
    let run = operation::find(&state.db, id)
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("there is no run {id}")))?;
    let body = html! {
        h1 { "Run " (run.id) " " (badge(run.status.as_str())) }
        div.panel {
            dl.fields {
                dt { "Mode" } dd { @if run.apply { "apply: repairs queued in the inbox" } @else { "dry run: nothing changed" } }
                dt { "By" } dd { (run.triggered_by) }
                dt { "Started" } dd { (time(run.started_at)) }
                dt { "Finished" } dd { (maybe_time(run.finished_at)) }
                dt { "Tenants listed by Frontegg" } dd { (run.tenants_listed.map_or("—".to_owned(), |n| n.to_string())) }
                dt { "Mappings seen" } dd { (run.mappings_seen.map_or("—".to_owned(), |n| n.to_string())) }
                dt { "Drift" } dd { (counts(&run)) }
                @if let Some(brake) = &run.brake { dt { "Brake" } dd.error { (brake) } }
                @if let Some(error) = &run.error { dt { "Error" } dd.error { (error) } }
            }
        }
        div.panel {
            h2 { "Drifts" }
            @if run.drifts.is_empty() { p.muted { "None: everything matched." } }
            @else {
                div.table-wrap {
                    table {
                        thead { tr { th { "Kind" } th { "Tenant" } th.opt { "Workspace" } th { "What was seen" } th { "Done" } } }
                        tbody {
                            @for d in &run.drifts {
                                tr {
                                    td { code { (d.kind.as_str()) } }
                                    td.wrap { @if let Some(t) = &d.tenant_id { a href=(super::tenants::tenant_href(t)) { (t) } } @else { (or_dash(None)) } }
                                    td.wrap.opt { (or_dash(d.workspace_id.as_deref())) }
                                    td.wrap { (d.detail) }
                                    td { (action(&d.action)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&format!("Run {}", run.id), Section::Reconcile, &session, body))
}

fn counts(run: &RunRecord) -> Markup {
    html! {
        @if run.counts.values().all(|n| *n == 0) { span.muted { "none" } }
        @else {
            @for (kind, n) in run.counts.iter().filter(|(_, n)| **n > 0) {
                span.badge.s-failed_retrying { (kind) " " (n) } " "
            }
        }
    }
}

fn action(action: &Action) -> Markup {
    match action {
        Action::WouldRepair => html! { "would repair" },
        Action::Queued { event_id } => {
            html! { "repair queued: " a href=(format!("/console/events/{event_id}")) { "event " (event_id) } }
        }
        Action::AlreadyQueued { event_id } => {
            html! { "already queued: " a href=(format!("/console/events/{event_id}")) { "event " (event_id) } }
        }
        Action::Reported => html! { "reported only" },
        Action::HeldByBrake => html! { span.error { "held by the brake" } },
    }
}
