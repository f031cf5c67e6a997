//! `/console/subscriptions/{id}`: one subscription — its settings, health, delivery statistics
//! and delivery log — and its actions: edit, pause and resume, rotate the secret, test send,
//! delete. Each action calls the operation the admin API calls (`notifications::subscriptions`,
//! `notifications::test_sends`), so it leaves the same audit entry.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::deliveries;
use super::format::{badge, count, duration_ms, maybe_time, or_dash, time};
use super::guard::Signed;
use super::notice::{notice, Done};
use super::page::{page, see_other, ConsoleError, Section};
use super::query::Params;
use super::sessions::{ActionForm, Session};
use super::subscription_form::{self as form, Fields};
use super::subscriptions::{health, label, link, now, shown_url, to_secret, Made};
use crate::http::AppState;
use crate::notifications::stats::{self, Figures, Window};
use crate::notifications::store::Subscription;
use crate::notifications::subscriptions::{self as subs, SubscriptionChange};
use crate::notifications::test_sends;

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    done: Option<Done>,
    cursor: Option<String>,
}

/// `GET /console/subscriptions/{id}`. The statistics are read on the first page only: an older
/// page of the delivery log (`cursor`) shows the log alone.
pub async fn show(
    Signed(session): Signed,
    state: web::Data<AppState>,
    id: web::Path<String>,
    Params(query): Params<ShowQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let s = subs::find(&state.db, &id).await?;
    let log = deliveries::log(&state, &session, &s.id, query.cursor.as_deref()).await?;
    let figures = match query.cursor {
        None => Some(stats::collect(&state.db, Window::default(), Some(&s.id), now()).await?),
        Some(_) => None,
    };
    let body = html! {
        div.toolbar {
            h1 { (label(&s)) " " (health(&s)) }
            @if session.can_act() { (actions(&session, &s)) }
        }
        (notice(query.done, None))
        div.grid {
            div.panel { h2 { "Settings" } (settings(&session, &s)) }
            div.panel { h2 { "Health" } (health_panel(&s)) }
            div.panel {
                h2 { "Last 24 hours" }
                @if let Some(figures) = &figures {
                    (figures_list(&figures.subscriptions.first().map(|f| f.figures.clone()).unwrap_or_default()))
                    @for t in figures.event_types.iter().filter(|t| t.figures.deliveries > 0) {
                        p.muted { code { (t.event_type) } ": " (count(t.figures.deliveries)) " deliveries, " (count(t.figures.succeeded)) " succeeded" }
                    }
                } @else {
                    p.muted { "On " a href=(link(&s.id)) { "the first page" } " of the delivery log." }
                }
            }
        }
        (log)
        @if session.can_act() {
            div.panel #edit {
                h2 { "Edit" }
                (form::form(&link(&s.id), &session.csrf, &Fields::of(&s), "Save", None, state.notifier.request_timeout().as_millis()))
            }
        }
    };
    Ok(page(label(&s), Section::Subscriptions, &session, body))
}

fn actions(session: &Session, s: &Subscription) -> Markup {
    let post = |action: &str| format!("{}/{action}", link(&s.id));
    let button = |action: &str, text: &str, confirm: Option<&str>, class: &str| {
        html! {
            form.inline method="post" action=(post(action)) data-confirm=[confirm] {
                input type="hidden" name="csrf" value=(session.csrf);
                button class=(class) type="submit" { (text) }
            }
        }
    };
    html! {
        div.actions {
            @if s.active { (button("pause", "Pause", None, "")) } @else { (button("resume", "Resume", None, "primary")) }
            (button("test", "Send a test", None, ""))
            (button("rotate", "Rotate secret", Some("Make a new secret? The current one keeps signing for the grace period."), ""))
            a.button href="#edit" { "Edit" }
            (button("delete", "Delete", Some("Delete this subscription with its delivery log?"), "danger"))
        }
    }
}

fn settings(session: &Session, s: &Subscription) -> Markup {
    html! {
        dl.fields {
            dt { "Id" } dd { code { (s.id) } }
            dt { "Name" } dd { (or_dash(s.name.as_deref())) }
            dt { "URL" } dd { code { (shown_url(session, s)) } }
            dt { "Event types" } dd { (s.types().join(", ")) }
            dt { "Tenant" } dd { (or_dash(s.tenant_id.as_deref())) }
            dt { "Description" } dd { (or_dash(s.description.as_deref())) }
            dt { "Request timeout" } dd { @if let Some(ms) = s.request_timeout_ms { (duration_ms(ms.into())) } @else { span.muted { "the default" } } }
            dt { "Attempts" } dd { @if let Some(n) = s.max_attempts { (n) } @else { span.muted { "the retry schedule's" } } }
            dt { "Created" } dd { (time(s.created_at)) }
            dt { "Changed" } dd { (time(s.updated_at)) }
        }
    }
}

fn health_panel(s: &Subscription) -> Markup {
    html! {
        dl.fields {
            dt { "State" } dd { (health(s)) }
            dt { "Failing since" } dd.error[s.failing_since.is_some()] { (maybe_time(s.failing_since)) }
            dt { "Disabled reason" } dd { (or_dash(s.disabled_reason.as_deref())) }
            dt { "Previous secret" } dd {
                @if let Some(until) = s.previous_secret_expires_at { "signs too until " (time(until)) } @else { span.muted { "none" } }
            }
        }
    }
}

fn figures_list(f: &Figures) -> Markup {
    let rate = |r: Option<f64>| r.map_or("—".to_owned(), |r| format!("{:.1} %", r * 100.0));
    let ms = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v:.0} ms"));
    html! {
        dl.fields {
            dt { "Deliveries" } dd { (count(f.deliveries)) }
            dt { "Succeeded" } dd { (count(f.succeeded)) }
            dt { "Failed, retrying" } dd { (count(f.failed_retrying)) }
            dt { "Dead" } dd.error[f.dead > 0] { (count(f.dead)) }
            dt { "Waiting" } dd { (count(f.pending)) }
            dt { "Success rate" } dd { (rate(f.success_rate)) }
            dt { "Attempts per delivery" } dd { (f.average_attempts.map_or("—".to_owned(), |a| format!("{a:.2}"))) }
            dt { "Latency p50 / p95" } dd { (ms(f.latency_p50_ms)) " / " (ms(f.latency_p95_ms)) }
        }
    }
}

/// `POST /console/subscriptions/{id}`: saves the edit form.
pub async fn update(
    Signed(session): Signed,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let fields = Fields::parse(&body);
    let by = session.act(&fields.csrf)?;
    let refused = match fields.change() {
        Ok(change) => match subs::update(&state.db, &state.notifier, &id, change, &by, now()).await {
            Ok(row) => return Ok(see_other(&format!("{}?done=updated", link(&row.id)))),
            Err(e) => form::fixable(e)?,
        },
        Err(message) => message,
    };
    let s = subs::find(&state.db, &id).await?;
    let cap = state.notifier.request_timeout().as_millis();
    let body = html! {
        h1 { "Edit " a href=(link(&s.id)) { (label(&s)) } }
        div.panel { (form::form(&link(&s.id), &session.csrf, &fields, "Save", Some(&refused), cap)) }
    };
    let mut answer = page(label(&s), Section::Subscriptions, &session, body);
    *answer.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(answer)
}

/// `POST /console/subscriptions/{id}/pause`.
pub async fn pause(
    signed: Signed,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, ConsoleError> {
    set_active(signed, state, id, form, false).await
}

/// `POST /console/subscriptions/{id}/resume`.
pub async fn resume(
    signed: Signed,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, ConsoleError> {
    set_active(signed, state, id, form, true).await
}

async fn set_active(
    Signed(session): Signed,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<ActionForm>,
    active: bool,
) -> Result<HttpResponse, ConsoleError> {
    let by = session.act(&form.csrf)?;
    let change = SubscriptionChange {
        active: Some(active),
        ..SubscriptionChange::default()
    };
    let row = subs::update(&state.db, &state.notifier, &id, change, &by, now()).await?;
    let done = if active { "resumed" } else { "paused" };
    Ok(see_other(&format!("{}?done={done}", link(&row.id))))
}

/// `POST /console/subscriptions/{id}/rotate`: a new secret, shown once.
pub async fn rotate(
    Signed(session): Signed,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, ConsoleError> {
    let by = session.act(&form.csrf)?;
    let rotated = subs::rotate(&state.db, &state.sealer, &id, state.rotation_grace, &by, now()).await?;
    tracing::info!(subscription.id = %rotated.subscription.id, "subscription secret rotated in the console");
    to_secret(&state, &session, &rotated, Made::Rotated).await
}

/// `POST /console/subscriptions/{id}/test`: sends a test now and shows how it went.
pub async fn test(
    Signed(session): Signed,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, ConsoleError> {
    let by = session.act(&form.csrf)?;
    let s = subs::find(&state.db, &id).await?;
    let result = test_sends::test_subscription(&state.db, &state.notifier, &state.sealer, &s.id, &by, now()).await?;
    let delivered = result.delivered();
    let body = html! {
        h1 { "Test send to " a href=(link(&s.id)) { (label(&s)) } }
        div.panel {
            p { (badge(if delivered { "succeeded" } else { "failed" })) " "
                @if delivered { "The endpoint accepted the test notification." } @else { "The endpoint did not accept the test notification." } }
            dl.fields {
                dt { "URL" } dd { code { (s.url) } }
                dt { "Status" } dd { @if let Some(status) = result.status { "HTTP " (status) } @else { span.muted { "no answer" } } }
                dt { "Duration" } dd { (duration_ms(i64::try_from(result.duration.as_millis()).unwrap_or(i64::MAX))) }
                dt { "Error" } dd.error[result.error.is_some()] { (or_dash(result.error.as_deref())) }
            }
            @if let Some(answer) = result.body.as_deref().filter(|b| !b.is_empty()) {
                h2 { "Answer" }
                pre { code { (answer) } }
            }
            p.muted { "A signed " code { "subscription.test" } " notification, sent once: nothing is queued or retried." }
            div.actions { a.button href=(link(&s.id)) { "Back to the subscription" } }
        }
    };
    Ok(page("Test send", Section::Subscriptions, &session, body))
}

/// `POST /console/subscriptions/{id}/delete`.
pub async fn delete(
    Signed(session): Signed,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, ConsoleError> {
    let by = session.act(&form.csrf)?;
    subs::delete(&state.db, &id, &by, now()).await?;
    tracing::info!(subscription.id = %id, "subscription deleted in the console");
    Ok(see_other("/console/subscriptions?done=deleted"))
}
