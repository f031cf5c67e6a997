//! Every route, driven with requests its OpenAPI entry calls valid (and the usual ways such a
//! request fails: no token, a viewer's token on an action, an id that does not exist, a bad
//! signature…): each answer's status is declared for that operation, and its JSON body
//! validates against the schema declared for that status. A method a route does not allow gets
//! 405 with an `Allow` header naming the document's methods.

use serde_json::{json, Value};
use tenantgate::verify::Scheme;

use crate::helpers::*;

const OPERATOR: &str = "test-operator-token-0123456789abcdef";
const VIEWER: &str = "test-viewer-token-0123456789abcdefgh";

/// One request, as the document names its operation.
struct Call {
    method: &'static str,
    documented: &'static str,
    concrete: String,
    token: Option<&'static str>,
    body: Option<Vec<u8>>,
    headers: Vec<(String, String)>,
}

impl Call {
    fn new(method: &'static str, documented: &'static str, concrete: impl Into<String>) -> Self {
        Self {
            method,
            documented,
            concrete: concrete.into(),
            token: None,
            body: None,
            headers: vec![("content-type".into(), "application/json".into())],
        }
    }

    fn admin(method: &'static str, documented: &'static str, concrete: impl Into<String>, token: &'static str) -> Self {
        Self {
            token: Some(token),
            ..Self::new(method, documented, concrete)
        }
    }

    fn json(mut self, body: Value) -> Self {
        self.body = Some(body.to_string().into_bytes());
        self
    }

    fn signed(mut self, scheme: Scheme, body: &[u8]) -> Self {
        self.headers
            .extend(sign(scheme, TEST_SECRET, body, now(), &unique_id()));
        self.body = Some(body.to_vec());
        self
    }
}

/// Sends `call` and checks its answer against the document; returns the status and body.
async fn check(app: &TestApp, doc: &Value, call: Call) -> (u16, Value) {
    let operation = &doc["paths"][call.documented][call.method];
    assert!(
        operation.is_object(),
        "{} {} is not documented",
        call.method,
        call.documented
    );
    let mut request = app.client.request(
        call.method.to_uppercase().parse().unwrap(),
        format!("{}{}", app.address, call.concrete),
    );
    for (name, value) in &call.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(token) = call.token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = call.body {
        request = request.body(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let is_json = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let text = response.text().await.unwrap();
    let declared = &operation["responses"][status.to_string()];
    let what = format!("{} {} → {status} {text}", call.method, call.concrete);
    assert!(declared.is_object(), "undeclared answer: {what}");
    let schema = &declared["content"]["application/json"]["schema"];
    let body: Value = if is_json {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {what}"))
    } else {
        Value::Null
    };
    if schema.is_object() {
        assert!(is_json, "the document declares a JSON body: {what}");
        let root = json!({ "components": doc["components"], "allOf": [schema] });
        let validator = jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("schema of {what}: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "body does not match the declared schema: {what}\n{}",
            errors.join("\n")
        );
    } else {
        assert!(
            !is_json || text.is_empty(),
            "a JSON body where the document declares none: {what}"
        );
    }
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_of_every_route_is_declared_with_its_body() {
    let receiver = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.admin.tokens = vec![
            OPERATOR.to_owned().into(),
            tenantgate::config::admin::TokenEntry::WithRole {
                token: VIEWER.to_owned().into(),
                role: tenantgate::config::Role::Viewer,
            },
        ];
        s.sources.frontegg.body_limit_bytes = 4096;
    })
    .await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();

    // Public routes.
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/openapi.json",
        "/api/webhooks/frontegg/events",
    ] {
        assert_eq!(check(&app, &doc, Call::new("get", path, path)).await.0, 200, "{path}");
    }

    // Webhooks: accepted, duplicate, and each way a delivery is refused.
    let created = tenant_created_body("t-doc");
    let hook = || Call::new("post", "/api/webhooks/frontegg", "/api/webhooks/frontegg");
    let (_, receipt) = check(&app, &doc, hook().signed(Scheme::HmacSha256, &created)).await;
    let event_id = receipt["event_id"].as_i64().unwrap();
    assert_eq!(
        check(&app, &doc, hook().signed(Scheme::HmacSha256, &created)).await.0,
        200
    );
    let mut unsigned = hook();
    unsigned.body = Some(created.clone());
    assert_eq!(check(&app, &doc, unsigned).await.0, 401);
    let mut wrong = hook();
    wrong
        .headers
        .extend(sign(Scheme::HmacSha256, "test-secret-wrong", &created, now(), "m"));
    wrong.body = Some(created.clone());
    assert_eq!(check(&app, &doc, wrong).await.0, 401);
    assert_eq!(
        check(&app, &doc, hook().signed(Scheme::HmacSha256, b"{not json"))
            .await
            .0,
        400
    );
    let missing = json!({"eventKey": "frontegg.tenant.created"}).to_string().into_bytes();
    assert_eq!(
        check(&app, &doc, hook().signed(Scheme::HmacSha256, &missing)).await.0,
        422
    );
    let future = json!({"eventType": "tenant.deleted", "tenantId": "t", "timestamp": "9999-01-01T00:00:00Z"});
    assert_eq!(
        check(
            &app,
            &doc,
            hook().signed(Scheme::HmacSha256, future.to_string().as_bytes())
        )
        .await
        .0,
        422
    );
    let big = json!({"eventType": "tenant.created", "tenantId": "t", "pad": "x".repeat(5000)}).to_string();
    assert_eq!(
        check(&app, &doc, hook().signed(Scheme::HmacSha256, big.as_bytes()))
            .await
            .0,
        413
    );
    let mut text = hook().signed(Scheme::HmacSha256, &created);
    text.headers[0].1 = "text/plain".into();
    assert_eq!(check(&app, &doc, text).await.0, 415);
    let standard = |body: &[u8]| {
        let mut call = hook();
        call.headers.extend(sign(
            Scheme::StandardWebhooks,
            TEST_SECRET,
            body,
            now(),
            "msg_doc_conflict",
        ));
        call.body = Some(body.to_vec());
        call
    };
    assert_eq!(check(&app, &doc, standard(&tenant_created_body("t-a"))).await.0, 200);
    assert_eq!(check(&app, &doc, standard(&tenant_created_body("t-b"))).await.0, 409);
    let alias = |alias: &str| {
        Call::new(
            "post",
            "/api/webhooks/frontegg/{alias}",
            format!("/api/webhooks/frontegg/{alias}"),
        )
    };
    assert_eq!(
        check(
            &app,
            &doc,
            alias("tenant-created").signed(Scheme::HmacSha256, &tenant_created_body("t-alias"))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        check(
            &app,
            &doc,
            alias("tenant-deleted").signed(Scheme::HmacSha256, &tenant_created_body("t-x"))
        )
        .await
        .0,
        422
    );
    assert_eq!(
        check(&app, &doc, alias("tenant-renamed").signed(Scheme::HmacSha256, &created))
            .await
            .0,
        404
    );

    // Events.
    let events = "/api/admin/events";
    assert_eq!(
        check(&app, &doc, Call::admin("get", events, events, VIEWER)).await.0,
        200
    );
    let filtered = format!("{events}?status=pending&kind=tenant_created&tenant_id=t-doc&since=2020-01-01T00:00:00Z&until=2999-01-01T00:00:00Z&limit=500&cursor=999999");
    assert_eq!(
        check(&app, &doc, Call::admin("get", events, filtered, VIEWER)).await.0,
        200
    );
    assert_eq!(check(&app, &doc, Call::new("get", events, events)).await.0, 401);
    assert_eq!(
        check(
            &app,
            &doc,
            Call::admin("get", events, events, "test-token-that-is-not-configured-0123")
        )
        .await
        .0,
        401
    );
    let one = "/api/admin/events/{id}";
    assert_eq!(
        check(
            &app,
            &doc,
            Call::admin("get", one, format!("{events}/{event_id}"), VIEWER)
        )
        .await
        .0,
        200
    );
    assert_eq!(
        check(&app, &doc, Call::admin("get", one, format!("{events}/987654"), VIEWER))
            .await
            .0,
        404
    );
    let replay = "/api/admin/events/{id}/replay";
    let replay_of = |id: i64, token| Call::admin("post", replay, format!("{events}/{id}/replay"), token);
    assert_eq!(check(&app, &doc, replay_of(event_id, VIEWER)).await.0, 403);
    assert_eq!(
        check(&app, &doc, replay_of(event_id, OPERATOR)).await.0,
        409,
        "pending: not finished"
    );
    assert_eq!(check(&app, &doc, replay_of(987654, OPERATOR)).await.0, 404);
    app.force_status(event_id, "dead").await;
    assert_eq!(check(&app, &doc, replay_of(event_id, OPERATOR)).await.0, 200);
    let by_filter = |token| Call::admin("post", "/api/admin/events/replay", "/api/admin/events/replay", token);
    assert_eq!(check(&app, &doc, by_filter(OPERATOR).json(json!({}))).await.0, 422);
    assert_eq!(
        check(
            &app,
            &doc,
            by_filter(OPERATOR).json(json!({"status": "dead", "kind": "tenant_created"}))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        check(&app, &doc, by_filter(OPERATOR).json(json!({"all": true})))
            .await
            .0,
        200
    );
    assert_eq!(
        check(&app, &doc, by_filter(VIEWER).json(json!({"status": "dead"})))
            .await
            .0,
        403
    );

    // Tenants and statistics.
    let tenants = "/api/admin/tenants";
    assert_eq!(
        check(
            &app,
            &doc,
            Call::admin(
                "get",
                tenants,
                format!("{tenants}?status=provisioning&limit=10"),
                VIEWER
            )
        )
        .await
        .0,
        200
    );
    let tenant = "/api/admin/tenants/{tenant_id}";
    assert_eq!(
        check(
            &app,
            &doc,
            Call::admin("get", tenant, format!("{tenants}/t-doc"), VIEWER)
        )
        .await
        .0,
        200
    );
    assert_eq!(
        check(
            &app,
            &doc,
            Call::admin("get", tenant, format!("{tenants}/nobody"), VIEWER)
        )
        .await
        .0,
        404
    );
    assert_eq!(
        check(
            &app,
            &doc,
            Call::admin("get", "/api/admin/stats", "/api/admin/stats", VIEWER)
        )
        .await
        .0,
        200
    );

    // Notifications.
    let catalog = "/api/admin/notifications/events";
    assert_eq!(
        check(&app, &doc, Call::admin("get", catalog, catalog, VIEWER)).await.0,
        200
    );
    let subscriptions = "/api/admin/notifications/subscriptions";
    let create = |body: Value, token| Call::admin("post", subscriptions, subscriptions, token).json(body);
    let url = format!("{}/hooks", receiver.uri());
    let (status, created_sub) = check(
        &app,
        &doc,
        create(json!({"url": url, "event_types": ["workspace.provisioned"]}), OPERATOR),
    )
    .await;
    assert_eq!(status, 201);
    let sub = created_sub["id"].as_str().unwrap().to_owned();
    assert_eq!(
        check(
            &app,
            &doc,
            create(json!({"url": "https://nowhere.invalid/x"}), OPERATOR)
        )
        .await
        .0,
        422
    );
    assert_eq!(
        check(
            &app,
            &doc,
            create(json!({"url": url, "event_types": ["no.such.type"]}), OPERATOR)
        )
        .await
        .0,
        422
    );
    assert_eq!(check(&app, &doc, create(json!({"url": url}), VIEWER)).await.0, 403);
    assert_eq!(
        check(&app, &doc, Call::admin("get", subscriptions, subscriptions, VIEWER))
            .await
            .0,
        200
    );
    let one = "/api/admin/notifications/subscriptions/{id}";
    let at = |id: &str| format!("{subscriptions}/{id}");
    assert_eq!(
        check(&app, &doc, Call::admin("get", one, at(&sub), VIEWER)).await.0,
        200
    );
    assert_eq!(
        check(&app, &doc, Call::admin("get", one, at("sub_none"), VIEWER))
            .await
            .0,
        404
    );
    let patch = |id: &str, body: Value| Call::admin("patch", one, at(id), OPERATOR).json(body);
    assert_eq!(
        check(&app, &doc, patch(&sub, json!({"description": "doc", "active": false})))
            .await
            .0,
        200
    );
    assert_eq!(
        check(&app, &doc, patch(&sub, json!({"url": "https://nowhere.invalid/y"})))
            .await
            .0,
        422
    );
    assert_eq!(
        check(&app, &doc, patch("sub_none", json!({"active": true}))).await.0,
        404
    );
    let rotate = "/api/admin/notifications/subscriptions/{id}/rotate-secret";
    assert_eq!(
        check(
            &app,
            &doc,
            Call::admin("post", rotate, format!("{}/rotate-secret", at(&sub)), OPERATOR)
        )
        .await
        .0,
        200
    );
    assert_eq!(
        check(
            &app,
            &doc,
            Call::admin("post", rotate, format!("{}/rotate-secret", at("sub_none")), OPERATOR)
        )
        .await
        .0,
        404
    );
    let test = "/api/admin/notifications/subscriptions/{id}/test";
    assert_eq!(
        check(
            &app,
            &doc,
            Call::admin("post", test, format!("{}/test", at(&sub)), OPERATOR)
        )
        .await
        .0,
        200
    );
    let log = "/api/admin/notifications/subscriptions/{id}/deliveries";
    assert_eq!(
        check(
            &app,
            &doc,
            Call::admin("get", log, format!("{}/deliveries?limit=5", at(&sub)), VIEWER)
        )
        .await
        .0,
        200
    );
    assert_eq!(
        check(
            &app,
            &doc,
            Call::admin("get", log, format!("{}/deliveries", at("sub_none")), VIEWER)
        )
        .await
        .0,
        404
    );
    let any_url = "/api/admin/notifications/test";
    assert_eq!(
        check(
            &app,
            &doc,
            Call::admin("post", any_url, any_url, OPERATOR).json(json!({"url": url}))
        )
        .await
        .0,
        200
    );
    let nowhere = json!({"url": "https://nowhere.invalid/x"});
    assert_eq!(
        check(
            &app,
            &doc,
            Call::admin("post", any_url, any_url, OPERATOR).json(nowhere)
        )
        .await
        .0,
        422
    );
    assert_eq!(
        check(
            &app,
            &doc,
            Call::admin("post", any_url, any_url, VIEWER).json(json!({"url": url}))
        )
        .await
        .0,
        403
    );
    let every = "/api/admin/notifications/subscriptions/test";
    assert_eq!(
        check(&app, &doc, Call::admin("post", every, every, OPERATOR)).await.0,
        200
    );
    let stats = "/api/admin/notifications/stats";
    assert_eq!(
        check(
            &app,
            &doc,
            Call::admin("get", stats, format!("{stats}?window_secs=3600"), VIEWER)
        )
        .await
        .0,
        200
    );
    let sub_stats = "/api/admin/notifications/subscriptions/{id}/stats";
    assert_eq!(
        check(
            &app,
            &doc,
            Call::admin("get", sub_stats, format!("{}/stats", at(&sub)), VIEWER)
        )
        .await
        .0,
        200
    );
    assert_eq!(
        check(
            &app,
            &doc,
            Call::admin("get", sub_stats, format!("{}/stats", at("sub_none")), VIEWER)
        )
        .await
        .0,
        404
    );
    let redeliver = "/api/admin/notifications/deliveries/{id}/redeliver";
    assert_eq!(
        check(
            &app,
            &doc,
            Call::admin(
                "post",
                redeliver,
                "/api/admin/notifications/deliveries/424242/redeliver",
                OPERATOR
            )
        )
        .await
        .0,
        404
    );
    assert_eq!(
        check(&app, &doc, Call::admin("delete", one, at(&sub), OPERATOR))
            .await
            .0,
        204
    );
    assert_eq!(
        check(&app, &doc, Call::admin("delete", one, at(&sub), OPERATOR))
            .await
            .0,
        404
    );
}

/// Each documented path answers a method it does not allow with 405, an `Allow` header naming
/// the methods the document lists for it, and the error envelope.
#[tokio::test]
async fn a_method_a_route_does_not_allow_gets_405_with_the_documents_methods_in_allow() {
    let app = spawn_app(Backend::Sqlite).await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() > 20);
    for (path, item) in paths {
        let concrete = path
            .replace("{alias}", "tenant-created")
            .replace("{tenant_id}", "t1")
            .replace("{id}", "1");
        let listed: Vec<String> = ["get", "post", "put", "patch", "delete"]
            .into_iter()
            .filter(|m| item.get(*m).is_some())
            .map(str::to_uppercase)
            .collect();
        let response = app
            .client
            .request(reqwest::Method::PUT, format!("{}{concrete}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "PUT {concrete}");
        let allow = response.headers().get("allow").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(allow.as_deref(), Some(listed.join(", ").as_str()), "PUT {concrete}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "method_not_allowed", "PUT {concrete}");
    }
}

/// A redelivery, with the workers on so that a real delivery exists and finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_answers_what_the_document_declares() {
    let receiver = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.admin.tokens = vec![OPERATOR.to_owned().into()];
        s.worker.enabled = true;
    })
    .await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let subscriptions = "/api/admin/notifications/subscriptions";
    let create = Call::admin("post", subscriptions, subscriptions, OPERATOR)
        .json(json!({"url": format!("{}/hooks", receiver.uri())}));
    let (_, created) = check(&app, &doc, create).await;
    let sub = created["id"].as_str().unwrap().to_owned();
    app.deliver(&json!({"eventType": "tenant.created", "tenantId": "t-redeliver", "tenantName": "R"}))
        .await;
    let log = format!("{subscriptions}/{sub}/deliveries");
    let delivery = eventually(std::time::Duration::from_secs(20), || async {
        let (_, page) = check(
            &app,
            &doc,
            Call::admin(
                "get",
                "/api/admin/notifications/subscriptions/{id}/deliveries",
                log.clone(),
                OPERATOR,
            ),
        )
        .await;
        let first = page["deliveries"].get(0).cloned()?;
        (first["status"] == "succeeded").then(|| first["id"].as_i64().unwrap())
    })
    .await
    .expect("the notification was delivered");
    let redeliver = "/api/admin/notifications/deliveries/{id}/redeliver";
    let path = format!("/api/admin/notifications/deliveries/{delivery}/redeliver");
    assert_eq!(
        check(&app, &doc, Call::admin("post", redeliver, path.clone(), OPERATOR))
            .await
            .0,
        200
    );
    let (status, _) = check(&app, &doc, Call::admin("post", redeliver, path, OPERATOR)).await;
    assert!([200, 409].contains(&status), "queued again, or still waiting: {status}");
}
