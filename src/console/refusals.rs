//! `/console/refusals`: the deliveries this instance refused, by reason, since it started (its
//! counters), the latest ones with their time, and what usually causes each reason — so that a
//! sender still signing with a rotated-out secret shows at once.

use actix_web::{web, HttpResponse};
use maud::{html, Markup};

use super::format::{count, span};
use super::guard::Signed;
use super::page::{page, ConsoleError, Section};
use crate::http::AppState;
use crate::metrics::RECENT_REFUSALS;

/// What a refusal's reason means and what usually causes it.
pub fn explanation(reason: &str) -> &'static str {
    match reason {
        "invalid_signature" => {
            "The signature matches none of the configured secrets. Right after a secret rotation this is \
             the sender still signing with the old secret (or us no longer accepting it): put the new \
             secret in Frontegg, or keep the old one in sources.frontegg.secrets until it has. Otherwise, \
             someone other than Frontegg is posting, or a proxy changed the body."
        }
        "missing_signature" => {
            "No signature header at all: the webhook in Frontegg has no secret set, a proxy strips the \
             headers, or the request does not come from Frontegg (a scanner, a manual test)."
        }
        "timestamp_out_of_tolerance" => {
            "The signature is authentic but signed too long ago or in the future: a clock off on either \
             side, a delivery held up in a queue or proxy, or a replay of an old request."
        }
        "untimed_token" => {
            "An authentic token with neither `iat` nor `exp`, which would be valid forever; allow it with \
             sources.frontegg.jwt_allow_untimed_tokens if the sender never sets them."
        }
        "claim_mismatch" => {
            "An authentic token describing another request (event, tenant or body digest): a token \
             reused for a different body, or a sender bug."
        }
        "token_reused" => "A token that already came with another body: each request needs its own token.",
        "address_not_allowed" => {
            "The client address is not in the allow-list: Frontegg's egress addresses changed, or a \
             proxy in front is not in trusted_proxies so its own address is seen."
        }
        "payload_too_large" => {
            "The body passed the size limit (sources.frontegg.body_limit_bytes): an unusually large \
             event, or someone posting junk."
        }
        "request_timeout" => "The body did not arrive in time: a slow or stalled client, or a network problem.",
        "bad_request" => "The body could not be read: the connection broke while it was being sent.",
        "malformed_json" => "The body is not JSON: a misconfigured sender or a test request.",
        "missing_field" | "invalid_field" => {
            "The JSON lacks a field we need or has one we cannot read: a new or changed event shape \
             from the sender."
        }
        "event_mismatch" => "An event posted to the route of another kind (the per-event alias routes).",
        "idempotency_conflict" => {
            "The same idempotency key came with a different body: a sender reusing ids, or a body \
             changed in transit."
        }
        _ => "Refused before it was stored; the server's log has a line about it (at a bounded rate).",
    }
}

/// `GET /console/refusals`.
pub async fn show(Signed(session): Signed, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    let refusals = state.metrics.refusals();
    let up = (chrono::Utc::now() - refusals.since).num_seconds().max(0);
    let total: u64 = refusals.by_reason.values().sum();
    let body = html! {
        div.toolbar { h1 { "Refused requests" } }
        p.muted {
            "Deliveries to " code { "/api/webhooks/frontegg" } " this instance refused since it started "
            (span(up)) " ago (" (refusals.since.format("%Y-%m-%d %H:%M:%S")) " UTC), from its counters. "
            "Other instances keep their own; nothing of a refused request is stored but its time and reason."
        }
        div.panel {
            h2 { "By reason" }
            @if refusals.by_reason.is_empty() {
                p.muted { "No delivery refused since this instance started." }
            } @else {
                div.table-wrap {
                    table {
                        thead { tr { th { "Reason" } th { "Refused" } th { "What usually causes it" } } }
                        tbody {
                            @for (reason, n) in &refusals.by_reason {
                                tr id=(format!("reason-{reason}")) {
                                    td { code { (reason) } }
                                    td { (count(i64::try_from(*n).unwrap_or(i64::MAX))) }
                                    td.wrap { (explanation(reason)) }
                                }
                            }
                        }
                    }
                }
                p.muted { (count(i64::try_from(total).unwrap_or(i64::MAX))) " in all." }
            }
            @if refusals.malformed_http > 0 {
                p { (count(i64::try_from(refusals.malformed_http).unwrap_or(i64::MAX)))
                    " requests to this process could not be parsed as HTTP and were refused before routing (a scanner, or a client speaking something else)." }
            }
        }
        div.panel {
            h2 { "Latest" }
            p.muted { "The last " (RECENT_REFUSALS) " at most, newest first." }
            (recent(&refusals.recent))
        }
    };
    Ok(page("Refused requests", Section::Refusals, &session, body))
}

fn recent(refused: &[crate::metrics::Refused]) -> Markup {
    html! {
        @if refused.is_empty() { p.muted { "None." } }
        @else {
            div.table-wrap {
                table {
                    thead { tr { th { "At (UTC)" } th { "Reason" } } }
                    tbody {
                        @for r in refused {
                            tr {
                                td { time datetime=(r.at.to_rfc3339()) { (r.at.format("%Y-%m-%d %H:%M:%S")) } }
                                td { code { (r.reason) } }
                            }
                        }
                    }
                }
            }
        }
    }
}
