//! The database: a pool for the backend the URL names, embedded migrations, and the queries.
//!
//! Queries are plain functions taking a [`DbConn`]. Most are written once and expanded for both
//! backends by [`with_conn!`]; the few that differ per backend match on the connection.

pub mod actor;
pub mod audit;
pub mod group_commit;
pub mod locks;
mod migrate;
pub mod notify;
pub(crate) mod placeholders;
pub mod schema;
pub mod status;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;

pub use crate::config::DatabaseUrl;
pub use migrate::MigrationState;

/// How long SQLite waits for another writer before giving up with "database is locked".
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

type PgPool = Pool<ConnectionManager<PgConnection>>;
type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;

/// A pooled connection to either backend.
pub enum DbConn {
    Pg(PooledConnection<ConnectionManager<PgConnection>>),
    Sqlite(PooledConnection<ConnectionManager<SqliteConnection>>),
}

/// Runs `$body` with `$c` bound to the concrete connection, compiled once per backend.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Pg(pooled) => {
                let $c: &mut ::diesel::pg::PgConnection = &mut *pooled;
                $body
            }
            $crate::db::DbConn::Sqlite(pooled) => {
                let $c: &mut ::diesel::sqlite::SqliteConnection = &mut *pooled;
                $body
            }
        }
    };
}

impl DbConn {
    /// Runs `work` in one transaction: committed when it returns `Ok`, rolled back otherwise.
    /// SQLite takes the write lock up front (`BEGIN IMMEDIATE`), so a transaction that reads
    /// before it writes waits for other writers instead of failing. Diesel's transaction manager
    /// tracks the state, so a connection left inside a failed transaction is never reused, and a
    /// transaction opened inside another becomes a savepoint.
    pub fn transaction<T, E>(&mut self, work: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.transaction_beginning(Begin::Plain, work)
    }

    /// [`DbConn::transaction`] opened on Postgres as `begin` says (SQLite ignores settings).
    pub fn transaction_beginning<T, E>(
        &mut self,
        begin: Begin,
        work: impl FnOnce(&mut DbConn) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        match self {
            DbConn::Pg(c) => open_pg(c, begin),
            DbConn::Sqlite(c) => {
                // Nested: a savepoint inside the outer transaction, which already holds the lock.
                if nested(c) {
                    AnsiTransactionManager::begin_transaction(&mut **c)
                } else {
                    AnsiTransactionManager::begin_transaction_sql(&mut **c, "BEGIN IMMEDIATE")
                }
            }
        }
        .map_err(StoreError::from)?;
        let result = work(self);
        with_conn!(self, |c| end(c, result))
    }
}

/// How a transaction opens on Postgres.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// `BEGIN`, or a savepoint inside a transaction already open.
    Plain,
    /// `BEGIN` and settings that end with the transaction (`SET LOCAL …`), sent together in
    /// one round trip. Not for a nested transaction.
    WithSettings(&'static str),
}

/// A transaction on a Postgres connection alone, for statements that exist only there.
pub fn pg_transaction<T, E>(
    conn: &mut PgConnection,
    begin: Begin,
    work: impl FnOnce(&mut PgConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    open_pg(conn, begin).map_err(StoreError::from)?;
    let result = work(conn);
    end(conn, result)
}

fn open_pg(conn: &mut PgConnection, begin: Begin) -> diesel::QueryResult<()> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    match begin {
        Begin::Plain => AnsiTransactionManager::begin_transaction(conn),
        // If `BEGIN` went through and a setting after it failed, the server holds an aborted
        // transaction that Diesel does not know of: end it, or the pooled connection would
        // refuse every later statement.
        Begin::WithSettings(sql) => AnsiTransactionManager::begin_transaction_sql(conn, sql).inspect_err(|_| {
            let _ = conn.batch_execute("ROLLBACK");
        }),
    }
}

/// Commits when the work succeeded, rolls back otherwise.
fn end<C, T, E>(conn: &mut C, result: Result<T, E>) -> Result<T, E>
where
    C: Connection<TransactionManager = diesel::connection::AnsiTransactionManager>,
    E: From<StoreError>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    match result {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(conn).map_err(StoreError::from)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = AnsiTransactionManager::rollback_transaction(conn) {
                tracing::warn!(error = %rollback, "rollback failed; the connection is discarded");
            }
            Err(e)
        }
    }
}

/// Whether the connection is inside a transaction already.
fn nested(conn: &mut SqliteConnection) -> bool {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .ok()
        .flatten()
        .is_some()
}

/// Failures of the store, sorted by what the caller should do about them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is too busy: the caller may try again later.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Query(diesel::result::Error),
    /// A worker's claim expired and another worker took the event.
    #[error("the claim on this event was lost")]
    LeaseLost,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl StoreError {
    /// The same failure again, for each request of a batch that failed as a whole.
    pub fn duplicate(&self) -> Self {
        match self {
            Self::Unavailable(reason) => Self::Unavailable(reason.clone()),
            Self::LeaseLost => Self::LeaseLost,
            other => Self::Unexpected(anyhow::anyhow!("{other}")),
        }
    }
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => Self::Unavailable(info.message().to_owned()),
            // SQLite reports a writer that held the lock past busy_timeout this way.
            Error::DatabaseError(_, info) if info.message().contains("database is locked") => {
                Self::Unavailable(info.message().to_owned())
            }
            _ => Self::Query(e),
        }
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// Sets the pragmas every SQLite connection needs.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;"
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// The shared pool. Cheap to clone.
#[derive(Clone)]
pub enum Database {
    Pg(PgPool),
    Sqlite(SqlitePool),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Database({})", self.backend_name())
    }
}

impl Database {
    /// Opens a pool for `url`. One connection is made first, directly, so that a wrong user, a
    /// missing database or a stopped server is reported with the database's own words.
    pub fn connect(url: &str, pool_size: u32, connect_timeout: Duration) -> anyhow::Result<Self> {
        match DatabaseUrl::parse(url).map_err(anyhow::Error::msg)? {
            DatabaseUrl::Postgres(url) => {
                let with_timeout = with_pg_connect_timeout(&url, connect_timeout);
                PgConnection::establish(&with_timeout)
                    .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL: {}", e.to_string().trim()))?;
                // Connections are opened on demand: a pool that opens them eagerly on background
                // threads can still be inside libpq when a short-lived command exits.
                // No `SELECT 1` on every checkout (a round trip per query): a connection the
                // server dropped fails its next query, which is reported as unavailable, and the
                // pool discards it as broken.
                let pool = Pool::builder()
                    .max_size(pool_size)
                    .min_idle(Some(0))
                    .test_on_check_out(false)
                    .connection_timeout(connect_timeout)
                    .build_unchecked(ConnectionManager::new(with_timeout));
                Ok(Self::Pg(pool))
            }
            DatabaseUrl::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        anyhow::anyhow!(
                            "cannot create the folder {} for the SQLite database: {e}",
                            parent.display()
                        )
                    })?;
                }
                let path = path.to_string_lossy().into_owned();
                SqliteConnection::establish(&path)
                    .map_err(|e| anyhow::anyhow!("cannot open the SQLite database {path}: {e}"))?;
                let pool = Pool::builder()
                    .max_size(pool_size)
                    .min_idle(Some(0))
                    .connection_timeout(connect_timeout)
                    .connection_customizer(Box::new(SqlitePragmas))
                    .build_unchecked(ConnectionManager::new(path));
                Ok(Self::Sqlite(pool))
            }
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Pg(_) => "postgres",
            Self::Sqlite(_) => "sqlite",
        }
    }

    /// A connection from the pool (blocking: call it off the async threads).
    pub fn get(&self) -> Result<DbConn, StoreError> {
        Ok(match self {
            Self::Pg(pool) => DbConn::Pg(pool.get()?),
            Self::Sqlite(pool) => DbConn::Sqlite(pool.get()?),
        })
    }

    /// Runs blocking database work on tokio's blocking threads, inside the caller's span.
    pub async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = db.get()?;
            work(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Unexpected(anyhow::anyhow!("database task failed: {e}")))?
    }

    /// Applies pending migrations; returns the versions applied.
    pub fn migrate(&self) -> anyhow::Result<Vec<String>> {
        migrate::run_pending(&mut self.get()?)
    }

    /// Whether the database answers and every migration is applied.
    pub async fn migration_state(&self) -> Result<MigrationState, StoreError> {
        self.run(migrate::state).await
    }
}

/// libpq waits for an unreachable host for a long time by default; bound it.
fn with_pg_connect_timeout(url: &str, timeout: Duration) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}connect_timeout={}", timeout.as_secs().max(1))
}
