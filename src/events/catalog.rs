//! The event catalog served at `GET /api/webhooks/frontegg/events`: every accepted event name,
//! its kind, what tenantgate does with it and its alias route; every Frontegg key tenantgate
//! ignores on purpose, with the reason; and the `frontegg.*` wildcard for keys added since.

use super::kind::NAMES;
use super::EventKind;

/// One event name in the catalog.
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

/// Frontegg's keys (its webhook portal's list, reference/frontegg/event-keys.txt) that tenantgate
/// stores as `ignored` on purpose, each with the reason: none changes who belongs to a tenant or
/// what the tenant is.
const IGNORED_ON_PURPOSE: [(&str, &str); 14] = [
    (
        "frontegg.user.authenticated",
        "stored as ignored, on purpose: sign-in activity, not a lifecycle change",
    ),
    (
        "frontegg.user.authenticatedWithSAML",
        "stored as ignored, on purpose: sign-in activity (SAML), not a lifecycle change nor an SSO set-up change",
    ),
    (
        "frontegg.user.authenticatedWithSSO",
        "stored as ignored, on purpose: sign-in activity (SSO), not a lifecycle change nor an SSO set-up change",
    ),
    (
        "frontegg.user.failedAuthentication",
        "stored as ignored, on purpose: a failed sign-in, not a lifecycle change",
    ),
    (
        "frontegg.user.enrolledMFA",
        "stored as ignored, on purpose: MFA enrolment is a credential change, not a lifecycle change",
    ),
    (
        "frontegg.user.disabledMFA",
        "stored as ignored, on purpose: MFA removal is a credential change, not a lifecycle change",
    ),
    (
        "frontegg.user.signedUp",
        "stored as ignored, on purpose: the end of a sign-up flow, not a membership of its own; users are recorded from frontegg.user.created and frontegg.user.activated",
    ),
    (
        "frontegg.user.updated",
        "stored as ignored, on purpose: a profile change (name, roles, metadata), not a lifecycle change; the user's next lifecycle event brings the current email",
    ),
    (
        "frontegg.user.changedPassword",
        "stored as ignored, on purpose: a password change, not a lifecycle change",
    ),
    (
        "frontegg.user.forgotPassword",
        "stored as ignored, on purpose: a password reset request, not a lifecycle change",
    ),
    (
        "frontegg.userApiToken.created",
        "stored as ignored, on purpose: a user's API token, not a lifecycle change",
    ),
    (
        "frontegg.userApiToken.deleted",
        "stored as ignored, on purpose: a user's API token, not a lifecycle change",
    ),
    (
        "frontegg.tenantApiToken.created",
        "stored as ignored, on purpose: a tenant's API token, not a lifecycle change",
    ),
    (
        "frontegg.tenantApiToken.deleted",
        "stored as ignored, on purpose: a tenant's API token, not a lifecycle change",
    ),
];

/// The effect of a Frontegg key tenantgate does not know (one added since the list above).
const UNKNOWN_KEY_EFFECT: &str = "stored as ignored: a key tenantgate does not know, answered 200 so the sender stops";

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
        EventKind::Ignored => UNKNOWN_KEY_EFFECT,
    }
}

/// The catalog: one entry per accepted name, in the order of DESIGN §3, then the Frontegg keys
/// ignored on purpose, then `"frontegg.*"` (any other key: ignored).
pub fn catalog() -> Vec<CatalogEntry> {
    let handled = NAMES.iter().map(|(name, kind)| CatalogEntry {
        name,
        kind: *kind,
        effect: effect(*kind),
        alias: kind.alias(),
    });
    let ignored = IGNORED_ON_PURPOSE
        .iter()
        .chain(std::iter::once(&("frontegg.*", UNKNOWN_KEY_EFFECT)))
        .map(|(name, effect)| CatalogEntry {
            name,
            kind: EventKind::Ignored,
            effect,
            alias: None,
        });
    handled.chain(ignored).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The distinct keys of Frontegg's webhook portal list (reference/frontegg/event-keys.txt,
    /// the Terraform provider's allow-list of April 2025; `frontegg.tenant.updated` is listed
    /// twice there).
    const FRONTEGG_KEYS: [&str; 22] = [
        "frontegg.user.authenticated",
        "frontegg.user.authenticatedWithSAML",
        "frontegg.user.authenticatedWithSSO",
        "frontegg.user.failedAuthentication",
        "frontegg.user.enrolledMFA",
        "frontegg.user.disabledMFA",
        "frontegg.user.created",
        "frontegg.user.signedUp",
        "frontegg.user.deleted",
        "frontegg.user.updated",
        "frontegg.user.invitedToTenant",
        "frontegg.user.changedPassword",
        "frontegg.user.forgotPassword",
        "frontegg.user.removedFromTenant",
        "frontegg.tenant.updated",
        "frontegg.userApiToken.created",
        "frontegg.userApiToken.deleted",
        "frontegg.user.activated",
        "frontegg.tenant.created",
        "frontegg.tenant.deleted",
        "frontegg.tenantApiToken.created",
        "frontegg.tenantApiToken.deleted",
    ];

    #[test]
    fn every_frontegg_key_is_in_the_catalog_with_an_effect() {
        let entries = catalog();
        for key in FRONTEGG_KEYS {
            let entry = entries
                .iter()
                .find(|entry| entry.name == key)
                .unwrap_or_else(|| panic!("{key} is not in the catalog"));
            assert!(!entry.effect.is_empty(), "{key}");
            assert_eq!(entry.kind, EventKind::from_event_name(key), "{key}");
        }
        let distinct: HashSet<_> = FRONTEGG_KEYS.into_iter().collect();
        assert_eq!(distinct.len(), FRONTEGG_KEYS.len());
    }

    #[test]
    fn every_ignored_key_says_so_with_its_reason_and_is_really_ignored() {
        for (key, effect) in IGNORED_ON_PURPOSE {
            assert!(FRONTEGG_KEYS.contains(&key), "{key} is not one of Frontegg's keys");
            assert_eq!(EventKind::from_event_name(key), EventKind::Ignored, "{key}");
            let reason = effect.strip_prefix("stored as ignored, on purpose: ");
            assert!(
                reason.is_some_and(|r| !r.is_empty() && !r.contains('\n')),
                "{key}: {effect}"
            );
        }
        let handled = FRONTEGG_KEYS
            .iter()
            .filter(|key| EventKind::from_event_name(key) != EventKind::Ignored)
            .count();
        assert_eq!(handled + IGNORED_ON_PURPOSE.len(), FRONTEGG_KEYS.len());
    }

    #[test]
    fn the_catalog_lists_every_name_once_then_the_ignored_keys_then_the_frontegg_wildcard() {
        let entries = catalog();
        assert_eq!(entries.len(), NAMES.len() + IGNORED_ON_PURPOSE.len() + 1);
        let names: HashSet<_> = entries.iter().map(|entry| entry.name).collect();
        assert_eq!(names.len(), entries.len(), "names are unique");
        for entry in &entries[..NAMES.len()] {
            assert_eq!(EventKind::from_event_name(entry.name), entry.kind, "{}", entry.name);
            assert_ne!(entry.kind, EventKind::Ignored);
        }
        for entry in &entries[NAMES.len()..] {
            assert_eq!(entry.kind, EventKind::Ignored, "{}", entry.name);
        }
        let last = entries.last().unwrap();
        assert_eq!(last.name, "frontegg.*");
        assert_eq!(last.effect, UNKNOWN_KEY_EFFECT);
        assert_eq!(last.alias, None);
    }

    #[test]
    fn the_flat_names_accepted_today_are_listed() {
        let entries = catalog();
        for name in [
            "tenant.created",
            "organization.created",
            "tenant.updated",
            "tenant.deleted",
            "organization.deleted",
            "user.activated",
            "user.deactivated",
            "sso.configured",
            "sso.updated",
        ] {
            let entry = entries.iter().find(|entry| entry.name == name).unwrap();
            assert_ne!(entry.kind, EventKind::Ignored, "{name}");
        }
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
        let invited = catalog()
            .into_iter()
            .find(|entry| entry.name == "frontegg.user.invitedToTenant")
            .unwrap();
        assert_eq!((invited.kind, invited.alias), (EventKind::UserJoined, None));
    }

    #[test]
    fn the_catalog_serializes_as_plain_json() {
        let json = serde_json::to_value(catalog()).unwrap();
        assert_eq!(json[0]["name"], "frontegg.tenant.created");
        assert_eq!(json[0]["kind"], "tenant_created");
        assert_eq!(json[0]["alias"], "tenant-created");
        assert_eq!(json[3]["alias"], serde_json::Value::Null);
        let joined = json
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["name"] == "frontegg.user.created")
            .unwrap();
        assert_eq!(joined["kind"], "user_joined");
    }
}
