//! The operator console under `/console`: server-rendered pages over the same operations as the
//! admin API and the command line (`crate::operations`), for a browser signed in with an admin
//! token.
//!
//! - **Who**: `sign_in` opens a session (`sessions`) for a valid admin token, at a bounded rate
//!   per client address; the cookie is HttpOnly, `SameSite=Strict`, scoped to `/console`, Secure
//!   behind https. Every page takes [`guard::Signed`]; a viewer sees no action, and an action
//!   answers 403 unless the session is an operator's.
//! - **Cross-site requests**: every state-changing request passes `guard::same_origin` (the
//!   browser's `Sec-Fetch-Site` / `Origin`) and carries the session's CSRF token in its form,
//!   checked by `Session::act` before any operation runs.
//! - **Assets**: stylesheet, script and icon are embedded (`assets`); every page carries a
//!   Content-Security-Policy that allows nothing but our own origin and no inline script.
//! - **Cost**: every list is a page read through an index; the overview's aggregates are kept
//!   for a few seconds (`overview::Cache`), so no page view counts the inbox.

mod assets;
mod attempts;
mod chart;
mod deliveries;
mod event;
mod events;
mod filters;
mod format;
pub mod guard;
mod notice;
mod overview;
mod page;
mod query;
mod reconcile;
mod refusals;
pub mod sessions;
mod sign_in;
mod subscription;
mod subscription_form;
mod subscriptions;
mod tenant;
mod tenants;

use std::sync::Arc;

use actix_web::web;

pub use attempts::SignInLimits;
pub use page::CONTENT_SECURITY_POLICY;

use crate::config::Settings;

/// What the console keeps between requests.
#[derive(Debug)]
pub struct Console {
    pub session_ttl_secs: u64,
    pub limits: SignInLimits,
    /// Whether the sign-in page may say where the development profile keeps its token.
    pub development: bool,
    pub environment: String,
    pub overview: Arc<overview::Cache>,
}

impl Console {
    pub fn new(settings: &Settings) -> Self {
        Self {
            session_ttl_secs: settings.console.session_ttl_secs,
            limits: SignInLimits::new(settings.console.sign_in_attempts_per_minute),
            development: settings.is_development(),
            environment: settings.environment.clone(),
            overview: Arc::default(),
        }
    }
}

/// Largest form the console reads (a subscription's settings are the longest).
const MAX_FORM_BYTES: usize = 64 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(at("/", "GET").route(web::get().to(|| async { page::see_other("/console") })))
        .service(at("/console", "GET").route(web::get().to(overview::show)))
        .service(at("/console/", "GET").route(web::get().to(|| async { page::see_other("/console") })))
        .service(at("/console/assets/{name}", "GET").route(web::get().to(assets::serve)))
        .service(
            at("/console/sign-in", "GET, POST")
                .route(web::get().to(sign_in::form))
                .route(web::post().to(sign_in::sign_in)),
        )
        .service(at("/console/sign-out", "POST").route(web::post().to(sign_in::sign_out)))
        .service(at("/console/sign-out-everywhere", "POST").route(web::post().to(sign_in::sign_out_everywhere)))
        .service(at("/console/events", "GET").route(web::get().to(events::list)))
        .service(at("/console/events/rows", "GET").route(web::get().to(events::tail)))
        .service(
            at("/console/events/replay", "GET, POST")
                .route(web::get().to(events::replay_preview))
                .route(web::post().to(events::replay)),
        )
        .service(at("/console/events/{id}", "GET").route(web::get().to(event::show)))
        .service(at("/console/events/{id}/replay", "POST").route(web::post().to(event::replay)))
        .service(at("/console/tenants", "GET").route(web::get().to(tenants::list)))
        .service(at("/console/tenants/{tenant_id}", "GET").route(web::get().to(tenant::show)))
        .service(at("/console/refusals", "GET").route(web::get().to(refusals::show)))
        .service(at("/console/reconcile", "GET").route(web::get().to(reconcile::list)))
        .service(at("/console/reconcile/{id}", "GET").route(web::get().to(reconcile::show)));
    subscription_routes(cfg);
}

fn subscription_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        at("/console/subscriptions", "GET, POST")
            .route(web::get().to(subscriptions::list))
            .route(web::post().to(subscriptions::create)),
    )
    .service(at("/console/subscriptions/new", "GET").route(web::get().to(subscriptions::new)))
    .service(
        at("/console/subscriptions/{id}", "GET, POST")
            .route(web::get().to(subscription::show))
            .route(web::post().to(subscription::update)),
    )
    .service(at("/console/subscriptions/{id}/pause", "POST").route(web::post().to(subscription::pause)))
    .service(at("/console/subscriptions/{id}/resume", "POST").route(web::post().to(subscription::resume)))
    .service(at("/console/subscriptions/{id}/rotate", "POST").route(web::post().to(subscription::rotate)))
    .service(at("/console/subscriptions/{id}/secret", "GET").route(web::get().to(subscriptions::secret)))
    .service(at("/console/subscriptions/{id}/test", "POST").route(web::post().to(subscription::test)))
    .service(at("/console/subscriptions/{id}/delete", "POST").route(web::post().to(subscription::delete)))
    .service(at("/console/deliveries/{id}/redeliver", "POST").route(web::post().to(deliveries::redeliver)));
}

/// A console resource whose other methods answer 405 with the methods it has. Its forms are
/// read up to [`MAX_FORM_BYTES`], and one that cannot be read is a page saying why.
fn at(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path)
        .app_data(
            web::FormConfig::default().limit(MAX_FORM_BYTES).error_handler(|e, _| {
                page::ConsoleError::BadRequest(format!("the form could not be read: {e}")).into()
            }),
        )
        .app_data(web::PayloadConfig::default().limit(MAX_FORM_BYTES))
        .default_service(web::to(move |req: actix_web::HttpRequest| {
            page::method_not_allowed(req, allow)
        }))
}
