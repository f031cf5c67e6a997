//! Reading tenants: their mappings a page at a time, and everything known of one tenant.

use super::Page;
use crate::db::audit::{self, AuditEntry};
use crate::db::{Database, StoreError};
use crate::events::EventKind;
use crate::inbox::listing;
use crate::inbox::EventRow;
use crate::notifications::store::{self as outbox, Delivery, Message};
use crate::tenants::{self, Mapping, TenantSso, TenantUser};

/// Events shown with a tenant, newest first.
pub const RECENT_EVENTS: i64 = 20;
/// Audit entries shown with a tenant: the newest ones.
pub const RECENT_AUDIT: i64 = 50;
/// Notifications shown with a tenant: the newest ones.
pub const RECENT_NOTIFICATIONS: i64 = 20;

/// Mappings with `status` (any when `None`), by tenant id, at most `limit`, after the tenant id
/// `after` (the cursor of the previous page).
pub async fn list(
    db: &Database,
    status: Option<String>,
    after: Option<String>,
    limit: i64,
) -> Result<Page<Mapping, String>, StoreError> {
    search(db, status, None, after, limit).await
}

/// As [`list`], of the tenants whose id starts with `prefix` (all when `None`).
pub async fn search(
    db: &Database,
    status: Option<String>,
    prefix: Option<String>,
    after: Option<String>,
    limit: i64,
) -> Result<Page<Mapping, String>, StoreError> {
    db.run(move |c| {
        Page::read(
            c,
            limit,
            |c, rows| tenants::listing::search_tenants(c, status.as_deref(), prefix.as_deref(), after.as_deref(), rows),
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
    /// The tenant's newest creation event (`tenant.created`), whatever its status: where a
    /// missing workspace is explained.
    pub creation: Option<EventRow>,
    /// The event that last wrote the mapping, when it is not among `recent_events`.
    pub mapping_event: Option<EventRow>,
    /// Oldest first, the newest [`RECENT_AUDIT`].
    pub audit: Vec<AuditEntry>,
    /// Newest first, at most [`RECENT_NOTIFICATIONS`], each with its deliveries.
    pub notifications: Vec<(Message, Vec<Delivery>)>,
}

/// Most users shown with a tenant (by user id).
pub const MAX_USERS: i64 = 200;

/// The tenant `tenant_id`; `None` when nothing at all is known of it.
pub async fn find(db: &Database, tenant_id: String) -> Result<Option<TenantRecord>, StoreError> {
    db.run(move |c| {
        let mapping = tenants::mapping(c, &tenant_id)?;
        let recent_events = listing::tenant_events(c, &tenant_id, None, RECENT_EVENTS)?;
        let mapping_event = match mapping.as_ref().and_then(|m| m.last_event_id) {
            Some(id) if !recent_events.iter().any(|e| e.id == id) => crate::inbox::find(c, id)?,
            _ => None,
        };
        let record = TenantRecord {
            users: tenants::users_of(c, &tenant_id, MAX_USERS)?,
            sso: tenants::sso(c, &tenant_id)?,
            creation: listing::tenant_events(c, &tenant_id, Some(EventKind::TenantCreated.as_str()), 1)?.pop(),
            mapping_event,
            audit: audit::recent_audit_of(c, &tenant_id, RECENT_AUDIT)?,
            notifications: outbox::notifications_of_tenant(c, &tenant_id, RECENT_NOTIFICATIONS)?,
            mapping,
            recent_events,
        };
        let unknown = record.mapping.is_none()
            && record.users.is_empty()
            && record.sso.is_none()
            && record.recent_events.is_empty()
            && record.audit.is_empty();
        Ok((!unknown).then_some(record))
    })
    .await
}
