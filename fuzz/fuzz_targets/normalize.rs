//! Fuzzes `tenantgate::events::normalize` twice per input: on the raw bytes (seeded with the
//! fixtures, guided by `dicts/normalize.dict`), and on a JSON body built from the same bytes with
//! the field paths both payload shapes use and values near every check (ids, lengths, control
//! characters, RFC 3339 and Unix times at the year and seconds/milliseconds limits, metadata).
//!
//! Invariants (besides "never panics"):
//! - `MalformedJson` exactly when the body is not a JSON object; otherwise `normalize_object`
//!   on the parsed object gives the same result, and a second call gives the same result;
//! - an `Ok` body is UTF-8 (the stored payload is `from_utf8_lossy` of it and is normalized again
//!   later), and the event serializes to JSON with its kind's stable name;
//! - `event_type` is the string `eventKey` (else `eventType`), a valid id text, and `kind` is its
//!   mapping; a non-ignored event has a tenant; user kinds have a user; `sso_provider` is set
//!   exactly for SSO events;
//! - ids are non-blank, at most 255 characters, without control characters, and equal the first
//!   non-null candidate of the shape (a string, or an integer's decimal form); names and emails
//!   are trimmed, non-empty and without control characters; times are in years 1970..=9999;
//!   metadata is the first non-null candidate, with a JSON string decoded;
//! - `MissingField(path)` names a known path that is absent or null; `InvalidField` names a known
//!   path that is present, with one of the fixed reasons (the payload is never echoed).
#![no_main]

mod common;

use arbitrary::Unstructured;
use chrono::Datelike;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use tenantgate::events::{normalize, normalize_object, EventKind, LifecycleEvent, NormalizeError};

/// Where the Frontegg shape looks for each field, in order of precedence.
const FRONTEGG_TENANT: &[&str] = &["eventContext.tenantId", "tenant.tenantId", "tenant.id", "user.tenantId"];
const FRONTEGG_USER: &[&str] = &["eventContext.userId", "user.id", "user.userId"];
const FRONTEGG_SSO: &[&str] = &["sso.provider", "eventContext.ssoProvider"];
const FRONTEGG_NAME: &[&str] = &["tenant.name"];
const FRONTEGG_EMAIL: &[&str] = &["user.email"];
const FRONTEGG_TIME: &[&str] = &["timestamp", "createdAt", "eventContext.timestamp"];
const FRONTEGG_METADATA: &[&str] = &["user.metadata", "tenant.metadata"];

const PATHS: &[&str] = &[
    "eventKey",
    "eventType",
    "eventContext",
    "eventContext.tenantId",
    "eventContext.userId",
    "eventContext.ssoProvider",
    "eventContext.timestamp",
    "tenant",
    "tenant.tenantId",
    "tenant.id",
    "tenant.name",
    "tenant.metadata",
    "user",
    "user.id",
    "user.userId",
    "user.tenantId",
    "user.email",
    "user.metadata",
    "user.activatedForTenant",
    "activatedForTenant",
    "sso",
    "sso.provider",
    "timestamp",
    "createdAt",
    "tenantId",
    "userId",
    "ssoProvider",
    "tenantName",
    "email",
    "metadata",
];

const EVENT_NAMES: &[&str] = &[
    "frontegg.tenant.created",
    "tenant.created",
    "organization.created",
    "frontegg.tenant.updated",
    "tenant.updated",
    "frontegg.tenant.deleted",
    "tenant.deleted",
    "organization.deleted",
    "frontegg.user.activated",
    "user.activated",
    "user.deactivated",
    "frontegg.user.deleted",
    "frontegg.user.removedFromTenant",
    "sso.configured",
    "sso.updated",
    "frontegg.user.created",
    "billing.invoice.paid",
    "Tenant.Created",
    " tenant.created",
    "tenant.created\u{7}",
    "",
    "   ",
];

const REASONS: &[&str] = &[
    "must not be empty",
    "must be at most 255 characters",
    "must not contain control characters",
    "must be a string or an integer",
    "must be a string",
    "must be an RFC 3339 date-time or Unix seconds/milliseconds",
    "must be between the years 1970 and 9999",
    "must be a boolean",
];

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Ok(body) = structured(&mut Unstructured::new(data)) {
        check(&body);
    }
});

fn lookup<'a>(root: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut segments = path.split('.');
    let mut current = root.get(segments.next()?);
    for segment in segments {
        current = current?.as_object()?.get(segment);
    }
    current
}

fn first_present<'a>(root: &'a Map<String, Value>, paths: &[&str]) -> Option<&'a Value> {
    paths.iter().find_map(|p| lookup(root, p).filter(|v| !v.is_null()))
}

fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

fn valid_id(id: &str) -> bool {
    !id.trim().is_empty() && id.chars().count() <= 255 && !id.chars().any(char::is_control)
}

fn check(body: &[u8]) {
    let result = normalize(body);
    assert_eq!(normalize(body), result, "normalize is not deterministic");
    if let Err(err) = &result {
        let _ = (err.to_string(), err.code(), err.field());
    }
    let root = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(root)) => root,
        _ => {
            assert!(
                matches!(result, Err(NormalizeError::MalformedJson(_))),
                "not a JSON object, yet {result:?}"
            );
            return;
        }
    };
    assert_eq!(
        normalize_object(&root),
        result,
        "normalize_object disagrees with normalize"
    );
    match &result {
        Ok(event) => check_event(body, &root, event),
        Err(err) => check_error(&root, err),
    }
}

fn check_error(root: &Map<String, Value>, err: &NormalizeError) {
    match err {
        NormalizeError::MalformedJson(_) => panic!("a JSON object reported as malformed: {err}"),
        NormalizeError::MissingField(path) => {
            assert!(PATHS.contains(path), "unknown path {path:?}");
            if *path == "eventKey" {
                assert!(
                    !root.get("eventKey").is_some_and(Value::is_string)
                        && !root.get("eventType").is_some_and(Value::is_string),
                    "MissingField(eventKey) with a string event name"
                );
            } else {
                assert!(
                    lookup(root, path).is_none_or(Value::is_null),
                    "MissingField({path}) but present"
                );
            }
        }
        NormalizeError::InvalidField { field, reason } => {
            assert!(PATHS.contains(field), "unknown path {field:?}");
            assert!(REASONS.contains(&reason.as_str()), "unexpected reason {reason:?}");
            assert!(
                lookup(root, field).is_some_and(|v| !v.is_null()),
                "InvalidField({field}) but absent"
            );
        }
    }
}

fn check_event(body: &[u8], root: &Map<String, Value>, event: &LifecycleEvent) {
    assert!(std::str::from_utf8(body).is_ok(), "an accepted body is not UTF-8");

    let frontegg = root.get("eventKey").is_some_and(Value::is_string);
    let name = if frontegg {
        root.get("eventKey")
    } else {
        root.get("eventType")
    };
    assert_eq!(
        name.and_then(Value::as_str),
        Some(event.event_type.as_str()),
        "event_type"
    );
    assert!(valid_id(&event.event_type), "invalid event_type {:?}", event.event_type);
    assert_eq!(event.kind, EventKind::from_event_name(&event.event_type), "kind");

    let paths = |frontegg_paths: &'static [&'static str], flat: &'static str| -> Vec<&'static str> {
        if frontegg {
            frontegg_paths.to_vec()
        } else {
            vec![flat]
        }
    };
    let ignored = event.kind == EventKind::Ignored;
    let expect_id = |got: &Option<String>, candidates: Vec<&str>, what: &str| {
        let want = first_present(root, &candidates).and_then(id_text);
        if let Some(id) = got {
            assert!(valid_id(id), "invalid {what} {id:?}");
            assert_eq!(Some(id), want.as_ref(), "{what} is not the first candidate");
        } else if !ignored {
            assert!(want.is_none(), "{what} dropped: {want:?}");
        }
    };
    expect_id(&event.tenant_id, paths(FRONTEGG_TENANT, "tenantId"), "tenant_id");
    expect_id(&event.user_id, paths(FRONTEGG_USER, "userId"), "user_id");
    if !ignored {
        assert!(event.tenant_id.is_some(), "a {} event without a tenant", event.kind);
    }
    if matches!(
        event.kind,
        EventKind::UserActivated | EventKind::UserDeactivated | EventKind::UserJoined
    ) {
        assert!(event.user_id.is_some(), "a user event without a user");
    }
    if event.kind != EventKind::UserJoined {
        assert!(!event.activated_for_tenant, "only a join reads activatedForTenant");
    }
    assert_eq!(
        event.sso_provider.is_some(),
        event.kind == EventKind::SsoChanged,
        "sso_provider only for SSO events"
    );
    if event.sso_provider.is_some() {
        expect_id(&event.sso_provider, paths(FRONTEGG_SSO, "ssoProvider"), "sso_provider");
    }

    let expect_text = |got: &Option<String>, candidates: Vec<&str>, what: &str| {
        let want = first_present(root, &candidates)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty());
        if let Some(text) = got {
            assert!(!text.is_empty() && text.trim() == text, "{what} not trimmed: {text:?}");
            assert!(!text.chars().any(char::is_control), "{what} has control characters");
            assert_eq!(Some(text.as_str()), want, "{what} is not the first candidate");
        } else if !ignored {
            assert_eq!(want, None, "{what} dropped");
        }
    };
    expect_text(&event.tenant_name, paths(FRONTEGG_NAME, "tenantName"), "tenant_name");
    expect_text(&event.email, paths(FRONTEGG_EMAIL, "email"), "email");

    let time_source = first_present(root, &paths(FRONTEGG_TIME, "timestamp"));
    match event.occurred_at {
        Some(at) => {
            assert!((1970..=9999).contains(&at.year()), "occurred_at out of range: {at}");
            assert!(time_source.is_some(), "occurred_at without a source");
        }
        None if !ignored => assert!(time_source.is_none(), "occurred_at dropped"),
        None => {}
    }

    let want_metadata = first_present(root, &paths(FRONTEGG_METADATA, "metadata")).map(|v| match v {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    });
    assert_eq!(event.metadata, want_metadata, "metadata");

    let json = serde_json::to_value(event).expect("an event serializes");
    assert_eq!(json["kind"], event.kind.as_str(), "serialized kind");
    let _ = format!("{event:?}");
}

// ---- structured bodies ----

fn structured(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let mut root = Map::new();
    let name = if u.ratio(7, 8)? {
        Value::String(EVENT_NAMES[u.choose_index(EVENT_NAMES.len())?].to_string())
    } else {
        common::json_value(u, 1)?
    };
    match u.int_in_range(0..=3)? {
        0 => {
            root.insert("eventKey".into(), name);
        }
        1 => {
            root.insert("eventType".into(), name);
        }
        2 => {
            root.insert("eventKey".into(), name);
            root.insert("eventType".into(), Value::String(u.arbitrary()?));
        }
        _ => {}
    }
    let fields = u.int_in_range(0..=10)?;
    for _ in 0..fields {
        let path: String = if u.ratio(15, 16)? {
            PATHS[u.choose_index(PATHS.len())?].to_string()
        } else {
            u.arbitrary()?
        };
        let value = field_value(u)?;
        set_path(&mut root, &path, value);
    }
    let root = Value::Object(root);
    Ok(if u.arbitrary()? {
        serde_json::to_vec_pretty(&root)
    } else {
        serde_json::to_vec(&root)
    }
    .expect("a Value serializes"))
}

/// Sets `a.b.c`, replacing whatever non-object is in the way.
fn set_path(root: &mut Map<String, Value>, path: &str, value: Value) {
    let mut segments: Vec<&str> = path.split('.').collect();
    let last = segments.pop().unwrap_or_default();
    let mut current = root;
    for segment in segments {
        let slot = current
            .entry(segment.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        current = slot.as_object_mut().expect("just made an object");
    }
    current.insert(last.to_string(), value);
}

fn field_value(u: &mut Unstructured<'_>) -> arbitrary::Result<Value> {
    const IDS: &[&str] = &[
        "bd5fec59-7b83-4d47-8fb8-97d1a1bb64df",
        "t-1",
        "",
        " ",
        " t-1 ",
        "a\u{0}b",
        "a\u{7f}b",
        "a\u{85}b",
        "line\nbreak",
        "okta",
        "cheli@example.com",
        "{\"plan\":\"pro\",\"seats\":5}",
        "{}",
        "[1,{}]",
        "not json {",
        "null",
    ];
    Ok(match u.int_in_range(0..=9)? {
        0 => Value::String(IDS[u.choose_index(IDS.len())?].to_string()),
        1 => {
            let unit = ["x", "é", "\u{1F600}", " "][u.choose_index(4)?];
            let len = [0, 1, 254, 255, 256][u.choose_index(5)?];
            Value::String(unit.repeat(len))
        }
        2 => Value::String(rfc3339(u)?),
        3 => Value::from(unix_number(u)?),
        4 => Value::String(unix_number(u)?.to_string()),
        5 => {
            let f: f64 = unix_number(u)? as f64 + f64::from(u.int_in_range(0..=999_999u32)?) / 1e6;
            serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
        }
        6 => Value::String(common::json_value(u, 0)?.to_string()),
        7 => Value::Null,
        8 => Value::String(u.arbitrary()?),
        _ => common::json_value(u, 0)?,
    })
}

/// Unix seconds or milliseconds around the limits normalize draws.
fn unix_number(u: &mut Unstructured<'_>) -> arbitrary::Result<i64> {
    const EDGES: &[i64] = &[
        0,
        -1,
        1_714_564_800,
        99_999_999_999,
        100_000_000_000,
        -100_000_000_000,
        1_714_564_800_000,
        253_402_300_799,
        253_402_300_800,
        253_402_300_799_999,
        253_402_300_800_000,
        i64::MAX,
        i64::MIN,
    ];
    let base = EDGES[u.choose_index(EDGES.len())?];
    Ok(base.saturating_add(i64::from(u.int_in_range(-2i8..=2)?)))
}

fn rfc3339(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    let year = [
        0u32,
        1,
        1969,
        1970,
        2024,
        9999,
        u32::from(u.arbitrary::<u16>()? % 10_000),
    ][u.choose_index(7)?];
    let month = u.int_in_range(0..=13u32)?;
    let day = u.int_in_range(0..=32u32)?;
    let hour = u.int_in_range(0..=25u32)?;
    let minute = u.int_in_range(0..=61u32)?;
    let second = u.int_in_range(0..=61u32)?;
    let sep = ["T", "t", " ", "_"][u.choose_index(4)?];
    let frac = ["", ".0", ".250", ".999999999", ".1234567891234", "."][u.choose_index(6)?];
    let offset = match u.int_in_range(0..=4u8)? {
        0 => "Z".to_string(),
        1 => "z".to_string(),
        2 => String::new(),
        _ => {
            let sign = if u.arbitrary()? { '+' } else { '-' };
            format!(
                "{sign}{:02}:{:02}",
                u.int_in_range(0..=25u32)?,
                u.int_in_range(0..=60u32)?
            )
        }
    };
    let text = format!("{year:04}-{month:02}-{day:02}{sep}{hour:02}:{minute:02}:{second:02}{frac}{offset}");
    Ok(if u.ratio(1, 8)? { format!(" {text} ") } else { text })
}
