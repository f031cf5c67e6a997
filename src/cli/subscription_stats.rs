//! `tenantgate subscriptions stats [--id ID] [--window-secs N] [--json]`: delivery statistics, as
//! `GET /api/admin/notifications/stats` answers them, as tables or as that JSON.

use chrono::NaiveDateTime;

use super::output::{or_dash, print_table};
use super::SubscriptionStatsArgs;
use crate::db::Database;
use crate::notifications::stats::{self, Figures, Window};

pub(super) async fn run(db: &Database, args: &SubscriptionStatsArgs, now: NaiveDateTime) -> anyhow::Result<()> {
    let window = Window::new(args.window_secs)?;
    let figures = stats::collect(db, window, args.id.as_deref(), now).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
        return Ok(());
    }
    println!(
        "deliveries queued from {} to {} ({} s)",
        figures.since.format("%Y-%m-%d %H:%M:%S UTC"),
        figures.until.format("%Y-%m-%d %H:%M:%S UTC"),
        figures.window_secs
    );
    let header = |first: &'static str| {
        [
            first,
            "DELIVERIES",
            "SUCCEEDED",
            "RETRYING",
            "DEAD",
            "PENDING",
            "SUCCESS",
            "AVG ATTEMPTS",
            "P50 MS",
            "P95 MS",
        ]
    };
    let mut rows: Vec<Vec<String>> = figures
        .subscriptions
        .iter()
        .map(|s| {
            let label = match &s.name {
                Some(name) => format!("{} ({name})", s.subscription_id),
                None => s.subscription_id.clone(),
            };
            row(label, &s.figures)
        })
        .collect();
    if args.id.is_none() {
        rows.push(row("all".into(), &figures.total));
    }
    println!();
    print_table(&header("SUBSCRIPTION"), rows);
    println!();
    let rows = figures
        .event_types
        .iter()
        .map(|t| row(t.event_type.clone(), &t.figures))
        .collect();
    print_table(&header("TYPE"), rows);
    if figures.latency_sampled {
        println!("\n(latency from the window's newest 50000 attempts only)");
    }
    Ok(())
}

fn row(label: String, f: &Figures) -> Vec<String> {
    let decimal = |v: Option<f64>, places: usize| v.map(|v| format!("{v:.places$}"));
    vec![
        label,
        f.deliveries.to_string(),
        f.succeeded.to_string(),
        f.failed_retrying.to_string(),
        f.dead.to_string(),
        f.pending.to_string(),
        or_dash(f.success_rate.map(|r| format!("{:.1}%", r * 100.0)).as_deref()),
        or_dash(decimal(f.average_attempts, 2).as_deref()),
        or_dash(decimal(f.latency_p50_ms, 0).as_deref()),
        or_dash(decimal(f.latency_p95_ms, 0).as_deref()),
    ]
}
