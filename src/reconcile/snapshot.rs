//! The database side of a run: every mapping row, and the tenants with an unfinished event
//! (pending, processing, waiting for a retry), read in one transaction before anything is listed
//! so that an event finished meanwhile shows as a difference only if it really is one.

use std::collections::HashSet;

use diesel::prelude::*;

use crate::db::schema::{tenant_airbyte_workspaces as mappings, webhook_events};
use crate::db::{DbConn, StoreError};
use crate::inbox::EventStatus;
use crate::tenants::Mapping;
use crate::with_conn;

pub struct Snapshot {
    pub mappings: Vec<Mapping>,
    pub in_flight: HashSet<String>,
}

pub fn read(conn: &mut DbConn) -> Result<Snapshot, StoreError> {
    conn.transaction(|conn| {
        let rows: Vec<Mapping> = with_conn!(conn, |c| mappings::table
            .select(Mapping::as_select())
            .order(mappings::tenant_id.asc())
            .load(c))?;
        let unfinished = [
            EventStatus::Pending,
            EventStatus::Processing,
            EventStatus::FailedRetrying,
        ];
        let busy: Vec<Option<String>> = with_conn!(conn, |c| webhook_events::table
            .filter(webhook_events::status.eq_any(unfinished))
            .filter(webhook_events::tenant_id.is_not_null())
            .select(webhook_events::tenant_id)
            .distinct()
            .load(c))?;
        Ok(Snapshot {
            mappings: rows,
            in_flight: busy.into_iter().flatten().collect(),
        })
    })
}
