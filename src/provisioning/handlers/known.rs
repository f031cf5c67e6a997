//! What handlers read before they act, loaded for a whole claimed batch in three statements
//! instead of one or two per event. A tenant has one event in flight at a time, so nothing else
//! changes its rows between this read and its handler.

use std::collections::HashMap;

use crate::store::inbox::EventRow;
use crate::store::tenants::{self, Mapping, TenantSso, TenantUser};
use crate::store::Database;

/// An event's tenant rows as they stood when the event was claimed.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub tenant_id: String,
    pub user_id: Option<String>,
    pub mapping: Option<Mapping>,
    pub user: Option<TenantUser>,
    pub sso: Option<TenantSso>,
}

/// The [`Known`] rows of each claimed event with a tenant, by event id. Empty if the read fails:
/// handlers then read for themselves.
pub async fn preload(db: &Database, rows: &[EventRow]) -> HashMap<i64, Known> {
    let pairs: Vec<(String, Option<String>)> = rows
        .iter()
        .filter_map(|r| Some((r.tenant_id.clone()?, r.user_id.clone())))
        .collect();
    let snapshot = match db.run(move |c| tenants::snapshot(c, &pairs)).await {
        Ok(snapshot) => snapshot,
        Err(e) => {
            tracing::debug!(error = %e, "could not preload tenant rows; handlers read their own");
            return HashMap::new();
        }
    };
    let mappings: HashMap<String, Mapping> = snapshot
        .mappings
        .into_iter()
        .map(|m| (m.tenant_id.clone(), m))
        .collect();
    let users: HashMap<(String, String), TenantUser> = snapshot
        .users
        .into_iter()
        .map(|u| ((u.tenant_id.clone(), u.user_id.clone()), u))
        .collect();
    let ssos: HashMap<String, TenantSso> = snapshot.ssos.into_iter().map(|s| (s.tenant_id.clone(), s)).collect();
    rows.iter()
        .filter_map(|row| {
            let tenant_id = row.tenant_id.clone()?;
            let user = row
                .user_id
                .as_ref()
                .and_then(|user_id| users.get(&(tenant_id.clone(), user_id.clone())).cloned());
            let known = Known {
                mapping: mappings.get(&tenant_id).cloned(),
                sso: ssos.get(&tenant_id).cloned(),
                user,
                user_id: row.user_id.clone(),
                tenant_id,
            };
            Some((row.id, known))
        })
        .collect()
}
