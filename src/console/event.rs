//! `/console/events/{id}`: one event — its fields, payload, every attempt, its tenant's
//! neighbouring events, its audit entries — and Replay.

use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::format::{badge, duration_ms, maybe_time, or_dash, time};
use super::guard::Signed;
use super::notice::{notice, Done};
use super::page::{page, see_other, ConsoleError, Section};
use super::query::Params;
use super::sessions::ActionForm;
use crate::db::audit::AuditEntry;
use crate::http::AppState;
use crate::inbox::claims::Attempt;
use crate::inbox::listing::FINISHED;
use crate::inbox::EventRow;
use crate::operations::events as operation;
use crate::operations::replay::{replay_one, Replay};

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    done: Option<Done>,
}

pub async fn show(
    Signed(session): Signed,
    state: web::Data<AppState>,
    id: web::Path<String>,
    Params(query): Params<ShowQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let id = event_id(&id)?;
    let record = operation::record(&state.db, id)
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("there is no event {id}")))?;
    let e = &record.history.event;
    let finished = FINISHED.contains(&e.status);
    let body = html! {
        div.toolbar {
            h1 { "Event " (e.id) " " (badge(e.status.as_str())) }
            @if session.can_act() && finished {
                form.inline method="post" action=(format!("/console/events/{}/replay", e.id)) data-confirm="Requeue this event?" {
                    input type="hidden" name="csrf" value=(session.csrf);
                    button.primary type="submit" { "Replay" }
                }
            }
        }
        (notice(query.done, None))
        div.grid {
            div.panel { h2 { "Fields" } (fields(e)) }
            div.panel {
                h2 { "Attempts" }
                @if record.history.attempts.is_empty() { p.muted { "No attempt yet." } }
                @else { (timeline(&record.history.attempts)) }
            }
        }
        @if let Some(tenant) = &e.tenant_id {
            div.panel {
                h2 { "Neighbouring events of tenant " a href=(super::tenants::tenant_href(tenant)) { (tenant) } }
                (neighbours(&record.before, e, &record.after))
            }
        }
        div.panel { h2 { "Payload" } pre { code { (pretty(&e.payload)) } } }
        div.panel { h2 { "Audit" } (audit(&record.audit)) }
    };
    Ok(page(&format!("Event {}", e.id), Section::Events, &session, body))
}

/// `POST /console/events/{id}/replay`.
pub async fn replay(
    Signed(session): Signed,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, ConsoleError> {
    let by = session.act(&form.csrf)?;
    let id = event_id(&id)?;
    let done = match replay_one(&state.db, id, &by).await? {
        Replay::Requeued => {
            state.wake.notify_one();
            "replayed"
        }
        Replay::NotFinished(_) => "not_finished",
        Replay::NotFound => return Err(ConsoleError::NotFound(format!("there is no event {id}"))),
    };
    Ok(see_other(&format!("/console/events/{id}?done={done}")))
}

fn event_id(text: &str) -> Result<i64, ConsoleError> {
    text.parse().map_err(|_| {
        ConsoleError::NotFound(format!(
            "`{}` is not an event id",
            text.chars().take(40).collect::<String>()
        ))
    })
}

fn fields(e: &EventRow) -> Markup {
    html! {
        dl.fields {
            dt { "Type" } dd { code { (e.event_type) } }
            dt { "Kind" } dd { (e.kind) }
            dt { "Tenant" } dd { @if let Some(t) = &e.tenant_id { a href=(super::tenants::tenant_href(t)) { (t) } } @else { (or_dash(None)) } }
            dt { "User" } dd { (or_dash(e.user_id.as_deref())) }
            dt { "Source" } dd { (e.source) }
            dt { "Idempotency key" } dd { code { (e.idempotency_key) } }
            dt { "Occurred" } dd { (maybe_time(e.occurred_at)) }
            dt { "Received" } dd { (time(e.received_at)) }
            dt { "Attempts" } dd {
                (e.attempts)
                @if e.attempts_before_replay > 0 { span.muted { " (" (e.attempts_before_replay) " before the last replay)" } }
                @if e.throttled_attempts > 0 { span.muted { " (" (e.throttled_attempts) " throttled)" } }
            }
            @if e.finished_at.is_none() { dt { "Next attempt" } dd { (time(e.next_attempt_at)) } }
            dt { "Finished" } dd { (maybe_time(e.finished_at)) }
            @if let Some(replayed) = e.replayed_at { dt { "Replayed" } dd { (time(replayed)) } }
            dt { "Last error" } dd.error[e.last_error.is_some()] { (or_dash(e.last_error.as_deref())) }
            dt { "Body SHA-256" } dd { code { (e.body_sha256) } }
        }
    }
}

fn timeline(attempts: &[Attempt]) -> Markup {
    html! {
        ol.timeline {
            @for a in attempts {
                li class=(format!("s-{}", a.outcome)) {
                    div { strong { "Attempt " (a.attempt) } " " (badge(&a.outcome)) }
                    div.when {
                        (time(a.started_at)) " · " (duration_ms(a.duration_ms))
                        @if let Some(status) = a.http_status { " · provider answered HTTP " (status) }
                        @if a.throttled_calls > 0 { " · " (a.throttled_calls) " calls refused for rate, waited out" }
                    }
                    @if let Some(error) = &a.error { div.error { (error) } }
                }
            }
        }
    }
}

fn neighbours(before: &[EventRow], current: &EventRow, after: &[EventRow]) -> Markup {
    html! {
        div.table-wrap {
            table {
                thead { tr { th { "Id" } th { "Received" } th { "Kind" } th { "Status" } } }
                tbody {
                    @for e in before.iter().chain(std::iter::once(current)).chain(after) {
                        tr {
                            td { @if e.id == current.id { strong { (e.id) " (this one)" } } @else { a href=(format!("/console/events/{}", e.id)) { (e.id) } } }
                            td { (time(e.received_at)) }
                            td { (e.kind) }
                            td { (badge(e.status.as_str())) }
                        }
                    }
                }
            }
        }
    }
}

/// The audit entries of an event or a tenant, oldest first.
pub fn audit(entries: &[AuditEntry]) -> Markup {
    html! {
        @if entries.is_empty() { p.muted { "No audit entry." } }
        @else {
            div.table-wrap {
                table {
                    thead { tr { th { "At" } th { "Action" } th { "Detail" } } }
                    tbody {
                        @for a in entries {
                            tr {
                                td { (time(a.at)) }
                                td { code { (a.action) } }
                                td.wrap { @if let Some(d) = &a.detail { code { (d) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The payload indented, or as stored when it is not JSON.
fn pretty(payload: &str) -> String {
    serde_json::from_str::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| payload.to_owned())
}
