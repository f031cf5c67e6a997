//! `tenantgate events purge`: old finished events, or on purpose old dead ones, deleted in the
//! database directly, in the chunks the retention job uses, with one audit entry.

use anyhow::Context;
use chrono::NaiveDateTime;

use super::output::time;
use super::EventsPurgeArgs;
use crate::config::Settings;
use crate::db::Database;
use crate::operations::purge::{purge, would_purge};
use crate::operations::Actor;
use crate::retention;
use crate::retention::store::{Purged, Scope};

pub(super) async fn run(db: &Database, settings: &Settings, args: &EventsPurgeArgs, by: &Actor) -> anyhow::Result<()> {
    let days = args.older_than_days.unwrap_or(settings.retention.finished_after_days);
    let scope = if args.dead { Scope::Dead } else { Scope::Finished };
    let cutoff = retention::cutoff(days);
    if args.dry_run {
        let counted = would_purge(db, scope, cutoff)
            .await
            .context("cannot count the events to purge")?;
        println!(
            "would purge {}; nothing deleted (--dry-run)",
            describe(counted, scope, days, cutoff)
        );
        return Ok(());
    }
    let purged = purge(db, scope, cutoff, by).await?;
    println!("purged {}", describe(purged, scope, days, cutoff));
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
