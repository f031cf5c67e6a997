//! Tracing set-up: human or JSON lines, level from `RUST_LOG` or the configuration.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, LogSettings};

/// Installs the global subscriber, writing to `sink`. Call once, at start-up.
pub fn init<W>(settings: &LogSettings, sink: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(sink)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal() && std::io::stderr().is_terminal());
    // A second init (tests that build several apps) keeps the first subscriber.
    let _ = match settings.format {
        LogFormat::Human => builder.finish().with(MalformedRequests).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .finish()
            .with(MalformedRequests)
            .try_init(),
    };
}

/// Where actix's HTTP/1 connection handling logs requests it cannot parse, one error line each
/// (`stream error: request parse error: …`), before any route or handler sees them.
const HTTP_DISPATCH_TARGET: &str = "actix_http::h1::dispatcher";

static MALFORMED: AtomicU64 = AtomicU64::new(0);
static MALFORMED_LOG: Sampled = Sampled::new(Duration::from_secs(1));

/// Requests refused as malformed HTTP since start (all counted, at most one logged a second).
pub fn malformed_requests() -> u64 {
    MALFORMED.load(Ordering::Relaxed)
}

/// Lets through at most one of actix's lines about a malformed request per second, like every
/// other refusal: each line is written synchronously, so a flood of garbage would otherwise
/// become a flood of log lines. Every one is counted (`malformed_requests_total`).
struct MalformedRequests;

impl<S: Subscriber> Layer<S> for MalformedRequests {
    fn event_enabled(&self, event: &Event<'_>, _: Context<'_, S>) -> bool {
        let metadata = event.metadata();
        if metadata.target() != HTTP_DISPATCH_TARGET || *metadata.level() > Level::WARN {
            return true;
        }
        MALFORMED.fetch_add(1, Ordering::Relaxed);
        MALFORMED_LOG.admit(Instant::now()).is_some()
    }
}

/// A log line repeated on every bad request is let through at most once per interval, the
/// others counted: a flood of bad requests must not become a flood of log lines, which are
/// written synchronously (slowing every request down when the log reader falls behind) and
/// fill disks. Metrics still count every occurrence.
#[derive(Debug)]
pub struct Sampled {
    interval: Duration,
    last: Mutex<Option<Instant>>,
    skipped: AtomicU64,
}

impl Sampled {
    pub const fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: Mutex::new(None),
            skipped: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when the occurrence at `now` may be logged, `n` being how many were not since
    /// the previous one that was; `None` when it is not to be logged.
    pub fn admit(&self, now: Instant) -> Option<u64> {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|at| now.saturating_duration_since(at) < self.interval) {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(now);
        Some(self.skipped.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_occurrence_per_interval_is_admitted_with_the_count_of_those_skipped() {
        let sampled = Sampled::new(Duration::from_secs(1));
        let start = Instant::now();
        assert_eq!(sampled.admit(start), Some(0));
        for ms in [1, 10, 999] {
            assert_eq!(sampled.admit(start + Duration::from_millis(ms)), None);
        }
        assert_eq!(sampled.admit(start + Duration::from_millis(1_000)), Some(3));
        assert_eq!(sampled.admit(start + Duration::from_millis(1_001)), None);
        assert_eq!(sampled.admit(start + Duration::from_millis(2_500)), Some(1));
    }
}
