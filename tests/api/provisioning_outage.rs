//! Workers ride out a database outage: an event whose outcome could not be written while the
//! database was away is written once it is back, not left to wait for its lease to expire.

use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use tenantgate::config::ProviderKind;
use tenantgate::inbox::claims;

use crate::fake_airbyte::{Failure, FakeAirbyte};
use crate::helpers::*;
use crate::proxy::CuttableProxy;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outcome_that_meets_a_database_outage_is_written_when_it_is_back_not_after_the_lease() {
    let Some(admin_url) = postgres_url() else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let server = server_of(&admin_url);
    let target = tokio::net::lookup_host(&server).await.unwrap().next().unwrap();
    let proxy = CuttableProxy::start(target).await;
    let fake = FakeAirbyte::start().await;
    // The workspace is created at once, but its answer comes only after the database is cut.
    fake.fail_next("create_workspace", Failure::Hang(Duration::from_millis(700)));
    let app = spawn_app_with(Backend::Postgres, |s| {
        let url = s
            .database
            .url
            .expose_secret()
            .replace(&server, &format!("127.0.0.1:{}", proxy.port));
        s.database.url = url.into();
        s.database.connect_timeout_secs = 1;
        s.worker.enabled = true;
        s.worker.lease_secs = 60.0;
        s.provider.kind = ProviderKind::Airbyte;
        s.provider.airbyte.base_url = fake.base_url();
        s.provider.airbyte.token = "test-airbyte-token-not-real".to_owned().into();
        s.provider.airbyte.request_timeout_ms = 5_000;
    })
    .await;
    let id = app
        .deliver(&serde_json::from_slice(&tenant_created_body("t-outage")).unwrap())
        .await;
    fake.wait_for_calls("POST", "/v1/workspaces", 1, Duration::from_secs(10))
        .await;
    proxy.cut().await;
    // The create answers during the outage: the worker cannot save the workspace id, nor its
    // outcome, until the database is back.
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.restore().await;
    let restored = Instant::now();

    let row = app.finished_event(id, Duration::from_secs(20)).await;
    assert_eq!(row.status, "succeeded");
    assert!(
        restored.elapsed() < Duration::from_secs(10),
        "finished {:?} after the database came back (the lease is 60 s)",
        restored.elapsed()
    );
    let attempts = app.db.run(move |c| claims::attempts_of(c, id)).await.unwrap();
    assert_eq!(attempts.len() as i32, row.attempts, "every attempt has its row");
    assert_eq!(
        fake.calls("POST", "/v1/workspaces").await,
        1,
        "the workspace was adopted, not made again"
    );
}
