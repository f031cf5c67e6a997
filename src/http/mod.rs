//! HTTP surfaces: routes, shared state, and the error envelope.

pub mod admin;
pub mod error;
mod health;
pub mod openapi;
pub(crate) mod responses;
mod webhooks;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

use crate::db::Database;
use crate::ingest::Source;
use error::ApiError;

/// What every handler may use; built once by the application.
#[derive(Debug)]
pub struct AppState {
    pub db: Database,
    /// Stores deliveries with group commit.
    pub recorder: crate::ingest::InboxRecorder,
    pub frontegg: Source,
    /// Longest wait for a webhook's body once its head is in (`server.body_read_timeout_ms`).
    pub body_read_timeout: std::time::Duration,
    /// Wakes a provisioning worker when an event is stored.
    pub wake: std::sync::Arc<tokio::sync::Notify>,
    /// "airbyte" or "dry-run".
    pub provider_mode: &'static str,
    /// The provider's pacing gate (none in dry run), for `/readyz` and the admin statistics.
    pub pacing: Option<crate::pacing::Gate>,
    /// Bearer tokens for the admin API, with their roles.
    pub admin_tokens: admin::AdminTokens,
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// Sends test notifications and checks subscription URLs.
    pub notifier: crate::notifications::sender::Sender,
    /// Seals new subscription secrets and opens stored ones to sign test sends.
    pub sealer: crate::notifications::sealing::Sealer,
    /// Wakes the notification dispatcher (a redelivery was queued).
    pub notices: std::sync::Arc<tokio::sync::Notify>,
    /// How long a rotated-out subscription secret keeps signing.
    pub rotation_grace: std::time::Duration,
    /// Readiness as last checked in the background.
    pub health: crate::health::Health,
    /// SHA-256 of `metrics.token`, when `/metrics` needs it.
    pub metrics_token: Option<[u8; 32]>,
    /// The operator console's sessions settings, sign-in limits and kept overview.
    pub console: crate::console::Console,
}

/// Registers every route on an actix app.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::JsonConfig::default().error_handler(|e, _| error::extractor_error(e, StatusCode::BAD_REQUEST)))
        .app_data(web::QueryConfig::default().error_handler(|e, _| error::extractor_error(e, StatusCode::BAD_REQUEST)))
        .app_data(web::PathConfig::default().error_handler(|e, _| error::extractor_error(e, StatusCode::NOT_FOUND)))
        .service(resource("/healthz").route(web::get().to(health::healthz)))
        .service(resource("/readyz").route(web::get().to(health::readyz)))
        .service(resource("/metrics").route(web::get().to(health::metrics)))
        .service(resource("/api/webhooks/frontegg").route(web::post().to(webhooks::receive)))
        .service(resource("/api/webhooks/frontegg/events").route(web::get().to(webhooks::catalog)))
        .service(resource("/api/webhooks/frontegg/{alias}").route(web::post().to(webhooks::receive_alias)))
        .service(resource("/api/openapi.json").route(web::get().to(openapi::openapi_json)))
        .configure(admin::routes)
        .configure(crate::console::routes)
        .default_service(web::to(not_found));
}

/// The client's address, resolved through `trusted_proxies` as for the allow-list (a
/// `X-Forwarded-For` from anyone else is not believed).
pub(crate) fn client_ip(req: &HttpRequest, state: &AppState) -> Option<std::net::IpAddr> {
    let forwarded = webhooks::forwarded_for(req.headers());
    state
        .frontegg
        .client_address(req.peer_addr().map(|a| a.ip()), forwarded.as_deref())
}

/// A resource whose wrong methods answer 405 in the envelope.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound {
        method: req.method().to_string(),
        path: req.path().chars().take(200).collect(),
    })
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let allow = req
        .match_pattern()
        .and_then(|pattern| openapi::allowed_methods(&pattern))
        .unwrap_or_default();
    Err(ApiError::MethodNotAllowed {
        method: req.method().to_string(),
        allow,
    })
}

/// The request spans of `tracing_actix_web`, with two changes to its default.
///
/// - The client address is the one resolved through `trusted_proxies`, as for the allow-list:
///   the default believes `Forwarded`/`X-Forwarded-For` from anyone, so any client could write
///   the address logged for it (and the `Host` it claims is kept out for the same reason).
/// - An error line for server errors only. The default adds a line for every error answer,
///   client errors too: a second line for each refused delivery (already logged where it is
///   refused, at a bounded rate), so a flood of bad requests became a flood of log lines. Client
///   errors are counted in the metrics.
pub struct RequestSpans;

impl RootSpanBuilder for RequestSpans {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        let client = request.app_data::<web::Data<AppState>>().and_then(|state| {
            let forwarded = webhooks::forwarded_for(request.headers());
            state
                .frontegg
                .client_address(request.peer_addr().map(|a| a.ip()), forwarded.as_deref())
        });
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let user_agent = request
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let empty = tracing::field::Empty;
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %request.match_pattern().unwrap_or_else(|| "default".into()),
            http.target = %request.uri().path_and_query().map_or("", |p| p.as_str()),
            http.client_ip = %client.map(|ip| ip.to_string()).unwrap_or_default(),
            http.user_agent = %user_agent,
            http.status_code = empty,
            otel.kind = "server",
            otel.status_code = empty,
            request_id = %request_id,
            exception.message = empty,
            exception.details = empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: tracing::Span, outcome: &Result<ServiceResponse<B>, actix_web::Error>) {
        let server_error = match outcome {
            Ok(response) => response
                .response()
                .error()
                .filter(|_| response.status().is_server_error()),
            Err(error) => Some(error).filter(|e| e.as_response_error().status_code().is_server_error()),
        };
        if let Some(error) = server_error {
            tracing::error!("Error encountered while processing the incoming HTTP request: {error:?}");
        }
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
