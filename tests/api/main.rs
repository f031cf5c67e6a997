//! The integration suite: one binary, the real application, a fresh database per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod admin;
mod attacks;
mod bench_cli;
mod binary;
mod cli;
mod cli_events;
mod cli_replay;
mod console;
mod fake_airbyte;
mod fake_rate_limit;
mod faults;
mod health;
mod ingest_answers;
mod ingest_fixtures;
mod ingest_fuzz;
mod ingest_idempotency;
mod ingest_matrix;
mod ingest_outage;
mod log_capture;
mod metrics;
mod notifications;
mod openapi;
mod openapi_answers;
mod provisioning_airbyte;
mod provisioning_outage;
mod provisioning_outcome;
mod provisioning_pacing;
mod provisioning_users;
mod provisioning_worker;
mod proxy;
mod retention;
mod retention_cli;
mod schema;
