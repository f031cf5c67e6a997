use crate::helpers::*;
use crate::on_both_backends;

on_both_backends! {
    async fn healthz_answers_ok(backend) {
        let app = spawn_app(backend).await;
        let response = app.get("/healthz").await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body, serde_json::json!({"status": "ok"}));
    }

    async fn readyz_names_the_backend_and_a_current_schema(backend) {
        let app = spawn_app(backend).await;
        let response = app.get("/readyz").await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        let expected = match backend { Backend::Sqlite => "sqlite", Backend::Postgres => "postgres" };
        assert_eq!(body["database"]["backend"], expected, "{body}");
        assert_eq!(body["migrations"]["pending"], serde_json::json!([]), "{body}");
    }

    async fn readyz_is_503_when_migrations_are_pending(backend) {
        let app = spawn_app_with(backend, |s| s.database.run_migrations = false).await;
        let response = app.get("/readyz").await;
        // The Postgres test database comes from a migrated template; SQLite starts empty.
        match backend {
            Backend::Sqlite => assert_eq!(response.status(), 503),
            Backend::Postgres => assert_eq!(response.status(), 200),
        }
    }

    async fn unknown_routes_and_wrong_methods_answer_in_the_json_envelope(backend) {
        let app = spawn_app(backend).await;
        let response = app.get("/nope").await;
        assert_eq!(response.status(), 404);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "not_found");
        assert!(body["message"].as_str().unwrap().contains("/nope"));

        let response = app.client.delete(format!("{}/healthz", app.address)).send().await.unwrap();
        assert_eq!(response.status(), 405);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "method_not_allowed");

        let response = app.get("/api/webhooks/frontegg").await;
        assert_eq!(response.status(), 405);
    }
}
