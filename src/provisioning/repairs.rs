//! Events the reconciler writes into the inbox (`crate::reconcile`): their source, and the one
//! field a handler reads only from them. A webhook can never carry it: its source differs.

use crate::inbox::EventRow;

/// The inbox source of the reconciler's repairs.
pub const RECONCILE_SOURCE: &str = "reconcile";

/// In a repair's `tenant.created`: the mapped workspace Airbyte no longer has, to be replaced.
pub const REPLACES_WORKSPACE_FIELD: &str = "replacesWorkspaceId";

/// The workspace a reconciler's `tenant.created` replaces, if it is one.
pub fn replaced_workspace(row: &EventRow) -> Option<String> {
    if row.source != RECONCILE_SOURCE {
        return None;
    }
    let payload: serde_json::Value = serde_json::from_str(&row.payload).ok()?;
    payload.get(REPLACES_WORKSPACE_FIELD)?.as_str().map(str::to_owned)
}
