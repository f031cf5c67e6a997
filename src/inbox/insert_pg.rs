//! The inbox's batch insert on Postgres as one fixed statement: every column travels as an array
//! and `UNNEST` turns them back into rows. The SQL is the same whatever the batch size, so it is
//! prepared once per connection and its plan reused; a multi-row `VALUES` list is a new
//! statement for each size, parsed, analysed and planned again for every batch.

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};
use diesel::{PgConnection, QueryResult, RunQueryDsl};

use super::rows::NewEvent;
use crate::db::placeholders::{self, Piece};

/// The statement's text, whole; its placeholders are numbered as [`InsertBatch`] binds them.
const INSERT: &str = include_str!("sql/insert.postgres.sql");

/// `INSERT … SELECT * FROM UNNEST($1, …, $13) ON CONFLICT DO NOTHING RETURNING id, source, key`
/// for a batch, one array per column, rows in the batch's order, with a `pg_notify` of
/// [`crate::db::notify::CHANNEL`].
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
        for piece in placeholders::split(INSERT) {
            match piece {
                Piece::Sql(sql) => out.push_sql(sql),
                Piece::Bind(1) => out.push_bind_param::<Array<Text>, _>(&self.source)?,
                Piece::Bind(2) => out.push_bind_param::<Array<Text>, _>(&self.idempotency_key)?,
                Piece::Bind(3) => out.push_bind_param::<Array<Text>, _>(&self.body_sha256)?,
                Piece::Bind(4) => out.push_bind_param::<Array<Text>, _>(&self.event_type)?,
                Piece::Bind(5) => out.push_bind_param::<Array<Text>, _>(&self.kind)?,
                Piece::Bind(6) => out.push_bind_param::<Array<Nullable<Text>>, _>(&self.tenant_id)?,
                Piece::Bind(7) => out.push_bind_param::<Array<Nullable<Text>>, _>(&self.user_id)?,
                Piece::Bind(8) => out.push_bind_param::<Array<Nullable<Timestamp>>, _>(&self.occurred_at)?,
                Piece::Bind(9) => out.push_bind_param::<Array<Timestamp>, _>(&self.received_at)?,
                Piece::Bind(10) => out.push_bind_param::<Array<Timestamp>, _>(&self.order_at)?,
                Piece::Bind(11) => out.push_bind_param::<Array<Text>, _>(&self.payload)?,
                Piece::Bind(12) => out.push_bind_param::<Array<Text>, _>(&self.status)?,
                Piece::Bind(13) => out.push_bind_param::<Array<Timestamp>, _>(&self.next_attempt_at)?,
                Piece::Bind(n) => return Err(placeholders::unknown(n)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_batch_insert_announces_on_the_channel_the_workers_listen_on() {
        assert!(super::INSERT.contains(&format!("pg_notify('{}'", crate::db::notify::CHANNEL)));
    }
}
