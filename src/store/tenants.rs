//! Tenant state: the tenant → workspace mapping, users, SSO settings and the audit trail.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::{audit_log, tenant_airbyte_workspaces as mappings, tenant_sso, tenant_users};
use super::{DbConn, StoreError};
use crate::with_conn;

/// Mapping statuses.
pub mod mapping_status {
    pub const PROVISIONING: &str = "provisioning";
    pub const ACTIVE: &str = "active";
    pub const ARCHIVED: &str = "archived";
    pub const DELETED: &str = "deleted";
    pub const TOMBSTONE: &str = "tombstone";
    pub const ALL: [&str; 5] = [PROVISIONING, ACTIVE, ARCHIVED, DELETED, TOMBSTONE];

    /// The tenant is gone: a create older than this must not bring it back.
    pub fn is_gone(status: &str) -> bool {
        matches!(status, ARCHIVED | DELETED | TOMBSTONE)
    }
}

/// A tenant's mapping row. Written whole by [`Effect::Mapping`].
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = mappings)]
pub struct Mapping {
    pub tenant_id: String,
    pub tenant_name: Option<String>,
    pub workspace_id: Option<String>,
    pub workspace_name: Option<String>,
    pub status: String,
    pub last_event_at: Option<NaiveDateTime>,
    pub last_event_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = tenant_users)]
pub struct TenantUser {
    pub tenant_id: String,
    pub user_id: String,
    pub email: Option<String>,
    pub status: String,
    pub last_event_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = tenant_sso)]
pub struct TenantSso {
    pub tenant_id: String,
    pub provider: String,
    pub last_event_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}

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

/// A change a handler asks for; applied in the transaction that finishes the event.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Write the tenant's mapping row as given (insert or replace).
    Mapping(Mapping),
    User(TenantUser),
    Sso(TenantSso),
    /// Soft-delete the tenant's users and SSO settings.
    SoftDeleteTenantRows {
        tenant_id: String,
        at: NaiveDateTime,
    },
    Audit(NewAudit),
}

pub fn mapping(conn: &mut DbConn, tenant_id: &str) -> Result<Option<Mapping>, StoreError> {
    use mappings::dsl as m;
    with_conn!(conn, |c| Ok(m::tenant_airbyte_workspaces
        .find(tenant_id)
        .select(Mapping::as_select())
        .first(c)
        .optional()?))
}

/// Inserts `row` unless the tenant already has a mapping; returns whether it was inserted.
/// This is the one place a tenant's workspace is claimed, so two creates never both proceed.
pub fn insert_mapping_if_absent(conn: &mut DbConn, row: &Mapping) -> Result<bool, StoreError> {
    with_conn!(conn, |c| Ok(diesel::insert_into(mappings::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c)?
        == 1))
}

/// Writes the mapping row as given.
pub fn save_mapping(conn: &mut DbConn, row: &Mapping) -> Result<(), StoreError> {
    use mappings::dsl as m;
    with_conn!(conn, |c| {
        diesel::insert_into(mappings::table)
            .values(row)
            .on_conflict(m::tenant_id)
            .do_update()
            .set((
                m::tenant_name.eq(&row.tenant_name),
                m::workspace_id.eq(&row.workspace_id),
                m::workspace_name.eq(&row.workspace_name),
                m::status.eq(&row.status),
                m::last_event_at.eq(row.last_event_at),
                m::last_event_id.eq(row.last_event_id),
                m::updated_at.eq(row.updated_at),
            ))
            .execute(c)?;
        Ok(())
    })
}

pub fn user(conn: &mut DbConn, tenant_id: &str, user_id: &str) -> Result<Option<TenantUser>, StoreError> {
    use tenant_users::dsl as u;
    with_conn!(conn, |c| Ok(u::tenant_users
        .find((tenant_id, user_id))
        .select(TenantUser::as_select())
        .first(c)
        .optional()?))
}

pub fn users_of(conn: &mut DbConn, tenant_id: &str) -> Result<Vec<TenantUser>, StoreError> {
    use tenant_users::dsl as u;
    with_conn!(conn, |c| Ok(u::tenant_users
        .filter(u::tenant_id.eq(tenant_id))
        .order(u::user_id.asc())
        .select(TenantUser::as_select())
        .load(c)?))
}

pub fn sso(conn: &mut DbConn, tenant_id: &str) -> Result<Option<TenantSso>, StoreError> {
    use tenant_sso::dsl as s;
    with_conn!(conn, |c| Ok(s::tenant_sso
        .find(tenant_id)
        .select(TenantSso::as_select())
        .first(c)
        .optional()?))
}

pub fn audit_of(conn: &mut DbConn, tenant_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
    use audit_log::dsl as a;
    with_conn!(conn, |c| Ok(a::audit_log
        .filter(a::tenant_id.eq(tenant_id))
        .order(a::id.asc())
        .select(AuditEntry::as_select())
        .load(c)?))
}

/// Applies handler effects in order (call inside the finishing transaction).
pub fn apply(conn: &mut DbConn, effects: &[Effect]) -> Result<(), StoreError> {
    for effect in effects {
        match effect {
            Effect::Mapping(row) => save_mapping(conn, row)?,
            Effect::User(row) => save_user(conn, row)?,
            Effect::Sso(row) => save_sso(conn, row)?,
            Effect::SoftDeleteTenantRows { tenant_id, at } => soft_delete_tenant_rows(conn, tenant_id, *at)?,
            Effect::Audit(entry) => {
                with_conn!(conn, |c| diesel::insert_into(audit_log::table).values(entry).execute(c))?;
            }
        }
    }
    Ok(())
}

fn save_user(conn: &mut DbConn, row: &TenantUser) -> Result<(), StoreError> {
    use tenant_users::dsl as u;
    with_conn!(conn, |c| {
        diesel::insert_into(tenant_users::table)
            .values(row)
            .on_conflict((u::tenant_id, u::user_id))
            .do_update()
            .set((
                u::email.eq(&row.email),
                u::status.eq(&row.status),
                u::last_event_at.eq(row.last_event_at),
                u::updated_at.eq(row.updated_at),
                u::deleted_at.eq(row.deleted_at),
            ))
            .execute(c)?;
        Ok(())
    })
}

fn save_sso(conn: &mut DbConn, row: &TenantSso) -> Result<(), StoreError> {
    use tenant_sso::dsl as s;
    with_conn!(conn, |c| {
        diesel::insert_into(tenant_sso::table)
            .values(row)
            .on_conflict(s::tenant_id)
            .do_update()
            .set((
                s::provider.eq(&row.provider),
                s::last_event_at.eq(row.last_event_at),
                s::updated_at.eq(row.updated_at),
                s::deleted_at.eq(row.deleted_at),
            ))
            .execute(c)?;
        Ok(())
    })
}

fn soft_delete_tenant_rows(conn: &mut DbConn, tenant: &str, at: NaiveDateTime) -> Result<(), StoreError> {
    use tenant_sso::dsl as s;
    use tenant_users::dsl as u;
    with_conn!(conn, |c| {
        diesel::update(
            u::tenant_users
                .filter(u::tenant_id.eq(tenant))
                .filter(u::deleted_at.is_null()),
        )
        .set((
            u::status.eq("deleted"),
            u::deleted_at.eq(Some(at)),
            u::updated_at.eq(at),
        ))
        .execute(c)?;
        diesel::update(
            s::tenant_sso
                .filter(s::tenant_id.eq(tenant))
                .filter(s::deleted_at.is_null()),
        )
        .set((s::deleted_at.eq(Some(at)), s::updated_at.eq(at)))
        .execute(c)?;
        Ok(())
    })
}
