//! How long a 429 asks to wait: until `X-Rate-Limit-Reset` (an RFC 3339 time, what Frontegg's
//! gateway sends), or `Retry-After` seconds (parsed defensively), or a default.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

/// Up to this much is added to a wait, so that callers refused together do not return together.
const JITTER_MS: u64 = 250;
/// The shortest wait: a reset already past does not make the caller ask again at once.
const SHORTEST: Duration = Duration::from_secs(1);
/// The longest wait an answer can ask for; callers refuse far shorter ones anyway
/// (`reconcile.frontegg.max_rate_limit_wait_secs`), this keeps the sums in range.
const LONGEST: Duration = Duration::from_secs(86_400);

/// The wait a refused call asks for, measured from `now`.
pub(super) fn wait_after_429(headers: &HeaderMap, now: DateTime<Utc>, default: Duration) -> Duration {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let base = if let Some(reset) = header("x-rate-limit-reset").and_then(|v| DateTime::parse_from_rfc3339(v).ok()) {
        (reset.with_timezone(&Utc) - now).to_std().unwrap_or(Duration::ZERO)
    } else if let Some(seconds) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        Duration::from_secs(seconds)
    } else {
        default
    };
    base.clamp(SHORTEST, LONGEST) + Duration::from_millis(fastrand::u64(0..=JITTER_MS))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn a_429_waits_until_the_reset_time_else_retry_after_else_the_default() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let default = Duration::from_secs(60);
        let cases = [
            (headers(&[("x-rate-limit-reset", "2026-12-01T10:00:03.000Z")]), 3_000),
            (headers(&[("x-rate-limit-reset", "2026-12-01T09:59:00Z")]), 1_000),
            (headers(&[("retry-after", "0")]), 1_000),
            (headers(&[("retry-after", "18446744073709551615")]), 86_400_000),
            (headers(&[("retry-after", "7")]), 7_000),
            (headers(&[("x-rate-limit-reset", "60"), ("retry-after", "2")]), 2_000),
            (headers(&[]), 60_000),
        ];
        for (headers, expected_ms) in cases {
            let waited = wait_after_429(&headers, now, default).as_millis();
            let expected = u128::from(expected_ms as u64);
            assert!(
                (expected..=expected + u128::from(JITTER_MS)).contains(&waited),
                "{headers:?}: {waited} ms"
            );
        }
    }
}
