//! `tenantgate subscriptions list|add|rm|test|stats`: subscribers to tenantgate's own
//! notifications, managed in the database directly (no server needed), as the admin API does.

use anyhow::Context;
use secrecy::ExposeSecret;

use super::output::{one_line, or_dash, print_table, time};
use super::{SubscriptionAddArgs, SubscriptionTestArgs, SubscriptionsCommand};
use crate::config::Settings;
use crate::db::Database;
use crate::notifications::reseal::seal_stored_secrets;
use crate::notifications::sealing::Sealer;
use crate::notifications::sender::{SendResult, Sender};
use crate::notifications::store;
use crate::notifications::subscriptions::{self as subs, NewSubscription};
use crate::notifications::test_sends;

pub(super) async fn run(settings: &Settings, command: SubscriptionsCommand) -> anyhow::Result<()> {
    let db = super::events::open(settings).await?;
    let sender = Sender::new(&settings.notifications)?;
    // As at a server's start: the commands below find every secret sealed with the first key.
    let sealer = Sealer::new(&settings.notifications.encryption_keys)?;
    seal_stored_secrets(&db, &sealer).await?;
    let now = chrono::Utc::now().naive_utc();
    match command {
        SubscriptionsCommand::List => {
            let rows = db
                .run(store::list_subscriptions)
                .await
                .context("cannot list subscriptions")?;
            if rows.is_empty() {
                println!("no subscriptions: add one with `tenantgate subscriptions add --url URL`");
                return Ok(());
            }
            let or_default = |value: Option<i32>| value.map_or_else(|| "default".to_owned(), |v| v.to_string());
            let table = rows
                .iter()
                .map(|s| {
                    vec![
                        s.id.clone(),
                        or_dash(s.name.as_deref()),
                        if s.active { "active".into() } else { "inactive".into() },
                        s.types().join(","),
                        or_dash(s.tenant_id.as_deref()),
                        or_default(s.request_timeout_ms),
                        or_default(s.max_attempts),
                        time(s.created_at),
                        format!(
                            "{}{}",
                            s.url,
                            s.disabled_reason
                                .as_ref()
                                .map(|r| format!(" ({r})"))
                                .unwrap_or_default()
                        ),
                    ]
                })
                .collect();
            print_table(
                &[
                    "ID",
                    "NAME",
                    "STATE",
                    "EVENTS",
                    "TENANT",
                    "TIMEOUT MS",
                    "ATTEMPTS",
                    "CREATED",
                    "URL",
                ],
                table,
            );
            Ok(())
        }
        SubscriptionsCommand::Add(SubscriptionAddArgs {
            url,
            events,
            tenant,
            name,
            description,
            timeout_ms,
            max_attempts,
        }) => {
            let new = NewSubscription {
                url,
                event_types: events,
                tenant_id: tenant,
                name,
                description,
                request_timeout_ms: timeout_ms,
                max_attempts,
            };
            let created = subs::create(&db, &sender, &sealer, new, &super::events::operator(), now).await?;
            let (row, secret) = (&created.subscription, created.secret.expose_secret());
            println!("subscription {} created for {}", row.id, row.url);
            println!("events: {}", row.types().join(", "));
            println!("secret: {secret}");
            println!("(the secret is shown only now: verify deliveries with it, as Standard Webhooks does)");
            Ok(())
        }
        SubscriptionsCommand::Rm { id } => {
            subs::delete(&db, &id, &super::events::operator(), now).await?;
            println!("subscription {id} deleted, with its deliveries");
            Ok(())
        }
        SubscriptionsCommand::Test(args) => test(&db, &sender, &sealer, args, now).await,
        SubscriptionsCommand::Stats(args) => super::subscription_stats::run(&db, &args, now).await,
    }
}

async fn test(
    db: &Database,
    sender: &Sender,
    sealer: &Sealer,
    args: SubscriptionTestArgs,
    now: chrono::NaiveDateTime,
) -> anyhow::Result<()> {
    match args {
        SubscriptionTestArgs { id: Some(id), .. } => {
            let result =
                test_sends::test_subscription(db, sender, sealer, &id, &super::events::operator(), now).await?;
            report(&result)
        }
        SubscriptionTestArgs { url: Some(url), .. } => {
            let tried = test_sends::test_url(db, sender, &url, &super::events::operator(), now).await?;
            println!(
                "secret: {} (made for this send alone: verify the request with it)",
                tried.secret.expose_secret()
            );
            report(&tried.result)
        }
        SubscriptionTestArgs { .. } => {
            let tried = test_sends::test_all_active(db, sender, sealer, &super::events::operator(), now).await?;
            if tried.is_empty() {
                println!("no active subscriptions to test");
                return Ok(());
            }
            let table = tried
                .iter()
                .map(|t| {
                    let outcome = match (t.result.delivered(), t.result.status) {
                        (true, Some(status)) => format!("delivered ({status})"),
                        _ => format!(
                            "not delivered: {}",
                            one_line(t.result.error.as_deref().unwrap_or("no answer"), 80)
                        ),
                    };
                    vec![
                        t.subscription.id.clone(),
                        or_dash(t.subscription.name.as_deref()),
                        format!("{} ms", t.result.duration.as_millis()),
                        t.subscription.url.clone(),
                        outcome,
                    ]
                })
                .collect();
            print_table(&["ID", "NAME", "LATENCY", "URL", "RESULT"], table);
            let failed = tried.iter().filter(|t| !t.result.delivered()).count();
            if failed > 0 {
                anyhow::bail!("{failed} of {} subscriptions did not answer 2xx", tried.len());
            }
            Ok(())
        }
    }
}

/// One test send's outcome; an error unless the endpoint answered 2xx.
fn report(result: &SendResult) -> anyhow::Result<()> {
    let latency = result.duration.as_millis();
    match (result.delivered(), result.status) {
        (true, Some(status)) => {
            println!("delivered: the endpoint answered {status} in {latency} ms");
            Ok(())
        }
        _ => anyhow::bail!(
            "not delivered after {latency} ms: {}",
            result.error.as_deref().unwrap_or("no answer")
        ),
    }
}
