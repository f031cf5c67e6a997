//! `tenantgate events purge`: old finished events, or on purpose old dead ones, deleted in the
//! database directly, in the chunks the retention job uses, with one audit entry.

use anyhow::Context;
use chrono::NaiveDateTime;

use super::events::actor;
use super::output::time;
use super::EventsPurgeArgs;
use crate::config::Settings;
use crate::retention::{self, Ended};
use crate::store::retention::{audit_purge, count, Purged, Scope, Turn};
use crate::store::Database;

pub(super) async fn run(db: &Database, settings: &Settings, args: &EventsPurgeArgs) -> anyhow::Result<()> {
    let days = args.older_than_days.unwrap_or(settings.retention.finished_after_days);
    let scope = if args.dead { Scope::Dead } else { Scope::Finished };
    let cutoff = retention::cutoff(days);
    if args.dry_run {
        let counted = db
            .run(move |c| count(c, scope, cutoff))
            .await
            .context("cannot count the events to purge")?;
        println!(
            "would purge {}; nothing deleted (--dry-run)",
            describe(counted, scope, days, cutoff)
        );
        return Ok(());
    }
    // An operator's purge waits for its turn rather than giving up to a running job.
    let run = retention::purge(db, scope, cutoff, Turn::Wait, || false).await;
    let audited = if run.purged.events > 0 {
        let (now, by, purged) = (chrono::Utc::now().naive_utc(), actor(), run.purged);
        db.run(move |c| audit_purge(c, now, &by, scope, cutoff, purged))
            .await
            .context("the events were purged, but the audit entry could not be written")
    } else {
        Ok(())
    };
    if let Ended::Failed(e) = run.ended {
        return Err(anyhow::Error::new(e).context(format!(
            "purging stopped after {} event(s) and {} attempt(s)",
            run.purged.events, run.purged.attempts
        )));
    }
    audited?;
    println!("purged {}", describe(run.purged, scope, days, cutoff));
    Ok(())
}

/// e.g. `3 finished event(s) and 5 attempt(s): finished more than 30 day(s) ago, before …`.
fn describe(purged: Purged, scope: Scope, days: u32, cutoff: NaiveDateTime) -> String {
    format!(
        "{} {} event(s) and {} attempt(s): finished more than {days} day(s) ago, before {}",
        purged.events,
        scope.name(),
        purged.attempts,
        time(cutoff)
    )
}
