//! With the database unreachable a delivery gets 503, never a 2xx; once it is back, the same
//! delivery is accepted.

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use secrecy::ExposeSecret;
use tenantgate::verify::Scheme;

use crate::helpers::*;
use crate::proxy::CuttableProxy;

async fn assert_unavailable(response: reqwest::Response) {
    assert_eq!(response.status(), 503);
    assert!(
        response.headers().contains_key("retry-after"),
        "503 without Retry-After"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "database_unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_unreachable_answers_503_then_accepts_the_same_delivery() {
    let Some(admin_url) = postgres_url() else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let server = server_of(&admin_url);
    let target = tokio::net::lookup_host(&server).await.unwrap().next().unwrap();
    let proxy = CuttableProxy::start(target).await;
    let app = spawn_app_with(Backend::Postgres, |s| {
        let url = s
            .database
            .url
            .expose_secret()
            .replace(&server, &format!("127.0.0.1:{}", proxy.port));
        s.database.url = url.into();
    })
    .await;
    assert_eq!(
        app.post_signed(Scheme::HmacSha256, &tenant_created_body("t-before"))
            .await
            .status(),
        200
    );

    proxy.cut().await;
    let body = tenant_created_body("t-during");
    assert_unavailable(app.post_signed(Scheme::HmacSha256, &body).await).await;

    proxy.restore().await;
    let response = app.post_signed(Scheme::HmacSha256, &body).await;
    assert_eq!(response.status(), 200);
    let receipt: serde_json::Value = response.json().await.unwrap();
    assert_eq!(receipt["status"], "accepted");
    assert_eq!(app.events().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_locked_past_its_busy_timeout_answers_503_then_accepts_the_same_delivery() {
    let app = spawn_app(Backend::Sqlite).await;
    let path = app.database_url.trim_start_matches("sqlite://").to_owned();
    let mut holder = SqliteConnection::establish(&path).unwrap();
    holder.batch_execute("BEGIN EXCLUSIVE").unwrap();

    let body = tenant_created_body("t-locked");
    assert_unavailable(app.post_signed(Scheme::HmacSha256, &body).await).await;

    holder.batch_execute("COMMIT").unwrap();
    let response = app.post_signed(Scheme::HmacSha256, &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.events().await.len(), 1);
}
