//! The reconciler's gauges: drift found by the last run per kind, the end of the last
//! successful run, and whether the last run's brake held deletions back (alert on it).

use std::collections::BTreeMap;

use prometheus::{Gauge, IntGauge, IntGaugeVec, Opts, Registry};

/// Drift kinds, as the reconciler names them (plain values: this module knows no domain type).
const KINDS: [&str; 5] = [
    "unprovisioned_tenant",
    "deleted_tenant",
    "missing_workspace",
    "renamed_tenant",
    "orphan_workspace",
];

#[derive(Debug, Clone)]
pub struct ReconcileMetrics {
    drift: IntGaugeVec,
    last_success: Gauge,
    brake: IntGauge,
}

impl ReconcileMetrics {
    pub(super) fn register(registry: &Registry) -> anyhow::Result<Self> {
        let drift = IntGaugeVec::new(
            Opts::new("reconcile_drift", "Drift found by the last reconcile run, by kind"),
            &["kind"],
        )?;
        let last_success = Gauge::new(
            "reconcile_last_success_timestamp_seconds",
            "When the last successful reconcile run ended (Unix time)",
        )?;
        let brake = IntGauge::new(
            "reconcile_brake_engaged",
            "1 when the last reconcile run held deletions back (an empty list, or more than max_deletions_per_run)",
        )?;
        registry.register(Box::new(drift.clone()))?;
        registry.register(Box::new(last_success.clone()))?;
        registry.register(Box::new(brake.clone()))?;
        Ok(Self {
            drift,
            last_success,
            brake,
        })
    }

    /// A run ended: its counts by kind, its brake, and its end when it succeeded.
    pub fn observe_run(&self, counts: &BTreeMap<String, i64>, braked: bool, succeeded_at: Option<f64>) {
        for kind in KINDS {
            self.drift
                .with_label_values(&[kind])
                .set(counts.get(kind).copied().unwrap_or(0));
        }
        self.brake.set(i64::from(braked));
        if let Some(at) = succeeded_at {
            if at > self.last_success.get() {
                self.last_success.set(at);
            }
        }
    }
}
