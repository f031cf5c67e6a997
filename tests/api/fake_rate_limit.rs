//! The fake Airbyte's rate-limited mode, on its own: N requests in any sliding second across every
//! endpoint, the rest answered 429 as Airbyte's load-shed filter does, every answer after a latency.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::{json, Value};
use tenantgate::provisioning::airbyte::{AirbyteAuth, AirbyteClient, AirbyteConfig};
use tenantgate::provisioning::provider::{WorkspaceProvider, WorkspaceSpec};

use crate::fake_airbyte::{FakeAirbyte, Traffic};

/// One answer as a client sees it.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
    took: Duration,
}

async fn send(client: &reqwest::Client, fake: &FakeAirbyte, create: Option<&str>) -> Answer {
    let url = format!("{}/workspaces", fake.base_url());
    let request = match create {
        Some(name) => client.post(url).json(&json!({ "name": name })),
        None => client.get(url),
    };
    let started = Instant::now();
    let response = request.bearer_auth("test-token").send().await.unwrap();
    let took = started.elapsed();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_owned());
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        retry_after,
        body,
        took,
    }
}

#[tokio::test]
async fn fifty_requests_at_once_against_twenty_per_second_get_twenty_answers_and_thirty_429s() {
    let fake = FakeAirbyte::start().await;
    fake.limit_rate(20, Duration::from_millis(100));
    let client = reqwest::Client::new();
    let started = Instant::now();
    // Creations and listings alike: the limit is across every endpoint.
    let names: Vec<String> = (0..25).map(|i| format!("tenant-{i}")).collect();
    let creates = names.iter().map(|name| send(&client, &fake, Some(name)));
    let listings = (0..25).map(|_| send(&client, &fake, None));
    let (creates, listings) = tokio::join!(
        futures_util::future::join_all(creates),
        futures_util::future::join_all(listings)
    );
    let all_answered = started.elapsed();

    let answers: Vec<&Answer> = creates.iter().chain(&listings).collect();
    let ok = answers.iter().filter(|a| a.status == 200).count();
    let refused: Vec<&&Answer> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!(ok + refused.len(), 50, "only 200 and 429");
    // All 50 arrive within the same second unless the machine stalls for most of one.
    if all_answered < Duration::from_millis(1_100) {
        assert_eq!(ok, 20, "answered in {all_answered:?}");
    } else {
        assert!((20..=40).contains(&ok), "{ok} accepted over {all_answered:?}");
    }
    for answer in &refused {
        assert_eq!(answer.retry_after, None, "Airbyte sends no Retry-After");
        assert_eq!(answer.body, json!({ "message": "You are being rate limited." }));
    }
    assert!(
        answers.iter().all(|a| a.took >= Duration::from_millis(100)),
        "every answer after the latency"
    );
    let traffic = fake.traffic();
    assert_eq!(
        traffic,
        Traffic {
            requests: 50,
            rate_limited: refused.len(),
            listings: 25,
        }
    );
    // A refused create made nothing.
    let created = creates.iter().filter(|a| a.status == 200).count();
    assert_eq!(fake.workspaces().len(), created);
}

#[tokio::test]
async fn the_window_slides_and_refused_requests_do_not_count() {
    let fake = FakeAirbyte::start().await;
    fake.limit_rate(5, Duration::ZERO);
    let client = reqwest::Client::new();
    let statuses = |answers: Vec<Answer>| answers.iter().map(|a| a.status).collect::<Vec<_>>();
    let burst = || futures_util::future::join_all((0..5).map(|_| send(&client, &fake, None)));

    let first = statuses(burst().await);
    let first_answered = Instant::now();
    assert_eq!(first, [200; 5]);
    // Late in that second, refusals: were they counted, they would fill the next second.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(send(&client, &fake, None).await.status, 429);
    assert_eq!(send(&client, &fake, None).await.status, 429);
    tokio::time::sleep_until((first_answered + Duration::from_millis(1_050)).into()).await;
    assert_eq!(statuses(burst().await), [200; 5], "the first five left the window");
    assert_eq!(send(&client, &fake, None).await.status, 429);
    assert_eq!(fake.traffic().rate_limited, 3);
}

#[tokio::test]
async fn the_airbyte_client_sees_the_limit_as_a_retryable_429_without_retry_after() {
    let fake = FakeAirbyte::start().await;
    fake.limit_rate(1, Duration::ZERO);
    let token = SecretString::from("test-token".to_owned());
    let client = AirbyteClient::new(AirbyteConfig::new(fake.base_url(), AirbyteAuth::BearerToken(token))).unwrap();
    let spec = |tenant: &str| WorkspaceSpec {
        tenant_id: tenant.to_owned(),
        name: format!("Acme [{tenant}]"),
        after_unknown_outcome: false,
    };

    client.create_workspace(&spec("t1")).await.unwrap();
    let refused = client.create_workspace(&spec("t2")).await.unwrap_err();
    assert!(refused.retryable, "{refused:?}");
    assert_eq!((refused.status, refused.retry_after), (Some(429), None));
    assert!(
        refused.message.contains("You are being rate limited."),
        "{}",
        refused.message
    );
    // The refused create made nothing: a refusal is a known outcome.
    assert_eq!(fake.workspaces().len(), 1);
    assert_eq!(fake.traffic().rate_limited, 1);
}

#[tokio::test]
async fn an_off_spec_request_refused_by_the_limit_still_fails_the_strict_check() {
    let fake = FakeAirbyte::start().await;
    fake.limit_rate(0, Duration::ZERO);
    let url = format!("{}/workspaces?bogus=1", fake.base_url());
    let response = reqwest::Client::new().get(url).bearer_auth("t").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let violations = fake.take_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("bogus"), "{violations:?}");
}

/// With a gate, a create refused for the rate is sent again once the gate lets it; but a
/// create made after an unknown outcome (and a look-up) is not: the refusal ends it at once, so
/// that the next attempt looks again instead of creating while the earlier one may land.
#[tokio::test]
async fn a_create_after_an_unknown_outcome_never_waits_out_a_refusal() {
    let fake = FakeAirbyte::start().await;
    fake.limit_rate(1, Duration::ZERO);
    let token = SecretString::from("test-token".to_owned());
    let gate = tenantgate::pacing::Gate::new(tenantgate::pacing::GateSettings::new("airbyte", 4)).unwrap();
    let client = AirbyteClient::new(AirbyteConfig::new(fake.base_url(), AirbyteAuth::BearerToken(token)))
        .unwrap()
        .with_gate(gate, Duration::from_secs(30));
    let spec = |tenant: &str, after_unknown_outcome: bool| WorkspaceSpec {
        tenant_id: tenant.to_owned(),
        name: format!("Acme [{tenant}]"),
        after_unknown_outcome,
    };

    client.create_workspace(&spec("t1", false)).await.unwrap();
    let refused = client.create_workspace(&spec("t2", true)).await.unwrap_err();
    assert!(refused.throttled && refused.refused, "{refused:?}");
    assert_eq!(fake.traffic().requests, 2, "sent once, not again");

    client.create_workspace(&spec("t3", false)).await.unwrap();
    let traffic = fake.traffic();
    assert!(traffic.rate_limited >= 2, "{traffic:?}");
    assert_eq!(fake.workspaces().len(), 2, "t1 and t3, each once");
}
