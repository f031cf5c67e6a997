//! Signing secrets at rest (security review, issue 14): the database never holds a subscription's
//! secret in plain text, rows an earlier version wrote in plain text are encrypted by the next
//! start, a rotation of the encryption key reseals every row, and a key that cannot open a row
//! fails its deliveries with the reason instead of sending them.

use std::time::Duration;

use base64::Engine as _;
use chrono::Utc;
use diesel::prelude::*;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sha2::{Digest, Sha256};
use tenantgate::db::schema::notification_subscriptions as subscriptions;
use tenantgate::db::Database;
use tenantgate::notifications::reseal::seal_stored_secrets;
use tenantgate::notifications::sealing::Sealer;
use tenantgate::notifications::store::{insert_subscription, Subscription};

use super::*;
use crate::binary::{tenantgate, Server};
use crate::on_both_backends;

/// TEST KEY, used only by the test suite: the key an operator rotates to.
const NEW_KEY: &str = "dGVzdC1lbmNyeXB0aW9uLWtleS1yb3RhdGVkLW9rISE=";
/// TEST SECRETS as an earlier version stored them, in plain text.
pub const PLAIN: &str = "whsec_dGVzdC1zdWJzY3JpcHRpb24tc2VjcmV0LXBsYWluISE=";
pub const PLAIN_PREVIOUS: &str = "whsec_dGVzdC1zdWJzY3JpcHRpb24tc2VjcmV0LW9sZGVyISE=";

/// The id a stored value names its key by: the first 8 hex digits of the key's SHA-256.
pub fn key_id(key: &str) -> String {
    let bytes = base64::engine::general_purpose::STANDARD.decode(key).unwrap();
    hex::encode(&Sha256::digest(bytes)[..4])
}

fn sealed_with(key: &str) -> String {
    format!("enc:v1:{}:", key_id(key))
}

/// A subscription's secret columns, read straight from the database.
pub async fn stored(app: &TestApp, id: &str) -> (String, Option<String>) {
    let id = id.to_owned();
    app.db
        .run(move |conn| {
            Ok(tenantgate::with_conn!(conn, |c| subscriptions::table
                .find(&id)
                .select((subscriptions::secret, subscriptions::previous_secret))
                .first::<(String, Option<String>)>(c))?)
        })
        .await
        .unwrap()
}

/// Writes a subscription as a version before encryption at rest did: secrets in plain text, the
/// previous one still signing for an hour.
pub async fn insert_plain(app: &TestApp, id: &str, url: &str) {
    let now = Utc::now().naive_utc();
    let row = Subscription {
        id: id.to_owned(),
        url: url.to_owned(),
        event_types: r#"["*"]"#.to_owned(),
        tenant_id: None,
        description: Some("written by an earlier version".into()),
        sealed_secret: PLAIN.to_owned(),
        sealed_previous_secret: Some(PLAIN_PREVIOUS.to_owned()),
        previous_secret_expires_at: Some(now + chrono::Duration::hours(1)),
        active: true,
        disabled_reason: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
        name: None,
        request_timeout_ms: None,
        max_attempts: None,
    };
    app.db.run(move |c| insert_subscription(c, &row)).await.unwrap();
}

pub fn assert_sealed(value: &str, key: &str, plain: &str) {
    assert!(
        value.starts_with(&sealed_with(key)),
        "`{value}` is not sealed with key {}",
        key_id(key)
    );
    let body = plain.trim_start_matches("whsec_");
    assert!(!value.contains(body), "`{value}` holds the secret");
}

on_both_backends! {
    async fn a_stored_secret_is_never_the_plain_one_yet_deliveries_verify_with_the_one_shown(backend) {
        let receiver = Receiver::answering(200).await;
        let app = spawn_notifying_app(backend, |_| {}).await;
        let old = app.subscribe(&receiver.url(), &["workspace.provisioned"], None).await;
        let (secret, previous) = stored(&app, &old.id).await;
        assert_sealed(&secret, TEST_ENCRYPTION_KEY, &old.secret);
        assert_eq!(previous, None);

        let (status, rotated) = app
            .admin_post(&format!("/api/admin/notifications/subscriptions/{}/rotate-secret", old.id), json!({}))
            .await;
        assert_eq!(status, 200, "{rotated}");
        let new_secret = rotated["secret"].as_str().unwrap();
        assert!(new_secret.starts_with("whsec_"), "shown in plain text, once: {rotated}");
        let (now_stored, previous) = stored(&app, &old.id).await;
        assert_sealed(&now_stored, TEST_ENCRYPTION_KEY, new_secret);
        assert_eq!(previous.as_deref(), Some(secret.as_str()), "the rotated-out secret is kept as it was sealed");

        app.deliver(&tenant_created("t-at-rest")).await;
        let request = &receiver.wait_for(1).await[0];
        verified(new_secret, request).expect("the secret shown at rotation verifies");
        verified(&old.secret, request).expect("the secret shown at creation verifies during the grace period");
        let shown = app.subscription(&old.id).await.to_string();
        assert!(!shown.contains("enc:v1:") && !shown.contains("whsec_"), "{shown}");
    }

    async fn a_row_stored_in_plain_text_by_an_earlier_version_is_encrypted_at_start_and_still_delivers(backend) {
        let receiver = Receiver::answering(200).await;
        let first = spawn_notifying_app(backend, |s| s.notifications.enabled = false).await;
        insert_plain(&first, "sub_legacy", &receiver.url()).await;

        let next = spawn_notifying_instance(&first, |_| {}).await;
        let (secret, previous) = stored(&next, "sub_legacy").await;
        assert_sealed(&secret, TEST_ENCRYPTION_KEY, PLAIN);
        assert_sealed(&previous.unwrap(), TEST_ENCRYPTION_KEY, PLAIN_PREVIOUS);

        first.deliver(&tenant_created("t-legacy")).await;
        let request = &receiver.wait_for(1).await[0];
        verified(PLAIN, request).expect("the secret the subscriber always had verifies");
        verified(PLAIN_PREVIOUS, request).expect("the previous one too, during its grace period");
        assert_eq!(next.finished_deliveries("sub_legacy", 1).await[0]["status"], "succeeded");
    }

    async fn after_a_key_rotation_a_start_reseals_every_secret_with_the_new_key_and_deliveries_still_verify(backend) {
        let receiver = Receiver::answering(200).await;
        let first = spawn_notifying_app(backend, |s| s.notifications.enabled = false).await;
        let sub = first.subscribe(&receiver.url(), &["*"], None).await;
        let (_, rotated) = first
            .admin_post(&format!("/api/admin/notifications/subscriptions/{}/rotate-secret", sub.id), json!({}))
            .await;
        let new_secret = rotated["secret"].as_str().unwrap().to_owned();

        // Step one of a key rotation: the new key first, the old one second.
        let both = |s: &mut tenantgate::config::Settings| {
            s.notifications.encryption_keys = [NEW_KEY, TEST_ENCRYPTION_KEY].map(SecretString::from).to_vec();
        };
        let next = spawn_notifying_instance(&first, both).await;
        let (secret, previous) = stored(&next, &sub.id).await;
        assert_sealed(&secret, NEW_KEY, &new_secret);
        assert_sealed(&previous.unwrap(), NEW_KEY, &sub.secret);

        first.deliver(&tenant_created("t-rekeyed")).await;
        let request = &receiver.wait_for(1).await[0];
        verified(&new_secret, request).unwrap();
        verified(&sub.secret, request).unwrap();

        // Step two: once every instance has restarted, the old key goes.
        let only_new = spawn_notifying_instance(&first, |s| s.notifications.encryption_keys = vec![SecretString::from(NEW_KEY)]).await;
        let (status, result) = only_new
            .admin_post(&format!("/api/admin/notifications/subscriptions/{}/test", sub.id), json!({}))
            .await;
        assert_eq!((status, result["delivered"].clone()), (200, json!(true)), "{result}");
        let test_send = receiver.requests().await.pop().unwrap();
        assert_eq!(verified(&new_secret, &test_send).unwrap()["type"], "subscription.test");
    }

    async fn with_only_a_key_that_cannot_open_a_secret_its_deliveries_fail_naming_the_key_and_nothing_is_sent(backend) {
        let receiver = Receiver::answering(200).await;
        let first = spawn_notifying_app(backend, |s| s.notifications.enabled = false).await;
        let sub = first.subscribe(&receiver.url(), &["*"], None).await;
        let (before, _) = stored(&first, &sub.id).await;

        let stranger = spawn_notifying_instance(&first, |s| {
            s.notifications.encryption_keys = vec![SecretString::from(NEW_KEY)];
            s.notifications.retry_schedule_secs = vec![0.1];
        })
        .await;
        assert_eq!(stored(&stranger, &sub.id).await.0, before, "a value no key opens is left as it is");

        first.deliver(&tenant_created("t-no-key")).await;
        let log = stranger.finished_deliveries(&sub.id, 1).await;
        assert_eq!((log[0]["status"].as_str(), log[0]["attempts"].as_i64()), (Some("dead"), Some(2)), "retried, then dead");
        let last_error = log[0]["last_error"].as_str().unwrap();
        assert!(last_error.contains(&key_id(TEST_ENCRYPTION_KEY)) && last_error.contains("notifications.encryption_keys"), "{last_error}");
        for attempt in log[0]["attempt_log"].as_array().unwrap() {
            assert_eq!(attempt["status_code"], serde_json::Value::Null, "{attempt}");
            assert!(attempt["error"].as_str().unwrap().contains("not sent: the signing secret"), "{attempt}");
        }
        let (status, result) = stranger
            .admin_post(&format!("/api/admin/notifications/subscriptions/{}/test", sub.id), json!({}))
            .await;
        assert_eq!((status, result["delivered"].clone()), (200, json!(false)), "{result}");
        assert!(result["error"].as_str().unwrap().contains(&key_id(TEST_ENCRYPTION_KEY)), "{result}");
        assert!(receiver.requests().await.is_empty(), "nothing is sent unsigned");

        // Rotating the secret recovers the subscription: the one no key opens is dropped, not
        // kept to sign during a grace period.
        let (status, rotated) = stranger
            .admin_post(&format!("/api/admin/notifications/subscriptions/{}/rotate-secret", sub.id), json!({}))
            .await;
        assert_eq!((status, rotated["previous_secret_valid_until"].clone()), (200, serde_json::Value::Null), "{rotated}");
        let (_, result) = stranger
            .admin_post(&format!("/api/admin/notifications/subscriptions/{}/test", sub.id), json!({}))
            .await;
        assert_eq!(result["delivered"], true, "{result}");
        let request = &receiver.wait_for(1).await[0];
        verified(rotated["secret"].as_str().unwrap(), request).unwrap();
        assert!(verified(&sub.secret, request).is_err());
    }

    async fn passes_running_at_once_seal_each_plain_secret_exactly_once(backend) {
        let receiver = Receiver::answering(200).await;
        let app = spawn_notifying_app(backend, |s| s.notifications.enabled = false).await;
        let ids: Vec<String> = (0..20).map(|n| format!("sub_legacy_{n:02}")).collect();
        for id in &ids {
            insert_plain(&app, id, &receiver.url()).await;
        }
        let sealer = Sealer::new(&[SecretString::from(TEST_ENCRYPTION_KEY)]).unwrap();
        let pass = || {
            let (url, sealer) = (app.database_url.clone(), sealer.clone());
            tokio::spawn(async move {
                let db = Database::connect(&url, 2, Duration::from_secs(5)).unwrap();
                seal_stored_secrets(&db, &sealer).await.unwrap()
            })
        };
        let passes = [pass(), pass(), pass()];
        let mut sealed = 0;
        for done in passes {
            let done = done.await.unwrap();
            assert!(done.unreadable.is_empty() && done.unsettled == 0, "{done:?}");
            sealed += done.sealed;
        }
        assert_eq!(sealed, 2 * ids.len(), "each value sealed by one pass only");
        for id in &ids {
            let (secret, previous) = stored(&app, id).await;
            assert_eq!(sealer.open(id, &secret).unwrap().expose_secret(), PLAIN);
            assert_eq!(sealer.open(id, &previous.unwrap()).unwrap().expose_secret(), PLAIN_PREVIOUS);
        }
        let again = seal_stored_secrets(&app.db, &sealer).await.unwrap();
        assert_eq!((again.sealed, again.resealed), (0, 0), "nothing left to do");
    }

    async fn serve_logs_one_line_with_the_counts_and_never_a_secret(backend) {
        let app = spawn_app(backend).await;
        insert_plain(&app, "sub_legacy", "https://hooks.example.com/a").await;
        let foreign = Sealer::new(&[SecretString::from(NEW_KEY)]).unwrap().seal("sub_foreign", PLAIN).unwrap();
        let row_of_another_key = move |c: &mut tenantgate::db::DbConn| {
            tenantgate::with_conn!(c, |c| diesel::insert_into(subscriptions::table)
                .values((
                    subscriptions::id.eq("sub_foreign"),
                    subscriptions::url.eq("https://hooks.example.com/b"),
                    subscriptions::event_types.eq(r#"["*"]"#),
                    subscriptions::secret.eq(foreign),
                    subscriptions::active.eq(true),
                    subscriptions::created_at.eq(Utc::now().naive_utc()),
                    subscriptions::updated_at.eq(Utc::now().naive_utc()),
                ))
                .execute(c))?;
            Ok(())
        };
        app.db.run(row_of_another_key).await.unwrap();

        let dir = tempfile::tempdir().unwrap();
        let mut command = tenantgate(dir.path(), &["serve"]);
        command
            .env("DATABASE_URL", &app.database_url)
            .env("TENANTGATE__NOTIFICATIONS__ENCRYPTION_KEYS", TEST_ENCRYPTION_KEY)
            .env("TENANTGATE__LOG__FORMAT", "json");
        let lines = Server::start(command).stop();
        let counts: Vec<serde_json::Value> = lines
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|l| l["secrets.sealed"].is_number())
            .collect();
        assert_eq!(counts.len(), 1, "one line with the counts:\n{}", lines.join("\n"));
        let fields = &counts[0];
        assert_eq!((fields["secrets.sealed"].as_u64(), fields["secrets.resealed"].as_u64()), (Some(2), Some(0)), "{fields}");
        assert_eq!(fields["secrets.unreadable"], 1, "{fields}");
        assert_eq!(fields["missing_keys"], key_id(NEW_KEY), "{fields}");
        assert_eq!(fields["subscription.ids"], "sub_foreign", "{fields}");
        for line in &lines {
            for leak in [PLAIN.trim_start_matches("whsec_"), PLAIN_PREVIOUS.trim_start_matches("whsec_"), "enc:v1:"] {
                assert!(!line.contains(leak), "a log line leaks `{leak}`:\n{line}");
            }
        }
    }
}
