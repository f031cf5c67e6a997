//! A subscription's delivery log on its page (newest first, each delivery with its attempts,
//! a page at a time), and `POST /console/deliveries/{id}/redeliver`.

use actix_web::{web, HttpResponse};
use maud::{html, Markup};

use super::format::{badge, duration_ms, or_dash, pager, time};
use super::guard::Signed;
use super::page::{see_other, ConsoleError};
use super::sessions::{ActionForm, Session};
use super::subscriptions::{link, now};
use crate::http::AppState;
use crate::notifications::store::{self as store, DeliveryStatus, Redelivery};
use crate::operations::deliveries::{self as operation, DeliveryEntry};

/// Deliveries per page.
pub const PAGE: i64 = 20;

/// The log of subscription `id` from `cursor` (a delivery id), as a panel.
pub async fn log(state: &AppState, session: &Session, id: &str, cursor: Option<&str>) -> Result<Markup, ConsoleError> {
    let cursor = match cursor.filter(|c| !c.is_empty()) {
        Some(c) => Some(c.parse::<i64>().map_err(|_| {
            ConsoleError::BadRequest(format!(
                "cursor must be a delivery id, got `{}`",
                c.chars().take(40).collect::<String>()
            ))
        })?),
        None => None,
    };
    let page = operation::list(&state.db, id.to_owned(), cursor, PAGE).await?;
    let here = link(id);
    let next = page.next.map(|n| format!("{here}?cursor={n}#deliveries"));
    Ok(html! {
        div.panel #deliveries {
            h2 { "Delivery log" }
            @if page.items.is_empty() {
                p.muted { @if cursor.is_some() { "No older delivery." } @else { "No delivery yet." } }
            } @else {
                div.table-wrap {
                    table {
                        thead { tr { th { "Id" } th { "Queued" } th { "Type" } th.opt { "Tenant" } th { "Status" } th { "Attempts" } } }
                        tbody { @for entry in &page.items { (row(session, entry)) } }
                    }
                }
            }
            (pager(cursor.is_some().then(|| format!("{here}#deliveries")).as_deref(), next))
        }
    })
}

fn row(session: &Session, entry: &DeliveryEntry) -> Markup {
    let (d, m) = (&entry.delivery, &entry.message);
    html! {
        tr data-id=(d.id) {
            td { (d.id) }
            td { (time(d.created_at)) }
            td { code { (m.event_type) } }
            td.wrap.opt { (or_dash(m.tenant_id.as_deref())) }
            td {
                (badge(d.status.as_str()))
                @if let Some(error) = &d.last_error { div.error { (error) } }
                @if matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::FailedRetrying) {
                    div.muted { "next attempt " (time(d.next_attempt_at)) }
                }
                @if session.can_act() && matches!(d.status, DeliveryStatus::Succeeded | DeliveryStatus::Dead) {
                    form.actions method="post" action=(format!("/console/deliveries/{}/redeliver", d.id)) {
                        input type="hidden" name="csrf" value=(session.csrf);
                        button type="submit" { "Redeliver" }
                    }
                }
            }
            td {
                @if entry.attempts.is_empty() { span.muted { "none yet" } }
                @else {
                    ol.timeline {
                        @for a in &entry.attempts {
                            li class=(if a.status_code.is_some_and(|s| (200..300).contains(&s)) { "s-succeeded" } else { "s-failed" }) {
                                div { strong { "Attempt " (a.attempt) } " · " @if let Some(s) = a.status_code { "HTTP " (s) } @else { "no answer" } }
                                div.when { (time(a.at)) " · " (duration_ms(a.duration_ms)) }
                                @if let Some(error) = &a.error { div.error { (error) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `POST /console/deliveries/{id}/redeliver`: a finished delivery queued again at once.
pub async fn redeliver(
    Signed(session): Signed,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, ConsoleError> {
    let by = session.act(&form.csrf)?;
    let id: i64 = id.parse().map_err(|_| {
        ConsoleError::NotFound(format!(
            "`{}` is not a delivery id",
            id.chars().take(40).collect::<String>()
        ))
    })?;
    let now = now();
    let done = match state.db.run(move |c| store::redeliver(c, id, &by, now)).await? {
        Redelivery::Queued => {
            tracing::info!(delivery.id = id, "notification redelivery queued in the console");
            state.notices.notify_one();
            "redelivered"
        }
        Redelivery::NotFinished(_) => "not_redelivered",
        Redelivery::NotFound => return Err(ConsoleError::NotFound(format!("there is no delivery {id}"))),
    };
    let delivery = state
        .db
        .run(move |c| store::delivery(c, id))
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("there is no delivery {id}")))?;
    Ok(see_other(&format!(
        "{}?done={done}#deliveries",
        link(&delivery.subscription_id)
    )))
}
