//! `/console/subscriptions`: every subscription with its health, and creating one (its secret
//! shown once). One subscription's page and actions are in `subscription`, its delivery log in
//! `deliveries`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::format::{badge, maybe_time, or_dash, time};
use super::guard::Signed;
use super::notice::{notice, Done};
use super::page::{page, see_other, ConsoleError, Section};
use super::query::Params;
use super::sessions::{self, Session};
use super::subscription_form::{self as form, Fields};
use crate::http::AppState;
use crate::notifications::destination;
use crate::notifications::store::{self as store, Subscription};
use crate::notifications::subscriptions::{self as subs, WithSecret, PAUSED};

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    done: Option<Done>,
}

/// `GET /console/subscriptions`.
pub async fn list(
    Signed(session): Signed,
    state: web::Data<AppState>,
    Params(query): Params<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let rows = state.db.run(store::list_subscriptions).await?;
    let body = html! {
        div.toolbar {
            h1 { "Subscriptions" }
            @if session.can_act() {
                div.actions { a.button.primary href="/console/subscriptions/new" { "New subscription" } }
            }
        }
        (notice(query.done, None))
        @if rows.is_empty() {
            p.muted { "No subscription: nothing is notified of provisioning outcomes yet." }
        } @else {
            div.table-wrap {
                table {
                    thead { tr { th { "Subscription" } th { "Health" } th.opt { "URL" } th.opt { "Types" } th.opt { "Tenant" } th { "Failing since" } th { "Disabled reason" } } }
                    tbody {
                        @for s in &rows {
                            tr {
                                td { a href=(link(&s.id)) { (label(s)) } }
                                td { (health(s)) }
                                td.wrap.opt { code { (shown_url(&session, s)) } }
                                td.wrap.opt { (s.types().join(", ")) }
                                td.wrap.opt { (or_dash(s.tenant_id.as_deref())) }
                                td { (maybe_time(s.failing_since)) }
                                td.wrap { (or_dash(s.disabled_reason.as_deref())) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Subscriptions", Section::Subscriptions, &session, body))
}

/// `GET /console/subscriptions/new`.
pub async fn new(Signed(session): Signed, state: web::Data<AppState>) -> HttpResponse {
    let fields = Fields {
        event_types: vec!["*".into()],
        ..Fields::default()
    };
    new_page(&session, &state, &fields, None)
}

/// `POST /console/subscriptions`: creates it, then sends the browser to its secret, shown once.
pub async fn create(
    Signed(session): Signed,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let fields = Fields::parse(&body);
    let by = session.act(&fields.csrf)?;
    let new = match fields.new_subscription() {
        Ok(new) => new,
        Err(message) => return Ok(new_page(&session, &state, &fields, Some(&message))),
    };
    match subs::create(&state.db, &state.notifier, &state.sealer, new, &by, now()).await {
        Ok(created) => {
            tracing::info!(subscription.id = %created.subscription.id, "subscription created in the console");
            to_secret(&state, &session, &created, Made::Created).await
        }
        Err(e) => Ok(new_page(&session, &state, &fields, Some(&form::fixable(e)?))),
    }
}

fn new_page(session: &Session, state: &AppState, fields: &Fields, error: Option<&str>) -> HttpResponse {
    let cap = state.notifier.request_timeout().as_millis();
    let body = html! {
        h1 { "New subscription" }
        div.panel {
            @if session.can_act() {
                (form::form("/console/subscriptions", &session.csrf, fields, "Create subscription", error, cap))
            } @else {
                p.muted { "Creating a subscription needs an operator token." }
            }
        }
    };
    let mut answer = page("New subscription", Section::Subscriptions, session, body);
    if error.is_some() {
        *answer.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    answer
}

/// What made the secret a page shows.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Made {
    Created,
    Rotated,
}

impl Made {
    fn title(self) -> &'static str {
        match self {
            Made::Created => "Subscription created",
            Made::Rotated => "Secret rotated",
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Made::Created => "created",
            Made::Rotated => "rotated",
        }
    }
}

/// After an action that made a secret: keeps it, sealed, for this session to see once, and
/// sends the browser to the page that shows it (a GET, so that reloading it repeats no action).
pub async fn to_secret(
    state: &AppState,
    session: &Session,
    made: &WithSecret,
    what: Made,
) -> Result<HttpResponse, ConsoleError> {
    let id = &made.subscription.id;
    let sealed = state
        .sealer
        .seal(id, made.secret.expose_secret())
        .map_err(|e| anyhow::anyhow!("the new secret of {id} cannot be kept for its page: {e}"))?;
    sessions::allow_reveal(&state.db, session, id, sealed, now()).await?;
    Ok(see_other(&format!("{}/secret?made={}", link(id), what.as_str())))
}

#[derive(Debug, Deserialize)]
pub struct SecretQuery {
    made: Made,
}

/// `GET /console/subscriptions/{id}/secret`: the secret an action of this session just made,
/// the first time; afterwards (a reload, another tab, a link, after five minutes), a page saying
/// it is no longer shown.
pub async fn secret(
    Signed(session): Signed,
    state: web::Data<AppState>,
    id: web::Path<String>,
    Params(query): Params<SecretQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let s = subs::find(&state.db, &id).await?;
    let kept = if session.can_act() {
        sessions::take_reveal(&state.db, &session, &s.id, now()).await?
    } else {
        None
    };
    if let Some(sealed) = kept {
        let secret = state
            .sealer
            .open(&s.id, &sealed)
            .map_err(|e| anyhow::anyhow!("the new secret of {} does not open: {e}", s.id))?;
        let made = WithSecret {
            subscription: s,
            secret,
        };
        return Ok(secret_page(&session, query.made.title(), &made));
    }
    let body = html! {
        h1 { "Secret no longer shown" }
        div.panel {
            p { "A new signing secret of " a href=(link(&s.id)) { (label(&s)) } " is shown once, on this page, to the session whose action made it, within five minutes; after that, or after a later secret made in the same session, it is not shown again." }
            p { "If it was not copied, rotate it on the subscription's page: the secret it replaces keeps signing for the grace period." }
            div.actions { a.button href=(link(&s.id)) { "Back to the subscription" } }
        }
    };
    let mut answer = page("Secret no longer shown", Section::Subscriptions, &session, body);
    *answer.status_mut() = StatusCode::GONE;
    Ok(answer)
}

/// The page that shows a new secret: the only time it is shown.
fn secret_page(session: &Session, title: &str, made: &WithSecret) -> HttpResponse {
    let s = &made.subscription;
    let body = html! {
        h1 { (title) }
        div.panel {
            p.notice.bad role="alert" { strong { "Copy this secret now: it will not be shown again." } " Only its encrypted form is kept; if it is lost, rotate it." }
            p { "Signing secret of " a href=(link(&s.id)) { (label(s)) } ", to verify its deliveries (Standard Webhooks):" }
            p { code #secret .secret { (made.secret.expose_secret()) } }
            div.actions {
                button type="button" data-copy="secret" { "Copy" }
                a.button href=(link(&s.id)) { "Continue to the subscription" }
            }
            @if let Some(until) = s.previous_secret_expires_at {
                p.muted { "The previous secret keeps signing too (each delivery then carries both signatures) until " (time(until)) "." }
            }
        }
    };
    page(title, Section::Subscriptions, session, body)
}

/// `active`, `paused` or `disabled`, as a badge.
pub fn health(s: &Subscription) -> Markup {
    let word = match (s.active, s.disabled_reason.as_deref()) {
        (true, _) => "active",
        (false, Some(PAUSED)) => "paused",
        (false, _) => "disabled",
    };
    html! {
        (badge(word))
        @if s.active && s.failing_since.is_some() { " " span.error { "failing" } }
    }
}

/// The subscription's name, or its id.
pub fn label(s: &Subscription) -> &str {
    s.name.as_deref().unwrap_or(&s.id)
}

/// A subscription's URL as this session may see it: whole for an operator, the scheme and host
/// alone for a viewer (a path or query may carry the subscriber's token).
pub fn shown_url(session: &Session, s: &Subscription) -> String {
    if session.can_act() {
        s.url.clone()
    } else {
        destination::redacted(&s.url)
    }
}

pub fn link(id: &str) -> String {
    format!("/console/subscriptions/{}", super::query::encode(id))
}

pub fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}
