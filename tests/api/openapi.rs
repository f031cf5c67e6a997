//! `/api/openapi.json` parses as OpenAPI and documents every route the app serves.

use crate::helpers::*;

/// Every route, as (method, documented path, a concrete path to call).
const ROUTES: [(&str, &str, &str); 30] = [
    ("get", "/healthz", "/healthz"),
    ("get", "/readyz", "/readyz"),
    ("get", "/metrics", "/metrics"),
    ("get", "/api/openapi.json", "/api/openapi.json"),
    ("post", "/api/webhooks/frontegg", "/api/webhooks/frontegg"),
    (
        "post",
        "/api/webhooks/frontegg/{alias}",
        "/api/webhooks/frontegg/tenant-created",
    ),
    ("get", "/api/webhooks/frontegg/events", "/api/webhooks/frontegg/events"),
    ("get", "/api/admin/events", "/api/admin/events"),
    ("get", "/api/admin/events/{id}", "/api/admin/events/1"),
    ("post", "/api/admin/events/{id}/replay", "/api/admin/events/1/replay"),
    ("post", "/api/admin/events/replay", "/api/admin/events/replay"),
    ("get", "/api/admin/tenants", "/api/admin/tenants"),
    ("get", "/api/admin/tenants/{tenant_id}", "/api/admin/tenants/t1"),
    ("get", "/api/admin/reconcile/runs", "/api/admin/reconcile/runs"),
    ("get", "/api/admin/reconcile/runs/{id}", "/api/admin/reconcile/runs/1"),
    ("get", "/api/admin/stats", "/api/admin/stats"),
    (
        "get",
        "/api/admin/notifications/events",
        "/api/admin/notifications/events",
    ),
    (
        "get",
        "/api/admin/notifications/subscriptions",
        "/api/admin/notifications/subscriptions",
    ),
    (
        "post",
        "/api/admin/notifications/subscriptions",
        "/api/admin/notifications/subscriptions",
    ),
    (
        "get",
        "/api/admin/notifications/subscriptions/{id}",
        "/api/admin/notifications/subscriptions/sub_1",
    ),
    (
        "patch",
        "/api/admin/notifications/subscriptions/{id}",
        "/api/admin/notifications/subscriptions/sub_1",
    ),
    (
        "delete",
        "/api/admin/notifications/subscriptions/{id}",
        "/api/admin/notifications/subscriptions/sub_1",
    ),
    (
        "post",
        "/api/admin/notifications/subscriptions/{id}/rotate-secret",
        "/api/admin/notifications/subscriptions/sub_1/rotate-secret",
    ),
    (
        "post",
        "/api/admin/notifications/subscriptions/{id}/test",
        "/api/admin/notifications/subscriptions/sub_1/test",
    ),
    (
        "get",
        "/api/admin/notifications/subscriptions/{id}/deliveries",
        "/api/admin/notifications/subscriptions/sub_1/deliveries",
    ),
    (
        "post",
        "/api/admin/notifications/deliveries/{id}/redeliver",
        "/api/admin/notifications/deliveries/1/redeliver",
    ),
    (
        "post",
        "/api/admin/notifications/subscriptions/test",
        "/api/admin/notifications/subscriptions/test",
    ),
    ("post", "/api/admin/notifications/test", "/api/admin/notifications/test"),
    (
        "get",
        "/api/admin/notifications/stats",
        "/api/admin/notifications/stats",
    ),
    (
        "get",
        "/api/admin/notifications/subscriptions/{id}/stats",
        "/api/admin/notifications/subscriptions/sub_1/stats",
    ),
];

#[tokio::test]
async fn the_openapi_document_parses_and_lists_every_route_the_app_serves() {
    let app = spawn_app(Backend::Sqlite).await;
    let text = app.get("/api/openapi.json").await.text().await.unwrap();
    let spec = oas3::from_json(&text).expect("a valid OpenAPI document");
    let paths = spec.paths.clone().unwrap_or_default();
    for (method, documented, concrete) in ROUTES {
        // The app really serves it: anything but the router's own 404/405.
        let response = app
            .client
            .request(
                method.to_uppercase().parse().unwrap(),
                format!("{}{concrete}", app.address),
            )
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let unrouted = (status == 404 && body["message"].as_str().is_some_and(|m| m.starts_with("no route")))
            || (status == 405 && body["error"] == "method_not_allowed");
        assert!(!unrouted, "{method} {concrete} is not served ({status} {body})");

        let item = paths
            .get(documented)
            .unwrap_or_else(|| panic!("{documented} is not documented"));
        let operation = match method {
            "get" => item.get.as_ref(),
            "post" => item.post.as_ref(),
            "patch" => item.patch.as_ref(),
            "delete" => item.delete.as_ref(),
            _ => None,
        };
        assert!(operation.is_some(), "{method} {documented} is not documented");
    }
    assert_eq!(
        paths.len(),
        ROUTES
            .iter()
            .map(|r| r.1)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        "undocumented extras or missing routes"
    );
}

/// A viewer's token on an operator's route answers 403, and every token on a route whose role it
/// has is let through: what the document says each route needs is what the route checks.
#[tokio::test]
async fn every_admin_route_lets_in_exactly_the_roles_its_document_names() {
    const OPERATOR: &str = "test-operator-token-0123456789abcdef";
    const VIEWER: &str = "test-viewer-token-0123456789abcdefgh";
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.admin.tokens = vec![
            OPERATOR.to_owned().into(),
            tenantgate::config::admin::TokenEntry::WithRole {
                token: VIEWER.to_owned().into(),
                role: tenantgate::config::Role::Viewer,
            },
        ]
    })
    .await;
    let spec: serde_json::Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let mut operator_routes = 0;
    for (method, documented, concrete) in ROUTES {
        let security = &spec["paths"][documented][method]["security"];
        let Some(role) = security[0]["bearer"][0].as_str() else {
            continue;
        };
        assert!(
            ["viewer", "operator"].contains(&role),
            "{method} {documented}: {security}"
        );
        let call = |token: &'static str| {
            app.client
                .request(
                    method.to_uppercase().parse().unwrap(),
                    format!("{}{concrete}", app.address),
                )
                .bearer_auth(token)
                .json(&serde_json::json!({"status": "dead"}))
                .send()
        };
        let as_operator = call(OPERATOR).await.unwrap().status().as_u16();
        assert!(
            ![401, 403].contains(&as_operator),
            "{method} {documented} refused an operator"
        );
        let as_viewer = call(VIEWER).await.unwrap();
        let status = as_viewer.status().as_u16();
        if role == "operator" {
            operator_routes += 1;
            let body: serde_json::Value = as_viewer.json().await.unwrap();
            assert_eq!(
                (status, body["error"].as_str()),
                (403, Some("forbidden")),
                "{method} {documented}"
            );
            let responses = &spec["paths"][documented][method]["responses"];
            assert!(
                responses.get("403").is_some(),
                "{method} {documented} does not document its 403"
            );
        } else {
            assert!(![401, 403].contains(&status), "{method} {documented} refused a viewer");
        }
    }
    assert_eq!(
        operator_routes, 10,
        "replay one, replay by filter, five subscription actions, redeliver, test every subscriber, test a URL"
    );
}
