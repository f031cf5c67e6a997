//! `/console/events`: the filtered list with its live tail, and replay by filter (a preview that
//! counts what it would requeue, then the action).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use maud::{html, Markup};
use serde::Deserialize;

use super::filters::EventQuery;
use super::format::{badge, count, or_dash, pager, time};
use super::guard::Signed;
use super::notice::{notice, Done};
use super::overview::FRESH_FOR;
use super::page::{page, respond, ConsoleError, Section};
use super::query;
use super::query::Params;
use crate::events::EventKind;
use crate::http::AppState;
use crate::inbox::listing::EventFilter;
use crate::inbox::{EventRow, EventStatus};
use crate::operations::events::{self as operation, Count};
use crate::operations::replay_matching::{replay_matching, Selection};

/// Events per page.
pub const PAGE: i64 = 50;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    filter: EventQuery,
    cursor: Option<String>,
    done: Option<Done>,
    // Texts: numbers and booleans do not survive `flatten` in a query string.
    n: Option<String>,
}

pub async fn list(
    Signed(session): Signed,
    state: web::Data<AppState>,
    Params(query): Params<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let filter = query.filter.filter()?;
    let cursor = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(c.parse::<i64>().map_err(|_| {
            ConsoleError::BadRequest(format!(
                "cursor must be an event id, got `{}`",
                c.chars().take(40).collect::<String>()
            ))
        })?),
        None => None,
    };
    let events = operation::list(&state.db, filter, cursor, PAGE).await?;
    let first_page = cursor.is_none();
    let next = events.next.map(|next| {
        let mut pairs = query.filter.pairs().to_vec();
        let next = next.to_string();
        pairs.push(("cursor", Some(next.as_str())));
        query::link("/console/events", pairs)
    });
    let body = html! {
        div.toolbar {
            h1 { "Events" }
            div.actions {
                @if first_page {
                    label { input #live type="checkbox" checked; " Live" }
                }
                @if session.can_act() {
                    a.button href=(query.filter.link("/console/events/replay")) { "Replay matching…" }
                }
            }
        }
        (notice(query.done, query.n.as_deref().and_then(|n| n.parse().ok())))
        (filter_form(&query.filter))
        div.table-wrap {
            table {
                thead { tr { th { "Id" } th { "Received" } th { "Kind" } th { "Tenant" } th.opt { "User" } th { "Status" } th.opt { "Attempts" } th.opt { "Last error" } } }
                tbody data-tail=[first_page.then(|| query.filter.link("/console/events/rows"))] {
                    (rows(&events.items))
                }
            }
        }
        @if events.items.is_empty() {
            p.muted { "No event matches these filters." }
        }
        (pager((!first_page).then(|| query.filter.link("/console/events")).as_deref(), next))
    };
    Ok(page("Events", Section::Events, &session, body))
}

/// `GET /console/events/rows`: the rows of the first page alone, for the live tail.
pub async fn tail(
    Signed(_): Signed,
    state: web::Data<AppState>,
    Params(query): Params<EventQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let events = operation::list(&state.db, query.filter()?, None, PAGE).await?;
    Ok(respond(StatusCode::OK, &rows(&events.items)))
}

fn rows(events: &[EventRow]) -> Markup {
    html! {
        @for e in events {
            tr data-id=(e.id) {
                td { a href=(format!("/console/events/{}", e.id)) { (e.id) } }
                td { (time(e.received_at)) }
                td { span title=(e.event_type) { (e.kind) } }
                td.wrap { @if let Some(t) = &e.tenant_id { a href=(super::tenants::tenant_href(t)) { (t) } } @else { (or_dash(None)) } }
                td.wrap.opt { (or_dash(e.user_id.as_deref())) }
                td { (badge(e.status.as_str())) }
                td.opt { (e.attempts) }
                td.wrap.opt.muted { (or_dash(e.last_error.as_deref())) }
            }
        }
    }
}

fn filter_form(q: &EventQuery) -> Markup {
    let selected = |current: &Option<String>, value: &str| current.as_deref() == Some(value);
    html! {
        form.filters method="get" action="/console/events" role="search" {
            label { "Search" input type="search" name="q" value=[q.q.as_deref()] placeholder="tenant or user id  ( / )"; }
            label { "Status"
                select name="status" {
                    option value="" { "any" }
                    @for s in EventStatus::TEXTS { option value=(s) selected[selected(&q.status, s)] { (s.replace('_', " ")) } }
                }
            }
            label { "Kind"
                select name="kind" {
                    option value="" { "any" }
                    @for k in EventKind::ALL { option value=(k.as_str()) selected[selected(&q.kind, k.as_str())] { (k.as_str()) } }
                }
            }
            label { "Tenant" input name="tenant" value=[q.tenant.as_deref()] size="14"; }
            label { "User" input name="user" value=[q.user.as_deref()] size="14"; }
            label { "Since (UTC)" input type="datetime-local" name="since" value=[q.since.as_deref()]; }
            label { "Until (UTC)" input type="datetime-local" name="until" value=[q.until.as_deref()]; }
            button.primary type="submit" { "Apply" }
            a href="/console/events" { "Clear" }
        }
    }
}

/// `GET /console/events/replay`: how many finished events a replay of this filter would requeue.
pub async fn replay_preview(
    Signed(session): Signed,
    state: web::Data<AppState>,
    Params(query): Params<EventQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let filter = query.filter()?;
    let every = filter.is_empty();
    let (matching, counted, counted_at) = match replay_count(&state, filter).await? {
        Preview::Now(Count::Exactly(n)) => (n, count(n), None),
        Preview::Now(Count::MoreThan(n)) => (n + 1, format!("more than {}", count(n)), None),
        Preview::AsOf(n, at) => (n, count(n), Some(at)),
    };
    let body = html! {
        h1 { "Replay matching events" }
        div.panel {
            p {
                @if every { "No filter: this selects " strong { "every finished event" } ". " }
                strong { (counted) } " finished events (succeeded, dead, skipped, ignored) "
                @if let Some(at) = counted_at {
                    "matched at " (time(at)) " (the overview's counts, at most " (FRESH_FOR.as_secs()) " s old); a replay requeues those that match when it runs, "
                } @else {
                    "match now; a replay requeues "
                }
                "each of them once, keeping its attempt history. Events still waiting or being processed are never touched."
            }
            p { a href=(query.link("/console/events")) { "See them in the list" } }
            @if !session.can_act() {
                p.muted { "Replaying needs an operator token." }
            } @else if matching > 0 {
                form.actions method="post" action="/console/events/replay" data-confirm=(format!("Requeue {counted} events?")) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    (query.hidden())
                    @if every { input type="hidden" name="every" value="true"; }
                    button.primary type="submit" { "Requeue " (counted) " events" }
                    a href=(query.link("/console/events")) { "Cancel" }
                }
            }
        }
    };
    Ok(page("Replay", Section::Events, &session, body))
}

/// What the replay preview counted.
enum Preview {
    /// Counted in the inbox now.
    Now(Count),
    /// Taken from the overview's counts, read at that time.
    AsOf(i64, NaiveDateTime),
}

/// How many finished events a replay of `filter` would requeue. A kind, with or without a
/// status, and nothing else is counted along no index (a kind has none: each would cost every
/// status change of every event), so its figure comes from the overview's counts by kind and
/// status (at most [`FRESH_FOR`] old) instead of a read of the whole inbox per view. Any other
/// filter is counted now.
async fn replay_count(state: &AppState, filter: EventFilter) -> Result<Preview, ConsoleError> {
    let kind_alone = EventFilter {
        kind: filter.kind.clone(),
        status: filter.status.clone(),
        ..EventFilter::default()
    };
    match filter.kind.as_deref() {
        Some(kind) if filter == kind_alone => {
            let overview = state.console.overview.fresh(&state.db).await?;
            let n = overview.stats.finished_of_kind(kind, filter.status.as_deref());
            Ok(Preview::AsOf(n, overview.at))
        }
        _ => Ok(Preview::Now(operation::count_finished(&state.db, filter).await?)),
    }
}

#[derive(Debug, Deserialize)]
pub struct ReplayForm {
    csrf: String,
    #[serde(flatten)]
    filter: EventQuery,
    /// `true` to replay every finished event with no filter (a text: see `ListQuery::n`).
    every: Option<String>,
}

/// `POST /console/events/replay`: requeues the finished events the filter selects.
pub async fn replay(
    Signed(session): Signed,
    state: web::Data<AppState>,
    form: web::Form<ReplayForm>,
) -> Result<HttpResponse, ConsoleError> {
    let by = session.act(&form.csrf)?;
    let selection = Selection::new(form.filter.filter()?, form.every.as_deref() == Some("true"))
        .map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
    let replayed = replay_matching(&state.db, &selection, &by, None)
        .await
        .map_err(|stopped| ConsoleError::Store(stopped.source))?;
    if replayed.requeued > 0 {
        state.wake.notify_one();
    }
    let requeued = replayed.requeued.to_string();
    let mut pairs = form.filter.pairs().to_vec();
    pairs.extend([("done", Some("replayed_many")), ("n", Some(requeued.as_str()))]);
    Ok(super::page::see_other(&query::link("/console/events", pairs)))
}
