//! `GET /api/openapi.json`: the OpenAPI document, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::admin::{deliveries, delivery_stats, events, subscriptions, tenants, test_sends};
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
    components(schemas(error::ErrorBody, crate::ingest::Receipt, crate::ingest::ReceiptStatus)),
    modifiers(&BearerAuth),
    tags((name = "webhooks", description = "Signed deliveries from Frontegg"),
         (name = "admin", description = "Operators: events, replays, tenants (bearer token)"),
         (name = "notifications", description = "Operators: subscriptions to tenantgate's own signed webhooks, test sends, delivery logs and statistics (bearer token)"),
         (name = "ops", description = "Health, readiness, metrics"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
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

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "ops", responses((status = 200, description = "OpenAPI 3 document")))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
