//! Provider-wide pacing: one [`Gate`] per provider (later, per subscriber), shared by every
//! worker of an instance, so that they meet a rate limit together instead of each finding it
//! on its own.
//!
//! A caller takes a [`Permit`] before each call ([`Gate::acquire`] waits for a concurrency slot
//! and for its pacing slot while the gate is open) and reports how the call ended:
//! [`Permit::succeeded`], [`Permit::throttled`] (a 429, with its `Retry-After` if any), or
//! [`Permit::failed`] (any other error, which says nothing about the rate). A permit dropped
//! without a report counts as failed.
//!
//! The gate adapts AIMD-style, like TCP's congestion window, between the settings' bounds:
//! - **Closed after a refusal.** The first refusal of calls granted since the last one closes
//!   the gate for every caller: for the `Retry-After` when the provider names one, else for a
//!   cool-down that starts at `min_cool_down` and doubles, up to `max_cool_down`, while the
//!   provider keeps refusing every call (Airbyte names none). Calls then resume paced.
//! - **Multiplicative decrease.** That refusal, when calls succeeded since the last cut,
//!   multiplies the rate by `decrease_factor`, from the rate really sent over the last second
//!   when that is less; an unpaced gate starts pacing from the rate the provider accepted over
//!   the last second. The concurrency limit is cut by the same factor, down to the floor but
//!   never below the slots the new rate needs at the calls' mean latency (Little's law), so
//!   that it never throttles the rate by accident. Refusals of calls that were already under
//!   way belong to the same episode and cut nothing.
//! - **Additive increase.** Each success of a call held back by the gate adds to the rate
//!   (`rate_increase_per_sec` per second of such successes) and to the concurrency limit (one
//!   per limit's worth), up to `max_requests_per_sec` and `max_concurrency`. A gate that
//!   holds nothing back does not grow, so a quiet spell does not end in a burst.
//! - **Unpaced until refused.** Without a cap the gate starts open at `max_concurrency` with no
//!   pacing: against a provider that never refuses, it costs nothing.
//!
//! Several instances, each with its own gate, converge on a shared limit without talking to
//! each other: each cuts its own rate when refused and grows it when not, which is how AIMD
//! flows share a link (the tests measure two gates on one simulated provider).
//!
//! Layout: `settings` holds the bounds and steps; `control` the state and its rules, as pure
//! functions of the time, on what `measure` counts; this file the waiting, with tokio's
//! timers and a `Notify`.

mod control;
mod measure;
mod settings;

#[cfg(test)]
mod convergence;
#[cfg(test)]
mod simulation;
#[cfg(test)]
mod tests;

use std::fmt;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Notify;
use tokio::time::Instant;

use control::{Control, Grant, Report, Step, Ticket};
pub use settings::{GateSettings, InvalidSettings};

/// The pacing gate of one provider. Cheap to clone: clones share the gate.
#[derive(Clone)]
pub struct Gate {
    inner: Arc<Inner>,
}

struct Inner {
    control: Mutex<Control>,
    /// Woken once per slot that frees up.
    slot_freed: Notify,
}

impl Inner {
    fn control(&self) -> MutexGuard<'_, Control> {
        // The rules never panic half-way; a poisoned lock still holds a consistent state.
        self.control.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wake(&self, slots: usize) {
        for _ in 0..slots {
            self.slot_freed.notify_one();
        }
    }
}

impl Gate {
    pub fn new(settings: GateSettings) -> Result<Self, InvalidSettings> {
        settings.validate()?;
        Ok(Self {
            inner: Arc::new(Inner {
                control: Mutex::new(Control::new(settings, Instant::now())),
                slot_freed: Notify::new(),
            }),
        })
    }

    /// Waits until the gate is open, a concurrency slot is free and the pacing allows a call.
    /// Cancel-safe: a caller dropped while waiting gives its slot back.
    pub async fn acquire(&self) -> Permit {
        let mut waiter = Waiter::enter(&self.inner);
        loop {
            // Registered before looking, so a slot freed in between is not missed.
            let mut slot_freed = pin!(self.inner.slot_freed.notified());
            slot_freed.as_mut().enable();
            let step = self.inner.control().poll(&mut waiter.ticket, Instant::now());
            match step {
                Step::Granted(grant) => return waiter.granted(grant),
                Step::WaitForSlot => slot_freed.await,
                Step::WaitUntil(at) => tokio::time::sleep_until(at).await,
            }
        }
    }

    /// The gate's state now, for `/readyz`, the admin statistics and the metrics.
    pub fn snapshot(&self) -> Snapshot {
        self.inner.control().snapshot(Instant::now())
    }
}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Gate").field(&self.snapshot()).finish()
    }
}

/// A caller inside [`Gate::acquire`]; gives its slot back if dropped before the grant.
struct Waiter {
    inner: Arc<Inner>,
    ticket: Ticket,
}

impl Waiter {
    fn enter(inner: &Arc<Inner>) -> Self {
        inner.control().enter();
        Self {
            inner: inner.clone(),
            ticket: Ticket::default(),
        }
    }

    fn granted(self, grant: Grant) -> Permit {
        Permit {
            inner: self.inner.clone(),
            grant: Some(grant),
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let gave_back = self.inner.control().leave(&mut self.ticket, Instant::now());
        if gave_back {
            self.inner.wake(1);
        }
    }
}

/// Leave to call the provider once. Report how the call ended; dropping it counts as failed.
#[must_use = "a permit holds a slot until its call is reported"]
pub struct Permit {
    inner: Arc<Inner>,
    grant: Option<Grant>,
}

impl Permit {
    /// The provider accepted the call.
    pub fn succeeded(mut self) {
        self.report(Report::Succeeded);
    }

    /// The provider refused the call for its rate (429), naming a wait or not.
    pub fn throttled(mut self, retry_after: Option<Duration>) {
        self.report(Report::Throttled(retry_after));
    }

    /// Any other end (an error, a timeout): says nothing about the rate.
    pub fn failed(mut self) {
        self.report(Report::Failed);
    }

    fn report(&mut self, report: Report) {
        let Some(grant) = self.grant.take() else { return };
        let (slots, closed) = {
            let mut control = self.inner.control();
            let (slots, closed) = control.release(grant, report, Instant::now());
            (slots, closed.map(|closed| (closed, control.name().to_owned())))
        };
        if let Some((closed, name)) = closed {
            tracing::info!(
                gate = %name,
                reopens_in_ms = u64::try_from(closed.closed_for.as_millis()).unwrap_or(u64::MAX),
                requests_per_sec = closed.requests_per_sec,
                concurrency_limit = closed.concurrency_limit,
                cut = closed.cut,
                "the provider refused a call for its rate: the gate is closed for every worker"
            );
        }
        self.inner.wake(slots);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.report(Report::Abandoned);
    }
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("reported", &self.grant.is_none())
            .finish()
    }
}

/// Whether calls may pass now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GateState {
    Open,
    /// A refusal closed it until `closed_until`.
    Closed,
}

/// A gate's state at one moment, as shown in `/readyz` details, the admin statistics and the
/// metrics. Counters are totals since the gate was built.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Snapshot {
    pub name: String,
    pub state: GateState,
    /// While closed, how long until it reopens.
    pub reopens_in_ms: Option<u64>,
    /// While closed, when it reopens (wall clock).
    pub closed_until: Option<chrono::DateTime<chrono::Utc>>,
    /// Calls allowed at once now.
    pub concurrency_limit: usize,
    pub floor_concurrency: usize,
    pub max_concurrency: usize,
    /// Slots taken: calls under way, and callers waiting for their pacing slot.
    pub in_flight: usize,
    /// Callers waiting in `acquire`.
    pub waiting: usize,
    /// The pacing rate in calls per second; `None` while the gate does not pace.
    pub requests_per_sec: Option<f64>,
    pub max_requests_per_sec: Option<f64>,
    pub succeeded: u64,
    /// Calls the provider refused for its rate.
    pub throttled: u64,
    pub failed: u64,
    /// Permits dropped without a report (e.g. a call cut short), counted as failed.
    pub abandoned: u64,
    /// Times a refusal closed the gate.
    pub closures: u64,
}
