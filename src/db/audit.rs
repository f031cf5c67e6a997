//! The audit trail: who changed what, and when. Every entry is written here, by [`write`], in
//! the transaction of the change it records.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::audit_log;
use super::{DbConn, StoreError};
use crate::with_conn;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i64,
    pub at: NaiveDateTime,
    pub tenant_id: Option<String>,
    pub user_id: Option<String>,
    pub event_id: Option<i64>,
    pub action: String,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAudit {
    pub at: NaiveDateTime,
    pub tenant_id: Option<String>,
    pub user_id: Option<String>,
    pub event_id: Option<i64>,
    pub action: String,
    pub detail: Option<String>,
}

impl NewAudit {
    /// An entry about no tenant, user or event (a subscription, a purge, an operator's action).
    pub fn general(at: NaiveDateTime, action: &str, detail: serde_json::Value) -> Self {
        Self {
            at,
            tenant_id: None,
            user_id: None,
            event_id: None,
            action: action.to_owned(),
            detail: Some(detail.to_string()),
        }
    }
}

/// Writes the entries in one statement (call inside the transaction of the change).
pub fn write<'a>(conn: &mut DbConn, entries: impl IntoIterator<Item = &'a NewAudit>) -> Result<(), StoreError> {
    let entries: Vec<&NewAudit> = entries.into_iter().collect();
    if entries.is_empty() {
        return Ok(());
    }
    with_conn!(conn, |c| diesel::insert_into(audit_log::table)
        .values(entries)
        .execute(c))?;
    Ok(())
}

/// Writes an operator's audit entry; returns its id.
pub fn insert(conn: &mut DbConn, entry: &NewAudit) -> Result<i64, StoreError> {
    with_conn!(conn, |c| Ok(diesel::insert_into(audit_log::table)
        .values(entry)
        .returning(audit_log::id)
        .get_result(c)?))
}

/// Replaces the detail of the audit entry `id`: an action done in chunks keeps its one entry
/// up to date with what is committed.
pub fn update_detail(conn: &mut DbConn, id: i64, detail: &str) -> Result<(), StoreError> {
    use audit_log::dsl as l;
    with_conn!(conn, |c| diesel::update(l::audit_log.find(id))
        .set(l::detail.eq(Some(detail)))
        .execute(c))?;
    Ok(())
}

/// A tenant's entries, oldest first.
pub fn audit_of(conn: &mut DbConn, tenant_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
    use audit_log::dsl as a;
    with_conn!(conn, |c| Ok(a::audit_log
        .filter(a::tenant_id.eq(tenant_id))
        .order(a::id.asc())
        .select(AuditEntry::as_select())
        .load(c)?))
}

/// A tenant's newest `limit` entries, oldest first (through `audit_log_tenant`).
pub fn recent_audit_of(conn: &mut DbConn, tenant_id: &str, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
    use audit_log::dsl as a;
    let mut entries = with_conn!(conn, |c| a::audit_log
        .filter(a::tenant_id.eq(tenant_id))
        .order((a::at.desc(), a::id.desc()))
        .limit(limit)
        .select(AuditEntry::as_select())
        .load::<AuditEntry>(c))?;
    entries.reverse();
    Ok(entries)
}

/// The entries about one event, oldest first.
pub fn audit_of_event(conn: &mut DbConn, event_id: i64) -> Result<Vec<AuditEntry>, StoreError> {
    use audit_log::dsl as a;
    with_conn!(conn, |c| Ok(a::audit_log
        .filter(a::event_id.eq(event_id))
        .order(a::id.asc())
        .select(AuditEntry::as_select())
        .load(c)?))
}
