//! What a run finds: each drift, its kind, and what was done about it.

use serde::{Deserialize, Serialize};

/// A difference between what exists and what should.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// Frontegg has the tenant, no active mapping does (a missed `tenant.created`).
    UnprovisionedTenant,
    /// A mapped, active tenant that Frontegg no longer has (a missed `tenant.deleted`).
    DeletedTenant,
    /// A mapped workspace that Airbyte no longer has (deleted by hand).
    MissingWorkspace,
    /// The tenant's name in Frontegg is not the one its workspace was named after.
    RenamedTenant,
    /// A workspace named by our template that no mapping holds: reported, never deleted.
    OrphanWorkspace,
}

impl DriftKind {
    pub const ALL: [Self; 5] = [
        Self::UnprovisionedTenant,
        Self::DeletedTenant,
        Self::MissingWorkspace,
        Self::RenamedTenant,
        Self::OrphanWorkspace,
    ];

    /// The stable name (metrics label, JSON).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UnprovisionedTenant => "unprovisioned_tenant",
            Self::DeletedTenant => "deleted_tenant",
            Self::MissingWorkspace => "missing_workspace",
            Self::RenamedTenant => "renamed_tenant",
            Self::OrphanWorkspace => "orphan_workspace",
        }
    }
}

/// What the run did about one drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    /// A dry run: the repair an `--apply` run would queue.
    WouldRepair,
    /// The repair event was written into the inbox.
    Queued { event_id: i64 },
    /// An earlier run already queued the repair of this same observation.
    AlreadyQueued { event_id: i64 },
    /// Reported only (orphans; missing workspaces with `recreate_missing_workspaces = false`).
    Reported,
    /// A deletion held back by the brake.
    HeldByBrake,
}

/// One drift of one tenant (or of one orphan workspace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Drift {
    pub kind: DriftKind,
    pub tenant_id: Option<String>,
    pub workspace_id: Option<String>,
    /// What was seen, in words.
    pub detail: String,
    #[serde(flatten)]
    pub action: Action,
    /// Frontegg's name for the tenant, when it lists it (a repair names the workspace after it).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tenant_name: Option<String>,
    /// What the observation was made of, for the repair's idempotency key: the mapping's status
    /// and last event (so that the same observation in a later run makes no second event).
    #[serde(skip)]
    pub observed: String,
}
