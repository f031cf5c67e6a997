//! The Frontegg client against the fake: tokens and their expiry, paging, item-counted offsets,
//! look-ups, and 429s answered with a reset time, with nothing, or with Retry-After.

use std::time::{Duration, Instant};

use tenantgate::reconcile::frontegg::{FronteggClient, FronteggConfig};

use super::{API_KEY, CLIENT_ID};
use crate::fake_frontegg::{FakeFrontegg, Refusal};

fn client(fake: &FakeFrontegg, page_size: u32) -> FronteggClient {
    FronteggClient::new(FronteggConfig {
        base_url: fake.base_url(),
        client_id: CLIENT_ID.into(),
        secret: API_KEY.to_owned().into(),
        page_size,
        request_timeout: Duration::from_secs(5),
        max_rate_limit_wait: Duration::from_secs(5),
        default_rate_limit_wait: Duration::from_millis(200),
    })
    .unwrap()
}

async fn fake_with(tenants: usize, expires_in: f64) -> FakeFrontegg {
    let fake = FakeFrontegg::start(CLIENT_ID, API_KEY, expires_in).await;
    for i in 0..tenants {
        fake.add_tenant(&format!("tenant-{i:05}"), &format!("Tenant {i}"));
    }
    fake
}

#[tokio::test]
async fn every_page_is_read_each_tenant_once_with_one_token() {
    let fake = fake_with(450, 1800.0).await;
    let listing = client(&fake, 200).list_tenants().await.unwrap();
    assert_eq!(listing.tenants.len(), 450);
    assert_eq!(listing.total_items, Some(450));
    assert_eq!(listing.pages, 3);
    let counters = fake.counters();
    assert_eq!((counters.auth_calls, counters.list_pages), (1, 3));
}

#[tokio::test]
async fn a_token_is_fetched_again_before_it_expires_and_reused_until_then() {
    let fake = fake_with(3, 3.0).await;
    let client = client(&fake, 200);
    client.list_tenants().await.unwrap();
    client.find_tenant("tenant-00001").await.unwrap();
    assert_eq!(fake.counters().auth_calls, 1, "reused while fresh");
    // Past 80 % of its three seconds of life, half a second before it ends (what is tested is
    // the passing of time itself).
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    client.find_tenant("tenant-00001").await.unwrap();
    let counters = fake.counters();
    assert_eq!(
        (counters.auth_calls, counters.refused_401),
        (2, 0),
        "refreshed before the server refused it"
    );
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once_and_the_call_succeeds() {
    let fake = fake_with(3, 1800.0).await;
    let client = client(&fake, 200);
    client.list_tenants().await.unwrap();
    fake.revoke_all();
    let found = client.find_tenant("tenant-00002").await.unwrap();
    assert_eq!(found.unwrap().name.as_deref(), Some("Tenant 2"));
    let counters = fake.counters();
    assert_eq!((counters.auth_calls, counters.refused_401), (2, 1));
}

#[tokio::test]
async fn wrong_credentials_fail_with_frontegg_s_message_and_no_secret() {
    let fake = fake_with(1, 1800.0).await;
    let mut config = FronteggConfig::from_settings(&crate::helpers::test_settings().reconcile.frontegg);
    config.base_url = fake.base_url();
    config.client_id = CLIENT_ID.into();
    config.secret = "wrong-key".to_owned().into();
    let error = FronteggClient::new(config).unwrap().list_tenants().await.unwrap_err();
    assert_eq!(error.status, Some(401));
    assert!(
        error.message.contains("Invalid authentication") && error.message.contains("trace"),
        "{error}"
    );
    assert!(!error.to_string().contains("wrong-key"));
}

#[tokio::test]
async fn a_missing_tenant_is_absent_whether_frontegg_answers_an_empty_array_or_404() {
    let fake = fake_with(1, 1800.0).await;
    let client = client(&fake, 200);
    assert!(client.find_tenant("tenant-00000").await.unwrap().is_some());
    assert!(client.find_tenant("nope").await.unwrap().is_none());
    fake.answer_missing_with_404();
    assert!(client.find_tenant("nope").await.unwrap().is_none());
    assert!(
        client.find_tenant("a/b c").await.unwrap().is_none(),
        "an id is one path segment"
    );
}

#[tokio::test]
async fn offsets_counted_in_items_fail_the_listing_instead_of_being_acted_on() {
    let fake = fake_with(450, 1800.0).await;
    fake.count_offsets_in_items();
    let error = client(&fake, 200).list_tenants().await.unwrap_err();
    assert!(error.message.contains("counts _offset in items"), "{error}");
}

#[tokio::test]
async fn a_429_waits_until_the_reset_time_frontegg_gives_then_goes_on() {
    let fake = fake_with(450, 1800.0).await;
    fake.rate_limit(2, Refusal::ResetIn(Duration::from_millis(400)));
    let started = Instant::now();
    let listing = client(&fake, 200).list_tenants().await.unwrap();
    assert_eq!(listing.tenants.len(), 450);
    let refused = fake.counters().refused_429;
    assert!(refused >= 2, "{refused}");
    assert!(
        started.elapsed() >= Duration::from_millis(300) * u32::try_from(refused).unwrap(),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_429_without_headers_or_with_retry_after_is_waited_out_too() {
    let fake = fake_with(10, 1800.0).await;
    fake.rate_limit(2, Refusal::NoHeaders);
    assert_eq!(client(&fake, 200).list_tenants().await.unwrap().tenants.len(), 10);
    let fake = fake_with(10, 1800.0).await;
    fake.rate_limit(2, Refusal::RetryAfter(1));
    let started = Instant::now();
    assert_eq!(client(&fake, 200).list_tenants().await.unwrap().tenants.len(), 10);
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_reset_further_away_than_allowed_fails_the_call_naming_the_setting() {
    let fake = fake_with(10, 1800.0).await;
    fake.rate_limit(1, Refusal::ResetIn(Duration::from_secs(600)));
    let error = client(&fake, 200).list_tenants().await.unwrap_err();
    assert_eq!(error.status, Some(429));
    assert!(error.message.contains("max_rate_limit_wait_secs"), "{error}");
}

#[tokio::test]
async fn a_server_error_is_tried_again_twice_and_a_third_fails_the_call() {
    let fake = fake_with(3, 1800.0).await;
    let client = client(&fake, 200);
    fake.fail_next(502);
    fake.fail_next(503);
    assert_eq!(client.list_tenants().await.unwrap().tenants.len(), 3);
    for _ in 0..3 {
        fake.fail_next(500);
    }
    let error = client.find_tenant("tenant-00001").await.unwrap_err();
    assert_eq!(error.status, Some(500));
    assert!(
        error.message.contains("Injected failure") && error.message.contains("ER-00000"),
        "{error}"
    );
}
