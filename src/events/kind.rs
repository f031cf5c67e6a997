//! The internal event kinds and the sender-side names that map onto them (DESIGN §3).

use std::fmt;
use std::str::FromStr;

/// What a lifecycle event means for tenantgate, independent of how the sender spelled it.
///
/// Serialized (JSON, database `kind` column, admin filters) as the snake_case name returned by
/// [`EventKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A tenant was created: ensure one workspace for it.
    TenantCreated,
    /// A tenant changed (e.g. its name): rename the workspace.
    TenantUpdated,
    /// A tenant was deleted: archive or delete its workspace, or leave a tombstone.
    TenantDeleted,
    /// A user joined a tenant (created in it, invited to it, or joined it by an invitation link):
    /// a member of the tenant, `active` or `invited` as the payload's `user.activatedForTenant`
    /// says.
    UserJoined,
    /// A user became active in a tenant.
    UserActivated,
    /// A user was deactivated, deleted or removed from a tenant.
    UserDeactivated,
    /// A tenant's SSO configuration changed.
    SsoChanged,
    /// Any other event: stored for the record, no effect.
    Ignored,
}

/// Every accepted sender-side event name and its kind. Names not listed here map to
/// [`EventKind::Ignored`]. Matching is exact (case-sensitive), as Frontegg's keys are camelCase.
pub(super) const NAMES: [(&str, EventKind); 18] = [
    ("frontegg.tenant.created", EventKind::TenantCreated),
    ("tenant.created", EventKind::TenantCreated),
    ("organization.created", EventKind::TenantCreated),
    ("frontegg.tenant.updated", EventKind::TenantUpdated),
    ("tenant.updated", EventKind::TenantUpdated),
    ("frontegg.tenant.deleted", EventKind::TenantDeleted),
    ("tenant.deleted", EventKind::TenantDeleted),
    ("organization.deleted", EventKind::TenantDeleted),
    ("frontegg.user.created", EventKind::UserJoined),
    ("frontegg.user.invitedToTenant", EventKind::UserJoined),
    ("frontegg.user.joinedTenantUsingInvitationLink", EventKind::UserJoined),
    ("frontegg.user.activated", EventKind::UserActivated),
    ("user.activated", EventKind::UserActivated),
    ("user.deactivated", EventKind::UserDeactivated),
    ("frontegg.user.deleted", EventKind::UserDeactivated),
    ("frontegg.user.removedFromTenant", EventKind::UserDeactivated),
    ("sso.configured", EventKind::SsoChanged),
    ("sso.updated", EventKind::SsoChanged),
];

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 8] = [
        EventKind::TenantCreated,
        EventKind::TenantUpdated,
        EventKind::TenantDeleted,
        EventKind::UserJoined,
        EventKind::UserActivated,
        EventKind::UserDeactivated,
        EventKind::SsoChanged,
        EventKind::Ignored,
    ];

    /// The stable snake_case name: `"tenant_created"`, …, `"ignored"` (same as the serde name).
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::TenantCreated => "tenant_created",
            EventKind::TenantUpdated => "tenant_updated",
            EventKind::TenantDeleted => "tenant_deleted",
            EventKind::UserJoined => "user_joined",
            EventKind::UserActivated => "user_activated",
            EventKind::UserDeactivated => "user_deactivated",
            EventKind::SsoChanged => "sso_changed",
            EventKind::Ignored => "ignored",
        }
    }

    /// Maps a sender-side event name (`eventKey` / `eventType`) to its kind; unknown names are
    /// [`EventKind::Ignored`] so the sender gets a 2xx and does not retry forever.
    pub fn from_event_name(name: &str) -> EventKind {
        NAMES
            .iter()
            .find(|(known, _)| *known == name)
            .map_or(EventKind::Ignored, |(_, kind)| *kind)
    }

    /// The sender-side names accepted for this kind (empty for [`EventKind::Ignored`]).
    pub fn event_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        NAMES
            .iter()
            .filter(move |(_, kind)| kind == self)
            .map(|(name, _)| *name)
    }

    /// The per-event alias route segment (`/api/webhooks/frontegg/{alias}`) from the Frontegg
    /// setup guide: `"tenant-created"`, `"tenant-deleted"`, `"user-activated"`,
    /// `"user-deactivated"`, `"sso-changed"`; `None` for kinds without an alias route (the
    /// guide's aliases are fixed, so kinds added since have none).
    pub fn alias(&self) -> Option<&'static str> {
        match self {
            EventKind::TenantCreated => Some("tenant-created"),
            EventKind::TenantDeleted => Some("tenant-deleted"),
            EventKind::UserActivated => Some("user-activated"),
            EventKind::UserDeactivated => Some("user-deactivated"),
            EventKind::SsoChanged => Some("sso-changed"),
            EventKind::TenantUpdated | EventKind::UserJoined | EventKind::Ignored => None,
        }
    }

    /// The kind whose [`alias`](EventKind::alias) is `alias`, if any.
    pub fn from_alias(alias: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|kind| kind.alias() == Some(alias))
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an [`EventKind`] from a string that is not one of the
/// [`EventKind::as_str`] names. Its message lists the allowed values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event kind `{given}`; expected one of: tenant_created, tenant_updated, tenant_deleted, user_joined, user_activated, user_deactivated, sso_changed, ignored")]
pub struct ParseEventKindError {
    /// The rejected input, cut to 64 characters so a huge query value is not echoed whole.
    pub given: String,
}

impl FromStr for EventKind {
    type Err = ParseEventKindError;

    /// Parses the snake_case names of [`EventKind::as_str`] (e.g. an admin API `kind=` filter).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| ParseEventKindError {
                given: s.chars().take(64).collect(),
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn every_name_in_the_design_table_maps_to_its_kind() {
        let table = [
            ("frontegg.tenant.created", EventKind::TenantCreated),
            ("tenant.created", EventKind::TenantCreated),
            ("organization.created", EventKind::TenantCreated),
            ("frontegg.tenant.updated", EventKind::TenantUpdated),
            ("tenant.updated", EventKind::TenantUpdated),
            ("frontegg.tenant.deleted", EventKind::TenantDeleted),
            ("tenant.deleted", EventKind::TenantDeleted),
            ("organization.deleted", EventKind::TenantDeleted),
            ("frontegg.user.created", EventKind::UserJoined),
            ("frontegg.user.invitedToTenant", EventKind::UserJoined),
            ("frontegg.user.joinedTenantUsingInvitationLink", EventKind::UserJoined),
            ("frontegg.user.activated", EventKind::UserActivated),
            ("user.activated", EventKind::UserActivated),
            ("user.deactivated", EventKind::UserDeactivated),
            ("frontegg.user.deleted", EventKind::UserDeactivated),
            ("frontegg.user.removedFromTenant", EventKind::UserDeactivated),
            ("sso.configured", EventKind::SsoChanged),
            ("sso.updated", EventKind::SsoChanged),
        ];
        for (name, kind) in table {
            assert_eq!(EventKind::from_event_name(name), kind, "{name}");
        }
        assert_eq!(NAMES.len(), table.len());
    }

    #[test]
    fn unknown_and_differently_cased_names_are_ignored() {
        for name in [
            "frontegg.user.signedUp",
            "frontegg.user.authenticated",
            "frontegg.user.removedfromtenant",
            "frontegg.user.invitedtotenant",
            "user.created",
            "user.joined",
            "Tenant.Created",
            "",
            "billing.invoice.paid",
        ] {
            assert_eq!(EventKind::from_event_name(name), EventKind::Ignored, "{name}");
        }
    }

    #[test]
    fn event_names_lists_the_names_of_one_kind() {
        let names: Vec<_> = EventKind::UserDeactivated.event_names().collect();
        assert_eq!(
            names,
            [
                "user.deactivated",
                "frontegg.user.deleted",
                "frontegg.user.removedFromTenant"
            ]
        );
        assert_eq!(EventKind::Ignored.event_names().count(), 0);
    }

    #[test]
    fn a_user_created_invited_or_joining_by_link_is_a_user_joined() {
        let names: Vec<_> = EventKind::UserJoined.event_names().collect();
        assert_eq!(
            names,
            [
                "frontegg.user.created",
                "frontegg.user.invitedToTenant",
                "frontegg.user.joinedTenantUsingInvitationLink"
            ]
        );
        assert_eq!(EventKind::UserJoined.as_str(), "user_joined");
        assert_eq!("user_joined".parse::<EventKind>(), Ok(EventKind::UserJoined));
        assert_eq!(
            EventKind::UserJoined.alias(),
            None,
            "the setup guide's aliases are fixed"
        );
    }

    #[test]
    fn alias_round_trips_for_every_kind_that_has_one() {
        let mut with_alias = 0;
        for kind in EventKind::ALL {
            if let Some(alias) = kind.alias() {
                with_alias += 1;
                assert_eq!(EventKind::from_alias(alias), Some(kind));
            }
        }
        assert_eq!(with_alias, 5);
        assert_eq!(EventKind::TenantUpdated.alias(), None);
        assert_eq!(EventKind::UserJoined.alias(), None);
        assert_eq!(EventKind::Ignored.alias(), None);
        assert_eq!(EventKind::from_alias("tenant-updated"), None);
        assert_eq!(EventKind::from_alias("tenant_created"), None);
    }

    #[test]
    fn as_str_display_from_str_and_serde_agree() {
        for kind in EventKind::ALL {
            assert_eq!(kind.to_string(), kind.as_str());
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            let back: EventKind = serde_json::from_str(&json).unwrap();
            assert_eq!(back, kind);
        }
    }

    #[test]
    fn from_str_error_lists_the_allowed_values_and_cuts_long_input() {
        let err = "tenant.created".parse::<EventKind>().unwrap_err();
        let message = err.to_string();
        assert!(message.contains("`tenant.created`"), "{message}");
        for kind in EventKind::ALL {
            assert!(message.contains(kind.as_str()), "{message}");
        }
        let long = "x".repeat(1000);
        assert_eq!(long.parse::<EventKind>().unwrap_err().given.len(), 64);
    }
}
