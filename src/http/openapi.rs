//! `GET /api/openapi.json`: the OpenAPI document, generated from the handlers' annotations.

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::HttpResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::admin::{deliveries, delivery_stats, events, reconcile, subscriptions, tenants, test_sends};
use super::{error, health, webhooks};

#[derive(OpenApi)]
#[openapi(
    info(title = "tenantgate", description = "Verified, durable identity-provider webhooks; one workspace per tenant."),
    paths(
        health::healthz,
        health::readyz,
        health::metrics,
        webhooks::receive,
        webhooks::receive_alias,
        webhooks::catalog,
        events::list,
        events::show,
        events::replay_one,
        events::replay_matching,
        tenants::list,
        tenants::show,
        tenants::stats,
        reconcile::list,
        reconcile::show,
        deliveries::catalog,
        subscriptions::create,
        subscriptions::list,
        subscriptions::show,
        subscriptions::update,
        subscriptions::delete,
        subscriptions::rotate,
        test_sends::subscription,
        test_sends::all,
        test_sends::url,
        deliveries::list,
        deliveries::redeliver,
        delivery_stats::all,
        delivery_stats::one,
        openapi_json,
    ),
    components(schemas(
        error::ErrorBody,
        crate::ingest::Receipt,
        crate::ingest::ReceiptStatus,
        crate::db::status::EventStatus,
        crate::db::status::MappingStatus,
        crate::events::EventKind,
        webhooks::Alias
    )),
    modifiers(&SecuritySchemes),
    tags((name = "webhooks", description = "Signed deliveries from Frontegg"),
         (name = "admin", description = "Operators: events, replays, tenants (bearer token)"),
         (name = "notifications", description = "Operators: subscriptions to tenantgate's own signed webhooks, test sends, delivery logs and statistics (bearer token)"),
         (name = "ops", description = "Health, readiness, metrics"))
)]
pub struct ApiDoc;

/// The ways a request proves who sent it: an admin token, the metrics token, or a webhook
/// signature (any one of the three schemes, as configured).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An admin token (admin.tokens). The role an operation needs is listed with it: `viewer` (any \
                         token: reads) or `operator` (actions). A viewer's token on an operator's route answers 403.",
                    ))
                    .build(),
            ),
        );
        let header = |name: &str, description: &str| {
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(name, description)))
        };
        components.add_security_scheme(
            "frontegg_jwt",
            header(
                "x-webhook-secret",
                "frontegg-jwt: a JWT signed (HS256/384/512) with the source's shared secret; `iat` within \
                 sources.frontegg.jwt_max_age_secs. The header name is sources.frontegg.jwt_header.",
            ),
        );
        components.add_security_scheme(
            "hmac_sha256",
            header(
                "x-webhook-signature",
                "hmac-sha256: the hex HMAC-SHA256 of the raw body, optionally prefixed `sha256=`. The header name is \
                 sources.frontegg.hmac_header.",
            ),
        );
        components.add_security_scheme(
            "standard_webhooks",
            header(
                "webhook-signature",
                "standard-webhooks: `v1,<base64>` signatures of `{webhook-id}.{webhook-timestamp}.{body}`, with the \
                 webhook-id and webhook-timestamp headers (±timestamp_tolerance_secs).",
            ),
        );
        components.add_security_scheme(
            "metrics_bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("metrics.token, when it is set; /metrics is open otherwise."))
                    .build(),
            ),
        );
    }
}

/// The methods the document lists for a route pattern (e.g. `/api/admin/events/{id}`), for the
/// `Allow` header of a 405: the document is the one list of what each route answers, and a test
/// holds it to the routes registered.
pub fn allowed_methods(pattern: &str) -> Option<String> {
    static ALLOWED: OnceLock<HashMap<String, String>> = OnceLock::new();
    let allowed = ALLOWED.get_or_init(|| {
        ApiDoc::openapi()
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", &item.get),
                    ("POST", &item.post),
                    ("PUT", &item.put),
                    ("PATCH", &item.patch),
                    ("DELETE", &item.delete),
                ];
                let listed: Vec<&str> = methods
                    .iter()
                    .filter(|(_, operation)| operation.is_some())
                    .map(|(method, _)| *method)
                    .collect();
                (path.clone(), listed.join(", "))
            })
            .collect()
    });
    allowed.get(pattern).cloned()
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "ops", responses((status = 200, description = "OpenAPI 3.1 document", body = Object)), security(()))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn enum_of(schema: &str) -> Vec<String> {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let values = doc["components"]["schemas"][schema]["enum"].as_array().unwrap().clone();
        values.into_iter().map(|v| v.as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn the_documented_enums_are_the_values_the_routes_accept() {
        assert_eq!(enum_of("EventStatus"), crate::db::status::EventStatus::TEXTS);
        assert_eq!(enum_of("MappingStatus"), crate::db::status::MappingStatus::TEXTS);
        let kinds: Vec<&str> = crate::events::EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(enum_of("EventKind"), kinds);
        let aliases: Vec<&str> = crate::events::EventKind::ALL.iter().filter_map(|k| k.alias()).collect();
        assert_eq!(enum_of("Alias"), aliases);
    }

    #[test]
    fn a_405_names_the_methods_the_document_lists() {
        assert_eq!(allowed_methods("/api/admin/events").as_deref(), Some("GET"));
        assert_eq!(
            allowed_methods("/api/admin/notifications/subscriptions/{id}").as_deref(),
            Some("GET, PATCH, DELETE")
        );
        assert_eq!(allowed_methods("/nowhere"), None);
    }
}
