//! Delivery statistics over a window ending now (the last 24 hours unless asked otherwise), per
//! subscription, per notification type and overall: deliveries queued in the window, how they
//! stand, the success rate, the attempts they took and the latency of those attempts. One
//! function for the admin API and the CLI ([`collect`]); the gauges refreshed in the background
//! ([`refresh_gauges`]) take the counts of the default window alone: latency is the costly
//! part, and the live histogram `tenantgate_notification_delivery_seconds` has it already.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::catalog::CATALOG;
use super::subscriptions::SubscriptionError;
use crate::db::{Database, StoreError};
use crate::metrics::{Metrics, RecentDeliveries};
use crate::notifications::store::delivery_stats::{self as store, Counted, Latencies, Latency};
use crate::notifications::store::{list_subscriptions, subscription, DeliveryStatus, Subscription};

/// The window unless another is asked for: a day.
pub const DEFAULT_WINDOW_SECS: u64 = 86_400;
/// The longest window: 30 days, the retention's default, beyond which deliveries are purged.
pub const MAX_WINDOW_SECS: u64 = 2_592_000;

/// How far back statistics look, from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    secs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("window_secs must be between 1 and {MAX_WINDOW_SECS} (30 days), got {0}")]
pub struct WindowOutOfRange(pub u64);

impl Window {
    pub fn new(secs: u64) -> Result<Self, WindowOutOfRange> {
        if (1..=MAX_WINDOW_SECS).contains(&secs) {
            Ok(Self { secs })
        } else {
            Err(WindowOutOfRange(secs))
        }
    }

    pub fn secs(&self) -> u64 {
        self.secs
    }

    /// Where the window ending at `now` starts.
    fn start(&self, now: NaiveDateTime) -> NaiveDateTime {
        let secs = i64::try_from(self.secs).unwrap_or(i64::MAX);
        now.checked_sub_signed(chrono::Duration::seconds(secs))
            .unwrap_or(NaiveDateTime::MIN)
    }
}

impl Default for Window {
    fn default() -> Self {
        Self {
            secs: DEFAULT_WINDOW_SECS,
        }
    }
}

/// How the deliveries queued in the window went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Figures {
    /// Deliveries queued in the window: one per notification and subscriber.
    pub deliveries: i64,
    pub succeeded: i64,
    /// Failed so far, waiting for their next attempt.
    pub failed_retrying: i64,
    /// Failed for good (attempts spent, or 410 Gone).
    pub dead: i64,
    /// Not tried yet, or being sent right now.
    pub pending: i64,
    /// succeeded / (succeeded + failed_retrying + dead): the share of the deliveries with an
    /// outcome that succeeded; null when none has one.
    pub success_rate: Option<f64>,
    /// Attempts per delivery with an outcome (redeliveries included); null when none has one.
    pub average_attempts: Option<f64>,
    /// Median duration of their attempts, answer included, from the attempt log.
    pub latency_p50_ms: Option<f64>,
    /// 95th percentile of the same durations.
    pub latency_p95_ms: Option<f64>,
    /// Attempts made by the deliveries with an outcome.
    #[serde(skip)]
    attempts_with_outcome: i64,
}

impl Figures {
    fn add(&mut self, counted: &Counted) {
        self.deliveries += counted.deliveries;
        let bucket = match counted.status {
            DeliveryStatus::Succeeded => &mut self.succeeded,
            DeliveryStatus::FailedRetrying => &mut self.failed_retrying,
            DeliveryStatus::Dead => &mut self.dead,
            _ => {
                self.pending += counted.deliveries;
                return;
            }
        };
        *bucket += counted.deliveries;
        self.attempts_with_outcome += counted.attempts;
    }

    /// Derives the rates once every count is in.
    fn finish(mut self, latency: Option<&Latency>) -> Self {
        let with_outcome = self.succeeded + self.failed_retrying + self.dead;
        if with_outcome > 0 {
            self.success_rate = Some(self.succeeded as f64 / with_outcome as f64);
            self.average_attempts = Some(self.attempts_with_outcome as f64 / with_outcome as f64);
        }
        self.latency_p50_ms = latency.and_then(|l| l.p50_ms);
        self.latency_p95_ms = latency.and_then(|l| l.p95_ms);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SubscriptionFigures {
    pub subscription_id: String,
    pub name: Option<String>,
    pub active: bool,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TypeFigures {
    pub event_type: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// Delivery statistics over a window.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeliveryStats {
    pub window_secs: u64,
    /// The window: deliveries queued from `since` until `until` (now).
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub total: Figures,
    /// Every subscription (or the one asked for), oldest first, including those with no delivery.
    pub subscriptions: Vec<SubscriptionFigures>,
    /// Every notification type, in catalog order; with one subscription, its deliveries only.
    pub event_types: Vec<TypeFigures>,
    /// True when the latency comes from the window's newest 50,000 attempts only (SQLite,
    /// which computes percentiles from the rows it reads, when the window holds more).
    pub latency_sampled: bool,
}

/// Statistics of the deliveries queued in `window` before `now`, of every subscription or of
/// one (which must exist).
pub async fn collect(
    db: &Database,
    window: Window,
    subscription_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<DeliveryStats, SubscriptionError> {
    let since = window.start(now);
    let only = subscription_id.map(str::to_owned);
    let (subscriptions, counted, latencies) = db
        .run(move |c| {
            let subscriptions = subscriptions_of(c, only.as_deref())?;
            let counted = store::counts(c, since, only.as_deref())?;
            let latencies = store::latencies(c, since, only.as_deref())?;
            Ok((subscriptions, counted, latencies))
        })
        .await?;
    if let (Some(id), true) = (subscription_id, subscriptions.is_empty()) {
        return Err(SubscriptionError::NotFound(id.to_owned()));
    }
    Ok(assemble(window, now, &subscriptions, &counted, &latencies))
}

/// Sets the recent delivery gauges from the counts of the default window; keeps the previous
/// values when the database does not answer.
pub async fn refresh_gauges(db: &Database, metrics: &Metrics, now: NaiveDateTime) {
    match counts_only(db, Window::default(), now).await {
        Ok(stats) => {
            let recent = |label, f: &Figures| RecentDeliveries {
                label,
                counts: [f.succeeded, f.failed_retrying, f.dead, f.pending],
                success_rate: f.success_rate,
            };
            let subscriptions: Vec<_> = stats
                .subscriptions
                .iter()
                .map(|s| recent(s.subscription_id.as_str(), &s.figures))
                .collect();
            let types: Vec<_> = stats
                .event_types
                .iter()
                .map(|t| recent(t.event_type.as_str(), &t.figures))
                .collect();
            metrics.set_delivery_stats(&subscriptions, &types);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: notification delivery gauges not refreshed"),
    }
}

/// The counts of every subscription over `window` before `now`, without latency.
async fn counts_only(db: &Database, window: Window, now: NaiveDateTime) -> Result<DeliveryStats, StoreError> {
    let since = window.start(now);
    let (subscriptions, counted) = db
        .run(move |c| Ok((list_subscriptions(c)?, store::counts(c, since, None)?)))
        .await?;
    Ok(assemble(window, now, &subscriptions, &counted, &Latencies::default()))
}

fn subscriptions_of(c: &mut crate::db::DbConn, only: Option<&str>) -> Result<Vec<Subscription>, StoreError> {
    match only {
        Some(id) => Ok(subscription(c, id)?.into_iter().collect()),
        None => list_subscriptions(c),
    }
}

fn assemble(
    window: Window,
    now: NaiveDateTime,
    subscriptions: &[Subscription],
    counted: &[Counted],
    latencies: &Latencies,
) -> DeliveryStats {
    let mut total = Figures::default();
    let mut by_subscription: BTreeMap<&str, Figures> = BTreeMap::new();
    let mut by_type: BTreeMap<&str, Figures> = CATALOG.iter().map(|t| (t.name, Figures::default())).collect();
    for c in counted {
        total.add(c);
        by_subscription.entry(&c.subscription_id).or_default().add(c);
        by_type.entry(&c.event_type).or_default().add(c);
    }
    let latency_of = |subscription: Option<&str>, event_type: Option<&str>| {
        latencies
            .groups
            .iter()
            .find(|l| l.subscription_id.as_deref() == subscription && l.event_type.as_deref() == event_type)
    };
    let subscriptions = subscriptions
        .iter()
        .map(|s| SubscriptionFigures {
            subscription_id: s.id.clone(),
            name: s.name.clone(),
            active: s.active,
            figures: by_subscription
                .remove(s.id.as_str())
                .unwrap_or_default()
                .finish(latency_of(Some(&s.id), None)),
        })
        .collect();
    let order = |name: &str| CATALOG.iter().position(|t| t.name == name).unwrap_or(usize::MAX);
    let mut event_types: Vec<TypeFigures> = by_type
        .into_iter()
        .map(|(name, figures)| TypeFigures {
            event_type: name.to_owned(),
            figures: figures.finish(latency_of(None, Some(name))),
        })
        .collect();
    event_types.sort_by_key(|t| order(&t.event_type));
    DeliveryStats {
        window_secs: window.secs(),
        since: window.start(now).and_utc(),
        until: now.and_utc(),
        total: total.finish(latency_of(None, None)),
        subscriptions,
        event_types,
        latency_sampled: latencies.sampled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(
        subscription: &str,
        event_type: &str,
        status: DeliveryStatus,
        deliveries: i64,
        attempts: i64,
    ) -> Counted {
        Counted {
            subscription_id: subscription.into(),
            event_type: event_type.into(),
            status,
            deliveries,
            attempts,
        }
    }

    #[test]
    fn rates_count_only_deliveries_with_an_outcome() {
        let mut figures = Figures::default();
        for c in [
            counted("s", "t", DeliveryStatus::Succeeded, 6, 8),
            counted("s", "t", DeliveryStatus::FailedRetrying, 1, 2),
            counted("s", "t", DeliveryStatus::Dead, 1, 4),
            counted("s", "t", DeliveryStatus::Pending, 2, 0),
            counted("s", "t", DeliveryStatus::Delivering, 1, 1),
        ] {
            figures.add(&c);
        }
        let figures = figures.finish(None);
        assert_eq!(
            (
                figures.deliveries,
                figures.succeeded,
                figures.failed_retrying,
                figures.dead,
                figures.pending
            ),
            (11, 6, 1, 1, 3)
        );
        assert_eq!(figures.success_rate, Some(0.75));
        assert_eq!(figures.average_attempts, Some(14.0 / 8.0));
        assert_eq!(Figures::default().finish(None).success_rate, None, "nothing to rate");
    }

    #[test]
    fn the_window_is_bounded() {
        assert_eq!(Window::default().secs(), 86_400);
        assert!(Window::new(1).is_ok() && Window::new(MAX_WINDOW_SECS).is_ok());
        let e = Window::new(0).unwrap_err().to_string();
        assert_eq!(e, "window_secs must be between 1 and 2592000 (30 days), got 0");
        assert!(Window::new(MAX_WINDOW_SECS + 1).is_err());
    }
}
