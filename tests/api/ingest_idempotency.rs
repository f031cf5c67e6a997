//! Each delivery is stored exactly once, also when it arrives many times at once.

use tenantgate::verify::Scheme;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends! {
    async fn a_redelivery_is_answered_duplicate_with_the_same_event_id(backend) {
        let app = spawn_app(backend).await;
        let body = tenant_created_body("t-dup");
        let first: serde_json::Value = app.post_signed(Scheme::FronteggJwt, &body).await.json().await.unwrap();
        // A new JWT each time (Frontegg signs every send), same body: the body hash is the key.
        let second: serde_json::Value = app.post_signed(Scheme::FronteggJwt, &body).await.json().await.unwrap();
        assert_eq!(first["status"], "accepted");
        assert_eq!(second["status"], "duplicate");
        assert_eq!(first["event_id"], second["event_id"]);
        assert_eq!(app.events().await.len(), 1);
    }

    async fn fifty_concurrent_deliveries_store_one_row(backend) {
        let app = spawn_app(backend).await;
        let body = tenant_created_body("t-storm");
        let headers = sign(Scheme::StandardWebhooks, TEST_SECRET, &body, now(), "msg_storm");
        let sends = (0..50).map(|_| async {
            let response = app.post_raw("/api/webhooks/frontegg", &body, &headers).await;
            assert_eq!(response.status(), 200);
            let receipt: serde_json::Value = response.json().await.unwrap();
            receipt["status"].as_str().unwrap().to_owned()
        });
        let statuses = futures_util::future::join_all(sends).await;
        let accepted = statuses.iter().filter(|s| *s == "accepted").count();
        let duplicate = statuses.iter().filter(|s| *s == "duplicate").count();
        assert_eq!((accepted, duplicate), (1, 49));
        assert_eq!(app.events().await.len(), 1);
    }

    async fn the_same_key_with_another_body_is_409_and_the_row_is_unchanged(backend) {
        let app = spawn_app(backend).await;
        let original = tenant_created_body("t-original");
        let headers = sign(Scheme::StandardWebhooks, TEST_SECRET, &original, now(), "msg_reused");
        assert_eq!(app.post_raw("/api/webhooks/frontegg", &original, &headers).await.status(), 200);
        let before = app.events().await;

        let other = tenant_created_body("t-other");
        let headers = sign(Scheme::StandardWebhooks, TEST_SECRET, &other, now(), "msg_reused");
        let response = app.post_raw("/api/webhooks/frontegg", &other, &headers).await;
        assert_eq!(response.status(), 409);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "idempotency_conflict");

        let after = app.events().await;
        assert_eq!(after.len(), 1);
        assert_eq!((after[0].payload.as_str(), after[0].tenant_id.as_deref()), (before[0].payload.as_str(), Some("t-original")));
    }
}

/// Two batches in flight holding the same deliveries in opposite orders: each batch inserts in
/// key order, so neither waits for the other in a cycle (a deadlock would fail one of them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_batches_of_the_same_deliveries_in_opposite_orders_never_deadlock() {
    use tenantgate::inbox::{self, InsertOutcome, NewEvent};
    if postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    let database = TestDatabase::create(Backend::Postgres);
    let db = tenantgate::db::Database::connect(&database.url, 4, std::time::Duration::from_secs(5)).unwrap();
    let at = chrono::Utc::now().naive_utc();
    for round in 0..20 {
        let batch: Vec<NewEvent> = (0..50)
            .map(|i| NewEvent {
                source: "frontegg".into(),
                idempotency_key: format!("round-{round}-key-{i:03}"),
                body_sha256: "0".repeat(64),
                event_type: "tenant.created".into(),
                kind: "tenant_created".into(),
                tenant_id: Some(format!("t-{i}")),
                user_id: None,
                occurred_at: None,
                received_at: at,
                order_at: at,
                payload: "{}".into(),
                status: "pending".parse().unwrap(),
                next_attempt_at: at,
            })
            .collect();
        let reversed: Vec<NewEvent> = batch.iter().rev().cloned().collect();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let sides = [batch, reversed].map(|events| {
            let (db, barrier) = (db.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut conn = db.get().unwrap();
                barrier.wait();
                inbox::insert_batch(&mut conn, &events)
            })
        });
        let mut inserted = 0;
        for side in sides {
            let outcomes = side
                .join()
                .unwrap()
                .unwrap_or_else(|e| panic!("round {round}: a batch failed: {e}"));
            inserted += outcomes
                .iter()
                .filter(|o| matches!(o, InsertOutcome::Inserted { .. }))
                .count();
        }
        assert_eq!(inserted, 50, "round {round}: each delivery stored once");
    }
}
