//! Managing subscriptions: create (with a generated secret, shown once), change, rotate the
//! secret, delete. Shared by the admin API, the CLI and the console; each action's audit entry
//! names who did it (`by`, an [`Actor`]). Test sends are in [`super::test_sends`]. Secrets are sealed before they are written and opened only to sign
//! ([`super::sealing`]).

use anyhow::Context as _;
use chrono::NaiveDateTime;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::catalog::{is_known_type, CATALOG};
use super::destination::DestinationError;
use super::limits::{self, OutOfRange};
use super::sealing::Sealer;
use super::sender::Sender;
use super::signing::generate_secret;
use crate::db::actor::Actor;
use crate::db::{Database, StoreError};
use crate::notifications::store::secrets as secrets_store;
use crate::notifications::store::{self as store, Subscription, SubscriptionUpdate};

#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    #[error(transparent)]
    Destination(#[from] DestinationError),
    #[error("unknown notification type `{0}`: one of {types}, or \"*\" for all", types = known_types())]
    UnknownType(String),
    #[error("event_types must name at least one type, or \"*\" for all")]
    NoTypes,
    #[error("{0} must not be empty when given")]
    Empty(&'static str),
    #[error(transparent)]
    OutOfRange(#[from] OutOfRange),
    #[error("no subscription {0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The disabled reason of a subscription an operator paused.
pub const PAUSED: &str = "paused by an operator";

fn known_types() -> String {
    CATALOG.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
}

/// A subscription as stored, with its new signing secret in plain text: what creating it or
/// rotating its secret answers, the only time the secret is shown.
#[derive(Debug, Clone)]
pub struct WithSecret {
    pub subscription: Subscription,
    pub secret: SecretString,
}

/// What a new subscription asks for.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// Where notifications are POSTed: https (plain http only where `notifications.allow_http`
    /// is true), a public address unless allowed.
    #[schema(format = "uri")]
    pub url: String,
    /// Types to receive (see `GET /api/admin/notifications/events`), or `["*"]` for all (the
    /// default).
    #[serde(default = "all_types")]
    #[schema(min_items = 1)]
    pub event_types: Vec<String>,
    /// Only this tenant's notifications.
    #[serde(default)]
    #[schema(min_length = 1)]
    pub tenant_id: Option<String>,
    /// A short label shown in lists and statistics, e.g. "CRM sync".
    #[serde(default)]
    #[schema(max_length = 100)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Total time for one delivery request, answer included, in milliseconds: up to
    /// `notifications.request_timeout_ms` (the default).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub request_timeout_ms: Option<i64>,
    /// Attempts before a delivery is dead. By default a first attempt and one per step of
    /// `notifications.retry_schedule_secs`; fewer cut the schedule short, more repeat its last
    /// step.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 50)]
    pub max_attempts: Option<i64>,
}

fn all_types() -> Vec<String> {
    vec!["*".to_owned()]
}

/// A change to a subscription; absent fields stay as they are. `null` removes the tenant filter
/// and the name, and puts `request_timeout_ms` and `max_attempts` back to the global defaults.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionChange {
    #[schema(format = "uri")]
    pub url: Option<String>,
    #[schema(min_items = 1)]
    pub event_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1)]
    pub tenant_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub name: Option<Option<String>>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub request_timeout_ms: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 50)]
    pub max_attempts: Option<Option<i64>>,
    /// false stops queuing notifications for it (deliveries already queued wait); true resumes,
    /// also after an automatic disable.
    pub active: Option<bool>,
}

/// A field that is present (even as null) is `Some`, so that null can mean "remove".
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Creates a subscription with a new secret, stored sealed; answers it in plain text (show it
/// once).
pub async fn create(
    db: &Database,
    sender: &Sender,
    sealer: &Sealer,
    new: NewSubscription,
    by: &Actor,
    now: NaiveDateTime,
) -> Result<WithSecret, SubscriptionError> {
    let url = sender.policy().check_url(&new.url).await?;
    let name = limits::check_name(new.name)?;
    let tenant_id = limits::check_tenant_id(non_empty(new.tenant_id, "tenant_id")?)?;
    let description = limits::check_description(new.description)?;
    let request_timeout_ms = new
        .request_timeout_ms
        .map(|ms| limits::check_timeout(ms, sender.request_timeout()))
        .transpose()?;
    let max_attempts = new.max_attempts.map(limits::check_max_attempts).transpose()?;
    let id = format!("sub_{}", uuid::Uuid::new_v4().simple());
    let secret = generate_secret()?;
    let sealed_secret = sealer
        .seal(&id, secret.expose_secret())
        .context("cannot encrypt the new subscription's secret")?;
    let row = Subscription {
        id,
        url: url.to_string(),
        event_types: types_json(&new.event_types)?,
        tenant_id,
        description,
        sealed_secret,
        sealed_previous_secret: None,
        previous_secret_expires_at: None,
        active: true,
        disabled_reason: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
        name,
        request_timeout_ms,
        max_attempts,
    };
    let stored = row.clone();
    let by = by.clone();
    db.run(move |c| {
        c.transaction(|c| {
            store::insert_subscription(c, &stored)?;
            // Not the URL: some carry a token in their path.
            let detail = serde_json::json!({"by": by, "subscription_id": stored.id});
            store::audit(c, now, "subscription.created", detail)
        })
    })
    .await?;
    Ok(WithSecret {
        subscription: row,
        secret,
    })
}

/// Applies a change; reactivating clears the reason and the failure clock. Only the columns
/// the change names are written.
pub async fn update(
    db: &Database,
    sender: &Sender,
    id: &str,
    change: SubscriptionChange,
    by: &Actor,
    now: NaiveDateTime,
) -> Result<Subscription, SubscriptionError> {
    let current = find(db, id).await?;
    let mut update = SubscriptionUpdate {
        updated_at: Some(now),
        ..SubscriptionUpdate::default()
    };
    if let Some(url) = &change.url {
        update.url = Some(sender.policy().check_url(url).await?.to_string());
    }
    if let Some(types) = &change.event_types {
        update.event_types = Some(types_json(types)?);
    }
    if let Some(tenant) = change.tenant_id {
        update.tenant_id = Some(limits::check_tenant_id(non_empty(tenant, "tenant_id")?)?);
    }
    if let Some(name) = change.name {
        update.name = Some(limits::check_name(name)?);
    }
    if let Some(ms) = change.request_timeout_ms {
        update.request_timeout_ms = Some(
            ms.map(|ms| limits::check_timeout(ms, sender.request_timeout()))
                .transpose()?,
        );
    }
    if let Some(attempts) = change.max_attempts {
        update.max_attempts = Some(attempts.map(limits::check_max_attempts).transpose()?);
    }
    if let Some(description) = change.description {
        update.description = Some(limits::check_description(Some(description))?);
    }
    match change.active {
        Some(true) if !current.active => {
            update.active = Some(true);
            update.disabled_reason = Some(None);
            update.failing_since = Some(None);
        }
        Some(false) if current.active => {
            update.active = Some(false);
            update.disabled_reason = Some(Some(PAUSED.into()));
        }
        _ => {}
    }
    let detail = serde_json::json!({
        "by": by,
        "subscription_id": id,
        "active": update.active.unwrap_or(current.active),
    });
    apply_audited(db, id, update, "subscription.updated", detail, now).await
}

/// A new secret, stored sealed and answered in plain text (show it once); the previous one
/// keeps signing for `grace` (deliveries carry both signatures). A previous secret that no
/// configured key opens could not sign, so it is dropped instead: rotating is how a
/// subscription whose encryption key was lost recovers.
pub async fn rotate(
    db: &Database,
    sealer: &Sealer,
    id: &str,
    grace: std::time::Duration,
    by: &Actor,
    now: NaiveDateTime,
) -> Result<WithSecret, SubscriptionError> {
    let until = chrono::Duration::from_std(grace)
        .ok()
        .and_then(|g| now.checked_add_signed(g))
        .unwrap_or(NaiveDateTime::MAX);
    let secret = generate_secret()?;
    let sealed = sealer
        .seal(id, secret.expose_secret())
        .context("cannot encrypt the new secret")?;
    let current = find(db, id).await?.sealed_secret;
    let unreadable = sealer.open(id, &current).is_err().then_some(current);
    let owned = id.to_owned();
    let by = by.clone();
    let row = db
        .run(move |c| {
            c.transaction(|c| {
                let dropped = match &unreadable {
                    Some(stored) => secrets_store::replace_unreadable(c, &owned, stored, &sealed, now)?,
                    None => false,
                };
                // Not dropped, or another rotation came between: what is current now is kept.
                let row = if dropped {
                    store::subscription(c, &owned)?
                } else {
                    store::rotate_secret(c, &owned, &sealed, until, now)?
                };
                if row.is_some() {
                    let valid_until = (!dropped).then(|| until.and_utc().to_rfc3339());
                    let detail = serde_json::json!({
                        "by": by,
                        "subscription_id": owned,
                        "previous_valid_until": valid_until,
                        "previous_dropped": dropped,
                    });
                    store::audit(c, now, "subscription.secret_rotated", detail)?;
                }
                Ok(row)
            })
        })
        .await?
        .ok_or_else(|| SubscriptionError::NotFound(id.to_owned()))?;
    Ok(WithSecret {
        subscription: row,
        secret,
    })
}

/// Applies the update and writes its audit entry in one transaction.
async fn apply_audited(
    db: &Database,
    id: &str,
    update: SubscriptionUpdate,
    action: &'static str,
    detail: serde_json::Value,
    now: NaiveDateTime,
) -> Result<Subscription, SubscriptionError> {
    let owned = id.to_owned();
    db.run(move |c| {
        c.transaction(|c| {
            let row = store::update_subscription(c, &owned, &update)?;
            if row.is_some() {
                store::audit(c, now, action, detail)?;
            }
            Ok(row)
        })
    })
    .await?
    .ok_or_else(|| SubscriptionError::NotFound(id.to_owned()))
}

pub async fn delete(db: &Database, id: &str, by: &Actor, now: NaiveDateTime) -> Result<(), SubscriptionError> {
    let owned = id.to_owned();
    let by = by.clone();
    let deleted = db
        .run(move |c| {
            c.transaction(|c| {
                let deleted = store::delete_subscription(c, &owned)?;
                if deleted {
                    store::audit(
                        c,
                        now,
                        "subscription.deleted",
                        serde_json::json!({"by": by, "subscription_id": owned}),
                    )?;
                }
                Ok(deleted)
            })
        })
        .await?;
    if deleted {
        Ok(())
    } else {
        Err(SubscriptionError::NotFound(id.to_owned()))
    }
}

pub async fn find(db: &Database, id: &str) -> Result<Subscription, SubscriptionError> {
    let owned = id.to_owned();
    db.run(move |c| store::subscription(c, &owned))
        .await?
        .ok_or_else(|| SubscriptionError::NotFound(id.to_owned()))
}

fn types_json(types: &[String]) -> Result<String, SubscriptionError> {
    if types.is_empty() {
        return Err(SubscriptionError::NoTypes);
    }
    if let Some(unknown) = types.iter().find(|t| *t != "*" && !is_known_type(t)) {
        return Err(SubscriptionError::UnknownType(unknown.chars().take(100).collect()));
    }
    let mut types: Vec<&str> = types.iter().map(String::as_str).collect();
    if types.contains(&"*") {
        types = vec!["*"];
    }
    types.sort_unstable();
    types.dedup();
    Ok(serde_json::json!(types).to_string())
}

fn non_empty(value: Option<String>, name: &'static str) -> Result<Option<String>, SubscriptionError> {
    match value {
        Some(v) if v.trim().is_empty() => Err(SubscriptionError::Empty(name)),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_checked_against_the_catalog_and_star_means_all() {
        assert_eq!(types_json(&["*".into(), "user.activated".into()]).unwrap(), r#"["*"]"#);
        assert_eq!(
            types_json(&["user.activated".into(), "sso.changed".into(), "user.activated".into()]).unwrap(),
            r#"["sso.changed","user.activated"]"#
        );
        assert!(matches!(types_json(&[]), Err(SubscriptionError::NoTypes)));
        let unknown = types_json(&["workspace.exploded".into()]).unwrap_err().to_string();
        assert!(
            unknown.contains("workspace.exploded") && unknown.contains("workspace.provisioned"),
            "{unknown}"
        );
    }
}
