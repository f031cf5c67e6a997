//! Operator actions and reads, one function each, shared by every door: the admin API
//! (`http::admin`), the command line (`cli::events`, `cli::purge`) and the console to come. A
//! door parses its input, calls one function here and shows the answer. What an action does, and
//! the audit entry it leaves, is decided here once, so it is the same whichever door is used.
//!
//! | action | function | audit entry (`action`: what it holds) |
//! |---|---|---|
//! | purge old events | [`purge::purge`] | `events.purged`: `{"by", "status", "finished_before", "events", "attempts"}` |
//!
//! `by` names the [`Actor`]: `admin-api`, or `cli:` and the login name. Lists (events, tenants,
//! a subscription's deliveries) come a [`Page`] at a time.
//!
//! A purge deletes through the retention job's chunked loop (`crate::retention::purge`) and
//! writes its entry when the loop ends.

pub mod actor;
pub mod deliveries;
pub mod events;
pub mod page;
pub mod purge;
pub mod tenants;

pub use actor::Actor;
pub use page::Page;
