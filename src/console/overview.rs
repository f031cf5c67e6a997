//! `GET /console`: the overview. Its counts are aggregates over the inbox, so they are read at
//! most every [`FRESH_FOR`] and kept: a page view never counts the inbox itself (it may start a
//! refresh in the background and show the figures it has).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse};
use chrono::Utc;
use maud::html;

use super::format::{badge, count, span, time};
use super::guard::Signed;
use super::page::{page, ConsoleError, Section};
use super::{chart, query};
use crate::db::{Database, StoreError};
use crate::http::AppState;
use crate::inbox::EventStatus;
use crate::operations::overview::{self, Overview};
use crate::pacing::GateState;

/// How long a read overview is shown before it is read again.
pub const FRESH_FOR: Duration = Duration::from_secs(10);

/// The last overview read, shared by every page view of this process.
#[derive(Debug, Default)]
pub struct Cache {
    kept: Mutex<Option<(Instant, Arc<Overview>)>>,
    refreshing: Arc<AtomicBool>,
}

impl Cache {
    /// The overview: the kept one (refreshed in the background when it is older than
    /// [`FRESH_FOR`]), or read now when there is none yet.
    pub async fn get(self: &Arc<Self>, db: &Database) -> Result<Arc<Overview>, StoreError> {
        let kept = self.kept.lock().map(|k| k.clone()).unwrap_or(None);
        match kept {
            Some((at, overview)) if at.elapsed() < FRESH_FOR => Ok(overview),
            Some((_, overview)) => {
                if !self.refreshing.swap(true, Ordering::AcqRel) {
                    let (cache, db) = (Arc::clone(self), db.clone());
                    tokio::spawn(async move {
                        if let Err(e) = cache.read(&db).await {
                            tracing::warn!(error = %e, "console: overview not refreshed");
                        }
                        cache.refreshing.store(false, Ordering::Release);
                    });
                }
                Ok(overview)
            }
            None => self.read(db).await,
        }
    }

    /// The kept overview when it is younger than [`FRESH_FOR`], else one read now (and kept):
    /// for a figure an action is decided on, which must not be hours old after a quiet night.
    pub async fn fresh(&self, db: &Database) -> Result<Arc<Overview>, StoreError> {
        let kept = self.kept.lock().map(|k| k.clone()).unwrap_or(None);
        match kept {
            Some((at, overview)) if at.elapsed() < FRESH_FOR => Ok(overview),
            _ => self.read(db).await,
        }
    }

    async fn read(&self, db: &Database) -> Result<Arc<Overview>, StoreError> {
        let overview = Arc::new(overview::read(db, Utc::now().naive_utc()).await?);
        if let Ok(mut kept) = self.kept.lock() {
            *kept = Some((Instant::now(), Arc::clone(&overview)));
        }
        Ok(overview)
    }
}

pub async fn show(Signed(session): Signed, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    let overview = state.console.overview.get(&state.db).await?;
    let stats = &overview.stats;
    let now = Utc::now().naive_utc();
    let of = |status: EventStatus| stats.by_status.get(status.as_str()).copied().unwrap_or(0);
    let total: i64 = stats.by_status.values().sum();
    let dead = of(EventStatus::Dead);
    let body = html! {
        div.toolbar {
            h1 { "Overview" }
            span.muted { "as of " (time(overview.at)) " · refreshed every " (FRESH_FOR.as_secs()) " s" }
        }
        div.cards {
            a.card href="/console/events" { span.n { (count(total)) } span.l { "events stored" } }
            a.card.bad[dead > 0] href="/console/events?status=dead" { span.n { (count(dead)) } span.l { "dead: need a look" } }
            div.card {
                span.n { (stats.oldest_pending_received_at.map_or("none".to_owned(), |t| span((now - t).num_seconds().max(0)))) }
                span.l { "oldest event waiting" }
            }
            div.card { span.n { (count(stats.received_last_hour)) } span.l { "received in the last hour" } }
            div.card { span.n { (count(stats.received_last_day)) } span.l { "received in the last day" } }
        }
        div.panel {
            div.toolbar {
                h2 { "Last hour, per minute" }
                div.legend { span.received { "received" } span.succeeded { "succeeded" } span.failed { "failed" } }
            }
            (chart::activity(&overview.last_hour, "Events received and attempts succeeded and failed per minute over the last hour", 10, "%H:%M"))
            h2 { "Last day, per hour" }
            (chart::activity(&overview.last_day, "Events received and attempts succeeded and failed per hour over the last day", 3, "%H:00"))
        }
        div.grid {
            div.panel {
                h2 { "By status" }
                table {
                    tbody {
                        @for status in EventStatus::ALL {
                            tr {
                                td { a href=(query::link("/console/events", [("status", Some(status.as_str()))])) { (badge(status.as_str())) } }
                                td { (count(of(*status))) }
                            }
                        }
                    }
                }
            }
            div.panel {
                h2 { "By kind" }
                table {
                    tbody {
                        @for (kind, n) in &stats.by_kind {
                            tr {
                                td { a href=(query::link("/console/events", [("kind", Some(kind.as_str()))])) { (kind) } }
                                td { (count(*n)) }
                            }
                        }
                    }
                }
            }
            div.panel {
                h2 { "This instance" }
                dl.fields {
                    dt { "Provider" } dd { (state.provider_mode) }
                    dt { "Environment" } dd { (state.console.environment) }
                    dt { "Version" } dd { (env!("CARGO_PKG_VERSION")) }
                    dt { "Database" } dd { (state.db.backend_name()) }
                    @if let Some(gate) = &state.pacing {
                        @let pace = gate.snapshot();
                        dt { "Provider pacing" }
                        dd {
                            @match pace.state {
                                GateState::Open => { (badge("open")) }
                                GateState::Closed => { (badge("throttled")) " reopens in " (span((pace.reopens_in_ms.unwrap_or(0) / 1000) as i64)) }
                            }
                            " · " (pace.in_flight) " of " (pace.concurrency_limit) " calls at once"
                            @if let Some(rate) = pace.requests_per_sec { " · " (format!("{rate:.1}")) " calls/s" }
                            " · " (count(pace.throttled as i64)) " refused for rate"
                        }
                    }
                }
            }
        }
    };
    Ok(page("Overview", Section::Overview, &session, body))
}
