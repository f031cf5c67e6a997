//! Webhook bodies → one internal [`LifecycleEvent`] (DESIGN §2 step 3, §3).
//!
//! [`normalize`] takes the raw, already signature-verified body and accepts two shapes:
//! - Frontegg's real shape, recognised by a string `eventKey`
//!   (`{"eventKey", "eventContext": {"tenantId", "userId"?}, "user"?, "tenant"?}`), see [`frontegg`];
//! - the flat shape of the setup guide, recognised by a string `eventType`
//!   (`{"eventType", "tenantId", "tenantName", "timestamp", "metadata", …}`), see [`flat`].
//!
//! If both names are present, `eventKey` wins. Pure code: no I/O, no logging, no clock reads, and
//! no panic on any input.

mod catalog;
mod fields;
mod flat;
mod frontegg;
mod kind;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod fixture_tests;

pub use catalog::{catalog, CatalogEntry};
pub use kind::{EventKind, ParseEventKindError};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use fields::Source;

/// One lifecycle event, normalized from either payload shape.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LifecycleEvent {
    /// What the event means for tenantgate.
    pub kind: EventKind,
    /// The event name as sent, e.g. `"frontegg.tenant.created"` or `"tenant.created"`.
    pub event_type: String,
    /// The tenant: always `Some` except possibly for [`EventKind::Ignored`].
    pub tenant_id: Option<String>,
    /// The user: always `Some` for user kinds, optional (e.g. the acting user) for the others.
    pub user_id: Option<String>,
    /// The tenant's display name, when sent.
    pub tenant_name: Option<String>,
    /// The user's email, when sent.
    pub email: Option<String>,
    /// The SSO provider: `Some` for [`EventKind::SsoChanged`], `None` for every other kind.
    pub sso_provider: Option<String>,
    /// For [`EventKind::UserJoined`]: whether the user is already active in the tenant
    /// (`user.activatedForTenant`; absent means not yet, i.e. invited). `false` for every other
    /// kind, which never looks at it.
    pub activated_for_tenant: bool,
    /// When the event happened according to the payload; `None` when the payload does not say.
    pub occurred_at: Option<DateTime<Utc>>,
    /// `user.metadata` (else `tenant.metadata`) or the flat `metadata`, as a JSON value.
    pub metadata: Option<Value>,
}

/// Why a body could not be normalized. The messages never echo payload content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    /// The body is not JSON, or is JSON but not an object (HTTP 400).
    #[error("the body is not a JSON object: {0}")]
    MalformedJson(String),
    /// A field the event needs is absent; holds its JSON path, e.g. `eventContext.tenantId` (422).
    #[error("the payload has no `{0}`")]
    MissingField(&'static str),
    /// A field is present but unusable; `field` is its JSON path (422).
    #[error("`{field}` is invalid: {reason}")]
    InvalidField {
        /// The JSON path of the field, e.g. `user.id`.
        field: &'static str,
        /// Why it was rejected, e.g. "must not be empty".
        reason: String,
    },
}

impl NormalizeError {
    /// A stable machine-readable code: `"malformed_json"`, `"missing_field"`, `"invalid_field"`.
    pub fn code(&self) -> &'static str {
        match self {
            NormalizeError::MalformedJson(_) => "malformed_json",
            NormalizeError::MissingField(_) => "missing_field",
            NormalizeError::InvalidField { .. } => "invalid_field",
        }
    }

    /// The JSON path of the offending field, if the error is about one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            NormalizeError::MalformedJson(_) => None,
            NormalizeError::MissingField(field) | NormalizeError::InvalidField { field, .. } => Some(field),
        }
    }
}

/// Parses and normalizes a webhook body (raw bytes, signature already verified).
///
/// Errors: not JSON or not an object → [`NormalizeError::MalformedJson`]; no string `eventKey`
/// or `eventType` → `MissingField("eventKey")`; a known event without an id it needs →
/// [`NormalizeError::MissingField`] naming the path; a present but invalid value →
/// [`NormalizeError::InvalidField`]. Unknown event names are not errors: they become
/// [`EventKind::Ignored`].
pub fn normalize(body: &[u8]) -> Result<LifecycleEvent, NormalizeError> {
    normalize_received(body, DateTime::<Utc>::MAX_UTC)
}

/// Like [`normalize`], refusing an event time after `not_after` (the receive time plus the
/// accepted clock skew) as [`NormalizeError::InvalidField`] naming the field: a time in the
/// future would order the tenant's later events before it, skipping them.
pub fn normalize_received(body: &[u8], not_after: DateTime<Utc>) -> Result<LifecycleEvent, NormalizeError> {
    // serde_json's messages name a position, never the body's content; its default recursion
    // limit (128) turns absurdly deep JSON into an error rather than a stack overflow.
    let value: Value = serde_json::from_slice(body).map_err(|err| NormalizeError::MalformedJson(err.to_string()))?;
    let Value::Object(root) = value else {
        return Err(NormalizeError::MalformedJson(format!(
            "expected a JSON object, found {}",
            type_name(&value)
        )));
    };
    normalize_object_received(&root, not_after)
}

/// Like [`normalize`], for a body that was already parsed into a JSON object.
pub fn normalize_object(root: &Map<String, Value>) -> Result<LifecycleEvent, NormalizeError> {
    normalize_object_received(root, DateTime::<Utc>::MAX_UTC)
}

fn normalize_object_received(
    root: &Map<String, Value>,
    not_after: DateTime<Utc>,
) -> Result<LifecycleEvent, NormalizeError> {
    let (event_type, candidates) = if let Some(Value::String(name)) = root.get("eventKey") {
        fields::check_id_text("eventKey", name)?;
        (name.clone(), frontegg::candidates(root))
    } else if let Some(Value::String(name)) = root.get("eventType") {
        fields::check_id_text("eventType", name)?;
        (name.clone(), flat::candidates(root))
    } else {
        return Err(NormalizeError::MissingField("eventKey"));
    };
    build(event_type, &candidates, not_after)
}

/// Where a shape keeps each logical field, each list in order of precedence. The first source of
/// a required field is the path named when the field is missing.
struct Candidates<'a> {
    tenant_id: Vec<Source<'a>>,
    user_id: Vec<Source<'a>>,
    sso_provider: Vec<Source<'a>>,
    activated_for_tenant: Vec<Source<'a>>,
    tenant_name: Vec<Source<'a>>,
    email: Vec<Source<'a>>,
    occurred_at: Vec<Source<'a>>,
    metadata: Vec<Source<'a>>,
}

/// Checks the candidates against what the event's kind needs and assembles the event.
fn build(
    event_type: String,
    found: &Candidates<'_>,
    not_after: DateTime<Utc>,
) -> Result<LifecycleEvent, NormalizeError> {
    let kind = EventKind::from_event_name(&event_type);
    if kind == EventKind::Ignored {
        return Ok(build_ignored(event_type, found, not_after));
    }
    let tenant_id = fields::id(&found.tenant_id)?.ok_or_else(|| fields::missing(&found.tenant_id))?;
    let user_id = fields::id(&found.user_id)?;
    let needs_user = matches!(
        kind,
        EventKind::UserJoined | EventKind::UserActivated | EventKind::UserDeactivated
    );
    if needs_user && user_id.is_none() {
        return Err(fields::missing(&found.user_id));
    }
    // A provider is only meaningful (and only looked at) for SSO events.
    let sso_provider = if kind == EventKind::SsoChanged {
        let provider = fields::id(&found.sso_provider)?;
        Some(provider.ok_or_else(|| fields::missing(&found.sso_provider))?)
    } else {
        None
    };
    // Only a join asks whether the user is active in the tenant yet.
    let activated_for_tenant =
        kind == EventKind::UserJoined && fields::flag(&found.activated_for_tenant)?.unwrap_or(false);
    Ok(LifecycleEvent {
        kind,
        event_type,
        tenant_id: Some(tenant_id),
        user_id,
        tenant_name: fields::text(&found.tenant_name)?,
        email: fields::text(&found.email)?,
        sso_provider,
        activated_for_tenant,
        occurred_at: fields::timestamp(&found.occurred_at, not_after)?,
        metadata: fields::metadata(&found.metadata),
    })
}

/// Ignored events are stored and answered 2xx so the sender stops retrying; they need nothing but
/// a name, so any unusable field is dropped instead of failing the delivery.
fn build_ignored(event_type: String, found: &Candidates<'_>, not_after: DateTime<Utc>) -> LifecycleEvent {
    LifecycleEvent {
        kind: EventKind::Ignored,
        event_type,
        tenant_id: fields::id(&found.tenant_id).ok().flatten(),
        user_id: fields::id(&found.user_id).ok().flatten(),
        tenant_name: fields::text(&found.tenant_name).ok().flatten(),
        email: fields::text(&found.email).ok().flatten(),
        sso_provider: None,
        activated_for_tenant: false,
        occurred_at: fields::timestamp(&found.occurred_at, not_after).ok().flatten(),
        metadata: fields::metadata(&found.metadata),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use serde_json::json;

    fn run(value: Value) -> Result<LifecycleEvent, NormalizeError> {
        normalize(value.to_string().as_bytes())
    }

    #[test]
    fn values_no_database_can_store_are_refused_as_invalid_fields() {
        let nul = run(json!({"eventType": "user.activated", "tenantId": "t", "userId": "u", "email": "a\u{0}b"}));
        assert_eq!(nul.unwrap_err().code(), "invalid_field");
        let ancient =
            run(json!({"eventType": "tenant.created", "tenantId": "t", "timestamp": -250_000_000_000_000_i64}));
        assert_eq!(ancient.unwrap_err().code(), "invalid_field");
        let fine = run(json!({"eventType": "tenant.created", "tenantId": "t", "timestamp": "2026-01-01T00:00:00Z"}));
        assert!(fine.is_ok());
    }

    #[test]
    fn malformed_json_is_reported_without_echoing_the_body() {
        let err = normalize(b"{\"eventKey\": \"secret-ish-value\"").unwrap_err();
        assert_eq!(err.code(), "malformed_json");
        assert!(!err.to_string().contains("secret-ish-value"), "{err}");
        assert_eq!(normalize(b"").unwrap_err().code(), "malformed_json");
        assert_eq!(normalize(&[0xff, 0xfe, 0x00]).unwrap_err().code(), "malformed_json");
    }

    #[test]
    fn json_that_is_not_an_object_is_malformed() {
        for body in ["[1,2]", "\"tenant.created\"", "42", "null", "true"] {
            let err = normalize(body.as_bytes()).unwrap_err();
            assert_eq!(err.code(), "malformed_json", "{body}");
            assert!(err.to_string().starts_with("the body is not a JSON object"));
        }
    }

    #[test]
    fn deeply_nested_json_is_rejected_not_a_stack_overflow() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(normalize(deep.as_bytes()).unwrap_err().code(), "malformed_json");
    }

    #[test]
    fn an_object_without_an_event_name_misses_event_key() {
        for body in [
            json!({}),
            json!({"tenantId": "t"}),
            json!({"eventKey": 5}),
            json!({"eventType": null}),
        ] {
            assert_eq!(run(body), Err(NormalizeError::MissingField("eventKey")));
        }
    }

    #[test]
    fn an_empty_or_overlong_event_name_is_invalid() {
        let err = run(json!({"eventKey": ""})).unwrap_err();
        assert_eq!(err.field(), Some("eventKey"));
        assert_eq!(err.code(), "invalid_field");
        let err = run(json!({"eventType": "x".repeat(300)})).unwrap_err();
        assert_eq!(err.field(), Some("eventType"));
    }

    #[test]
    fn event_key_wins_over_event_type_and_selects_the_frontegg_shape() {
        let body = json!({
            "eventKey": "frontegg.tenant.deleted",
            "eventType": "tenant.created",
            "eventContext": {"tenantId": "t-1"},
            "tenantId": "flat-tenant"
        });
        let event = run(body).unwrap();
        assert_eq!(event.kind, EventKind::TenantDeleted);
        assert_eq!(event.event_type, "frontegg.tenant.deleted");
        assert_eq!(event.tenant_id.as_deref(), Some("t-1"));
    }

    #[test]
    fn a_non_string_event_key_falls_back_to_event_type() {
        let event = run(json!({"eventKey": 1, "eventType": "tenant.created", "tenantId": "t"}));
        assert_eq!(event.unwrap().kind, EventKind::TenantCreated);
    }

    #[test]
    fn an_unknown_event_is_ignored_and_keeps_what_it_can() {
        let event = run(json!({
            "eventKey": "frontegg.user.signedUp",
            "eventContext": {"tenantId": "t-1", "userId": ""},
            "timestamp": "not a time"
        }))
        .unwrap();
        assert_eq!(event.kind, EventKind::Ignored);
        assert_eq!(event.event_type, "frontegg.user.signedUp");
        assert_eq!(event.tenant_id.as_deref(), Some("t-1"));
        assert_eq!(event.user_id, None);
        assert_eq!(event.occurred_at, None);
        let bare = run(json!({"eventType": "billing.invoice.paid"})).unwrap();
        assert_eq!(bare.kind, EventKind::Ignored);
        assert_eq!(bare.tenant_id, None);
    }

    #[test]
    fn error_codes_fields_and_messages_are_stable() {
        let missing = NormalizeError::MissingField("eventContext.tenantId");
        assert_eq!(missing.code(), "missing_field");
        assert_eq!(missing.field(), Some("eventContext.tenantId"));
        assert_eq!(missing.to_string(), "the payload has no `eventContext.tenantId`");
        let invalid = NormalizeError::InvalidField {
            field: "tenantId",
            reason: "must not be empty".into(),
        };
        assert_eq!(invalid.to_string(), "`tenantId` is invalid: must not be empty");
        assert_eq!(NormalizeError::MalformedJson("x".into()).field(), None);
    }

    #[test]
    fn the_event_serializes_with_snake_case_kind_and_rfc3339_time() {
        let event = run(json!({
            "eventType": "tenant.created",
            "tenantId": "t-1",
            "timestamp": 1_714_564_800
        }))
        .unwrap();
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["kind"], "tenant_created");
        assert_eq!(json["occurred_at"], "2024-05-01T12:00:00Z");
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic fuzz: every prefix and some byte flips of a valid payload.
        let body = br#"{"eventKey":"frontegg.user.activated","eventContext":{"tenantId":"t","userId":7},"user":{"metadata":"{\"a\":[1,{}]}","email":"a@b.c"},"timestamp":1714564800123}"#;
        for end in 0..=body.len() {
            let _ = normalize(&body[..end]);
        }
        for index in 0..body.len() {
            for byte in [b'"', b'{', b'[', b'0', 0x00, 0xff] {
                let mut copy = body.to_vec();
                copy[index] = byte;
                let _ = normalize(&copy);
            }
        }
    }
}
