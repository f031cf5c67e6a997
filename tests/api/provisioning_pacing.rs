//! Provider-wide pacing against a fake Airbyte that allows a fixed number of requests a second
//! and answers 429 without `Retry-After` above it, as a rate-limited Airbyte does: a burst of
//! creations converges without spending attempts or listing workspaces, and an event throttled
//! for longer than an attempt may wait keeps its retries and is created directly afterwards.

use std::time::Duration;

use serde_json::json;
use tenantgate::config::Settings;
use tenantgate::inbox::claims;

use crate::fake_airbyte::FakeAirbyte;
use crate::helpers::*;
use crate::on_both_backends;
use crate::provisioning_airbyte::use_airbyte;

/// Airbyte at `fake`, with calls that may take the fake's latency and more.
fn use_limited_airbyte(s: &mut Settings, fake: &FakeAirbyte) {
    use_airbyte(s, fake);
    s.provider.airbyte.request_timeout_ms = 5_000;
}

fn created(tenant: &str) -> serde_json::Value {
    json!({"eventKey": "frontegg.tenant.created", "eventContext": {"tenantId": tenant}, "tenant": {"name": tenant}})
}

on_both_backends! {
    async fn a_burst_of_creations_meets_the_limit_together_without_spending_attempts_or_listing(backend) {
        let fake = FakeAirbyte::start().await;
        fake.limit_rate(20, Duration::from_millis(100));
        let app = spawn_app_with(backend, |s| use_limited_airbyte(s, &fake)).await;
        let mut ids = Vec::new();
        for t in 0..100 {
            ids.push(app.deliver(&created(&format!("burst-{t:03}"))).await);
        }
        let mut throttled_calls = 0;
        for id in ids {
            let row = app.finished_event(id, Duration::from_secs(60)).await;
            assert_eq!((row.status.as_str(), row.attempts), ("succeeded", 1), "event {id}");
            let attempts = app.db.run(move |c| claims::attempts_of(c, id)).await.unwrap();
            throttled_calls += attempts.iter().map(|a| a.throttled_calls).sum::<i32>();
        }
        let traffic = fake.traffic();
        assert_eq!(fake.workspaces().len(), 100, "one workspace per tenant");
        assert_eq!(traffic.listings, 0, "a refused create is sent again as a create, never looked for");
        assert!(traffic.rate_limited > 0, "the burst met the limit: {traffic:?}");
        assert_eq!(
            throttled_calls as usize, traffic.rate_limited,
            "every refusal is in the attempt log of the event that waited it out"
        );
        let ready: serde_json::Value = app.get("/readyz").await.json().await.unwrap();
        let pacing = &ready["provider"]["pacing"];
        assert_eq!(pacing["name"], "airbyte", "{ready}");
        assert_eq!(pacing["throttled"].as_u64(), Some(traffic.rate_limited as u64), "{ready}");
    }

    async fn an_event_throttled_longer_than_it_may_wait_keeps_its_retries_and_is_created_directly_after(backend) {
        let fake = FakeAirbyte::start().await;
        // Every call refused for the rate (a provider shedding load), and no waiting in the
        // attempt: the first refusal ends it.
        fake.limit_rate(0, Duration::ZERO);
        let app = spawn_app_with(backend, |s| {
            use_limited_airbyte(s, &fake);
            s.provider.max_throttled_wait_secs = 0;
            s.worker.retry_schedule_secs = vec![0.1];
        })
        .await;
        let id = app.deliver(&created("shed")).await;
        let first = eventually(Duration::from_secs(20), || async {
            let attempts = app.db.run(move |c| claims::attempts_of(c, id)).await.unwrap();
            attempts.into_iter().next()
        })
        .await
        .expect("no attempt was made");
        assert_eq!(first.outcome, "throttled");
        assert_eq!(first.throttled_calls, 0, "nothing was waited out");
        let row = app.event(id).await;
        assert_eq!(row.status, "failed_retrying");
        assert_eq!((row.throttled_attempts, row.attempts_in_round()), (1, 0), "no retry spent");
        assert!(row.last_error.as_deref().is_some_and(|e| e.starts_with("throttled:")), "{row:?}");

        fake.limit_rate(1_000, Duration::ZERO);
        let row = app.finished_event(id, Duration::from_secs(30)).await;
        assert_eq!(row.status, "succeeded", "a one-retry schedule, yet not dead: {row:?}");
        assert!(row.throttled_attempts >= 1);
        assert_eq!(fake.workspaces().len(), 1);
        assert_eq!(fake.traffic().listings, 0, "the refused create left nothing to look for");
    }
}
