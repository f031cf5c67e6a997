//! The gate's state and its rules, without any waiting: every step takes the time it happens
//! at, so the rules are the same under tokio's paused clock and in production.

use std::time::Duration;

use tokio::time::Instant;

use super::measure::{Latency, Recent};
use super::settings::GateSettings;
use super::{GateState, Snapshot};

/// The longest time between two pacing slots, whatever the settings.
const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// The state of one gate, behind its mutex.
#[derive(Debug)]
pub(super) struct Control {
    settings: GateSettings,
    /// The concurrency limit, between the floor and the max; its integer part counts.
    limit: f64,
    /// Slots taken: permits out, and callers holding a slot while they wait for the pacing.
    in_flight: usize,
    /// Callers inside `acquire`.
    waiting: usize,
    /// Calls per second; `None` (no pacing) until the first refusal, unless a cap is set.
    rate: Option<f64>,
    /// The earliest time the next pacing slot can be given.
    next_slot: Instant,
    /// While closed, when the gate reopens.
    closed_until: Option<Instant>,
    /// Counts refusal episodes. A permit granted in an earlier epoch was sent before the last
    /// refusal was known: its own refusal is part of that episode, not a new one.
    epoch: u64,
    /// Successes of permits granted in the current epoch.
    epoch_successes: u64,
    /// The next cool-down when the provider names none; doubles while it refuses everything.
    cool_down: Duration,
    recent_grants: Recent,
    recent_successes: Recent,
    latency: Latency,
    totals: Totals,
}

#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    succeeded: u64,
    throttled: u64,
    failed: u64,
    abandoned: u64,
    closures: u64,
}

/// One caller's progress through `acquire`.
#[derive(Debug, Default)]
pub(super) struct Ticket {
    /// Holds a concurrency slot (counted in `in_flight`).
    slot: bool,
    /// Its pacing slot: the time, and the epoch it was given in (void after a refusal).
    reservation: Option<(Instant, u64)>,
    waited_for_slot: bool,
    waited_for_pace: bool,
}

/// What a caller does next.
#[derive(Debug)]
pub(super) enum Step {
    Granted(Grant),
    /// Every slot is taken: wait until one is freed.
    WaitForSlot,
    /// Closed, or paced: look again at this time.
    WaitUntil(Instant),
}

/// What a permit remembers of how it was granted.
#[derive(Debug, Clone, Copy)]
pub(super) struct Grant {
    at: Instant,
    epoch: u64,
    /// The caller waited for a slot: the concurrency limit held it back.
    waited_for_slot: bool,
    /// The caller waited for its pacing slot: the rate held it back.
    waited_for_pace: bool,
}

/// How a call ended, as its permit reports it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Report {
    Succeeded,
    Throttled(Option<Duration>),
    Failed,
    Abandoned,
}

/// A refusal that closed the gate, for the log line.
#[derive(Debug, Clone, Copy)]
pub(super) struct Closed {
    pub closed_for: Duration,
    pub requests_per_sec: f64,
    pub concurrency_limit: usize,
    /// The rate and the limit were cut; false when the provider had refused every call since
    /// the last cut, and only the cool-down grew.
    pub cut: bool,
}

impl Control {
    pub fn new(settings: GateSettings, now: Instant) -> Self {
        Self {
            limit: settings.max_concurrency as f64,
            in_flight: 0,
            waiting: 0,
            rate: settings.max_requests_per_sec,
            next_slot: now,
            closed_until: None,
            epoch: 0,
            epoch_successes: 0,
            cool_down: settings.min_cool_down,
            recent_grants: Recent::default(),
            recent_successes: Recent::default(),
            latency: Latency::default(),
            totals: Totals::default(),
            settings,
        }
    }

    pub fn name(&self) -> &str {
        &self.settings.name
    }

    pub fn enter(&mut self) {
        self.waiting += 1;
    }

    /// A caller left `acquire`, granted or not; returns whether it gave a slot back. A pacing
    /// place it booked and did not use is given back too, so that callers who stop waiting
    /// never push the ones after them further out.
    pub fn leave(&mut self, ticket: &mut Ticket, now: Instant) -> bool {
        self.waiting = self.waiting.saturating_sub(1);
        if let (Some((_, epoch)), Some(rate)) = (ticket.reservation.take(), self.rate) {
            if epoch == self.epoch {
                self.next_slot = self.next_slot.checked_sub(interval(rate)).map_or(now, |at| at.max(now));
            }
        }
        let gave_back = std::mem::take(&mut ticket.slot);
        if gave_back {
            self.in_flight = self.in_flight.saturating_sub(1);
        }
        gave_back
    }

    fn concurrency_limit(&self) -> usize {
        // Kept within [floor, max], both usize: the cast cannot wrap.
        (self.limit.floor() as usize).clamp(self.settings.floor_concurrency, self.settings.max_concurrency)
    }

    /// Takes a concurrency slot, then a pacing slot, when the gate is open.
    pub fn poll(&mut self, ticket: &mut Ticket, now: Instant) -> Step {
        if !ticket.slot {
            if self.in_flight >= self.concurrency_limit() {
                ticket.waited_for_slot = true;
                return Step::WaitForSlot;
            }
            self.in_flight += 1;
            ticket.slot = true;
        }
        if let Some(until) = self.closed_until {
            if now < until {
                ticket.reservation = None;
                return Step::WaitUntil(until);
            }
            self.closed_until = None;
        }
        let Some(rate) = self.rate else {
            return Step::Granted(self.grant(ticket, now));
        };
        let at = match ticket.reservation {
            Some((at, epoch)) if epoch == self.epoch => at,
            _ => {
                let at = self.next_slot.max(now);
                self.next_slot = at + interval(rate);
                ticket.reservation = Some((at, self.epoch));
                at
            }
        };
        if at <= now {
            Step::Granted(self.grant(ticket, now))
        } else {
            ticket.waited_for_pace = true;
            Step::WaitUntil(at)
        }
    }

    /// The ticket's slot passes to the permit.
    fn grant(&mut self, ticket: &mut Ticket, now: Instant) -> Grant {
        self.recent_grants.push(now);
        ticket.slot = false;
        ticket.reservation = None;
        Grant {
            at: now,
            epoch: self.epoch,
            waited_for_slot: ticket.waited_for_slot,
            waited_for_pace: ticket.waited_for_pace,
        }
    }

    /// A permit came back. Returns how many slots opened (the permit's, and any the limit grew
    /// by), and the closure it caused, if it did.
    pub fn release(&mut self, grant: Grant, report: Report, now: Instant) -> (usize, Option<Closed>) {
        let before = self.concurrency_limit();
        self.in_flight = self.in_flight.saturating_sub(1);
        let closed = match report {
            Report::Succeeded => {
                self.succeeded(grant, now);
                None
            }
            Report::Throttled(retry_after) => self.throttled(grant, retry_after, now),
            Report::Failed => {
                self.totals.failed += 1;
                None
            }
            Report::Abandoned => {
                self.totals.abandoned += 1;
                None
            }
        };
        let grown = self.concurrency_limit().saturating_sub(before);
        let free = self.concurrency_limit().saturating_sub(self.in_flight);
        (free.min(1 + grown), closed)
    }

    /// Additive increase, for calls granted since the last refusal that the gate held back: the
    /// rate by `rate_increase_per_sec` per second of such successes, the concurrency limit by
    /// one per limit's worth of them. A gate that holds nothing back does not grow.
    fn succeeded(&mut self, grant: Grant, now: Instant) {
        self.totals.succeeded += 1;
        self.recent_successes.push(now);
        self.latency.record(now.saturating_duration_since(grant.at));
        if grant.epoch != self.epoch {
            // Sent before the last refusal was known: it says nothing about the rate since.
            return;
        }
        self.epoch_successes += 1;
        self.cool_down = self.settings.min_cool_down;
        if let Some(rate) = self.rate.filter(|_| grant.waited_for_pace) {
            self.rate = Some(self.capped(rate + self.settings.rate_increase_per_sec / rate));
        }
        if grant.waited_for_slot {
            self.limit = (self.limit + 1.0 / self.limit).min(self.settings.max_concurrency as f64);
        }
    }

    /// The first refusal of calls granted in the current epoch closes the gate for every
    /// caller, for the `Retry-After` or the cool-down. If calls succeeded since the last cut,
    /// the provider accepted a rate it now refuses: the rate is multiplied by the decrease
    /// factor, from what was really sent over the last second when that is less (as TCP
    /// halves its flight size, not its window), or, unpaced so far, from what the provider
    /// accepted; the concurrency limit too, though never below the floor nor the slots the
    /// new rate needs at the calls' mean latency. If none did, the provider is still refusing
    /// everything: nothing is cut, the cool-down doubles. Refusals of calls granted before
    /// only count, and may lengthen the closure with a `Retry-After`.
    fn throttled(&mut self, grant: Grant, retry_after: Option<Duration>, now: Instant) -> Option<Closed> {
        self.totals.throttled += 1;
        // A provider cannot close the gate for longer than the longest cool-down at once.
        let retry_after = retry_after.map(|wait| wait.min(self.settings.max_cool_down));
        if grant.epoch != self.epoch {
            if let Some(until) = retry_after.map(|wait| now + wait) {
                self.closed_until = self.closed_until.max(Some(until));
                self.next_slot = self.next_slot.max(until);
            }
            return None;
        }
        self.totals.closures += 1;
        self.epoch += 1;
        let cut = self.epoch_successes > 0 || self.rate.is_none();
        if cut {
            let base = match self.rate {
                Some(rate) => rate.min(self.recent_grants.per_sec(now)),
                None => self.recent_successes.per_sec(now),
            };
            let factor = self.settings.decrease_factor;
            let rate = self.capped((base * factor).max(self.settings.min_requests_per_sec));
            self.rate = Some(rate);
            let needed = self.latency.slots_for(rate) as f64;
            self.limit = (self.limit * factor).max(needed).clamp(
                self.settings.floor_concurrency as f64,
                self.settings.max_concurrency as f64,
            );
            self.cool_down = self.settings.min_cool_down;
        } else {
            self.cool_down = (self.cool_down * 2).min(self.settings.max_cool_down);
        }
        self.epoch_successes = 0;
        let closed_for = retry_after.unwrap_or(self.cool_down);
        let until = now + closed_for;
        self.closed_until = Some(until);
        // Pacing starts afresh at the reopening; reservations of the old epoch are void.
        self.next_slot = until;
        Some(Closed {
            closed_for,
            requests_per_sec: self.rate.unwrap_or_default(),
            concurrency_limit: self.concurrency_limit(),
            cut,
        })
    }

    fn capped(&self, rate: f64) -> f64 {
        self.settings.max_requests_per_sec.map_or(rate, |cap| rate.min(cap))
    }

    pub fn snapshot(&self, now: Instant) -> Snapshot {
        let reopens_in = self.closed_until.filter(|until| *until > now).map(|until| until - now);
        Snapshot {
            name: self.settings.name.clone(),
            state: if reopens_in.is_some() {
                GateState::Closed
            } else {
                GateState::Open
            },
            reopens_in_ms: reopens_in.map(|wait| u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)),
            closed_until: reopens_in
                .and_then(|wait| chrono::Duration::from_std(wait).ok())
                .map(|wait| chrono::Utc::now() + wait),
            concurrency_limit: self.concurrency_limit(),
            floor_concurrency: self.settings.floor_concurrency,
            max_concurrency: self.settings.max_concurrency,
            in_flight: self.in_flight,
            waiting: self.waiting,
            requests_per_sec: self.rate,
            max_requests_per_sec: self.settings.max_requests_per_sec,
            succeeded: self.totals.succeeded,
            throttled: self.totals.throttled,
            failed: self.totals.failed,
            abandoned: self.totals.abandoned,
            closures: self.totals.closures,
        }
    }
}

/// The time between two pacing slots; `rate` is at least `min_requests_per_sec`, so positive.
fn interval(rate: f64) -> Duration {
    Duration::try_from_secs_f64(1.0 / rate).map_or(MAX_INTERVAL, |interval| interval.min(MAX_INTERVAL))
}
