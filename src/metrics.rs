//! Prometheus metrics: what arrives, what is refused, how processing and provider calls go.
//! Queue depth, the oldest pending age and the recent delivery statistics of notifications come
//! from the database, refreshed in the background (`crate::health`), so every instance reports
//! the shared truth and a scrape costs no query. Their labels are bounded: statuses,
//! subscription ids and notification types, never URLs.

mod reconcile;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

mod refusals;

pub use refusals::{Refusals, Refused, RECENT_REFUSALS};

use crate::db::status::DeliveryStatus;
use crate::pacing::{Gate, GateState};

/// Latency buckets in seconds, from 1 ms to 30 s.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Every metric of one process. Cheap to share behind an `Arc`.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    received: IntCounterVec,
    verification_failures: IntCounterVec,
    processing: HistogramVec,
    provider_calls: IntCounterVec,
    provider_latency: HistogramVec,
    events: IntGaugeVec,
    oldest_pending: Gauge,
    purged: IntCounter,
    notifications: IntCounterVec,
    notification_latency: HistogramVec,
    recent_deliveries: IntGaugeVec,
    recent_deliveries_by_type: IntGaugeVec,
    success_ratio: GaugeVec,
    /// Subscriptions the gauges were last set for: a deleted one's series are removed.
    reported_subscriptions: Arc<Mutex<BTreeSet<String>>>,
    malformed: IntCounter,
    jobs_running: IntGaugeVec,
    leases: IntCounterVec,
    /// The provider's pacing gate, read at each scrape.
    gate: Arc<Mutex<Option<Gate>>>,
    gate_open: IntGauge,
    gate_rate: Gauge,
    gate_concurrency: IntGauge,
    throttled: IntCounter,
    /// The most recent refused deliveries, for the console.
    refusals: Arc<refusals::Recent>,
    /// The reconciler's runs.
    pub reconcile: reconcile::ReconcileMetrics,
}

/// One subscription's (or notification type's) recent deliveries, for the gauges.
#[derive(Debug, Clone, Copy)]
pub struct RecentDeliveries<'a> {
    /// The subscription id or the notification type.
    pub label: &'a str,
    /// Succeeded, failed and retrying, dead, pending: in the order of [`OUTCOMES`].
    pub counts: [i64; 4],
    pub success_rate: Option<f64>,
}

/// The outcomes the recent delivery gauges count, each a delivery status but `pending`, which
/// also counts deliveries being sent.
const OUTCOMES: [&str; 4] = [
    DeliveryStatus::Succeeded.as_str(),
    DeliveryStatus::FailedRetrying.as_str(),
    DeliveryStatus::Dead.as_str(),
    DeliveryStatus::Pending.as_str(),
];

impl Metrics {
    /// Registers every metric; fails only on a programming error (duplicate names).
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new_custom(Some("tenantgate".into()), None)?;
        let received = IntCounterVec::new(
            Opts::new(
                "webhooks_received_total",
                "Deliveries answered, by event kind and outcome",
            ),
            &["kind", "outcome"],
        )?;
        let verification_failures = IntCounterVec::new(
            Opts::new(
                "verification_failures_total",
                "Deliveries refused by the signature check, by reason",
            ),
            &["reason"],
        )?;
        let processing = HistogramVec::new(
            HistogramOpts::new(
                "event_processing_seconds",
                "Time to process one event attempt, by kind and outcome",
            )
            .buckets(BUCKETS.to_vec()),
            &["kind", "outcome"],
        )?;
        let provider_calls = IntCounterVec::new(
            Opts::new(
                "provider_calls_total",
                "Workspace provider HTTP calls, by operation and status (`error` when no answer)",
            ),
            &["operation", "status"],
        )?;
        let provider_latency = HistogramVec::new(
            HistogramOpts::new(
                "provider_call_seconds",
                "Workspace provider HTTP call latency, by operation",
            )
            .buckets(BUCKETS.to_vec()),
            &["operation"],
        )?;
        let events = IntGaugeVec::new(
            Opts::new("events", "Stored events by status (queue depth)"),
            &["status"],
        )?;
        let oldest_pending = Gauge::new(
            "oldest_pending_event_age_seconds",
            "Age of the oldest event not yet finished (0 when none)",
        )?;
        let purged = IntCounter::new(
            "events_purged_total",
            "Finished events deleted by the retention job of this process",
        )?;
        let notifications = IntCounterVec::new(
            Opts::new(
                "notification_deliveries_total",
                "Notification delivery attempts, by type and outcome (succeeded, failed_retrying, dead)",
            ),
            &["type", "outcome"],
        )?;
        let notification_latency = HistogramVec::new(
            HistogramOpts::new(
                "notification_delivery_seconds",
                "Time for one notification delivery attempt, answer included, by outcome",
            )
            .buckets(BUCKETS.to_vec()),
            &["outcome"],
        )?;
        let recent_deliveries = IntGaugeVec::new(
            Opts::new(
                "notification_recent_deliveries",
                "Notification deliveries queued in the last 24 hours, by subscription id and outcome so far \
                 (succeeded, failed_retrying, dead, pending)",
            ),
            &["subscription", "outcome"],
        )?;
        let recent_deliveries_by_type = IntGaugeVec::new(
            Opts::new(
                "notification_type_recent_deliveries",
                "Notification deliveries queued in the last 24 hours, by notification type and outcome so far",
            ),
            &["type", "outcome"],
        )?;
        let success_ratio = GaugeVec::new(
            Opts::new(
                "notification_delivery_success_ratio",
                "Of a subscription's deliveries queued in the last 24 hours that have an outcome, the share that \
                 succeeded (absent when none has one)",
            ),
            &["subscription"],
        )?;
        let malformed = IntCounter::new(
            "malformed_requests_total",
            "Requests refused before routing because their HTTP could not be parsed (logged at most once per second)",
        )?;
        let jobs_running = IntGaugeVec::new(
            Opts::new(
                "jobs_running",
                "Items being run by this process, by queue (events, notifications)",
            ),
            &["queue"],
        )?;
        let leases = IntCounterVec::new(
            Opts::new(
                "job_leases_total",
                "Claims of this process by queue and what became of them: claimed, lost (the work was \
                 abandoned because its lease could not be renewed), released (given back at shutdown)",
            ),
            &["queue", "event"],
        )?;
        let gate_open = IntGauge::new(
            "provider_gate_open",
            "1 while the provider's pacing gate lets calls pass, 0 while a refusal for the rate keeps it closed",
        )?;
        let gate_rate = Gauge::new(
            "provider_gate_requests_per_sec",
            "The pacing rate of calls to the provider (0 while the gate does not pace)",
        )?;
        let gate_concurrency = IntGauge::new(
            "provider_gate_concurrency_limit",
            "Calls to the provider allowed at once now",
        )?;
        let throttled = IntCounter::new(
            "provider_throttled_calls_total",
            "Calls the provider refused for its rate (429), each waited out at the gate",
        )?;
        for collector in [
            Box::new(received.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(verification_failures.clone()),
            Box::new(processing.clone()),
            Box::new(provider_calls.clone()),
            Box::new(provider_latency.clone()),
            Box::new(events.clone()),
            Box::new(oldest_pending.clone()),
            Box::new(purged.clone()),
            Box::new(notifications.clone()),
            Box::new(notification_latency.clone()),
            Box::new(recent_deliveries.clone()),
            Box::new(recent_deliveries_by_type.clone()),
            Box::new(success_ratio.clone()),
            Box::new(malformed.clone()),
            Box::new(jobs_running.clone()),
            Box::new(leases.clone()),
            Box::new(gate_open.clone()),
            Box::new(gate_rate.clone()),
            Box::new(gate_concurrency.clone()),
            Box::new(throttled.clone()),
        ] {
            registry.register(collector)?;
        }
        let reconcile = reconcile::ReconcileMetrics::register(&registry)?;
        Ok(Self {
            reconcile,
            registry,
            received,
            verification_failures,
            processing,
            provider_calls,
            provider_latency,
            events,
            oldest_pending,
            purged,
            notifications,
            notification_latency,
            recent_deliveries,
            recent_deliveries_by_type,
            success_ratio,
            reported_subscriptions: Arc::default(),
            malformed,
            jobs_running,
            leases,
            gate: Arc::default(),
            gate_open,
            gate_rate,
            gate_concurrency,
            throttled,
            refusals: Arc::default(),
        })
    }

    /// Reports `gate`'s state at every scrape.
    pub fn watch_gate(&self, gate: Gate) {
        *self.gate.lock().unwrap_or_else(|e| e.into_inner()) = Some(gate);
    }

    /// `count` items claimed from `queue`.
    pub fn claimed(&self, queue: &str, count: usize) {
        self.leases
            .with_label_values(&[queue, "claimed"])
            .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }

    /// One more (`1`) or one fewer (`-1`) item of `queue` running.
    pub fn running(&self, queue: &str, change: i64) {
        self.jobs_running.with_label_values(&[queue]).add(change);
    }

    /// A claim of `queue` `lost` or `released`.
    pub fn lease_event(&self, queue: &str, event: &str) {
        self.leases.with_label_values(&[queue, event]).inc();
    }

    pub fn delivery(&self, kind: &str, outcome: &str) {
        self.received.with_label_values(&[kind, outcome]).inc();
        if refusals::is_refusal(outcome) {
            self.refusals.remember(outcome);
        }
    }

    pub fn verification_failed(&self, reason: &str) {
        self.verification_failures.with_label_values(&[reason]).inc();
        self.refusals.remember(reason);
    }

    /// Refused deliveries since start: counts by reason from the counters, and the latest ones.
    pub fn refusals(&self) -> Refusals {
        self.refusals.read(&self.verification_failures, &self.received)
    }

    pub fn processed(&self, kind: &str, outcome: &str, took: Duration) {
        self.processing
            .with_label_values(&[kind, outcome])
            .observe(took.as_secs_f64());
    }

    pub fn provider_call(&self, operation: &str, status: Option<u16>, took: Duration) {
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        self.provider_calls.with_label_values(&[operation, &status]).inc();
        self.provider_latency
            .with_label_values(&[operation])
            .observe(took.as_secs_f64());
    }

    pub fn notification_attempt(&self, event_type: &str, outcome: &str, took: Duration) {
        self.notifications.with_label_values(&[event_type, outcome]).inc();
        self.notification_latency
            .with_label_values(&[outcome])
            .observe(took.as_secs_f64());
    }

    pub fn events_purged(&self, count: u64) {
        self.purged.inc_by(count);
    }

    /// Sets the queue gauges: events by status, and the age of the oldest unfinished one.
    pub fn set_queue<'a>(&self, by_status: impl IntoIterator<Item = (&'a str, i64)>, oldest_pending_secs: f64) {
        for (status, count) in by_status {
            self.events.with_label_values(&[status]).set(count);
        }
        self.oldest_pending.set(oldest_pending_secs);
    }

    /// Sets the recent delivery gauges (counts only): every subscription and type gets a value,
    /// 0 included; a subscription gone since the last refresh loses its series.
    pub fn set_delivery_stats(&self, subscriptions: &[RecentDeliveries], event_types: &[RecentDeliveries]) {
        for s in subscriptions {
            for (outcome, count) in OUTCOMES.iter().zip(s.counts) {
                self.recent_deliveries.with_label_values(&[s.label, outcome]).set(count);
            }
            match s.success_rate {
                Some(ratio) => self.success_ratio.with_label_values(&[s.label]).set(ratio),
                None => {
                    let _ = self.success_ratio.remove_label_values(&[s.label]);
                }
            }
        }
        for t in event_types {
            for (outcome, count) in OUTCOMES.iter().zip(t.counts) {
                self.recent_deliveries_by_type
                    .with_label_values(&[t.label, outcome])
                    .set(count);
            }
        }
        let current: BTreeSet<String> = subscriptions.iter().map(|s| s.label.to_owned()).collect();
        let mut reported = self.reported_subscriptions.lock().unwrap_or_else(|e| e.into_inner());
        for gone in reported.difference(&current) {
            for outcome in OUTCOMES {
                let _ = self.recent_deliveries.remove_label_values(&[gone.as_str(), outcome]);
            }
            let _ = self.success_ratio.remove_label_values(&[gone.as_str()]);
        }
        *reported = current;
    }

    /// The text exposition. Reads nothing but memory.
    pub fn render(&self) -> anyhow::Result<String> {
        if let Some(gate) = self.gate.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let snapshot = gate.snapshot();
            self.gate_open.set(i64::from(snapshot.state == GateState::Open));
            self.gate_rate.set(snapshot.requests_per_sec.unwrap_or(0.0));
            self.gate_concurrency
                .set(i64::try_from(snapshot.concurrency_limit).unwrap_or(i64::MAX));
            self.throttled
                .inc_by(snapshot.throttled.saturating_sub(self.throttled.get()));
        }
        let counted = crate::telemetry::malformed_requests();
        self.malformed.inc_by(counted.saturating_sub(self.malformed.get()));
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8(out)?)
    }
}
