//! Refused deliveries for the console: counts by reason read back from the counters, and the
//! last [`RECENT_REFUSALS`] kept in memory with their time and reason (nothing of the request).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use prometheus::core::Collector;
use prometheus::IntCounterVec;

/// Refused deliveries kept in memory for the console, newest last.
pub const RECENT_REFUSALS: usize = 100;

/// One refused delivery: when and why (a stable code). Nothing of the request is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// Refused deliveries since this process started, as its counters have them.
#[derive(Debug, Clone)]
pub struct Refusals {
    pub since: DateTime<Utc>,
    /// By reason (a stable code), from `verification_failures_total` and the refusals counted in
    /// `webhooks_received_total`.
    pub by_reason: BTreeMap<String, u64>,
    /// Requests refused before routing because their HTTP could not be parsed (the whole process).
    pub malformed_http: u64,
    /// Newest first, at most [`RECENT_REFUSALS`].
    pub recent: Vec<Refused>,
}

/// Outcomes of `webhooks_received_total` that are not refusals of the request: answered, or
/// refused for the signature (counted by reason in `verification_failures_total`), or failed
/// on our side.
const NOT_REFUSALS: [&str; 6] = [
    "accepted",
    "duplicate",
    "ignored",
    "unauthorized",
    "database_unavailable",
    "internal_error",
];

/// Whether an outcome of `webhooks_received_total` is a refusal of the request (the signature's
/// are remembered by reason instead, through `verification_failures_total`).
pub(super) fn is_refusal(outcome: &str) -> bool {
    !NOT_REFUSALS.contains(&outcome)
}

/// The latest refusals of one process, and when it started.
#[derive(Debug)]
pub(super) struct Recent {
    latest: Mutex<VecDeque<Refused>>,
    started_at: DateTime<Utc>,
}

impl Default for Recent {
    fn default() -> Self {
        Self {
            latest: Mutex::new(VecDeque::with_capacity(RECENT_REFUSALS)),
            started_at: Utc::now(),
        }
    }
}

impl Recent {
    pub(super) fn remember(&self, reason: &str) {
        let mut latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        if latest.len() == RECENT_REFUSALS {
            latest.pop_front();
        }
        latest.push_back(Refused {
            at: Utc::now(),
            reason: reason.to_owned(),
        });
    }

    /// The counts by reason from the two counters, and the latest refusals.
    pub(super) fn read(&self, verification_failures: &IntCounterVec, received: &IntCounterVec) -> Refusals {
        let mut by_reason = BTreeMap::new();
        let mut add = |counter: &IntCounterVec, label: &str, counts: &dyn Fn(&str) -> bool| {
            for family in counter.collect() {
                for metric in family.get_metric() {
                    let value = metric.get_counter().get_value();
                    let reason = metric.get_label().iter().find(|l| l.name() == label).map(|l| l.value());
                    if let Some(reason) = reason.filter(|r| counts(r) && value > 0.0) {
                        *by_reason.entry(reason.to_owned()).or_insert(0) += value as u64;
                    }
                }
            }
        };
        add(verification_failures, "reason", &|_| true);
        add(received, "outcome", &is_refusal);
        let latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        Refusals {
            since: self.started_at,
            by_reason,
            malformed_http: crate::telemetry::malformed_requests(),
            recent: latest.iter().rev().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_refusals_are_kept_newest_first() {
        let recent = Recent::default();
        for i in 0..RECENT_REFUSALS + 5 {
            recent.remember(&format!("r{i}"));
        }
        let counter = || IntCounterVec::new(prometheus::Opts::new("c", "c"), &["reason"]).unwrap();
        let read = recent.read(&counter(), &counter());
        assert_eq!(read.recent.len(), RECENT_REFUSALS);
        assert_eq!(read.recent[0].reason, format!("r{}", RECENT_REFUSALS + 4));
        assert_eq!(read.recent[RECENT_REFUSALS - 1].reason, "r5");
    }

    #[test]
    fn answers_and_our_own_failures_are_not_refusals() {
        for outcome in [
            "accepted",
            "duplicate",
            "ignored",
            "unauthorized",
            "database_unavailable",
            "internal_error",
        ] {
            assert!(!is_refusal(outcome), "{outcome}");
        }
        for outcome in [
            "address_not_allowed",
            "payload_too_large",
            "malformed_json",
            "request_timeout",
        ] {
            assert!(is_refusal(outcome), "{outcome}");
        }
    }
}
