//! `tenantgate events list|show|replay`: stored events, read and requeued in the database
//! directly (no server needed), through the same operations as the admin API.

use anyhow::{bail, Context};
use chrono::NaiveDateTime;
use indicatif::{ProgressBar, ProgressStyle};
use secrecy::ExposeSecret;

use super::output::{one_line, or_dash, print_table, time};
use super::{EventsCommand, EventsReplayArgs, ListArgs};
use crate::app::open_database;
use crate::config::Settings;
use crate::db::{Database, DatabaseUrl};
use crate::inbox::{EventRow, EventStatus};
use crate::operations::events::{self as operation, EventHistory};
use crate::operations::replay::{replay_one as replay_event, Replay, FINISHED};
use crate::operations::replay_matching::{replay_matching as replay_selection, Progress, Selection};
use crate::operations::Actor;

/// Longest last error shown in the list.
const ERROR_WIDTH: usize = 60;

pub(super) async fn run(settings: &Settings, command: EventsCommand) -> anyhow::Result<()> {
    let db = open(settings).await?;
    match command {
        EventsCommand::List(args) => list(&db, &args).await,
        EventsCommand::Show { id } => show(&db, id).await,
        EventsCommand::Replay(args) => replay(&db, &args).await,
        EventsCommand::Purge(args) => super::purge::run(&db, settings, &args, &operator()).await,
    }
}

/// The configured database, which must exist and be migrated (an operator command never
/// creates or changes a schema).
pub(super) async fn open(settings: &Settings) -> anyhow::Result<Database> {
    if let Ok(DatabaseUrl::Sqlite(path)) = DatabaseUrl::parse(settings.database.url.expose_secret()) {
        if !path.exists() {
            bail!(
                "no database at {}: set DATABASE_URL (or database.url), or run `tenantgate migrate` first",
                path.display()
            );
        }
    }
    let db = open_database(settings)?;
    let state = db
        .migration_state()
        .await
        .context("cannot read the database's schema")?;
    if !state.is_current() {
        bail!(
            "the database has {} pending migration(s): run `tenantgate migrate` first",
            state.pending.len()
        );
    }
    Ok(db)
}

async fn list(db: &Database, args: &ListArgs) -> anyhow::Result<()> {
    let page = operation::list(db, args.filter.to_filter(), args.before, args.limit)
        .await
        .context("cannot list events")?;
    let rows = page.items;
    let next = page.next.map(|id| format!("next page: --before {id}"));
    if args.json {
        for row in &rows {
            println!("{}", serde_json::to_string(row)?);
        }
        if let Some(next) = next {
            eprintln!("{next}");
        }
        return Ok(());
    }
    if rows.is_empty() {
        println!("no events match");
        return Ok(());
    }
    let header = ["ID", "RECEIVED", "KIND", "TENANT", "STATUS", "ATTEMPTS", "LAST ERROR"];
    let lines = rows.iter().map(|row| {
        vec![
            row.id.to_string(),
            time(row.received_at),
            row.kind.clone(),
            or_dash(row.tenant_id.as_deref()),
            row.status.to_string(),
            row.attempts.to_string(),
            row.last_error
                .as_deref()
                .map_or_else(String::new, |e| one_line(e, ERROR_WIDTH)),
        ]
    });
    print_table(&header, lines.collect());
    println!("{}", next.unwrap_or_else(|| "no more events".to_owned()));
    Ok(())
}

async fn show(db: &Database, id: i64) -> anyhow::Result<()> {
    let found = operation::find(db, id)
        .await
        .with_context(|| format!("cannot read event {id}"))?;
    let Some(EventHistory { event, attempts }) = found else {
        bail!("event {id} not found");
    };
    print_fields(&event);
    println!("\npayload:");
    match serde_json::from_str::<serde_json::Value>(&event.payload) {
        Ok(value) => println!("{}", serde_json::to_string_pretty(&value)?),
        Err(_) => println!("{}", event.payload),
    }
    println!("\nattempts:");
    if attempts.is_empty() {
        println!("none yet");
        return Ok(());
    }
    let header = ["#", "STARTED", "DURATION", "OUTCOME", "HTTP", "ERROR"];
    let lines = attempts.iter().map(|a| {
        vec![
            a.attempt.to_string(),
            time(a.started_at),
            format!("{} ms", a.duration_ms),
            a.outcome.clone(),
            a.http_status.map_or_else(|| "-".to_owned(), |s| s.to_string()),
            a.error.clone().unwrap_or_default(),
        ]
    });
    print_table(&header, lines.collect());
    Ok(())
}

fn print_fields(event: &EventRow) {
    let optional_time = |t: Option<NaiveDateTime>| t.map_or_else(|| "-".to_owned(), time);
    let attempts = match event.attempts_before_replay {
        0 => event.attempts.to_string(),
        before => format!("{} ({before} before the last replay)", event.attempts),
    };
    let fields = [
        ("source", event.source.clone()),
        ("event type", event.event_type.clone()),
        ("kind", event.kind.clone()),
        ("tenant", or_dash(event.tenant_id.as_deref())),
        ("user", or_dash(event.user_id.as_deref())),
        ("occurred", optional_time(event.occurred_at)),
        ("received", time(event.received_at)),
        ("status", event.status.to_string()),
        ("attempts", attempts),
        ("next attempt", time(event.next_attempt_at)),
        ("locked until", optional_time(event.locked_until)),
        ("finished", optional_time(event.finished_at)),
        ("replayed", optional_time(event.replayed_at)),
        ("last error", or_dash(event.last_error.as_deref())),
        ("idempotency key", event.idempotency_key.clone()),
        ("body sha256", event.body_sha256.clone()),
    ];
    println!("event {}", event.id);
    for (name, value) in fields {
        println!("  {name:<17}{value}");
    }
}

async fn replay(db: &Database, args: &EventsReplayArgs) -> anyhow::Result<()> {
    if let Some(id) = args.id {
        return replay_one(db, id).await;
    }
    let Ok(selection) = Selection::new(args.filter.to_filter(), args.all) else {
        bail!("refusing to requeue every finished event: narrow it with --status, --kind, --tenant, --since or --until, or pass --all");
    };
    if let Some(status) = selection.filter().status.as_deref().filter(|s| !finished_text(s)) {
        bail!(
            "--status {status}: only finished events ({}) can be replayed",
            finished_texts()
        );
    }
    let bar = progress_bar();
    let mut draw = |p: Progress| {
        bar.set_length(u64::try_from(p.total).unwrap_or(u64::MAX));
        bar.set_position(u64::try_from(p.done).unwrap_or(u64::MAX));
    };
    let replayed = replay_selection(db, &selection, &operator(), Some(&mut draw)).await;
    bar.finish_and_clear();
    let replayed = replayed?;
    if replayed.matched == 0 {
        println!("no finished events match: nothing requeued");
        return Ok(());
    }
    println!("requeued {} event(s)", replayed.requeued);
    if replayed.requeued < replayed.matched {
        println!(
            "{} matching event(s) changed status meanwhile and were left alone",
            replayed.matched - replayed.requeued
        );
    }
    Ok(())
}

async fn replay_one(db: &Database, id: i64) -> anyhow::Result<()> {
    let outcome = replay_event(db, id, &operator())
        .await
        .with_context(|| format!("cannot requeue event {id}"))?;
    match outcome {
        Replay::Requeued => {
            println!("event {id} requeued");
            Ok(())
        }
        Replay::NotFound => bail!("event {id} not found"),
        Replay::NotFinished(status) => bail!(
            "event {id} is {status}: only finished events ({}) can be replayed",
            finished_texts()
        ),
    }
}

/// The person at the terminal, as audit entries name them: the login name from `USER`
/// (`USERNAME` on Windows).
pub(super) fn operator() -> Actor {
    let login = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).ok();
    Actor::cli(login.as_deref())
}

/// Drawn on stderr, and only when it is a terminal.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} requeued") {
        bar.set_style(style);
    }
    bar
}

/// Whether `status` names a status events can be replayed from.
fn finished_text(status: &str) -> bool {
    status.parse().is_ok_and(|s: EventStatus| FINISHED.contains(&s))
}

fn finished_texts() -> String {
    FINISHED.map(EventStatus::as_str).join(", ")
}
