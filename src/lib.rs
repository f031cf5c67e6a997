//! tenantgate: a gateway between an identity provider's lifecycle webhooks and the systems that
//! need one resource per tenant. See DESIGN in the README for the guarantees.

pub mod app;
pub mod cli;
pub mod config;
pub mod console;
pub mod db;
pub mod events;
pub mod health;
pub mod http;
pub mod inbox;
pub mod ingest;
pub mod jobs;
pub mod metrics;
pub mod notifications;
pub mod operations;
pub mod pacing;
pub mod provisioning;
pub mod reconcile;
pub mod retention;
pub mod telemetry;
pub mod tenants;
pub mod verify;
