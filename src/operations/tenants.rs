//! Reading tenants: their mappings a page at a time, and everything known of one tenant.

use super::Page;
use crate::db::{Database, StoreError};
use crate::inbox::listing::{self, EventFilter};
use crate::inbox::EventRow;
use crate::tenants::{self, Mapping, TenantSso, TenantUser};

/// Events shown with a tenant, newest first.
pub const RECENT_EVENTS: i64 = 20;

/// Mappings with `status` (any when `None`), by tenant id, at most `limit`, after the tenant id
/// `after` (the cursor of the previous page).
pub async fn list(
    db: &Database,
    status: Option<String>,
    after: Option<String>,
    limit: i64,
) -> Result<Page<Mapping, String>, StoreError> {
    db.run(move |c| {
        Page::read(
            c,
            limit,
            |c, rows| crate::tenants::listing::list_tenants(c, status.as_deref(), after.as_deref(), rows),
            |m| m.tenant_id.clone(),
        )
    })
    .await
}

/// What is known of one tenant.
#[derive(Debug, Clone)]
pub struct TenantRecord {
    /// `None` while no creation has been seen.
    pub mapping: Option<Mapping>,
    pub users: Vec<TenantUser>,
    pub sso: Option<TenantSso>,
    /// Newest first, at most [`RECENT_EVENTS`].
    pub recent_events: Vec<EventRow>,
}

/// The tenant `tenant_id`; `None` when nothing at all is known of it.
pub async fn find(db: &Database, tenant_id: String) -> Result<Option<TenantRecord>, StoreError> {
    db.run(move |c| {
        let filter = EventFilter {
            tenant_id: Some(tenant_id.clone()),
            ..EventFilter::default()
        };
        let record = TenantRecord {
            mapping: tenants::mapping(c, &tenant_id)?,
            users: tenants::users_of(c, &tenant_id)?,
            sso: tenants::sso(c, &tenant_id)?,
            recent_events: listing::list_events(c, &filter, None, RECENT_EVENTS)?,
        };
        let unknown = record.mapping.is_none()
            && record.users.is_empty()
            && record.sso.is_none()
            && record.recent_events.is_empty();
        Ok((!unknown).then_some(record))
    })
    .await
}
