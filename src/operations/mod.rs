//! Operator actions and reads, one function each, shared by every door: the admin API
//! (`http::admin`), the command line (`cli::events`, `cli::purge`, `cli::subscriptions`) and the
//! console (`console`). Subscription actions live with the notifications
//! (`crate::notifications::subscriptions`, `test_sends`, `store::redeliver`) and follow the same
//! rules. A
//! door parses its input, calls one function here and shows the answer. What an action does, and
//! the audit entry it leaves, is decided here once, so it is the same whichever door is used.
//!
//! | action | function | audit entry (`action`: what it holds) |
//! |---|---|---|
//! | replay one event | [`replay::replay_one`] | `event.replayed`: the event, its tenant, `{"by", "previous_status"}` |
//! | replay by filter | [`replay_matching::replay_matching`] | `events.replayed`: the filter's tenant, `{"by", "filter", "requeued"}` |
//! | purge old events | [`purge::purge`] | `events.purged`: `{"by", "status", "finished_before", "events", "attempts"}` |
//! | create a subscription | [`subscriptions::create`] | `subscription.created`: `{"by", "subscription_id"}` |
//! | change, pause or resume one | [`subscriptions::update`] | `subscription.updated`: `{"by", "subscription_id", "active"}` |
//! | rotate its secret | [`subscriptions::rotate`] | `subscription.secret_rotated`: `{"by", "subscription_id", "previous_valid_until", "previous_dropped"}` |
//! | delete one | [`subscriptions::delete`] | `subscription.deleted`: `{"by", "subscription_id"}` |
//! | send one a test | [`test_sends::test_subscription`] | `subscription.tested`: `{"by", "subscription_id", "delivered", "status_code"}` |
//! | send every active one a test | [`test_sends::test_all_active`] | `subscriptions.tested`: `{"by", "tested", "delivered"}` |
//! | send any URL a test | [`test_sends::test_url`] | `destination.tested`: `{"by", "host", "delivered", "status_code"}` |
//! | redeliver a delivery | [`redeliver`] | `delivery.redelivered`: `{"by", "delivery_id", "subscription_id", "previous_status"}`, none when nothing was requeued |
//! | reconcile (`--apply`) | [`reconcile::run`] | `reconcile.applied`: `{"by", "run_id", "status", "counts", "queued", "brake", "error"}` |
//!
//! [`subscriptions::create`]: crate::notifications::subscriptions::create
//! [`subscriptions::update`]: crate::notifications::subscriptions::update
//! [`subscriptions::rotate`]: crate::notifications::subscriptions::rotate
//! [`subscriptions::delete`]: crate::notifications::subscriptions::delete
//! [`test_sends::test_subscription`]: crate::notifications::test_sends::test_subscription
//! [`test_sends::test_all_active`]: crate::notifications::test_sends::test_all_active
//! [`test_sends::test_url`]: crate::notifications::test_sends::test_url
//! [`redeliver`]: crate::notifications::store::redeliver
//!
//! `by` names the [`Actor`]: `admin-api`, `cli:` and the login name, `console:` and the
//! session, or `periodic`. Lists (events, tenants, a subscription's deliveries) come a [`Page`]
//! at a time.
//!
//! # Replay by filter: one action, one audit entry, in chunks
//!
//! - The ids of the finished events matching the filter are read once, oldest first, and
//!   requeued [`replay_matching::CHUNK`] at a time, one transaction per chunk, so that a large
//!   replay never holds locks for long and the CLI can draw its progress after each chunk
//!   (the `progress` hook; the admin API passes none).
//! - The action has one audit entry: written in the transaction of the first chunk that
//!   requeues something, and its count raised in the transaction of each later chunk. At every
//!   moment it counts exactly what is committed, also when a chunk fails or the command is
//!   interrupted part way. A replay that requeues nothing writes no entry, as a purge that
//!   deletes nothing writes none.
//! - Replaying one event writes its own `event.replayed` entry, in the transaction that requeues it.
//!
//! What keeps a replay safe:
//! - Only finished events (succeeded, dead, skipped, ignored) are requeued; an event that is
//!   pending, waiting for a retry or held by a worker (`processing`) never is.
//! - Each chunk's update checks the status and the whole filter again, so an event that changed
//!   after the ids were read is left alone: a replay of `dead` events never requeues one that
//!   meanwhile was replayed and succeeded. Succeeded events are requeued only when the filter
//!   selects them (a `succeeded` status, or no status at all).
//! - An empty filter selects every finished event, so it must be asked for on purpose
//!   ([`replay_matching::Selection`]).
//! - A requeued event keeps its attempt history (`attempts_before_replay`, `replayed_at`).
//! - Each committed requeue wakes the workers of every instance (Postgres `NOTIFY`, sent at
//!   commit); the admin API also wakes the workers of its own process.
//!
//! A purge deletes through the retention job's chunked loop (`crate::retention::purge`) and
//! writes its entry when the loop ends.

pub mod deliveries;
pub mod events;
pub mod overview;
pub mod page;
pub mod purge;
pub mod reconcile;
pub mod replay;
pub mod replay_matching;
pub mod tenants;

pub use crate::db::actor::Actor;
pub use page::Page;
