//! The worker against a fake Airbyte that speaks the real public API: exactly one workspace per
//! tenant, archive and delete, retries, dead events, adopting an unknown outcome, tokens.

use std::time::{Duration, Instant};

use serde_json::json;
use tenantgate::config::{DeletionPolicy, ProviderKind, Settings};
use tenantgate::inbox::claims;
use tenantgate::tenants;

use crate::fake_airbyte::{Failure, FakeAirbyte};
use crate::helpers::*;
use crate::on_both_backends;

const WAIT: Duration = Duration::from_secs(20);
const TOKEN: &str = "test-airbyte-token-not-real";

/// The worker on, against `fake` with a static token and a 1 s call timeout.
pub(crate) fn use_airbyte(s: &mut Settings, fake: &FakeAirbyte) {
    s.worker.enabled = true;
    s.provider.kind = ProviderKind::Airbyte;
    s.provider.airbyte.base_url = fake.base_url();
    s.provider.airbyte.token = TOKEN.to_owned().into();
    s.provider.airbyte.request_timeout_ms = 1_000;
}

fn created(tenant: &str, at: &str) -> serde_json::Value {
    json!({"eventKey": "frontegg.tenant.created", "eventContext": {"tenantId": tenant}, "tenant": {"name": "Acme"}, "timestamp": at})
}

fn deleted(tenant: &str, at: &str) -> serde_json::Value {
    json!({"eventKey": "frontegg.tenant.deleted", "eventContext": {"tenantId": tenant}, "timestamp": at})
}

on_both_backends! {
    async fn a_created_tenant_gets_exactly_one_workspace_with_the_deterministic_name(backend) {
        let fake = FakeAirbyte::start().await;
        let app = spawn_app_with(backend, |s| use_airbyte(s, &fake)).await;
        let id = app.deliver(&created("t1", "2026-01-01T00:00:00Z")).await;
        assert_eq!(app.finished_event(id, WAIT).await.status, "succeeded");
        // A redelivery and a user event make no workspace call.
        app.deliver(&created("t1", "2026-01-01T00:00:00Z")).await;
        let user = app.deliver(&json!({"eventType": "user.activated", "tenantId": "t1", "userId": "u1"})).await;
        assert_eq!(app.finished_event(user, WAIT).await.status, "succeeded");

        assert_eq!(fake.calls("POST", "/v1/workspaces").await, 1);
        let workspaces = fake.workspaces();
        assert_eq!(workspaces.len(), 1);
        assert_eq!(workspaces[0].1, "Acme [t1]");
        let mapping = app.db.run(|c| tenants::mapping(c, "t1")).await.unwrap().unwrap();
        assert_eq!((mapping.status.as_str(), mapping.workspace_id.as_deref()), ("active", Some(workspaces[0].0.as_str())));
        // Provider calls are counted by operation and status, with their latency.
        let metrics = crate::metrics::scrape(&app).await;
        let calls = crate::metrics::value(&metrics, "tenantgate_provider_calls_total", &[("operation", "create_workspace"), ("status", "200")]);
        assert_eq!(calls, 1.0);
        let timed = crate::metrics::value(&metrics, "tenantgate_provider_call_seconds", &[("operation", "create_workspace")]);
        assert_eq!(timed, 1.0);
    }

    async fn deletion_under_archive_cancels_running_jobs_and_pauses_every_connection(backend) {
        let fake = FakeAirbyte::start().await;
        let app = spawn_app_with(backend, |s| use_airbyte(s, &fake)).await;
        let id = app.deliver(&created("t-archive", "2026-01-01T00:00:00Z")).await;
        app.finished_event(id, WAIT).await;
        let workspace = fake.workspaces()[0].0.clone();
        fake.add_connection(&workspace, "active");
        fake.add_connection(&workspace, "active");
        fake.add_connection(&workspace, "inactive");
        let job = fake.add_running_job(&workspace);

        let id = app.deliver(&deleted("t-archive", "2026-01-02T00:00:00Z")).await;
        assert_eq!(app.finished_event(id, WAIT).await.status, "succeeded");
        assert!(fake.connections().iter().all(|(_, _, status)| status == "inactive"), "{:?}", fake.connections());
        assert_eq!(fake.calls("PATCH", "/v1/connections/").await, 2, "only active connections are patched");
        assert_eq!(fake.cancelled_jobs(), [job]);
        assert_eq!(fake.calls("DELETE", "/v1/workspaces/").await, 0);
        let mapping = app.db.run(|c| tenants::mapping(c, "t-archive")).await.unwrap().unwrap();
        assert_eq!(mapping.status, "archived");
    }

    async fn deletion_under_delete_cancels_running_jobs_and_deletes_the_workspace(backend) {
        let fake = FakeAirbyte::start().await;
        let app = spawn_app_with(backend, |s| {
            use_airbyte(s, &fake);
            s.provider.deletion_policy = DeletionPolicy::Delete;
        })
        .await;
        let id = app.deliver(&created("t-delete", "2026-01-01T00:00:00Z")).await;
        app.finished_event(id, WAIT).await;
        let workspace = fake.workspaces()[0].0.clone();
        let job = fake.add_running_job(&workspace);
        let id = app.deliver(&deleted("t-delete", "2026-01-02T00:00:00Z")).await;
        assert_eq!(app.finished_event(id, WAIT).await.status, "succeeded");
        assert_eq!(fake.cancelled_jobs(), [job]);
        assert_eq!(fake.calls("DELETE", &format!("/v1/workspaces/{workspace}")).await, 1);
        assert!(fake.workspaces()[0].2, "the workspace is deleted");
        let mapping = app.db.run(|c| tenants::mapping(c, "t-delete")).await.unwrap().unwrap();
        assert_eq!(mapping.status, "deleted");
    }

    async fn server_errors_are_retried_on_the_schedule_until_the_create_succeeds(backend) {
        let fake = FakeAirbyte::start().await;
        fake.fail_next("create_workspace", Failure::Status(500));
        fake.fail_next("create_workspace", Failure::Status(500));
        let app = spawn_app_with(backend, |s| use_airbyte(s, &fake)).await;
        let id = app.deliver(&created("t-retry", "2026-01-01T00:00:00Z")).await;
        let row = app.finished_event(id, WAIT).await;
        assert_eq!((row.status.as_str(), row.attempts), ("succeeded", 3));
        let attempts = app.db.run(move |c| claims::attempts_of(c, id)).await.unwrap();
        let outcomes: Vec<_> = attempts.iter().map(|a| (a.outcome.as_str(), a.http_status)).collect();
        assert_eq!(outcomes, [("failed_retrying", Some(500)), ("failed_retrying", Some(500)), ("succeeded", None)]);
        // Test schedule: 0.2 s then 0.4 s, ±20 %.
        let schedule = app_schedule(&app);
        for (i, pair) in attempts.windows(2).enumerate() {
            let gap = (pair[1].started_at - pair[0].finished_at).to_std().unwrap();
            let (low, high) = (schedule[i].mul_f64(0.8), schedule[i].mul_f64(1.2) + Duration::from_millis(500));
            assert!(gap >= low && gap <= high, "retry {} came after {gap:?}, expected {low:?}..{high:?}", i + 1);
        }
        assert_eq!(fake.workspaces().len(), 1);
    }

    async fn a_client_error_makes_the_event_dead_at_once_with_airbytes_detail(backend) {
        for failure in [
            Failure::Problem { status: 400, title: "bad-request".into(), detail: "The name is invalid".into() },
            Failure::Problem { status: 422, title: "unprocessable-entity".into(), detail: "organizationId is unknown".into() },
        ] {
            let fake = FakeAirbyte::start().await;
            let detail = match &failure { Failure::Problem { detail, .. } => detail.clone(), _ => unreachable!() };
            fake.fail_next("create_workspace", failure);
            let app = spawn_app_with(backend, |s| use_airbyte(s, &fake)).await;
            let id = app.deliver(&created("t-dead", "2026-01-01T00:00:00Z")).await;
            let row = app.finished_event(id, WAIT).await;
            assert_eq!((row.status.as_str(), row.attempts), ("dead", 1));
            assert!(row.last_error.as_deref().unwrap_or_default().contains(&detail), "{:?}", row.last_error);
            assert_eq!(fake.calls("POST", "/v1/workspaces").await, 1, "no further calls");
        }
    }

    async fn a_dead_event_replayed_through_the_admin_api_then_succeeds(backend) {
        let fake = FakeAirbyte::start().await;
        fake.fail_next("create_workspace", Failure::Problem { status: 403, title: "forbidden".into(), detail: "the application lacks ORGANIZATION_EDITOR".into() });
        let app = spawn_app_with(backend, |s| {
            use_airbyte(s, &fake);
            s.admin.tokens = vec![crate::admin::ADMIN_TOKEN.to_owned().into()];
        })
        .await;
        let id = app.deliver(&created("t-redrive", "2026-01-01T00:00:00Z")).await;
        assert_eq!(app.finished_event(id, WAIT).await.status, "dead");
        // The operator fixes the permission, then redrives every dead event.
        let (status, body) = app.admin_post("/api/admin/events/replay", json!({"status": "dead"})).await;
        assert_eq!((status, body["requeued"].as_i64()), (200, Some(1)));
        let row = app.finished_event(id, WAIT).await;
        assert_eq!((row.status.as_str(), row.attempts), ("succeeded", 2));
        let attempts = app.db.run(move |c| claims::attempts_of(c, id)).await.unwrap();
        let outcomes: Vec<_> = attempts.iter().map(|a| a.outcome.as_str()).collect();
        assert_eq!(outcomes, ["dead", "succeeded"], "the history is kept");
        assert_eq!(fake.workspaces().len(), 1);
    }

    async fn a_create_that_timed_out_after_the_workspace_was_made_is_adopted_not_repeated(backend) {
        let fake = FakeAirbyte::start().await;
        fake.fail_next("create_workspace", Failure::Hang(Duration::from_secs(3)));
        let app = spawn_app_with(backend, |s| use_airbyte(s, &fake)).await;
        let id = app.deliver(&created("t-hang", "2026-01-01T00:00:00Z")).await;
        let row = app.finished_event(id, WAIT).await;
        assert_eq!((row.status.as_str(), row.attempts), ("succeeded", 2));
        assert_eq!(fake.calls("POST", "/v1/workspaces").await, 1, "exactly one create");
        assert!(fake.calls("GET", "/v1/workspaces").await >= 1, "the retry looked the name up");
        let workspaces = fake.workspaces();
        let mapping = app.db.run(|c| tenants::mapping(c, "t-hang")).await.unwrap().unwrap();
        assert_eq!(mapping.workspace_id.as_deref(), Some(workspaces[0].0.as_str()));
    }

    // Airbyte pages its workspaces without a stable order: the look-up after an unknown outcome
    // still finds the one workspace among 250 whose order changes on every page.
    async fn a_timed_out_create_is_adopted_among_many_workspaces_listed_in_a_new_order_each_page(backend) {
        let fake = FakeAirbyte::start().await;
        for n in 0..250 {
            fake.add_workspace(&format!("Someone else {n}"));
        }
        fake.shuffle_listings(7);
        fake.fail_next("create_workspace", Failure::Hang(Duration::from_secs(3)));
        let app = spawn_app_with(backend, |s| use_airbyte(s, &fake)).await;
        let id = app.deliver(&created("t-shuffled", "2026-01-01T00:00:00Z")).await;
        let row = app.finished_event(id, WAIT).await;
        assert_eq!((row.status.as_str(), row.attempts), ("succeeded", 2), "{:?}", row.last_error);
        assert_eq!(fake.calls("POST", "/v1/workspaces").await, 1, "exactly one create");
        let mapping = app.db.run(|c| tenants::mapping(c, "t-shuffled")).await.unwrap().unwrap();
        let ours: Vec<_> = fake.workspaces().into_iter().filter(|w| w.1.ends_with("[t-shuffled]")).collect();
        assert_eq!(ours.len(), 1, "one workspace for the tenant");
        assert_eq!(mapping.workspace_id.as_deref(), Some(ours[0].0.as_str()));
    }

    async fn a_delete_processed_before_an_older_create_means_no_workspace_ever(backend) {
        let fake = FakeAirbyte::start().await;
        let app = spawn_app_with(backend, |s| use_airbyte(s, &fake)).await;
        let delete = app.deliver(&deleted("t-tomb", "2026-05-01T00:00:00Z")).await;
        assert_eq!(app.finished_event(delete, WAIT).await.status, "succeeded");
        let create = app.deliver(&created("t-tomb", "2026-04-01T00:00:00Z")).await;
        assert_eq!(app.finished_event(create, WAIT).await.status, "skipped");
        assert_eq!(fake.calls("POST", "/v1/workspaces").await, 0);
    }

    async fn a_token_is_fetched_once_reused_and_refreshed_once_on_a_401(backend) {
        let fake = FakeAirbyte::start().await;
        fake.require_client_credentials("test-client-id", "test-client-secret-not-real", 3600);
        let app = spawn_app_with(backend, |s| {
            use_airbyte(s, &fake);
            s.provider.airbyte.token = String::new().into();
            s.provider.airbyte.client_id = "test-client-id".into();
            s.provider.airbyte.client_secret = "test-client-secret-not-real".to_owned().into();
        })
        .await;
        for tenant in ["a", "b", "c"] {
            let id = app.deliver(&created(tenant, "2026-01-01T00:00:00Z")).await;
            assert_eq!(app.finished_event(id, WAIT).await.status, "succeeded");
        }
        assert_eq!(fake.token_requests(), 1, "one token for every call");

        fake.expire_tokens();
        let id = app.deliver(&created("d", "2026-01-01T00:00:00Z")).await;
        let row = app.finished_event(id, WAIT).await;
        assert_eq!((row.status.as_str(), row.attempts), ("succeeded", 1), "refreshed and retried within the attempt");
        assert_eq!(fake.token_requests(), 2, "exactly one refresh");
        assert_eq!(fake.workspaces().len(), 4);
    }
}

fn app_schedule(_app: &TestApp) -> Vec<Duration> {
    test_settings().worker.retry_schedule()
}

/// From the 200 of a tenant.created to the fake's POST /workspaces, with the fallback poll far
/// away (5 s): the wake-up path alone must carry it.
async fn idle_latency(receiver: &TestApp, fake: &FakeAirbyte, tenant: &str) -> Duration {
    let before = fake.calls("POST", "/v1/workspaces").await;
    let sent = Instant::now();
    receiver.deliver(&created(tenant, "2026-01-01T00:00:00Z")).await;
    fake.wait_for_calls("POST", "/v1/workspaces", before + 1, Duration::from_secs(5))
        .await;
    sent.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_end_to_end_on_postgres_is_well_under_a_second_also_across_instances() {
    if postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    let fake = FakeAirbyte::start().await;
    let app = spawn_app_with(Backend::Postgres, |s| use_airbyte(s, &fake)).await;
    let same_instance = idle_latency(&app, &fake, "idle-1").await;
    // A receiver without workers: the worker instance hears of the event through LISTEN/NOTIFY.
    let receiver = spawn_instance(&app, |s| s.worker.enabled = false).await;
    let across = idle_latency(&receiver, &fake, "idle-2").await;
    eprintln!("idle end-to-end: same instance {same_instance:?}, across instances {across:?}");
    assert!(same_instance < Duration::from_millis(500), "{same_instance:?}");
    assert!(across < Duration::from_millis(500), "{across:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_process_every_event_once_in_tenant_order() {
    if postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    const TENANTS: usize = 100;
    let fake = FakeAirbyte::start().await;
    let a = spawn_app_with(Backend::Postgres, |s| use_airbyte(s, &fake)).await;
    let b = spawn_instance(&a, |s| use_airbyte(s, &fake)).await;
    // Per tenant: created, then four users activated and deactivated, then an SSO change —
    // delivered in order, alternating between the instances; tenants interleave freely.
    let sends = (0..TENANTS).map(|t| {
        let (a, b) = (&a, &b);
        async move {
            let tenant = format!("tenant-{t:03}");
            let mut events = vec![created(&tenant, "2026-01-01T00:00:00Z")];
            for (i, kind) in ["user.activated", "user.deactivated"].iter().cycle().take(8).enumerate() {
                let at = format!("2026-01-01T00:{:02}:00Z", i + 1);
                events.push(json!({"eventType": kind, "tenantId": tenant, "userId": format!("u{}", i / 2), "timestamp": at}));
            }
            events.push(json!({"eventType": "sso.configured", "tenantId": tenant, "ssoProvider": "okta", "timestamp": "2026-01-01T00:30:00Z"}));
            let mut ids = Vec::new();
            for (i, event) in events.iter().enumerate() {
                ids.push(if i % 2 == 0 { a.deliver(event).await } else { b.deliver(event).await });
            }
            (tenant, ids)
        }
    });
    let tenants = futures_util::future::join_all(sends).await;
    let all_ids: Vec<i64> = tenants.iter().flat_map(|(_, ids)| ids.clone()).collect();
    assert_eq!(all_ids.len(), TENANTS * 10);
    for id in &all_ids {
        assert_eq!(
            a.finished_event(*id, Duration::from_secs(60)).await.status,
            "succeeded",
            "event {id}"
        );
    }
    for (tenant, ids) in &tenants {
        let mut previous_finish = None;
        for id in ids {
            let id = *id;
            let attempts = a.db.run(move |c| claims::attempts_of(c, id)).await.unwrap();
            assert_eq!(
                attempts.len(),
                1,
                "{tenant}: event {id} processed {} times",
                attempts.len()
            );
            if let Some(previous) = previous_finish {
                assert!(
                    attempts[0].started_at >= previous,
                    "{tenant}: event {id} started before its predecessor finished"
                );
            }
            previous_finish = Some(attempts[0].finished_at);
        }
    }
    let mut names: Vec<_> = fake.workspaces().into_iter().map(|(_, name, _)| name).collect();
    assert_eq!(names.len(), TENANTS, "one workspace per tenant");
    names.sort();
    names.dedup();
    assert_eq!(names.len(), TENANTS);
}

/// Frontegg's real payloads carry no timestamp, so they are ordered by arrival.
fn frontegg_shaped(key: &str, tenant: &str) -> serde_json::Value {
    json!({"eventKey": key, "eventContext": {"tenantId": tenant}, "tenant": {"name": "Acme"}})
}

on_both_backends! {
    async fn an_untimed_create_arriving_after_the_deletion_makes_no_workspace(backend) {
        let fake = FakeAirbyte::start().await;
        let app = spawn_app_with(backend, |s| use_airbyte(s, &fake)).await;
        let delete = app.deliver(&frontegg_shaped("frontegg.tenant.deleted", "t-untimed")).await;
        assert_eq!(app.finished_event(delete, WAIT).await.status, "succeeded");
        let create = app.deliver(&frontegg_shaped("frontegg.tenant.created", "t-untimed")).await;
        assert_eq!(app.finished_event(create, WAIT).await.status, "skipped");
        assert_eq!(fake.calls("POST", "/v1/workspaces").await, 0);
    }

    async fn a_worker_killed_mid_create_leaves_one_workspace_which_the_next_worker_adopts(backend) {
        let fake = FakeAirbyte::start().await;
        // The create takes effect at once, but its answer never comes before the kill.
        fake.fail_next("create_workspace", Failure::Hang(Duration::from_secs(30)));
        let receiver = spawn_app(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let mut worker = crate::binary::tenantgate(dir.path(), &["worker"]);
        worker
            .env("DATABASE_URL", &receiver.database_url)
            .env("TENANTGATE__PROVIDER__KIND", "airbyte")
            .env("TENANTGATE__PROVIDER__AIRBYTE__BASE_URL", fake.base_url())
            .env("TENANTGATE__PROVIDER__AIRBYTE__TOKEN", TOKEN)
            .env("TENANTGATE__PROVIDER__AIRBYTE__REQUEST_TIMEOUT_MS", "60000")
            .env("TENANTGATE__WORKER__LEASE_SECS", "1")
            .env("TENANTGATE__WORKER__POLL_INTERVAL_MS", "50")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut worker = worker.spawn().unwrap();
        let id = receiver.deliver(&created("t-crash", "2026-01-01T00:00:00Z")).await;
        fake.wait_for_calls("POST", "/v1/workspaces", 1, Duration::from_secs(20)).await;
        worker.kill().unwrap(); // SIGKILL: no shutdown, no release
        worker.wait().unwrap();

        let rescuer = spawn_instance(&receiver, |s| {
            use_airbyte(s, &fake);
            s.worker.lease_secs = 1.0;
            s.worker.poll_interval_ms = 50;
        })
        .await;
        let row = rescuer.finished_event(id, WAIT).await;
        assert_eq!((row.status.as_str(), row.attempts), ("succeeded", 2));
        assert_eq!(fake.calls("POST", "/v1/workspaces").await, 1, "exactly one create");
        let mapping = rescuer.db.run(|c| tenants::mapping(c, "t-crash")).await.unwrap().unwrap();
        assert_eq!(mapping.workspace_id.as_deref(), Some(fake.workspaces()[0].0.as_str()));
    }
}

/// The fake answers 400 to what Airbyte's official document refuses, and remembers it so that
/// the test that sent it fails.
#[tokio::test]
async fn the_fake_refuses_every_request_the_official_document_refuses() {
    let fake = FakeAirbyte::start().await;
    let client = reqwest::Client::new();
    let base = fake.base_url();
    let workspace = fake.add_workspace("w");
    let off_spec = [
        client
            .post(format!("{base}/applications/token"))
            .json(&serde_json::json!({"client_id": "c", "client_secret": "s", "grant-type": "client_credentials"})),
        client
            .post(format!("{base}/workspaces"))
            .bearer_auth("t")
            .json(&serde_json::json!({"title": "no name"})),
        client
            .patch(format!("{base}/workspaces/not-a-uuid"))
            .bearer_auth("t")
            .json(&serde_json::json!({"name": "n"})),
        client.get(format!("{base}/jobs?status=RUNNING")).bearer_auth("t"),
        client.get(format!("{base}/workspaces?limit=500")).bearer_auth("t"),
        client.delete(format!("{base}/jobs/job-1")).bearer_auth("t"),
        client
            .patch(format!("{base}/connections/{workspace}"))
            .bearer_auth("t")
            .json(&serde_json::json!({"status": "paused"})),
    ];
    for request in off_spec {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 400);
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["title"], "bad-request", "{problem}");
    }
    assert_eq!(fake.take_violations().len(), 7);
    let conforming = client
        .patch(format!("{base}/workspaces/{workspace}"))
        .bearer_auth("t")
        .json(&serde_json::json!({"name": "renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(conforming.status(), 200);
    assert!(fake.take_violations().is_empty());
}
