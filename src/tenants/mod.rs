//! Tenant state: the tenant → workspace mapping, users, SSO settings and the audit trail.

pub mod listing;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::audit::{self, NewAudit};
use crate::db::schema::{tenant_airbyte_workspaces as mappings, tenant_sso, tenant_users};
use crate::db::{DbConn, StoreError};
use crate::with_conn;

pub use crate::db::status::{MappingStatus, UserStatus};

/// A tenant's mapping row. Written whole by [`Effect::Mapping`].
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = mappings)]
pub struct Mapping {
    pub tenant_id: String,
    pub tenant_name: Option<String>,
    pub workspace_id: Option<String>,
    pub workspace_name: Option<String>,
    pub status: MappingStatus,
    pub last_event_at: Option<NaiveDateTime>,
    pub last_event_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = tenant_users)]
pub struct TenantUser {
    pub tenant_id: String,
    pub user_id: String,
    pub email: Option<String>,
    pub status: UserStatus,
    pub last_event_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = tenant_sso)]
pub struct TenantSso {
    pub tenant_id: String,
    pub provider: String,
    pub last_event_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
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
    /// Queue a notification for the subscribers that want it (the outbox).
    Notify(crate::notifications::store::Message),
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

/// Removes the tenant's `provisioning` row while no workspace id is on it: its create was
/// refused, so nothing exists to look for. False when the row had moved on.
pub fn forget_provisioning(conn: &mut DbConn, tenant_id: &str) -> Result<bool, StoreError> {
    use mappings::dsl as m;
    let deleted = with_conn!(conn, |c| diesel::delete(
        m::tenant_airbyte_workspaces
            .filter(m::tenant_id.eq(tenant_id))
            .filter(m::status.eq(MappingStatus::Provisioning))
            .filter(m::workspace_id.is_null())
    )
    .execute(c))?;
    Ok(deleted == 1)
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

pub fn users_of(conn: &mut DbConn, tenant_id: &str, limit: i64) -> Result<Vec<TenantUser>, StoreError> {
    use tenant_users::dsl as u;
    with_conn!(conn, |c| Ok(u::tenant_users
        .filter(u::tenant_id.eq(tenant_id))
        .order(u::user_id.asc())
        .limit(limit)
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

/// A tenant's rows that an event's handler reads: its mapping, its SSO settings and the user
/// the event names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantRows {
    pub mapping: Option<Mapping>,
    pub user: Option<TenantUser>,
    pub sso: Option<TenantSso>,
}

/// Reads the [`TenantRows`] of a tenant and, if named, one of its users.
pub fn rows_of(conn: &mut DbConn, tenant_id: &str, user_id: Option<&str>) -> Result<TenantRows, StoreError> {
    Ok(TenantRows {
        mapping: mapping(conn, tenant_id)?,
        user: match user_id {
            Some(user_id) => user(conn, tenant_id, user_id)?,
            None => None,
        },
        sso: sso(conn, tenant_id)?,
    })
}

/// Applies handler effects: mappings and soft deletions in order, then users, SSO settings and
/// audit entries, each kind in one statement (call inside the finishing transaction). The
/// effects of one batch concern different tenants, so only their order within a kind matters.
/// Returns the number of notification deliveries queued.
pub fn apply<'a>(conn: &mut DbConn, effects: impl IntoIterator<Item = &'a Effect>) -> Result<usize, StoreError> {
    let (mut users, mut ssos, mut audits, mut notices) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for effect in effects {
        match effect {
            Effect::Mapping(row) => save_mapping(conn, row)?,
            Effect::SoftDeleteTenantRows { tenant_id, at } => soft_delete_tenant_rows(conn, tenant_id, *at)?,
            Effect::User(row) => users.push(row),
            Effect::Sso(row) => ssos.push(row),
            Effect::Audit(entry) => audits.push(entry),
            Effect::Notify(message) => notices.push(message),
        }
    }
    let queued = crate::notifications::store::enqueue(conn, notices)?;
    save_users(conn, users)?;
    save_ssos(conn, ssos)?;
    audit::write(conn, audits)?;
    Ok(queued)
}

/// `INSERT … ON CONFLICT DO UPDATE` of the given columns from the inserted values. Postgres takes
/// all rows in one statement; SQLite (in-process, no round trips) one statement per row, since
/// Diesel has no multi-row upsert for it.
macro_rules! upsert_all {
    ($conn:expr, $table:expr, $rows:expr, $target:expr, [$($column:expr),+ $(,)?]) => {{
        use diesel::upsert::excluded;
        match $conn {
            DbConn::Pg(c) => {
                diesel::insert_into($table)
                    .values($rows)
                    .on_conflict($target)
                    .do_update()
                    .set(($($column.eq(excluded($column)),)+))
                    .execute(&mut **c)?;
            }
            DbConn::Sqlite(c) => {
                for row in $rows {
                    diesel::insert_into($table)
                        .values(row)
                        .on_conflict($target)
                        .do_update()
                        .set(($($column.eq(excluded($column)),)+))
                        .execute(&mut **c)?;
                }
            }
        }
        Ok::<(), StoreError>(())
    }};
}

fn save_users(conn: &mut DbConn, rows: Vec<&TenantUser>) -> Result<(), StoreError> {
    use tenant_users::dsl as u;
    if rows.is_empty() {
        return Ok(());
    }
    upsert_all!(
        conn,
        tenant_users::table,
        rows,
        (u::tenant_id, u::user_id),
        [u::email, u::status, u::last_event_at, u::updated_at, u::deleted_at]
    )
}

fn save_ssos(conn: &mut DbConn, rows: Vec<&TenantSso>) -> Result<(), StoreError> {
    use tenant_sso::dsl as s;
    if rows.is_empty() {
        return Ok(());
    }
    upsert_all!(
        conn,
        tenant_sso::table,
        rows,
        s::tenant_id,
        [s::provider, s::last_event_at, s::updated_at, s::deleted_at]
    )
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
            u::status.eq(UserStatus::Deleted),
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
