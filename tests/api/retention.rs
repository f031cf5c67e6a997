//! Retention: old finished events and their attempts are purged, by the store's purge and by the
//! periodic job started with the workers; recent, dead and unfinished events are kept, and a
//! redelivery of a purged event is accepted as new.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use tenantgate::db::audit::NewAudit;
use tenantgate::db::schema::{audit_log, event_attempts, webhook_events};
use tenantgate::db::{Database, StoreError};
use tenantgate::inbox::claims::Attempt;
use tenantgate::inbox::{self, NewEvent};
use tenantgate::retention::store::{Scope, Turn};
use tenantgate::retention::{self, Ended};
use tenantgate::verify::Scheme;
use tenantgate::with_conn;

use crate::helpers::*;
use crate::on_both_backends;

/// One seeded event: a name, its status, how many days ago it was received and finished.
type Spec = (&'static str, &'static str, i64, Option<i64>);

/// Events of every kind of age and status, each but the ignored one with two attempts.
pub const SPECS: [Spec; 9] = [
    ("old succeeded", "succeeded", 40, Some(39)),
    ("old skipped", "skipped", 40, Some(40)),
    // Stored finished: no finish time, its arrival counts.
    ("old ignored", "ignored", 45, None),
    ("recent succeeded", "succeeded", 3, Some(2)),
    // Received long ago, replayed, finished again lately.
    ("replayed lately", "succeeded", 60, Some(1)),
    ("old dead", "dead", 50, Some(49)),
    ("old pending", "pending", 50, None),
    ("old processing", "processing", 50, None),
    ("old retrying", "failed_retrying", 50, None),
];

/// What a purge of finished events with the default 30 days deletes.
pub const OLD_FINISHED: [&str; 3] = ["old succeeded", "old skipped", "old ignored"];

pub fn days_ago(days: i64) -> NaiveDateTime {
    chrono::Utc::now().naive_utc() - chrono::Duration::days(days)
}

/// Stores [`SPECS`] with their timestamps set directly, and an audit entry about "old
/// succeeded"; returns the event ids by name. Unfinished events are due only tomorrow, so that
/// running workers leave them alone.
pub async fn seed(db: &Database) -> BTreeMap<&'static str, i64> {
    db.run(|conn| {
        conn.transaction(|conn| {
            let mut ids = BTreeMap::new();
            for (name, status, received, finished) in SPECS {
                let id = seed_one(conn, name, status, days_ago(received), finished.map(days_ago))?;
                ids.insert(name, id);
            }
            let entry = NewAudit {
                at: days_ago(39),
                tenant_id: Some("tenant-old succeeded".into()),
                user_id: None,
                event_id: Some(ids["old succeeded"]),
                action: "workspace.created".into(),
                detail: None,
            };
            with_conn!(conn, |c| diesel::insert_into(audit_log::table)
                .values(&entry)
                .execute(c))?;
            Ok::<_, StoreError>(ids)
        })
    })
    .await
    .unwrap()
}

fn seed_one(
    conn: &mut tenantgate::db::DbConn,
    name: &str,
    status: &str,
    received_at: NaiveDateTime,
    finished_at: Option<NaiveDateTime>,
) -> Result<i64, StoreError> {
    let tomorrow = days_ago(-1);
    let event = NewEvent {
        source: "frontegg".into(),
        idempotency_key: format!("header:{name}"),
        body_sha256: format!("{:064}", name.len()),
        event_type: "tenant.created".into(),
        kind: "tenant_created".into(),
        tenant_id: Some(format!("tenant-{name}")),
        user_id: None,
        occurred_at: None,
        received_at,
        order_at: received_at,
        payload: "{}".into(),
        status: status.parse().unwrap(),
        next_attempt_at: tomorrow,
    };
    let inbox::InsertOutcome::Inserted { id } = inbox::insert_if_absent(conn, &event)? else {
        panic!("{name} was stored already");
    };
    let attempts = if status == "ignored" { 0 } else { 2 };
    with_conn!(conn, |c| {
        use webhook_events::dsl as e;
        diesel::update(e::webhook_events.find(id))
            .set((
                e::finished_at.eq(finished_at),
                e::attempts.eq(attempts),
                e::locked_until.eq((status == "processing").then_some(tomorrow)),
            ))
            .execute(c)?;
        for attempt in 1..=attempts {
            let row = Attempt {
                event_id: id,
                attempt,
                started_at: received_at,
                finished_at: received_at,
                outcome: "failed_retrying".into(),
                error: Some("provider answered 503".into()),
                http_status: Some(503),
                duration_ms: 7,
                throttled_calls: 0,
            };
            diesel::insert_into(event_attempts::table).values(&row).execute(c)?;
        }
        Ok::<_, StoreError>(())
    })?;
    Ok(id)
}

/// Stores `count` events that were ignored 31 days ago, in one transaction.
async fn store_old_ignored(db: &Database, count: usize) {
    let old = days_ago(31);
    db.run(move |conn| {
        let events: Vec<NewEvent> = (0..count)
            .map(|i| NewEvent {
                source: "frontegg".into(),
                idempotency_key: format!("header:bulk-{i}"),
                body_sha256: format!("{i:064}"),
                event_type: "frontegg.user.authenticated".into(),
                kind: "ignored".into(),
                tenant_id: None,
                user_id: None,
                occurred_at: None,
                received_at: old,
                order_at: old,
                payload: "{}".into(),
                status: "ignored".parse().unwrap(),
                next_attempt_at: old,
            })
            .collect();
        inbox::insert_batch(conn, &events)
    })
    .await
    .unwrap();
}

/// The names of the seeded events still stored.
pub async fn remaining(db: &Database, ids: &BTreeMap<&'static str, i64>) -> Vec<&'static str> {
    let stored: Vec<i64> = db.run(inbox::all).await.unwrap().iter().map(|e| e.id).collect();
    ids.iter()
        .filter(|(_, id)| stored.contains(id))
        .map(|(name, _)| *name)
        .collect()
}

/// The names in [`SPECS`] without `gone`, in the order [`remaining`] lists them.
pub fn all_but(gone: &[&str]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = SPECS.iter().map(|s| s.0).filter(|n| !gone.contains(n)).collect();
    names.sort();
    names
}

/// Attempt rows per event id.
pub async fn attempts_by_event(db: &Database) -> BTreeMap<i64, i64> {
    db.run(|conn| {
        use event_attempts::dsl as a;
        let rows: Vec<(i64, i64)> = with_conn!(conn, |c| a::event_attempts
            .group_by(a::event_id)
            .select((a::event_id, diesel::dsl::count_star()))
            .load(c))?;
        Ok(rows.into_iter().collect())
    })
    .await
    .unwrap()
}

on_both_backends! {
    async fn a_purge_deletes_old_finished_events_with_their_attempts_and_keeps_the_rest(backend) {
        let app = spawn_app(backend).await;
        let ids = seed(&app.db).await;

        let run = retention::purge(&app.db, Scope::Finished, retention::cutoff(30), Turn::SkipIfBusy, || false).await;
        assert!(matches!(run.ended, Ended::Done), "{:?}", run.ended);
        assert_eq!((run.purged.events, run.purged.attempts), (3, 4), "three events, the ignored one without attempts");
        assert_eq!(remaining(&app.db, &ids).await, all_but(&OLD_FINISHED));
        let attempts = attempts_by_event(&app.db).await;
        for name in OLD_FINISHED {
            assert_eq!(attempts.get(&ids[name]), None, "{name}: attempts purged with the event");
        }
        for name in all_but(&["old ignored", "old succeeded", "old skipped"]) {
            assert_eq!(attempts.get(&ids[name]), Some(&2), "{name}: attempts kept");
        }
        let audited: i64 = app
            .db
            .run(|conn| {
                use audit_log::dsl as l;
                Ok(with_conn!(conn, |c| l::audit_log.filter(l::action.eq("workspace.created")).count().get_result(c))?)
            })
            .await
            .unwrap();
        assert_eq!(audited, 1, "the audit trail outlives the events it names");

        let again = retention::purge(&app.db, Scope::Finished, retention::cutoff(30), Turn::Wait, || false).await;
        assert_eq!((again.purged.events, again.purged.attempts), (0, 0), "a second purge finds nothing");
        let dead = retention::purge(&app.db, Scope::Dead, retention::cutoff(30), Turn::Wait, || false).await;
        assert_eq!((dead.purged.events, dead.purged.attempts), (1, 2), "dead events go only when asked for");
        assert_eq!(remaining(&app.db, &ids).await, all_but(&["old succeeded", "old skipped", "old ignored", "old dead"]));
    }

    async fn a_purge_larger_than_one_chunk_deletes_every_old_event(backend) {
        let app = spawn_app(backend).await;
        let count = usize::try_from(retention::CHUNK).unwrap() * 2 + 17;
        store_old_ignored(&app.db, count).await;
        let recent = app.deliver(&serde_json::json!({"eventType": "tenant.created", "tenantId": "t-new", "tenantName": "T"})).await;

        let run = retention::purge(&app.db, Scope::Finished, retention::cutoff(30), Turn::SkipIfBusy, || false).await;
        assert!(matches!(run.ended, Ended::Done), "{:?}", run.ended);
        assert_eq!(run.purged.events, u64::try_from(count).unwrap());
        let left: Vec<i64> = app.events().await.iter().map(|e| e.id).collect();
        assert_eq!(left, vec![recent]);
    }

    async fn concurrent_purges_delete_each_event_once(backend) {
        let app = spawn_app(backend).await;
        let count = usize::try_from(retention::CHUNK).unwrap() * 2 + 17;
        store_old_ignored(&app.db, count).await;

        let cutoff = retention::cutoff(30);
        let runs = futures_util::future::join_all((0..3).map(|_| {
            retention::purge(&app.db, Scope::Finished, cutoff, Turn::Wait, || false)
        }))
        .await;
        for run in &runs {
            assert!(matches!(run.ended, Ended::Done), "{:?}", run.ended);
        }
        let purged: u64 = runs.iter().map(|r| r.purged.events).sum();
        assert_eq!(purged, u64::try_from(count).unwrap(), "every event counted once");
        assert!(app.events().await.is_empty());
    }

    async fn the_retention_job_started_with_the_workers_purges_old_finished_events(backend) {
        let app = spawn_app_with(backend, |s| {
            s.worker.enabled = true;
            s.retention.interval_secs = 1;
        })
        .await;
        let ids = seed(&app.db).await;

        let purged = eventually(Duration::from_secs(20), || async {
            let left = remaining(&app.db, &ids).await;
            OLD_FINISHED.iter().all(|name| !left.contains(name)).then_some(left)
        })
        .await
        .expect("the job purged the old finished events");
        assert_eq!(purged, all_but(&OLD_FINISHED), "recent, dead and unfinished events are kept");
        // Counted once the run ends, a moment after its last chunk is gone.
        let counted = eventually(Duration::from_secs(20), || async {
            let metrics = crate::metrics::scrape(&app).await;
            let value = crate::metrics::value(&metrics, "tenantgate_events_purged_total", &[]);
            (value > 0.0).then_some(value)
        })
        .await;
        assert_eq!(counted, Some(3.0));
    }

    async fn a_redelivery_of_a_purged_event_is_accepted_as_new(backend) {
        let app = spawn_app(backend).await;
        let body = tenant_created_body("t-purged");
        let send = || async {
            let headers = sign(Scheme::StandardWebhooks, TEST_SECRET, &body, now(), "msg_purged");
            let response = app.post_raw("/api/webhooks/frontegg", &body, &headers).await;
            assert_eq!(response.status(), 200);
            response.json::<serde_json::Value>().await.unwrap()
        };
        let first = send().await;
        assert_eq!(first["status"], "accepted");
        let id = first["event_id"].as_i64().unwrap();
        assert_eq!(send().await["status"], "duplicate", "within the window the key is known");

        app.db
            .run(move |conn| {
                use webhook_events::dsl as e;
                with_conn!(conn, |c| diesel::update(e::webhook_events.find(id))
                    .set((e::status.eq("succeeded"), e::received_at.eq(days_ago(31)), e::finished_at.eq(Some(days_ago(31)))))
                    .execute(c))?;
                Ok(())
            })
            .await
            .unwrap();
        let run = retention::purge(&app.db, Scope::Finished, retention::cutoff(30), Turn::Wait, || false).await;
        assert_eq!(run.purged.events, 1);

        let again = send().await;
        assert_eq!(again["status"], "accepted", "after the window the key is new again: {again}");
        assert_ne!(again["event_id"].as_i64().unwrap(), id);
        assert_eq!(app.events().await.len(), 1);
    }
}

/// With another purge holding the turn (a transaction on another connection), the job's purge
/// skips its run and deletes nothing (Postgres: instances take turns).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_that_finds_another_one_running_skips_its_turn() {
    let Some(app) = spawn_postgres_app().await else { return };
    let ids = seed(&app.db).await;
    let (held, hold) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
    let url = app.database_url.clone();
    let holder = std::thread::spawn(move || {
        let mut conn = diesel::PgConnection::establish(&url).unwrap();
        conn.transaction(|c| {
            let lock = format!(
                "SELECT pg_advisory_xact_lock({})",
                tenantgate::retention::store::PURGE_LOCK
            );
            diesel::sql_query(lock).execute(c)?;
            held.0.send(()).unwrap();
            hold.1.recv().unwrap();
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    });
    held.1.recv().unwrap();

    let run = retention::purge(
        &app.db,
        Scope::Finished,
        retention::cutoff(30),
        Turn::SkipIfBusy,
        || false,
    )
    .await;
    assert!(matches!(run.ended, Ended::Busy), "{:?}", run.ended);
    assert_eq!(run.purged.events, 0);
    assert_eq!(remaining(&app.db, &ids).await, all_but(&[]));

    hold.0.send(()).unwrap();
    holder.join().unwrap();
    let run = retention::purge(
        &app.db,
        Scope::Finished,
        retention::cutoff(30),
        Turn::SkipIfBusy,
        || false,
    )
    .await;
    assert_eq!(run.purged.events, 3, "its turn comes once the other one is done");
}
