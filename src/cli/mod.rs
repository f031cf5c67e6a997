//! The `tenantgate` command line: the clap definitions and the dispatch. Each operator command
//! lives in its own module: [`replay`], [`sign`], [`events`], [`purge`], [`subscriptions`].

mod bench;
mod bench_pipeline;
mod events;
mod output;
mod purge;
mod reconcile;
mod replay;
mod sign;
mod subscription_stats;
mod subscriptions;

use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDateTime;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{ArgGroup, Args, Parser, Subcommand};

use crate::app::{open_database, Application};
use crate::config::{default_config_dir, retention::MAX_DAYS, Settings};
use crate::events::EventKind;
use crate::inbox::listing::EventFilter;
use crate::inbox::EventStatus;
use crate::verify::Scheme;

/// tenantgate: verifies identity-provider lifecycle webhooks, stores each one durably before
/// acknowledging it, and provisions one Airbyte workspace per tenant.
#[derive(Debug, Parser)]
#[command(name = "tenantgate", version, about, long_about = None)]
pub struct Cli {
    /// Folder holding default.toml, {TENANTGATE_ENV}.toml and local.toml.
    #[arg(long, global = true, value_name = "DIR", env = "TENANTGATE_CONFIG_DIR")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (webhooks, health) and the provisioning workers. Applies pending migrations first unless
    /// database.run_migrations = false. Stops gracefully on SIGINT/SIGTERM.
    Serve,
    /// Run only the provisioning workers (no HTTP server): scale receivers and workers apart.
    Worker,
    /// Apply pending database migrations and print each one applied. Safe to run again.
    Migrate,
    /// Load and validate the configuration, then print the effective values with secrets redacted.
    CheckConfig,
    /// Sign payload files with the first configured secret and POST them to a tenantgate webhook URL, one line per
    /// file. Re-sending a file is answered "duplicate". Exits 1 if any delivery failed.
    Replay(ReplayArgs),
    /// Print the signature headers for one payload file, and a curl command that sends it.
    Sign(SignArgs),
    /// List, show and requeue stored events, working on the database directly (database.url or DATABASE_URL).
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Subscribers to tenantgate's own signed notifications (workspace.provisioned, …), managed in the database
    /// directly (database.url or DATABASE_URL), as the admin API does.
    Subscriptions {
        #[command(subcommand)]
        command: SubscriptionsCommand,
    },
    /// Compare Frontegg's tenants, the mapping and Airbyte's workspaces and print the drift; changes nothing unless
    /// --apply, which queues the repairs as events. `reconcile runs` and `reconcile show ID` read recorded runs.
    Reconcile(ReconcileArgs),
    /// Measure: `bench ingest` loads a webhook URL with signed requests and reports throughput and latency.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReconcileArgs {
    #[command(subcommand)]
    pub command: Option<ReconcileCommand>,
    /// Repair: queue an event for each drift (deletions held back by the brake, orphans only reported).
    #[arg(long)]
    pub apply: bool,
    /// Print the run as one JSON object, as the admin API answers it.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ReconcileCommand {
    /// Recorded runs, newest first: when, mode, status, drift found, brake, who.
    Runs {
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..=500))]
        limit: i64,
    },
    /// One recorded run with each drift and what was done about it.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SubscriptionsCommand {
    /// List every subscription: id, name, state, events, tenant filter, its own timeout and attempts, and URL.
    List,
    /// Subscribe a URL; prints the subscription's signing secret, once.
    Add(SubscriptionAddArgs),
    /// Delete a subscription with its deliveries and their log.
    Rm {
        /// The subscription id (sub_…).
        id: String,
    },
    /// Send a signed subscription.test notification now, to one subscription (ID), to every active one (--all) or to
    /// any URL (--url, signed with a secret made for that send and printed), and print each answer's status and
    /// latency; exits 1 unless every endpoint answered 2xx.
    Test(SubscriptionTestArgs),
    /// Delivery statistics over a window: deliveries, succeeded, failed and retrying, dead, success rate, average
    /// attempts and latency percentiles, per subscription and per notification type.
    Stats(SubscriptionStatsArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["id", "url", "all"])))]
pub struct SubscriptionTestArgs {
    /// The subscription id (sub_…).
    pub id: Option<String>,
    /// Any URL, without subscribing it; it must meet the rules a subscription's URL meets.
    #[arg(long)]
    pub url: Option<String>,
    /// Every active subscription, a few at once.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct SubscriptionStatsArgs {
    /// Only this subscription (its deliveries per notification type).
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// How far back to look, in seconds (1-2592000): deliveries queued since then count.
    #[arg(long, value_name = "N", default_value_t = crate::notifications::stats::DEFAULT_WINDOW_SECS)]
    pub window_secs: u64,
    /// Print the statistics as one JSON object, as the admin API answers them.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SubscriptionAddArgs {
    /// Where notifications are POSTed (http or https; private addresses only if notifications.allowed_private_networks
    /// allows them).
    #[arg(long)]
    pub url: String,
    /// Notification types, comma separated, or * for all (see GET /api/admin/notifications/events).
    #[arg(long, value_delimiter = ',', default_value = "*")]
    pub events: Vec<String>,
    /// Only this tenant's notifications.
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: Option<String>,
    /// A short label shown in lists and statistics, e.g. "CRM sync".
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    /// This subscriber's request timeout, 1 up to notifications.request_timeout_ms. [default: that setting]
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub timeout_ms: Option<i64>,
    /// Attempts before a delivery is dead, 1-50. [default: the length of notifications.retry_schedule_secs + 1]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_attempts: Option<i64>,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Send unique signed deliveries (the kind mix of real traffic, ~1 KiB bodies) at a fixed concurrency and print
    /// throughput, p50/p90/p99/max latency and the count of non-2xx answers.
    Ingest(BenchIngestArgs),
    /// Store a backlog straight into the inbox (database.url), start the application against a fast local stand-in
    /// for Airbyte, and report the drain rate; then time idle tenant.created deliveries from their 200 to the
    /// provider's POST /workspaces.
    Pipeline(BenchPipelineArgs),
}

#[derive(Debug, Args)]
pub struct BenchPipelineArgs {
    /// Events stored before the workers start.
    #[arg(long, default_value_t = 50_000)]
    pub backlog: usize,
    /// Idle deliveries timed end to end, one at a time.
    #[arg(long, default_value_t = 200)]
    pub idle: usize,
    /// Worker tasks (default: worker.concurrency).
    #[arg(long)]
    pub workers: Option<usize>,
}

#[derive(Debug, Args)]
pub struct BenchIngestArgs {
    #[command(flatten)]
    pub target: Target,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=4096).map(usize::from))]
    pub concurrency: usize,
    /// Seconds to send for (ignored with --count).
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Send exactly this many requests instead of sending for --duration.
    #[arg(long)]
    pub count: Option<usize>,
    /// Requests to pre-build for a --duration run (the run stops early if they run out).
    #[arg(long, default_value_t = 200_000)]
    pub requests: usize,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Payload files, or folders whose .json files are sent in name order (not recursive).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The payload file to sign, sent byte for byte.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub target: Target,
}

/// Where and how a payload is sent.
#[derive(Debug, Args)]
pub struct Target {
    /// Webhook URL. A base URL such as https://abc.ngrok-free.app gets /api/webhooks/frontegg appended; any other
    /// path is used as given. [default: http://{server.host}:{server.port}/api/webhooks/frontegg]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Signature scheme; the receiver decides which it accepts. [default: the first of sources.frontegg.schemes]
    #[arg(long, value_name = "SCHEME", value_parser = scheme_parser())]
    pub scheme: Option<Scheme>,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List events, newest first, one page at a time; prints the --before value for the next page.
    List(ListArgs),
    /// Show one event: its normalized fields, its payload and every processing attempt.
    Show {
        /// The event id.
        id: i64,
    },
    /// Requeue finished events (succeeded, dead, skipped, ignored) for processing, keeping their attempt history:
    /// one event by ID, or every finished event matching the filter. An empty filter needs --all.
    Replay(EventsReplayArgs),
    /// Delete old finished events (succeeded, skipped, ignored) with their attempts, as the retention job does; with
    /// --dead, old dead events instead (the job keeps those until they are replayed). Events not finished (pending,
    /// processing, failed_retrying) are never deleted. A purged event's key is accepted again as a new delivery.
    Purge(EventsPurgeArgs),
}

/// Which events; every option narrows the selection.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Only events with this status.
    #[arg(long, value_parser = PossibleValuesParser::new(EventStatus::TEXTS))]
    pub status: Option<String>,
    /// Only events of this kind.
    #[arg(long, value_parser = PossibleValuesParser::new(EventKind::ALL.map(|k| k.as_str())))]
    pub kind: Option<String>,
    /// Only events about this tenant id.
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: Option<String>,
    /// Only events about this user id.
    #[arg(long, value_name = "USER_ID")]
    pub user: Option<String>,
    /// Only events received at or after this time (RFC 3339, e.g. 2025-01-31T08:00:00Z).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub since: Option<NaiveDateTime>,
    /// Only events received before this time (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub until: Option<NaiveDateTime>,
}

impl FilterArgs {
    pub fn to_filter(&self) -> EventFilter {
        EventFilter {
            status: self.status.clone(),
            kind: self.kind.clone(),
            tenant_id: self.tenant.clone(),
            user_id: self.user.clone(),
            search: None,
            since: self.since,
            until: self.until,
        }
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Events per page (1-1000).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=1000))]
    pub limit: i64,
    /// Only events with an id below this one: the cursor printed under the previous page.
    #[arg(long, value_name = "ID")]
    pub before: Option<i64>,
    /// Print one JSON object per event instead of a table (the next-page cursor goes to stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EventsReplayArgs {
    /// The event to requeue; without it, every finished event matching the filter is requeued.
    #[arg(conflicts_with_all = ["status", "kind", "tenant", "since", "until", "all"])]
    pub id: Option<i64>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Allow a bulk replay with no filter: requeue every finished event.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct EventsPurgeArgs {
    /// Delete events that finished more than this many days ago. [default: retention.finished_after_days]
    #[arg(long, value_name = "DAYS", allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_DAYS)))]
    pub older_than_days: Option<u32>,
    /// Delete dead events instead of succeeded, skipped and ignored ones.
    #[arg(long)]
    pub dead: bool,
    /// Count what would be deleted, and delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

impl Cli {
    fn settings(&self) -> anyhow::Result<Settings> {
        Settings::load(&self.config.clone().unwrap_or_else(default_config_dir))
    }
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings()?;
    match cli.command {
        Command::Serve => {
            crate::telemetry::init(&settings.log, std::io::stdout);
            let app = Application::build(settings).await?;
            app.run_until_stopped().await
        }
        Command::Worker => {
            crate::telemetry::init(&settings.log, std::io::stdout);
            crate::app::run_workers(settings).await
        }
        Command::Migrate => {
            crate::telemetry::init(&settings.log, std::io::stderr);
            let db = open_database(&settings)?;
            let applied = tokio::task::spawn_blocking(move || db.migrate())
                .await
                .context("migration task failed")??;
            if applied.is_empty() {
                println!("database is up to date: no pending migrations");
            }
            for version in applied {
                println!("applied migration {version}");
            }
            Ok(())
        }
        Command::CheckConfig => {
            print!("{}", settings.redacted_toml()?);
            Ok(())
        }
        Command::Replay(args) => replay::run(&settings, &args).await,
        Command::Sign(args) => sign::run(&settings, &args),
        Command::Events { command } => events::run(&settings, command).await,
        Command::Subscriptions { command } => subscriptions::run(&settings, command).await,
        Command::Reconcile(args) => {
            crate::telemetry::init(&settings.log, std::io::stderr);
            reconcile::run(&settings, args).await
        }
        Command::Bench {
            command: BenchCommand::Ingest(args),
        } => bench::run(&settings, &args).await,
        Command::Bench {
            command: BenchCommand::Pipeline(args),
        } => {
            crate::telemetry::init(&settings.log, std::io::stderr);
            bench_pipeline::run(&settings, &args).await
        }
    }
}

/// `--scheme`: the three names, listed in `--help`.
fn scheme_parser() -> impl TypedValueParser<Value = Scheme> {
    PossibleValuesParser::new(Scheme::ALL.map(|s| s.as_str())).try_map(|name| name.parse::<Scheme>())
}

/// `--since`/`--until`: an RFC 3339 time, as naive UTC like the stored timestamps.
fn parse_time(value: &str) -> Result<NaiveDateTime, String> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| t.naive_utc())
        .map_err(|e| format!("`{value}` is not an RFC 3339 time such as 2025-01-31T08:00:00Z ({e})"))
}
