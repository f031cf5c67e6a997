//! The claim's plan on Postgres, for tests and for diagnosing a slow drain.

use diesel::prelude::*;

use super::claims_pg;
use crate::db::{pg_transaction, DbConn, StoreError};

/// The plan the claim runs with on Postgres, as `EXPLAIN` prints it, made the way the worker
/// makes it (a generic plan, under [`claims_pg::BEGIN_CLAIM`]); `None` on SQLite. For tests and
/// for diagnosing a slow drain: the claim should walk `webhook_events_unfinished_order`.
pub fn claim_plan(conn: &mut DbConn) -> Result<Option<String>, StoreError> {
    let DbConn::Pg(c) = conn else {
        return Ok(None); // SQLite has no plan to show
    };
    let now = chrono::Utc::now().naive_utc();
    let claim = claims_pg::ClaimStatement {
        now,
        lease_until: now,
        limit: 1,
    };
    let sql = diesel::debug_query::<diesel::pg::Pg, _>(&claim).to_string();
    let sql = sql.split(" -- binds:").next().unwrap_or_default();
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let lines: Vec<Line> = pg_transaction(c, claims_pg::BEGIN_CLAIM, |c| {
        // A name of its own, in case an earlier call failed before its DEALLOCATE.
        let name = format!("tenantgate_claim_plan_{}", uuid::Uuid::new_v4().simple());
        diesel::sql_query(format!(
            "PREPARE {name}(timestamp, timestamp, timestamp, timestamp, bigint) AS {sql}"
        ))
        .execute(c)?;
        let lines = diesel::sql_query(format!(
            "EXPLAIN EXECUTE {name}(LOCALTIMESTAMP, LOCALTIMESTAMP, LOCALTIMESTAMP, LOCALTIMESTAMP, 1)"
        ))
        .load(c)?;
        diesel::sql_query(format!("DEALLOCATE {name}")).execute(c)?;
        Ok::<_, StoreError>(lines)
    })?;
    Ok(Some(lines.into_iter().map(|l| l.line).collect::<Vec<_>>().join("\n")))
}
