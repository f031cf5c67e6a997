//! The tenants operators list.

use diesel::prelude::*;

use super::Mapping;
use crate::db::schema::tenant_airbyte_workspaces as mappings;
use crate::db::{DbConn, StoreError};
use crate::with_conn;

/// Mappings, by tenant id, after the cursor `after`.
pub fn list_tenants(
    conn: &mut DbConn,
    status: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Mapping>, StoreError> {
    use mappings::dsl as m;
    with_conn!(conn, |c| {
        let mut query = m::tenant_airbyte_workspaces.select(Mapping::as_select()).into_boxed();
        if let Some(status) = status {
            query = query.filter(m::status.eq(status.to_owned()));
        }
        if let Some(after) = after {
            query = query.filter(m::tenant_id.gt(after.to_owned()));
        }
        Ok(query.order(m::tenant_id.asc()).limit(limit).load(c)?)
    })
}
