//! Embedded migrations, one set per backend, with the same tables.

use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use serde::Serialize;

use super::{DbConn, StoreError};

const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// What `/readyz` reports about the schema.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MigrationState {
    pub applied: usize,
    pub pending: Vec<String>,
}

impl MigrationState {
    pub fn is_current(&self) -> bool {
        self.pending.is_empty()
    }
}

/// Key of the advisory lock that keeps instances starting together from migrating at once.
const MIGRATION_LOCK: i64 = super::locks::Lock::Migration.key();

/// Applies every pending migration and returns the versions applied, oldest first.
pub(super) fn run_pending(conn: &mut DbConn) -> anyhow::Result<Vec<String>> {
    let applied = match conn {
        DbConn::Pg(c) => {
            use diesel::RunQueryDsl;
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(&mut **c)?;
            let applied = c.run_pending_migrations(POSTGRES).map(versions);
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).execute(&mut **c)?;
            applied
        }
        // SQLite takes its write lock per migration transaction.
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE).map(versions),
    };
    applied.map_err(|e| anyhow::anyhow!("migration failed: {e}"))
}

pub(super) fn state(conn: &mut DbConn) -> Result<MigrationState, StoreError> {
    fn read<H: MigrationHarness<B>, B: diesel::backend::Backend>(
        conn: &mut H,
        source: EmbeddedMigrations,
    ) -> Result<MigrationState, StoreError> {
        let to_error = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Unavailable(e.to_string());
        let applied = conn.applied_migrations().map_err(to_error)?.len();
        let pending = conn.pending_migrations(source).map_err(to_error)?;
        let pending = pending.iter().map(|m| m.name().version().to_string()).collect();
        Ok(MigrationState { applied, pending })
    }
    match conn {
        DbConn::Pg(c) => read(&mut **c, POSTGRES),
        DbConn::Sqlite(c) => read(&mut **c, SQLITE),
    }
}

fn versions(list: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    list.into_iter().map(|v| v.to_string()).collect()
}
