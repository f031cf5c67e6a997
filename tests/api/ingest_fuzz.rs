//! Random bytes, random JSON and random headers never make the endpoint panic or answer 5xx.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tenantgate::events::EventKind;

use crate::helpers::*;

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        ".{0,40}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(".{0,12}", inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Objects that look like events: a known or random event name, and random fields where ids go.
fn event_like() -> impl Strategy<Value = serde_json::Value> {
    let names: Vec<String> = EventKind::ALL
        .iter()
        .flat_map(|k| k.event_names().map(str::to_owned))
        .collect();
    let name = prop_oneof![
        prop::sample::select(names).prop_map(serde_json::Value::from),
        json_value()
    ];
    (name, json_value(), json_value(), json_value(), any::<bool>()).prop_map(|(name, context, entity, ts, flat)| {
        if flat {
            serde_json::json!({"eventType": name, "tenantId": context, "userId": entity, "timestamp": ts})
        } else {
            serde_json::json!({"eventKey": name, "eventContext": context, "user": entity, "timestamp": ts})
        }
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        event_like().prop_map(|v| v.to_string().into_bytes()),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        Just("x-webhook-secret".to_owned()),
        Just("x-webhook-signature".to_owned()),
        Just("webhook-id".to_owned()),
        Just("webhook-timestamp".to_owned()),
        Just("webhook-signature".to_owned()),
        Just("x-forwarded-for".to_owned()),
        "x-[a-z]{1,10}",
    ];
    prop::collection::vec((name, "[ -~]{0,120}"), 0..6)
}

#[test]
fn random_bodies_and_headers_never_panic_or_answer_5xx() {
    let mut backends = vec![Backend::Sqlite];
    if postgres_url().is_some() {
        backends.push(Backend::Postgres);
    }
    for backend in backends {
        fuzz(backend);
    }
}

fn fuzz(backend: Backend) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let verified = rt.block_on(spawn_app(backend));
    // Without verification random JSON reaches normalization and the inbox.
    let open = rt.block_on(spawn_app_with(backend, |s| {
        s.sources.frontegg.insecure_skip_verification = true
    }));
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(body(), headers(), any::<bool>()), |(body, headers, use_open)| {
            let app = if use_open { &open } else { &verified };
            let status = rt
                .block_on(app.post_raw("/api/webhooks/frontegg", &body, &headers))
                .status();
            prop_assert!(
                status.is_success() || status.is_client_error(),
                "{backend:?} answered {status}"
            );
            Ok(())
        })
        .unwrap();
    // Both servers still answer.
    for app in [&verified, &open] {
        assert_eq!(rt.block_on(app.get("/healthz")).status(), 200);
    }
}
