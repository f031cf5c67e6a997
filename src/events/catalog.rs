//! The event catalog served at `GET /api/webhooks/frontegg/events`: every accepted event name,
//! its kind, what tenantgate does with it and its alias route.

use super::kind::NAMES;
use super::EventKind;

/// One accepted event name in the catalog.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CatalogEntry {
    /// The event name as a sender writes it, e.g. `"frontegg.tenant.created"`; `"frontegg.*"`
    /// stands for every other Frontegg key.
    pub name: &'static str,
    /// The kind the name maps to.
    pub kind: EventKind,
    /// What tenantgate does with such an event, in one line.
    pub effect: &'static str,
    /// The per-event alias route segment (`/api/webhooks/frontegg/{alias}`), if the kind has one.
    pub alias: Option<&'static str>,
}

/// The one-line effect of a kind, as shown in the catalog (DESIGN §3).
fn effect(kind: EventKind) -> &'static str {
    match kind {
        EventKind::TenantCreated => "ensure one workspace for the tenant",
        EventKind::TenantUpdated => "rename the tenant's workspace when its name changed",
        EventKind::TenantDeleted => {
            "cancel running jobs, then archive (or delete) the tenant's workspace; tombstone if none yet"
        }
        EventKind::UserJoined => {
            "record the user as a member of the tenant: active if user.activatedForTenant is true, else invited; an active user stays active"
        }
        EventKind::UserActivated => "record the user as active in the tenant (an invited user becomes active)",
        EventKind::UserDeactivated => "mark the user deactivated in the tenant",
        EventKind::SsoChanged => "record the tenant's SSO provider (audited as a security event)",
        EventKind::Ignored => "stored, no effect",
    }
}

/// The catalog: one entry per accepted name, in the order of DESIGN §3, then `"frontegg.*"`
/// (ignored: stored, no effect).
pub fn catalog() -> Vec<CatalogEntry> {
    let entry = |name, kind: EventKind| CatalogEntry {
        name,
        kind,
        effect: effect(kind),
        alias: kind.alias(),
    };
    NAMES
        .iter()
        .map(|(name, kind)| entry(*name, *kind))
        .chain(std::iter::once(entry("frontegg.*", EventKind::Ignored)))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_catalog_lists_every_accepted_name_once_plus_the_frontegg_wildcard() {
        let entries = catalog();
        assert_eq!(entries.len(), NAMES.len() + 1);
        let names: HashSet<_> = entries.iter().map(|entry| entry.name).collect();
        assert_eq!(names.len(), entries.len(), "names are unique");
        for entry in &entries[..NAMES.len()] {
            assert_eq!(EventKind::from_event_name(entry.name), entry.kind, "{}", entry.name);
            assert_ne!(entry.kind, EventKind::Ignored);
        }
        let last = entries.last().unwrap();
        assert_eq!(last.name, "frontegg.*");
        assert_eq!(last.kind, EventKind::Ignored);
        assert_eq!(last.effect, "stored, no effect");
        assert_eq!(last.alias, None);
    }

    #[test]
    fn catalog_entries_carry_the_alias_of_their_kind() {
        for entry in catalog() {
            assert_eq!(entry.alias, entry.kind.alias(), "{}", entry.name);
            assert!(!entry.effect.is_empty());
        }
        let deleted = catalog()
            .into_iter()
            .find(|entry| entry.name == "frontegg.user.removedFromTenant")
            .unwrap();
        assert_eq!(deleted.alias, Some("user-deactivated"));
    }

    #[test]
    fn the_catalog_serializes_as_plain_json() {
        let json = serde_json::to_value(catalog()).unwrap();
        assert_eq!(json[0]["name"], "frontegg.tenant.created");
        assert_eq!(json[0]["kind"], "tenant_created");
        assert_eq!(json[0]["alias"], "tenant-created");
        assert_eq!(json[3]["alias"], serde_json::Value::Null);
    }
}
