//! Field look-up and checks shared by both payload shapes.
//!
//! A shape module says *where* each logical field may be (a list of [`Source`]s in order of
//! precedence); the functions here say *how* a found value is checked. The first source holding a
//! non-null value wins: a present but invalid value is an error rather than a reason to fall back
//! to the next source, so a sender's bug is reported instead of silently papered over.

use chrono::{DateTime, Datelike, Utc};
use serde_json::{Map, Value};

use super::NormalizeError;

/// Longest accepted id, provider or event name, in characters (fits a `VARCHAR(255)` column).
pub(super) const MAX_ID_CHARS: usize = 255;

/// Numbers at or above this are Unix milliseconds, below it Unix seconds: 10^11 seconds is the
/// year 5138, while 10^11 milliseconds is March 1973, so no real event time is ambiguous.
const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// One place in the payload where a logical field may be found.
#[derive(Debug, Clone, Copy)]
pub(super) struct Source<'a> {
    /// The JSON path as a sender would write it, e.g. `eventContext.tenantId`; errors name it.
    pub path: &'static str,
    /// The value there, if the path exists.
    pub value: Option<&'a Value>,
}

/// Looks up a dotted `path` through nested objects; anything that is not an object on the way
/// makes the field absent.
pub(super) fn lookup<'a>(root: &'a Map<String, Value>, path: &'static str) -> Source<'a> {
    let mut segments = path.split('.');
    let mut current = segments.next().and_then(|first| root.get(first));
    for segment in segments {
        current = current
            .and_then(Value::as_object)
            .and_then(|object| object.get(segment));
    }
    Source { path, value: current }
}

/// The path to name when a required field is absent: the first, preferred source.
pub(super) fn missing(sources: &[Source<'_>]) -> NormalizeError {
    NormalizeError::MissingField(sources.first().map_or("unknown", |source| source.path))
}

/// The first source whose value is present and not `null` (senders write `"userId": null`).
fn first_present<'a>(sources: &[Source<'a>]) -> Option<(&'static str, &'a Value)> {
    sources.iter().find_map(|source| match source.value {
        None | Some(Value::Null) => None,
        Some(value) => Some((source.path, value)),
    })
}

fn invalid(field: &'static str, reason: &str) -> NormalizeError {
    NormalizeError::InvalidField {
        field,
        reason: reason.to_owned(),
    }
}

/// Checks an identifier-like string: not blank, at most [`MAX_ID_CHARS`], no control characters.
/// The value itself is never echoed in the error.
pub(super) fn check_id_text(field: &'static str, id: &str) -> Result<(), NormalizeError> {
    if id.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if id.chars().count() > MAX_ID_CHARS {
        return Err(invalid(field, "must be at most 255 characters"));
    }
    if id.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

/// An id (tenant, user, SSO provider): a string, or an integer turned into its decimal string.
pub(super) fn id(sources: &[Source<'_>]) -> Result<Option<String>, NormalizeError> {
    let Some((path, value)) = first_present(sources) else {
        return Ok(None);
    };
    let id = match value {
        Value::String(text) => text.clone(),
        // Some senders use numeric ids; fractions are never ids, so only integers pass.
        Value::Number(number) if number.is_i64() || number.is_u64() => number.to_string(),
        _ => return Err(invalid(path, "must be a string or an integer")),
    };
    check_id_text(path, &id)?;
    Ok(Some(id))
}

/// Free text (tenant name, email): trimmed; blank counts as absent.
pub(super) fn text(sources: &[Source<'_>]) -> Result<Option<String>, NormalizeError> {
    let Some((path, value)) = first_present(sources) else {
        return Ok(None);
    };
    let Value::String(text) = value else {
        return Err(invalid(path, "must be a string"));
    };
    let trimmed = text.trim();
    // Control characters (NUL above all, which PostgreSQL refuses in text) are never part of a
    // name or an address: refuse them here rather than fail later, at storage.
    if trimmed.chars().any(char::is_control) {
        return Err(invalid(path, "must not contain control characters"));
    }
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

/// A yes/no flag (`user.activatedForTenant`): a JSON boolean; absent or `null` is `None`.
pub(super) fn flag(sources: &[Source<'_>]) -> Result<Option<bool>, NormalizeError> {
    let Some((path, value)) = first_present(sources) else {
        return Ok(None);
    };
    match value {
        Value::Bool(flag) => Ok(Some(*flag)),
        _ => Err(invalid(path, "must be a boolean")),
    }
}

/// Metadata, normalized to a JSON value: a string holding JSON (Frontegg's `"metadata": "{}"`)
/// is decoded; any other string is kept as a string. Never an error, because metadata is only
/// carried along, never acted on.
pub(super) fn metadata(sources: &[Source<'_>]) -> Option<Value> {
    let (_, value) = first_present(sources)?;
    Some(match value {
        Value::String(encoded) => serde_json::from_str(encoded).unwrap_or_else(|_| value.clone()),
        other => other.clone(),
    })
}

/// When the event happened: an RFC 3339 string, or Unix seconds or milliseconds as a number
/// (or a string of digits). A present but unreadable time is an error, because per-tenant
/// ordering relies on it.
///
/// A time after `not_after` (the receive time plus the accepted skew) is refused: a time in the
/// future would make its tenant's later events look older, and skip them.
pub(super) fn timestamp(
    sources: &[Source<'_>],
    not_after: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, NormalizeError> {
    let Some((path, value)) = first_present(sources) else {
        return Ok(None);
    };
    let parsed = match value {
        Value::String(text) => parse_time_text(text.trim()),
        Value::Number(number) => match number.as_i64() {
            Some(integer) => from_unix_integer(integer),
            None => number.as_f64().and_then(from_unix_float),
        },
        _ => None,
    };
    let parsed = parsed.ok_or_else(|| invalid(path, "must be an RFC 3339 date-time or Unix seconds/milliseconds"))?;
    // Both databases must be able to store it (PostgreSQL's range ends at 4713 BC).
    if !(EARLIEST_YEAR..=LATEST_YEAR).contains(&parsed.year()) {
        return Err(invalid(
            path,
            &format!("must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}"),
        ));
    }
    if parsed > not_after {
        return Err(invalid(
            path,
            &format!(
                "lies in the future: it must not be later than {} (the receive time plus sources.frontegg.max_future_skew_secs)",
                not_after.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        ));
    }
    Ok(Some(parsed))
}

/// The span of event times accepted.
const EARLIEST_YEAR: i32 = 1970;
const LATEST_YEAR: i32 = 9999;

fn parse_time_text(text: &str) -> Option<DateTime<Utc>> {
    if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) {
        return text.parse::<i64>().ok().and_then(from_unix_integer);
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

fn from_unix_integer(value: i64) -> Option<DateTime<Utc>> {
    if (-MILLIS_THRESHOLD..MILLIS_THRESHOLD).contains(&value) {
        DateTime::from_timestamp(value, 0)
    } else {
        DateTime::from_timestamp_millis(value)
    }
}

fn from_unix_float(value: f64) -> Option<DateTime<Utc>> {
    if !value.is_finite() {
        return None;
    }
    // `as` saturates on overflow, and chrono rejects out-of-range results, so nothing panics.
    if value.abs() < MILLIS_THRESHOLD as f64 {
        let seconds = value.floor();
        let nanos = ((value - seconds) * 1e9).round().min(999_999_999.0) as u32;
        DateTime::from_timestamp(seconds as i64, nanos)
    } else {
        DateTime::from_timestamp_millis(value.round() as i64)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use serde_json::json;

    fn source(value: &Value) -> [Source<'_>; 1] {
        [Source {
            path: "x.y",
            value: Some(value),
        }]
    }

    fn time(value: Value) -> Result<Option<DateTime<Utc>>, NormalizeError> {
        timestamp(&source(&value), DateTime::<Utc>::MAX_UTC)
    }

    #[test]
    fn a_time_later_than_the_bound_is_refused_naming_the_field() {
        let bound = DateTime::from_timestamp(1_714_564_800, 0).unwrap();
        assert!(timestamp(&source(&json!("2024-05-01T12:00:00Z")), bound).is_ok());
        // Found attacking the release binary: a tenant.deleted dated 9999-12-31 blocked its tenant.
        for later in [
            json!("9999-12-31T00:00:00Z"),
            json!("2024-05-01T12:00:01Z"),
            json!(1_714_564_801_000_i64),
        ] {
            let err = timestamp(&source(&later), bound).unwrap_err();
            assert_eq!(err.field(), Some("x.y"), "{later}");
            assert!(err.to_string().contains("max_future_skew_secs"), "{err}");
        }
    }

    #[test]
    fn lookup_walks_nested_objects_and_treats_non_objects_as_absent() {
        let root = json!({"a": {"b": {"c": 1}}, "s": "text"});
        let root = root.as_object().unwrap();
        assert_eq!(lookup(root, "a.b.c").value, Some(&json!(1)));
        assert_eq!(lookup(root, "a.b").path, "a.b");
        assert!(lookup(root, "a.x.c").value.is_none());
        assert!(lookup(root, "s.c").value.is_none());
        assert!(lookup(root, "missing").value.is_none());
    }

    #[test]
    fn the_first_non_null_source_wins_even_when_a_later_one_is_valid() {
        let null = json!(null);
        let bad = json!("");
        let good = json!("t-1");
        let sources = |first| {
            [
                Source {
                    path: "first",
                    value: first,
                },
                Source {
                    path: "second",
                    value: Some(&good),
                },
            ]
        };
        assert_eq!(id(&sources(None)), Ok(Some("t-1".into())));
        assert_eq!(id(&sources(Some(&null))), Ok(Some("t-1".into())));
        let err = id(&sources(Some(&bad))).unwrap_err();
        assert_eq!(
            err,
            NormalizeError::InvalidField {
                field: "first",
                reason: "must not be empty".into()
            }
        );
    }

    #[test]
    fn ids_accept_strings_and_integers_and_reject_everything_else() {
        assert_eq!(id(&source(&json!("abc"))), Ok(Some("abc".into())));
        assert_eq!(id(&source(&json!(42))), Ok(Some("42".into())));
        assert_eq!(id(&source(&json!(-7))), Ok(Some("-7".into())));
        assert_eq!(id(&source(&json!(u64::MAX))), Ok(Some(u64::MAX.to_string())));
        for bad in [
            json!(1.5),
            json!(true),
            json!([]),
            json!({}),
            json!(""),
            json!("   "),
            json!("a\nb"),
            json!("a\u{0}b"),
            json!("x".repeat(256)),
        ] {
            assert_eq!(id(&source(&bad)).unwrap_err().code(), "invalid_field", "{bad}");
        }
        assert_eq!(id(&source(&json!("é".repeat(255)))), Ok(Some("é".repeat(255))));
    }

    #[test]
    fn text_is_trimmed_and_blank_text_is_absent() {
        assert_eq!(text(&source(&json!("  Acme  "))), Ok(Some("Acme".into())));
        assert_eq!(text(&source(&json!("  "))), Ok(None));
        assert_eq!(text(&source(&json!(null))), Ok(None));
        assert!(text(&source(&json!(5))).is_err());
    }

    #[test]
    fn flags_are_json_booleans_and_anything_else_present_is_invalid() {
        assert_eq!(flag(&source(&json!(true))), Ok(Some(true)));
        assert_eq!(flag(&source(&json!(false))), Ok(Some(false)));
        assert_eq!(flag(&source(&json!(null))), Ok(None));
        assert_eq!(flag(&[]), Ok(None));
        for bad in [json!("true"), json!(1), json!(0), json!([]), json!({})] {
            let err = flag(&source(&bad)).unwrap_err();
            assert_eq!(
                err,
                NormalizeError::InvalidField {
                    field: "x.y",
                    reason: "must be a boolean".into()
                },
                "{bad}"
            );
        }
    }

    #[test]
    fn metadata_decodes_json_strings_keeps_other_strings_and_objects() {
        let decoded = metadata(&source(&json!("{\"plan\":\"pro\"}")));
        assert_eq!(decoded, Some(json!({"plan": "pro"})));
        assert_eq!(metadata(&source(&json!("{}"))), Some(json!({})));
        assert_eq!(metadata(&source(&json!("not json {"))), Some(json!("not json {")));
        assert_eq!(metadata(&source(&json!({"a": 1}))), Some(json!({"a": 1})));
        assert_eq!(metadata(&source(&json!(null))), None);
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        assert_eq!(metadata(&source(&json!(deep))), Some(json!(deep)));
    }

    #[test]
    fn timestamps_are_read_from_rfc3339_seconds_and_milliseconds() {
        let expected = DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(time(json!("2024-05-01T12:00:00Z")), Ok(Some(expected)));
        assert_eq!(time(json!("2024-05-01T14:00:00+02:00")), Ok(Some(expected)));
        assert_eq!(time(json!(1_714_564_800)), Ok(Some(expected)));
        assert_eq!(time(json!(1_714_564_800_000_i64)), Ok(Some(expected)));
        assert_eq!(time(json!("1714564800")), Ok(Some(expected)));
        assert_eq!(time(json!(1_714_564_800.0)), Ok(Some(expected)));
        let half = time(json!(1_714_564_800.5)).unwrap().unwrap();
        assert_eq!(half.timestamp_subsec_millis(), 500);
        assert_eq!(time(json!(null)), Ok(None));
    }

    #[test]
    fn unreadable_or_out_of_range_timestamps_are_invalid_not_panics() {
        for bad in [
            json!("yesterday"),
            json!(""),
            json!("2024-05-01"),
            json!(true),
            json!({}),
            json!(i64::MAX),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(1e300),
            json!(-1e300),
            json!("99999999999999999999999"),
        ] {
            assert_eq!(time(bad.clone()).unwrap_err().code(), "invalid_field", "{bad}");
        }
    }
}
