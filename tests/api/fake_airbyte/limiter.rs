//! The fake's rate-limited mode ([`FakeAirbyte::limit_rate`]) and its traffic counters
//! ([`FakeAirbyte::traffic`]).
//!
//! Airbyte's server has one source of 429, its load-shed filter, which answers
//! `{"message":"You are being rate limited."}` and deliberately no `Retry-After`; it publishes no
//! numeric limit (reference §2.7). The limit here stands in for one (Airbyte Cloud's
//! per-application limits, or a gateway in front of a self-managed server) with that answer:
//! at most N requests accepted in any sliding window of one second, across every endpoint, the
//! token endpoint included. Refused requests do not count towards the window, so a client that
//! keeps knocking is not locked out for longer.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::FakeAirbyte;

/// What reached the fake, for tests that count calls against a limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Every request, whatever its answer.
    pub requests: usize,
    /// Requests answered 429, by the rate limit or by a scripted failure.
    pub rate_limited: usize,
    /// `GET /workspaces` requests (the pages of a look-up by name), whatever their answer.
    pub listings: usize,
}

/// At most `per_sec` requests accepted in any sliding second.
pub(super) struct RateLimit {
    per_sec: usize,
    /// Every answer, accepted or refused, is sent this long after the request arrived.
    pub(super) latency: Duration,
    /// When the accepted requests of the last second arrived.
    accepted: VecDeque<Instant>,
}

impl RateLimit {
    /// Whether a request arriving `now` is within the limit; if it is, it counts.
    pub(super) fn admit(&mut self, now: Instant) -> bool {
        while self
            .accepted
            .front()
            .is_some_and(|at| now.duration_since(*at) >= Duration::from_secs(1))
        {
            self.accepted.pop_front();
        }
        if self.accepted.len() >= self.per_sec {
            return false;
        }
        self.accepted.push_back(now);
        true
    }
}

impl FakeAirbyte {
    /// From now on at most `requests_per_sec` requests are accepted in any sliding second, across
    /// every endpoint; the others get Airbyte's 429 (`{"message":"You are being rate limited."}`,
    /// no `Retry-After`) and do nothing. Every answer, 429s and scripted failures included, comes
    /// `latency` after its request. Zero requests per second refuses everything, as Airbyte's
    /// load-shed switch does.
    pub fn limit_rate(&self, requests_per_sec: usize, latency: Duration) {
        self.lock().rate_limit = Some(RateLimit {
            per_sec: requests_per_sec,
            latency,
            accepted: VecDeque::new(),
        });
    }

    /// The requests that reached the fake so far, counted by kind.
    pub fn traffic(&self) -> Traffic {
        self.lock().traffic
    }
}
