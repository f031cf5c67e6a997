//! `/api/openapi.json` parses as OpenAPI and documents every route the app serves.

use crate::helpers::*;

/// Every route, as (method, documented path, a concrete path to call).
const ROUTES: [(&str, &str, &str); 24] = [
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
