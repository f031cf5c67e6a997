//! The one place that decides whether an Airbyte failure may pass, and what to say about it.
//!
//! Airbyte answers errors with RFC 9457 problems `{status, type, title, detail}`
//! (`airbyte-api/problems-api/src/main/openapi/api-problems.yaml`); its load-shed filter answers
//! 429 `{"message":"You are being rate limited."}`. Anything else is quoted as a short snippet.

use std::time::Duration;

use serde::Deserialize;

use crate::provisioning::provider::ProviderError;

/// Longest message a [`ProviderError`] carries, in characters.
const MAX_MESSAGE_CHARS: usize = 500;
/// Longest quote of a body that is not a problem document, in characters.
const MAX_SNIPPET_CHARS: usize = 200;

/// What went wrong with one call, before classification.
#[derive(Debug, Clone, Copy)]
pub(super) enum Failure<'a> {
    /// The request or its answer took longer than allowed.
    Timeout,
    /// No complete answer: connection refused or reset, DNS, TLS, body cut off.
    Transport(&'a str),
    /// The request could not even be built (e.g. an invalid URL): trying again will not help.
    Invalid(&'a str),
    /// An answer outside 2xx.
    Status {
        status: u16,
        retry_after: Option<&'a str>,
        body: &'a [u8],
    },
}

/// Classifies a failed call of operation `op`: timeouts, transport errors, 408, 429, 5xx and
/// 409 `try-again-later` may pass (and keep `Retry-After`); everything else is permanent.
pub(super) fn classify(op: &str, failure: Failure<'_>) -> ProviderError {
    match failure {
        Failure::Timeout => ProviderError::retryable(None, limit(format!("{op}: timed out"))),
        Failure::Transport(why) => ProviderError::retryable(None, limit(format!("{op}: no answer: {why}"))),
        Failure::Invalid(why) => ProviderError {
            refused: true,
            ..ProviderError::permanent(None, limit(format!("{op}: invalid request: {why}")))
        },
        Failure::Status {
            status,
            retry_after,
            body,
        } => {
            let problem = Problem::parse(body);
            let retryable = match status {
                408 | 429 | 500..=599 => true,
                409 => problem.is_try_again_later(),
                _ => false,
            };
            let message = limit(format!("{op}: HTTP {status}{}", problem.describe(body)));
            let mut error = if retryable {
                let mut error = ProviderError::retryable(Some(status), message);
                error.retry_after = retry_after.and_then(parse_retry_after);
                error
            } else {
                ProviderError::permanent(Some(status), message)
            };
            error.throttled = status == 429;
            // A 4xx answers before anything is done (408 excepted: the server gave up waiting
            // for the request, which says nothing of what it did); a 5xx may come after.
            error.refused = (400..500).contains(&status) && status != 408;
            error
        }
    }
}

/// A 2xx answer whose body is not what the API promises. Permanent: the server or a proxy in
/// front of it is misbehaving, and a retry of a create could duplicate the effect.
pub(super) fn not_understood(op: &str, status: u16, why: &str) -> ProviderError {
    ProviderError::permanent(
        Some(status),
        limit(format!("{op}: HTTP {status} answer not understood: {why}")),
    )
}

/// Removes `secret` from the message, in case a server or proxy echoes it back.
pub(super) fn redact(mut error: ProviderError, secret: &str) -> ProviderError {
    if secret.len() >= 4 && error.message.contains(secret) {
        error.message = error.message.replace(secret, "[redacted]");
    }
    error
}

/// `Retry-After` in integer seconds; HTTP dates and garbage are ignored.
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Cuts `message` to [`MAX_MESSAGE_CHARS`] characters.
pub(super) fn limit(message: String) -> String {
    truncate(message, MAX_MESSAGE_CHARS)
}

fn truncate(text: String, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// The fields of an RFC 9457 problem (or Airbyte's `{"message": …}`) that are worth quoting.
#[derive(Debug, Default, Deserialize)]
struct Problem {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl Problem {
    /// Never fails: a body that is not a JSON object with string fields gives an empty problem.
    fn parse(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }

    fn is_try_again_later(&self) -> bool {
        [&self.kind, &self.title]
            .into_iter()
            .flatten()
            .any(|field| field.contains("try-again-later"))
    }

    /// `": title: detail"`, `": message"`, or `": <snippet of the body>"`; empty for an empty body.
    fn describe(&self, body: &[u8]) -> String {
        let parts: Vec<&str> = [&self.title, &self.detail, &self.message]
            .into_iter()
            .flatten()
            .map(|s| s.trim())
            .collect();
        let parts: Vec<&str> = parts.into_iter().filter(|s| !s.is_empty()).collect();
        if !parts.is_empty() {
            return format!(": {}", parts.join(": "));
        }
        let text = String::from_utf8_lossy(body);
        let snippet = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if snippet.is_empty() {
            String::new()
        } else {
            format!(": {}", truncate(snippet, MAX_SNIPPET_CHARS))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const TRY_AGAIN: &str = r#"{"status":409,"type":"https://reference.airbyte.com/reference/errors#try-again-later","title":"try-again-later","detail":"busy"}"#;
    const CONFLICT: &str = r#"{"status":409,"type":"https://reference.airbyte.com/reference/errors#409-state-conflict","title":"state-conflict","detail":"already running"}"#;
    const NOT_FOUND: &str = r#"{"status":404,"type":"https://reference.airbyte.com/reference/errors#resource-not-found","title":"resource-not-found","detail":"Could not find workspace w1"}"#;
    const RATE_LIMITED: &str = r#"{"message":"You are being rate limited."}"#;

    fn status(status: u16, retry_after: Option<&'static str>, body: &'static str) -> Failure<'static> {
        Failure::Status {
            status,
            retry_after,
            body: body.as_bytes(),
        }
    }

    #[test]
    fn every_failure_is_classified_as_the_reference_says() {
        // (case, failure, retryable, status, retry_after seconds, text the message must contain)
        type Case = (
            &'static str,
            Failure<'static>,
            bool,
            Option<u16>,
            Option<u64>,
            &'static str,
        );
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("timeout", Failure::Timeout, true, None, None, "op: timed out"),
            ("connection refused", Failure::Transport("connection refused"), true, None, None, "refused"),
            ("bad url", Failure::Invalid("relative URL"), false, None, None, "invalid request"),
            ("408", status(408, None, ""), true, Some(408), None, "HTTP 408"),
            ("429 load shed", status(429, None, RATE_LIMITED), true, Some(429), None, "You are being rate limited."),
            ("429 with retry-after", status(429, Some("7"), ""), true, Some(429), Some(7), "HTTP 429"),
            ("503 with retry-after", status(503, Some(" 2 "), ""), true, Some(503), Some(2), "HTTP 503"),
            ("503 with a date", status(503, Some("Wed, 21 Oct 2015 07:28:00 GMT"), ""), true, Some(503), None, "503"),
            ("500", status(500, Some("oops"), "<html>Bad gateway</html>"), true, Some(500), None, "<html>Bad gateway"),
            ("502", status(502, None, ""), true, Some(502), None, "HTTP 502"),
            ("409 try-again-later", status(409, Some("3"), TRY_AGAIN), true, Some(409), Some(3), "try-again-later: busy"),
            ("409 state-conflict", status(409, Some("3"), CONFLICT), false, Some(409), None, "state-conflict"),
            ("409 without body", status(409, None, ""), false, Some(409), None, "HTTP 409"),
            ("400", status(400, None, r#"{"title":"bad-request"}"#), false, Some(400), None, "bad-request"),
            ("401", status(401, None, ""), false, Some(401), None, "HTTP 401"),
            ("403", status(403, None, ""), false, Some(403), None, "HTTP 403"),
            ("404", status(404, None, NOT_FOUND), false, Some(404), None, "Could not find workspace w1"),
            ("422 ignores retry-after", status(422, Some("5"), ""), false, Some(422), None, "HTTP 422"),
            ("302", status(302, None, ""), false, Some(302), None, "HTTP 302"),
            ("garbage json", status(500, None, "{\"title\": 5"), true, Some(500), None, "{\"title\": 5"),
            ("non-string fields", status(400, None, r#"{"title":5,"detail":[1]}"#), false, Some(400), None, "400"),
        ];
        for (case, failure, retryable, code, retry_after, text) in cases {
            let error = classify("op", failure);
            assert_eq!(error.retryable, retryable, "{case}: retryable");
            assert_eq!(error.status, code, "{case}: status");
            assert_eq!(
                error.retry_after,
                retry_after.map(Duration::from_secs),
                "{case}: retry_after"
            );
            assert!(
                error.message.contains(text),
                "{case}: {:?} should contain {text:?}",
                error.message
            );
            assert!(error.message.starts_with("op: "), "{case}: names the operation");
        }
    }

    #[test]
    fn a_429_is_throttled_and_only_an_answer_that_proves_nothing_was_done_is_a_refusal() {
        #[rustfmt::skip]
        let cases = [
            ("timeout", Failure::Timeout, false, false),
            ("reset", Failure::Transport("connection reset"), false, false),
            ("never sent", Failure::Invalid("relative URL"), false, true),
            ("429", status(429, None, RATE_LIMITED), true, true),
            ("429 with retry-after", status(429, Some("7"), ""), true, true),
            ("408", status(408, None, ""), false, false),
            ("409 try-again-later", status(409, None, TRY_AGAIN), false, true),
            ("400", status(400, None, ""), false, true),
            ("422", status(422, None, ""), false, true),
            ("500", status(500, None, ""), false, false),
            ("503", status(503, None, ""), false, false),
        ];
        for (case, failure, throttled, refused) in cases {
            let error = classify("op", failure);
            assert_eq!((error.throttled, error.refused), (throttled, refused), "{case}");
        }
    }

    #[test]
    fn messages_are_bounded_even_for_huge_bodies() {
        let detail = "é".repeat(10_000);
        let body = format!(r#"{{"title":"unexpected-problem","detail":"{detail}"}}"#);
        let error = classify(
            "op",
            Failure::Status {
                status: 500,
                retry_after: None,
                body: body.as_bytes(),
            },
        );
        assert!(error.message.chars().count() <= MAX_MESSAGE_CHARS + 1);
        let garbage = vec![0xff_u8; 100_000];
        let error = classify(
            "op",
            Failure::Status {
                status: 400,
                retry_after: None,
                body: &garbage,
            },
        );
        assert!(error.message.chars().count() <= MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn echoed_secrets_are_redacted() {
        let error = classify("op", status(400, None, r#"{"detail":"bad token s3cr3t-token"}"#));
        let error = redact(error, "s3cr3t-token");
        assert!(!error.message.contains("s3cr3t"), "{}", error.message);
        assert!(error.message.contains("[redacted]"));
    }

    #[test]
    fn answers_that_are_not_understood_are_permanent() {
        let error = not_understood("create_workspace", 200, "missing field `workspaceId`");
        assert!(!error.retryable);
        assert_eq!(error.status, Some(200));
        assert!(error.message.contains("create_workspace") && error.message.contains("workspaceId"));
    }
}
