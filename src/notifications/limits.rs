//! A subscription's own delivery limits over the global defaults of `[notifications]`: how long
//! one request may take and how many attempts a delivery gets before it is dead, with its name.
//! Checked when a subscription is made or changed; applied at every delivery and test send.

use std::time::Duration;

use crate::config::NotificationSettings;
use crate::jobs::retry::Policy;
use crate::notifications::store::Subscription;

/// Most attempts a subscription may ask for. With the shipped schedule's last step (12 h)
/// repeating, 50 attempts keep a delivery alive for about three weeks, longer than a subscriber
/// that fails throughout stays enabled (`notifications.disable_after_failing_secs`, 5 days).
pub const MAX_ATTEMPTS: i64 = 50;
/// Longest name, in characters: a label for tables and dashboards, not a description.
pub const NAME_MAX_CHARS: usize = 100;

/// A value outside what a subscription may ask for; the message names the field and the range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} must be {allowed}, got {got}")]
pub struct OutOfRange {
    pub field: &'static str,
    pub allowed: String,
    pub got: String,
}

/// A request timeout in milliseconds: 1 up to `cap`, the global `notifications.request_timeout_ms`.
/// Never above it: a delivery's lease (`notifications.lease_secs`) is checked to outlast that
/// timeout, and a request outliving its lease would be sent twice.
pub fn check_timeout(ms: i64, cap: Duration) -> Result<i32, OutOfRange> {
    let cap_ms = i64::try_from(cap.as_millis()).unwrap_or(i64::MAX);
    match i32::try_from(ms) {
        Ok(ms) if (1..=cap_ms).contains(&i64::from(ms)) => Ok(ms),
        _ => Err(OutOfRange {
            field: "request_timeout_ms",
            allowed: format!("between 1 and {cap_ms} (notifications.request_timeout_ms)"),
            got: ms.to_string(),
        }),
    }
}

pub fn check_max_attempts(attempts: i64) -> Result<i32, OutOfRange> {
    match i32::try_from(attempts) {
        Ok(n) if (1..=MAX_ATTEMPTS).contains(&i64::from(n)) => Ok(n),
        _ => Err(OutOfRange {
            field: "max_attempts",
            allowed: format!("between 1 and {MAX_ATTEMPTS}"),
            got: attempts.to_string(),
        }),
    }
}

/// A name, trimmed: blank means none; otherwise one line of at most [`NAME_MAX_CHARS`].
pub fn check_name(name: Option<String>) -> Result<Option<String>, OutOfRange> {
    let Some(name) = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let chars = name.chars().count();
    if chars > NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(OutOfRange {
            field: "name",
            allowed: format!("one line of at most {NAME_MAX_CHARS} characters"),
            got: format!("{chars} characters"),
        });
    }
    Ok(Some(name))
}

/// Longest description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 1_000;
/// Longest tenant filter, in characters.
pub const TENANT_ID_MAX_CHARS: usize = 200;

/// A description: blank means none; otherwise at most [`DESCRIPTION_MAX_CHARS`], with no control
/// character but newline (and carriage return) and tab. Postgres refuses NUL in text.
pub fn check_description(description: Option<String>) -> Result<Option<String>, OutOfRange> {
    let Some(description) = description.filter(|d| !d.trim().is_empty()) else {
        return Ok(None);
    };
    let chars = description.chars().count();
    let control = description
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
    if chars > DESCRIPTION_MAX_CHARS || control {
        return Err(OutOfRange {
            field: "description",
            allowed: format!(
                "at most {DESCRIPTION_MAX_CHARS} characters, with no control character but newline and tab"
            ),
            got: got(chars, control),
        });
    }
    Ok(Some(description))
}

/// A tenant filter (already known not to be blank): one line of at most [`TENANT_ID_MAX_CHARS`].
pub fn check_tenant_id(tenant_id: Option<String>) -> Result<Option<String>, OutOfRange> {
    let Some(tenant_id) = tenant_id else {
        return Ok(None);
    };
    let chars = tenant_id.chars().count();
    let control = tenant_id.chars().any(char::is_control);
    if chars > TENANT_ID_MAX_CHARS || control {
        return Err(OutOfRange {
            field: "tenant_id",
            allowed: format!("one line of at most {TENANT_ID_MAX_CHARS} characters, with no control character"),
            got: got(chars, control),
        });
    }
    Ok(Some(tenant_id))
}

fn got(chars: usize, control: bool) -> String {
    if control {
        format!("{chars} characters with a control character")
    } else {
        format!("{chars} characters")
    }
}

/// How deliveries to `subscription` are retried: on `notifications.retry_schedule_secs`, for
/// its own `max_attempts` if it set one, else a first attempt and one more per step.
/// `Retry-After` is honoured up to the schedule's longest step, whatever the subscription asks.
pub fn retry_policy(settings: &NotificationSettings, subscription: &Subscription) -> Policy {
    Policy::new(settings.retry_schedule(), settings.retry_jitter)
        .with_max_attempts(subscription.max_attempts.and_then(|n| u32::try_from(n).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_out_of_range_are_refused_naming_the_field_and_the_range() {
        let cap = Duration::from_millis(15_000);
        assert_eq!(check_timeout(250, cap), Ok(250));
        assert_eq!(check_timeout(15_000, cap), Ok(15_000));
        for ms in [0, -1, 15_001, i64::MAX] {
            let e = check_timeout(ms, cap).unwrap_err().to_string();
            assert!(
                e.starts_with("request_timeout_ms must be between 1 and 15000") && e.ends_with(&ms.to_string()),
                "{e}"
            );
        }
        assert_eq!(check_max_attempts(1), Ok(1));
        assert_eq!(check_max_attempts(50), Ok(50));
        let e = check_max_attempts(51).unwrap_err().to_string();
        assert_eq!(e, "max_attempts must be between 1 and 50, got 51");
        assert!(check_max_attempts(0).is_err());
    }

    #[test]
    fn a_name_is_trimmed_blank_is_none_and_a_long_or_multiline_one_is_refused() {
        assert_eq!(check_name(Some("  CRM sync ".into())), Ok(Some("CRM sync".into())));
        assert_eq!(check_name(Some("   ".into())), Ok(None));
        assert_eq!(check_name(None), Ok(None));
        let e = check_name(Some("x".repeat(101))).unwrap_err().to_string();
        assert!(e.starts_with("name must be one line of at most 100 characters"), "{e}");
        assert!(check_name(Some("two\nlines".into())).is_err());
    }

    #[test]
    fn a_description_or_tenant_with_a_control_character_or_too_long_is_refused() {
        let text = "two lines\r\n\tindented";
        assert_eq!(
            check_description(Some(text.into())),
            Ok(Some(text.into())),
            "a form's newlines and tabs pass"
        );
        assert_eq!(check_description(Some(" \n ".into())), Ok(None));
        assert_eq!(
            check_description(Some("é".repeat(1_000))).map(|d| d.is_some()),
            Ok(true)
        );
        for bad in ["nul\0here".to_owned(), "bell\u{7}".to_owned(), "x".repeat(1_001)] {
            let e = check_description(Some(bad)).unwrap_err().to_string();
            assert!(e.starts_with("description must be at most 1000 characters"), "{e}");
        }
        assert_eq!(check_tenant_id(Some("t-1".into())), Ok(Some("t-1".into())));
        assert_eq!(check_tenant_id(None), Ok(None));
        assert_eq!(check_tenant_id(Some("t".repeat(200))).map(|t| t.is_some()), Ok(true));
        for bad in ["t\0".to_owned(), "t\n1".to_owned(), "t".repeat(201)] {
            let e = check_tenant_id(Some(bad)).unwrap_err().to_string();
            assert!(
                e.starts_with("tenant_id must be one line of at most 200 characters"),
                "{e}"
            );
        }
    }
}
