//! Test sends: a signed `subscription.test` notification sent now, never queued nor retried, to
//! one subscription, to every active one at once, or to any URL before subscribing it (signed
//! with a secret made for that send alone). Shared by the admin API and the CLI; each action
//! writes one audit entry, after the send, saying how it went (never the URL: some carry a
//! token in their path).

use anyhow::Context as _;
use chrono::NaiveDateTime;
use futures_util::StreamExt as _;
use secrecy::SecretString;

use super::sealing::Sealer;
use super::sender::{SendResult, Sender};
use super::signing::{generate_secret, signing_secrets};
use super::subscriptions::{find, SubscriptionError};
use super::SUBSCRIPTION_TEST;
use crate::db::actor::Actor;
use crate::db::Database;
use crate::notifications::store::{self as store, Subscription};

/// Test sends in flight at once when every subscriber is tried: enough that a few slow
/// endpoints do not hold up the rest, few enough not to open a connection per subscriber.
pub const AT_ONCE: usize = 8;

/// How the test send to one subscription went.
#[derive(Debug, Clone)]
pub struct Tried {
    pub subscription: Subscription,
    pub result: SendResult,
}

/// A test send to a URL, with the secret made for it: the receiver verifies with it.
#[derive(Debug, Clone)]
pub struct UrlTried {
    pub secret: SecretString,
    pub result: SendResult,
}

/// Sends a test to subscription `id`, signed like its deliveries, within its timeout. A secret
/// that does not open is told as the reason it was not sent.
pub async fn test_subscription(
    db: &Database,
    sender: &Sender,
    sealer: &Sealer,
    id: &str,
    by: &Actor,
    now: NaiveDateTime,
) -> Result<SendResult, SubscriptionError> {
    let row = find(db, id).await?;
    let result = send(sender, sealer, &row, now).await;
    let detail = serde_json::json!({
        "by": by,
        "subscription_id": row.id,
        "delivered": result.delivered(),
        "status_code": result.status,
    });
    audit(db, "subscription.tested", detail, now).await?;
    Ok(result)
}

/// Sends a test to every active subscription, [`AT_ONCE`] at a time; answers each, oldest
/// subscription first. Paused and disabled subscriptions are left out.
pub async fn test_all_active(
    db: &Database,
    sender: &Sender,
    sealer: &Sealer,
    by: &Actor,
    now: NaiveDateTime,
) -> Result<Vec<Tried>, SubscriptionError> {
    let rows = db.run(store::list_subscriptions).await?;
    let tried: Vec<Tried> = futures_util::stream::iter(rows.into_iter().filter(|s| s.active))
        .map(|subscription| async move {
            let result = send(sender, sealer, &subscription, now).await;
            Tried { subscription, result }
        })
        .buffered(AT_ONCE)
        .collect()
        .await;
    let delivered = tried.iter().filter(|t| t.result.delivered()).count();
    let detail = serde_json::json!({"by": by, "tested": tried.len(), "delivered": delivered});
    audit(db, "subscriptions.tested", detail, now).await?;
    Ok(tried)
}

/// Sends a test to `url`, which the address policy checks as it checks a subscription's, signed
/// with a new secret that is answered and kept nowhere. The audit entry names the host only.
pub async fn test_url(
    db: &Database,
    sender: &Sender,
    url: &str,
    by: &Actor,
    now: NaiveDateTime,
) -> Result<UrlTried, SubscriptionError> {
    let checked = sender.policy().check_url(url).await?;
    let secret = generate_secret().context("cannot make a secret for the test send")?;
    let message = super::message(
        SUBSCRIPTION_TEST,
        None,
        serde_json::json!({"subscription_id": null}),
        now,
    );
    let result = sender
        .send(
            checked.as_str(),
            &message.id,
            &message.payload,
            std::slice::from_ref(&secret),
            now.and_utc().timestamp(),
            sender.request_timeout(),
        )
        .await;
    let detail = serde_json::json!({
        "by": by,
        "host": checked.host_str(),
        "delivered": result.delivered(),
        "status_code": result.status,
    });
    audit(db, "destination.tested", detail, now).await?;
    Ok(UrlTried { secret, result })
}

/// One `subscription.test` to `row`, as its deliveries are sent.
async fn send(sender: &Sender, sealer: &Sealer, row: &Subscription, now: NaiveDateTime) -> SendResult {
    let message = super::message(
        SUBSCRIPTION_TEST,
        row.tenant_id.as_deref(),
        serde_json::json!({"subscription_id": row.id}),
        now,
    );
    let secrets = match signing_secrets(sealer, row, now) {
        Ok(secrets) => secrets,
        Err(e) => return SendResult::not_sent(e.to_string()),
    };
    sender
        .send(
            &row.url,
            &message.id,
            &message.payload,
            &secrets,
            now.and_utc().timestamp(),
            sender.timeout_for(row.request_timeout_ms),
        )
        .await
}

async fn audit(
    db: &Database,
    action: &'static str,
    detail: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), SubscriptionError> {
    db.run(move |c| store::audit(c, now, action, detail)).await?;
    Ok(())
}
