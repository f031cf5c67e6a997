//! `/console/tenants/{tenant_id}`: one tenant — why it has (or has no) workspace, its mapping,
//! users, SSO, events in order, audit trail and the notifications it caused.

use actix_web::{web, HttpResponse};
use maud::{html, Markup};

use super::event::audit;
use super::filters::MAX_TEXT;
use super::format::{badge, maybe_time, or_dash, time};
use super::guard::Signed;
use super::page::{page, ConsoleError, Section};
use super::query;
use crate::http::AppState;
use crate::inbox::{EventRow, EventStatus};
use crate::notifications::store::{Delivery, Message};
use crate::operations::tenants::{
    self as operation, TenantRecord, MAX_USERS, RECENT_AUDIT, RECENT_EVENTS, RECENT_NOTIFICATIONS,
};
use crate::tenants::{Mapping, MappingStatus};

/// `GET /console/tenants/{tenant_id}`.
pub async fn show(
    Signed(session): Signed,
    state: web::Data<AppState>,
    tenant_id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let tenant_id = tenant_id.into_inner();
    if tenant_id.chars().count() > MAX_TEXT || tenant_id.chars().any(char::is_control) {
        return Err(ConsoleError::NotFound("there is no such tenant".into()));
    }
    let record = operation::find(&state.db, tenant_id.clone())
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("nothing is known of tenant `{tenant_id}`")))?;
    let all_events = query::link("/console/events", [("tenant", Some(tenant_id.as_str()))]);
    let body = html! {
        div.toolbar {
            h1 { "Tenant " code { (tenant_id) } " "
                @if let Some(m) = &record.mapping { (badge(m.status.as_str())) } @else { (badge("none")) } }
        }
        (diagnosis(&record, &all_events))
        div.grid {
            div.panel { h2 { "Workspace mapping" } (mapping(&record)) }
            div.panel { h2 { "SSO" } (sso(&record)) }
        }
        div.panel { h2 { "Users" } (users(&record)) }
        div.panel {
            h2 { "Events" }
            p.muted {
                "The last " (RECENT_EVENTS) " at most, in the order received. "
                a href=(all_events) { "All events of this tenant" }
            }
            (events(&record.recent_events))
        }
        div.panel {
            h2 { "Audit trail" }
            p.muted { "The last " (RECENT_AUDIT) " entries at most, oldest first." }
            (audit(&record.audit))
        }
        div.panel {
            h2 { "Notifications it caused" }
            p.muted { "The last " (RECENT_NOTIFICATIONS) " at most, newest first, with each subscriber's delivery." }
            (notifications(&record.notifications))
        }
    };
    Ok(page(&format!("Tenant {tenant_id}"), Section::Tenants, &session, body))
}

fn event_href(id: i64) -> String {
    format!("/console/events/{id}")
}

/// Why the tenant has no working workspace, in plain words, with the events that explain it;
/// nothing when its workspace is active.
fn diagnosis(record: &TenantRecord, all_events: &str) -> Markup {
    let creation = record.creation.as_ref();
    let mapping_event = record.mapping.as_ref().and_then(|m| m.last_event_id).and_then(|id| {
        record
            .recent_events
            .iter()
            .chain(record.mapping_event.as_ref())
            .find(|e| e.id == id)
    });
    let (headline, detail): (&str, Markup) = match &record.mapping {
        Some(m) if m.status == MappingStatus::Active && m.workspace_id.is_some() => return html! {},
        Some(m) if m.status == MappingStatus::Active => (
            "The mapping is active but names no workspace.",
            html! { p { "This should not happen; the event that last wrote it may tell more." } (event_line(mapping_event)) },
        ),
        Some(m) if m.status == MappingStatus::Provisioning => (
            "The workspace is being created: no workspace id is recorded yet.",
            html! {
                p { "A create was claimed " (time(m.updated_at)) ". Either it is in flight, or its answer was lost; the next attempt of the creation event looks the workspace up before creating one. If the creation event below is dead, replay it." }
                (event_line(creation.or(mapping_event)))
            },
        ),
        Some(m) if m.status == MappingStatus::Tombstone => (
            "The tenant was deleted before any workspace was made (tombstone).",
            html! {
                p { "No workspace exists and none will be made: a creation older than the deletion is skipped. A tenant created again in Frontegg after this deletion gets its workspace from its newer creation event." }
                (event_line(mapping_event))
            },
        ),
        Some(m) => (
            if m.status == MappingStatus::Archived {
                "The tenant was deleted: its workspace is archived."
            } else {
                "The tenant was deleted: its workspace is deleted."
            },
            html! { (event_line(mapping_event)) },
        ),
        None => match creation {
            Some(e) if e.status == EventStatus::Dead => (
                "No workspace: its creation failed and was given up.",
                html! { p { "The creation event is dead after " (e.attempts) " attempts. Fix the cause in its last error, then replay it." } (event_line(Some(e))) },
            ),
            Some(e)
                if matches!(
                    e.status,
                    EventStatus::Pending | EventStatus::Processing | EventStatus::FailedRetrying
                ) =>
            {
                (
                    "No workspace yet: its creation has not been processed.",
                    html! {
                        p { "The creation event is " (e.status.as_str().replace('_', " ")) "; its next attempt is " (time(e.next_attempt_at)) "." }
                        (event_line(Some(e)))
                    },
                )
            }
            Some(e) => (
                "No workspace: its creation event finished without making one.",
                html! { p { "The creation event is " (e.status.as_str()) "." } (event_line(Some(e))) },
            ),
            None => (
                "No workspace: no tenant creation has arrived for this tenant.",
                html! { p { "Events of its users or settings arrived, but never a " code { "tenant.created" } ". Check that the webhook in Frontegg sends it, or replay it from Frontegg." } p { a href=(all_events) { "The events that did arrive" } } },
            ),
        },
    };
    html! {
        div.notice.bad role="status" {
            p { strong { (headline) } }
            (detail)
        }
    }
}

/// One event in a sentence: its link, kind, status and last error.
fn event_line(event: Option<&EventRow>) -> Markup {
    let Some(e) = event else { return html! {} };
    html! {
        p {
            a href=(event_href(e.id)) { "Event " (e.id) } " (" (e.kind) ", received " (time(e.received_at)) ") is " (badge(e.status.as_str()))
            @if e.attempts > 0 { " after " (e.attempts) " attempts" }
            "."
        }
        @if let Some(error) = &e.last_error { p.error { "Last error: " (error) } }
    }
}

fn mapping(record: &TenantRecord) -> Markup {
    let Some(m): Option<&Mapping> = record.mapping.as_ref() else {
        return html! { p.muted { "No mapping: no creation has been processed." } };
    };
    let last_error = record
        .creation
        .as_ref()
        .filter(|e| e.status != EventStatus::Succeeded)
        .and_then(|e| e.last_error.as_deref());
    html! {
        dl.fields {
            dt { "Status" } dd { (badge(m.status.as_str())) }
            dt { "Workspace id" } dd { @if let Some(w) = &m.workspace_id { code { (w) } } @else { span.muted { "none" } } }
            dt { "Workspace name" } dd { (or_dash(m.workspace_name.as_deref())) }
            dt { "Tenant name" } dd { (or_dash(m.tenant_name.as_deref())) }
            dt { "Created" } dd { (time(m.created_at)) }
            dt { "Updated" } dd { (time(m.updated_at)) }
            dt { "Last event" } dd {
                @if let Some(id) = m.last_event_id { a href=(event_href(id)) { (id) } " " }
                (maybe_time(m.last_event_at))
            }
            @if let Some(error) = last_error { dt { "Last error" } dd.error { (error) } }
        }
    }
}

fn sso(record: &TenantRecord) -> Markup {
    match &record.sso {
        None => html! { p.muted { "No SSO setting received." } },
        Some(s) => html! {
            dl.fields {
                dt { "Provider" } dd { (s.provider) }
                dt { "Last event" } dd { (maybe_time(s.last_event_at)) }
                dt { "Updated" } dd { (time(s.updated_at)) }
                @if s.deleted_at.is_some() { dt { "Deleted" } dd { (maybe_time(s.deleted_at)) } }
            }
        },
    }
}

fn users(record: &TenantRecord) -> Markup {
    html! {
        @if record.users.is_empty() { p.muted { "No user received." } }
        @else {
            div.table-wrap {
                table {
                    thead { tr { th { "User" } th.opt { "Email" } th { "Status" } th.opt { "Last event" } th.opt { "Deleted" } } }
                    tbody {
                        @for u in &record.users {
                            tr {
                                td.wrap { a href=(query::link("/console/events", [("user", Some(u.user_id.as_str()))])) { (u.user_id) } }
                                td.wrap.opt { (or_dash(u.email.as_deref())) }
                                td { (badge(u.status.as_str())) }
                                td.opt { (maybe_time(u.last_event_at)) }
                                td.opt { (maybe_time(u.deleted_at)) }
                            }
                        }
                    }
                }
            }
            @if record.users.len() as i64 >= MAX_USERS {
                p.muted { "The first " (MAX_USERS) " users by id; search the events by user id for the others." }
            }
        }
    }
}

/// The recent events in the order received (they are read newest first).
fn events(recent: &[EventRow]) -> Markup {
    html! {
        @if recent.is_empty() { p.muted { "No event of this tenant is stored." } }
        @else {
            div.table-wrap {
                table {
                    thead { tr { th { "Id" } th { "Received" } th { "Kind" } th { "Status" } th.opt { "Attempts" } th.opt { "Last error" } } }
                    tbody {
                        @for e in recent.iter().rev() {
                            tr {
                                td { a href=(event_href(e.id)) { (e.id) } }
                                td { (time(e.received_at)) }
                                td { span title=(e.event_type) { (e.kind) } }
                                td { (badge(e.status.as_str())) }
                                td.opt { (e.attempts) }
                                td.wrap.opt.muted { (or_dash(e.last_error.as_deref())) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn notifications(sent: &[(Message, Vec<Delivery>)]) -> Markup {
    html! {
        @if sent.is_empty() { p.muted { "No notification about this tenant." } }
        @else {
            div.table-wrap {
                table {
                    thead { tr { th { "Created" } th { "Type" } th { "Deliveries" } } }
                    tbody {
                        @for (message, deliveries) in sent {
                            tr {
                                td { (time(message.created_at)) }
                                td { code { (message.event_type) } }
                                td.wrap {
                                    @if deliveries.is_empty() { span.muted { "no subscriber wanted it" } }
                                    @for d in deliveries {
                                        div {
                                            a href=(format!("/console/subscriptions/{}", query::encode(&d.subscription_id))) { (d.subscription_id) }
                                            " " (badge(d.status.as_str()))
                                            @if d.attempts > 0 { span.muted { " " (d.attempts) " attempts" } }
                                            @if let Some(code) = d.last_status_code { span.muted { " · HTTP " (code) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
