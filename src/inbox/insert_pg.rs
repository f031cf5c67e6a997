//! The inbox's batch insert on Postgres as one fixed statement: every column travels as an array
//! and `UNNEST` turns them back into rows. The SQL is the same whatever the batch size, so it is
//! prepared once per connection and its plan reused; a multi-row `VALUES` list is a new
//! statement for each size, parsed, analysed and planned again for every batch.

/// Pushes bind parameters of the given SQL types onto a query's AST, separated by `, `, for the
/// statement, which binds one array per column.
macro_rules! push_binds {
    ($out:ident, $first_type:ty => $first:expr $(, $type:ty => $value:expr)* $(,)?) => {{
        $out.push_bind_param::<$first_type, _>($first)?;
        $(
            $out.push_sql(", ");
            $out.push_bind_param::<$type, _>($value)?;
        )*
    }};
}

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};
use diesel::{PgConnection, QueryResult, RunQueryDsl};

use super::rows::NewEvent;

const INSERT: &str = "WITH inserted AS (INSERT INTO webhook_events (source, idempotency_key, body_sha256, \
     event_type, kind, tenant_id, user_id, occurred_at, received_at, order_at, payload, status, next_attempt_at) \
     SELECT * FROM UNNEST(";
// The wake-up for other instances (`LISTEN tenantgate_events`) rides on the same statement, so
// that a batch costs one round trip; it is delivered when the statement commits.
const ON_CONFLICT: &str = ") ON CONFLICT DO NOTHING RETURNING id, source, idempotency_key) \
     SELECT inserted.id, inserted.source, inserted.idempotency_key \
     FROM inserted, (SELECT pg_notify('tenantgate_events', '')) AS announced";

/// `INSERT … SELECT * FROM UNNEST($1, …, $13) ON CONFLICT DO NOTHING RETURNING id, source, key`
/// for a batch, one array per column, rows in the batch's order, with a `pg_notify` of
/// [`super::notify::CHANNEL`].
pub struct InsertBatch<'a> {
    source: Vec<&'a str>,
    idempotency_key: Vec<&'a str>,
    body_sha256: Vec<&'a str>,
    event_type: Vec<&'a str>,
    kind: Vec<&'a str>,
    tenant_id: Vec<Option<&'a str>>,
    user_id: Vec<Option<&'a str>>,
    occurred_at: Vec<Option<NaiveDateTime>>,
    received_at: Vec<NaiveDateTime>,
    order_at: Vec<NaiveDateTime>,
    payload: Vec<&'a str>,
    status: Vec<&'a str>,
    next_attempt_at: Vec<NaiveDateTime>,
}

impl<'a> InsertBatch<'a> {
    pub fn new(events: &[&'a NewEvent]) -> Self {
        Self {
            source: events.iter().map(|e| e.source.as_str()).collect(),
            idempotency_key: events.iter().map(|e| e.idempotency_key.as_str()).collect(),
            body_sha256: events.iter().map(|e| e.body_sha256.as_str()).collect(),
            event_type: events.iter().map(|e| e.event_type.as_str()).collect(),
            kind: events.iter().map(|e| e.kind.as_str()).collect(),
            tenant_id: events.iter().map(|e| e.tenant_id.as_deref()).collect(),
            user_id: events.iter().map(|e| e.user_id.as_deref()).collect(),
            occurred_at: events.iter().map(|e| e.occurred_at).collect(),
            received_at: events.iter().map(|e| e.received_at).collect(),
            order_at: events.iter().map(|e| e.order_at).collect(),
            payload: events.iter().map(|e| e.payload.as_str()).collect(),
            status: events.iter().map(|e| e.status.as_str()).collect(),
            next_attempt_at: events.iter().map(|e| e.next_attempt_at).collect(),
        }
    }

    /// Inserts the rows not there yet; returns `(id, source, idempotency_key)` of each inserted.
    pub fn run(self, conn: &mut PgConnection) -> QueryResult<Vec<(i64, String, String)>> {
        self.load(conn)
    }
}

/// Same SQL for every batch: the prepared statement is cached under this type.
impl QueryId for InsertBatch<'_> {
    type QueryId = InsertBatch<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for InsertBatch<'_> {
    type SqlType = (BigInt, Text, Text);
}

impl RunQueryDsl<PgConnection> for InsertBatch<'_> {}

impl QueryFragment<Pg> for InsertBatch<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(INSERT);
        push_binds!(out,
            Array<Text> => &self.source,
            Array<Text> => &self.idempotency_key,
            Array<Text> => &self.body_sha256,
            Array<Text> => &self.event_type,
            Array<Text> => &self.kind,
            Array<Nullable<Text>> => &self.tenant_id,
            Array<Nullable<Text>> => &self.user_id,
            Array<Nullable<Timestamp>> => &self.occurred_at,
            Array<Timestamp> => &self.received_at,
            Array<Timestamp> => &self.order_at,
            Array<Text> => &self.payload,
            Array<Text> => &self.status,
            Array<Timestamp> => &self.next_attempt_at,
        );
        out.push_sql(ON_CONFLICT);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_batch_insert_announces_on_the_channel_the_workers_listen_on() {
        assert!(super::ON_CONFLICT.contains(&format!("pg_notify('{}'", crate::db::notify::CHANNEL)));
    }
}
