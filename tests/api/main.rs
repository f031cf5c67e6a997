//! The integration suite: one binary, the real application, a fresh database per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod health;
mod ingest_answers;
mod ingest_idempotency;
mod ingest_matrix;
mod ingest_outage;
mod proxy;
mod schema;
