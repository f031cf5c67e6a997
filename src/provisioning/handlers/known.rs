//! What handlers read before they act, read with the claim: a tenant has one event in flight at
//! a time, so nothing else changes its rows between the claim and its handler.

use crate::store::claims::Claimed;
use crate::store::tenants::{Mapping, TenantSso, TenantUser};

/// An event's tenant rows as they stood when the event was claimed.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub tenant_id: String,
    pub user_id: Option<String>,
    pub mapping: Option<Mapping>,
    pub user: Option<TenantUser>,
    pub sso: Option<TenantSso>,
}

impl Known {
    /// The rows read with a claimed event; `None` when it has no tenant (handlers then read
    /// for themselves, if they need to).
    pub fn of(claimed: &Claimed) -> Option<Self> {
        let tenant = claimed.tenant.clone()?;
        Some(Self {
            tenant_id: claimed.row.tenant_id.clone()?,
            user_id: claimed.row.user_id.clone(),
            mapping: tenant.mapping,
            user: tenant.user,
            sso: tenant.sso,
        })
    }
}
