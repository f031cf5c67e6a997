//! `tenantgate events list|show|replay` through the real binary, on a database prepared by the
//! test: events posted to a running application, some then marked dead directly.

use std::process::Output;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;
use tenantgate::db::schema::{audit_log, event_attempts, webhook_events};
use tenantgate::db::{Database, DbConn};
use tenantgate::inbox::claims::Attempt;
use tenantgate::inbox::listing::EventFilter;
use tenantgate::inbox::{self, NewEvent};
use tenantgate::operations::replay_matching::{replay_matching, Progress, Replayed, Selection};
use tenantgate::operations::Actor;

use crate::binary::{run, run_on_database, tenantgate};
use crate::helpers::*;
use crate::on_both_backends;

/// `tenantgate events ARGS…` with `DATABASE_URL` pointing at the test's database.
pub async fn events(database_url: &str, args: &[&str]) -> Output {
    let all: Vec<&str> = std::iter::once("events").chain(args.iter().copied()).collect();
    run_on_database(database_url, &all).await
}

pub fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?} (signal {:?}): {}",
        output.status.code(),
        std::os::unix::process::ExitStatusExt::signal(&output.status),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn failure(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The ids in the first column of a table, header and footer left out.
fn listed_ids(table: &str) -> Vec<i64> {
    table
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

fn now_utc() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// Marks events dead after three attempts, as the worker would, with one attempt row each.
async fn mark_dead(db: &Database, ids: &[i64]) {
    let ids = ids.to_vec();
    db.run(move |conn| {
        tenantgate::with_conn!(conn, |c| {
            use webhook_events::dsl as e;
            diesel::update(e::webhook_events.filter(e::id.eq_any(&ids)))
                .set((
                    e::status.eq("dead"),
                    e::attempts.eq(3),
                    e::last_error.eq("provider answered 400: bad destination"),
                    e::finished_at.eq(Some(now_utc())),
                ))
                .execute(c)?;
            for &id in &ids {
                let attempt = Attempt {
                    event_id: id,
                    attempt: 3,
                    started_at: now_utc(),
                    finished_at: now_utc(),
                    outcome: "dead".into(),
                    error: Some("provider answered 400: bad destination".into()),
                    http_status: Some(400),
                    duration_ms: 42,
                    throttled_calls: 0,
                };
                diesel::insert_into(event_attempts::table).values(&attempt).execute(c)?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
}

async fn status_of(app: &TestApp, id: i64) -> String {
    app.event(id).await.status.to_string()
}

pub fn flat(kind: &str, tenant: &str) -> serde_json::Value {
    let mut body = serde_json::json!({"eventType": kind, "tenantId": tenant, "tenantName": "T"});
    if kind.starts_with("user.") {
        body["userId"] = "u-1".into();
    }
    body
}

/// Stores `count` dead tenant.created events straight into the inbox, in one transaction.
async fn store_dead(db: &Database, count: usize) {
    let now = now_utc();
    db.run(move |conn| {
        conn.transaction(|conn| {
            for i in 0..count {
                let event = NewEvent {
                    source: "frontegg".into(),
                    idempotency_key: format!("bulk-{i}"),
                    body_sha256: format!("{i:064}"),
                    event_type: "tenant.created".into(),
                    kind: "tenant_created".into(),
                    tenant_id: Some(format!("bulk-tenant-{i}")),
                    user_id: None,
                    occurred_at: None,
                    received_at: now,
                    order_at: now,
                    payload: "{}".into(),
                    status: "dead".parse().unwrap(),
                    next_attempt_at: now,
                };
                inbox::insert_if_absent(conn, &event)?;
            }
            Ok::<_, tenantgate::db::StoreError>(())
        })
    })
    .await
    .unwrap();
}

/// An audit entry as stored, its detail parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub tenant_id: Option<String>,
    pub event_id: Option<i64>,
    pub detail: Value,
}

impl AuditEntry {
    /// The entry without the actor, which names the door.
    pub fn without_actor(&self) -> Self {
        let mut entry = self.clone();
        entry.detail.as_object_mut().unwrap().remove("by");
        entry
    }
}

/// The audit entries of `action`, oldest first.
fn read_audit_entries(conn: &mut DbConn, action: &str) -> Vec<AuditEntry> {
    use audit_log::dsl as l;
    let rows: Vec<(Option<String>, Option<i64>, Option<String>)> = tenantgate::with_conn!(conn, |c| l::audit_log
        .filter(l::action.eq(action))
        .order(l::id.asc())
        .select((l::tenant_id, l::event_id, l::detail))
        .load(c))
    .unwrap();
    rows.into_iter()
        .map(|(tenant_id, event_id, detail)| AuditEntry {
            tenant_id,
            event_id,
            detail: serde_json::from_str(&detail.unwrap()).unwrap(),
        })
        .collect()
}

pub async fn audit_entries(db: &Database, action: &'static str) -> Vec<AuditEntry> {
    db.run(move |c| Ok(read_audit_entries(c, action))).await.unwrap()
}

on_both_backends! {
    async fn events_list_show_and_replay_work_on_the_database(backend) {
        let app = spawn_app(backend).await;
        let a_created = app.deliver(&flat("tenant.created", "tenant-a")).await;
        let a_user = app.deliver(&flat("user.activated", "tenant-a")).await;
        let b_created = app.deliver(&flat("tenant.created", "tenant-b")).await;
        let b_deleted = app.deliver(&flat("tenant.deleted", "tenant-b")).await;
        let ignored = app.deliver(&flat("tenant.renamed.somehow", "tenant-c")).await;
        mark_dead(&app.db, &[a_user, b_created, b_deleted]).await;
        let url = app.database_url.as_str();

        // list: filters, newest first, pages.
        let dead = stdout(&events(url, &["list", "--status", "dead"]).await);
        assert!(dead.starts_with("ID  RECEIVED"), "{dead}");
        assert_eq!(listed_ids(&dead), vec![b_deleted, b_created, a_user], "{dead}");
        assert!(dead.contains("provider answered 400: bad destination") && dead.ends_with("no more events\n"), "{dead}");
        let tenant_a = stdout(&events(url, &["list", "--tenant", "tenant-a"]).await);
        assert_eq!(listed_ids(&tenant_a), vec![a_user, a_created], "{tenant_a}");
        let page = stdout(&events(url, &["list", "--limit", "2"]).await);
        assert_eq!(listed_ids(&page), vec![ignored, b_deleted], "{page}");
        assert!(page.ends_with(&format!("next page: --before {b_deleted}\n")), "{page}");
        let before = b_deleted.to_string();
        let page = stdout(&events(url, &["list", "--limit", "2", "--before", &before]).await);
        assert_eq!(listed_ids(&page), vec![b_created, a_user], "{page}");
        let future = stdout(&events(url, &["list", "--since", "2999-01-01T00:00:00Z"]).await);
        assert_eq!(future, "no events match\n");
        let past = stdout(&events(url, &["list", "--until", "2999-01-01T00:00:00+02:00"]).await);
        assert_eq!(listed_ids(&past).len(), 5, "{past}");
        let json = stdout(&events(url, &["list", "--kind", "tenant_created", "--json"]).await);
        let rows: Vec<serde_json::Value> = json.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, vec![b_created, a_created], "{json}");
        assert!(rows.iter().all(|r| r["kind"] == "tenant_created"), "{json}");
        let bad_time = events(url, &["list", "--since", "yesterday"]).await;
        assert_eq!(bad_time.status.code(), Some(2), "a usage error");
        assert!(String::from_utf8_lossy(&bad_time.stderr).contains("RFC 3339"));

        // show: fields, pretty payload, attempts.
        let shown = stdout(&events(url, &["show", &b_deleted.to_string()]).await);
        for expected in [
            format!("event {b_deleted}\n"),
            "  kind             tenant_deleted\n".to_owned(),
            "  tenant           tenant-b\n".to_owned(),
            "  status           dead\n".to_owned(),
            "  last error       provider answered 400: bad destination\n".to_owned(),
            "payload:\n{\n".to_owned(),
            "  \"tenantId\": \"tenant-b\"".to_owned(),
            "attempts:\n#  STARTED".to_owned(),
            "42 ms     dead     400   provider answered 400: bad destination".to_owned(),
        ] {
            assert!(shown.contains(&expected), "`{expected}` not in:\n{shown}");
        }
        assert!(failure(&events(url, &["show", "999999"]).await).contains("event 999999 not found"));

        // replay one; a pending event is refused.
        let one = stdout(&events(url, &["replay", &a_user.to_string()]).await);
        assert_eq!(one, format!("event {a_user} requeued\n"));
        let row = app.event(a_user).await;
        assert_eq!((row.status.as_str(), row.attempts, row.attempts_before_replay), ("pending", 3, 3));
        let err = failure(&events(url, &["replay", &a_user.to_string()]).await);
        assert!(err.contains(&format!("event {a_user} is pending")), "{err}");

        // bulk: an empty filter is refused without --all; a status filter requeues in bulk.
        let err = failure(&events(url, &["replay"]).await);
        assert!(err.contains("refusing to requeue every finished event") && err.contains("--all"), "{err}");
        assert_eq!(status_of(&app, b_created).await, "dead", "the refused replay changed nothing");
        let err = failure(&events(url, &["replay", "--status", "pending"]).await);
        assert!(err.contains("only finished events"), "{err}");
        let bulk = stdout(&events(url, &["replay", "--status", "dead"]).await);
        assert_eq!(bulk, "requeued 2 event(s)\n");
        for id in [b_created, b_deleted] {
            assert_eq!(status_of(&app, id).await, "pending");
        }
        let none = stdout(&events(url, &["replay", "--status", "dead"]).await);
        assert_eq!(none, "no finished events match: nothing requeued\n");
        let all = stdout(&events(url, &["replay", "--all"]).await);
        assert_eq!(all, "requeued 1 event(s)\n", "only the ignored event was still finished");
        assert_eq!(status_of(&app, ignored).await, "pending");
    }

    async fn a_bulk_replay_requeues_more_than_one_chunk(backend) {
        let app = spawn_app(backend).await;
        let count = 1_203;
        store_dead(&app.db, count).await;
        let url = app.database_url.as_str();
        let out = stdout(&events(url, &["replay", "--status", "dead", "--kind", "tenant_created"]).await);
        assert_eq!(out, format!("requeued {count} event(s)\n"));
        assert!(app.events().await.iter().all(|e| e.status == "pending"));
        let entries = audit_entries(&app.db, "events.replayed").await;
        assert_eq!(entries.len(), 1, "one audit entry for the whole replay: {entries:?}");
        assert_eq!(entries[0].detail["requeued"], count, "{entries:?}");
        assert_eq!(audit_entries(&app.db, "event.replayed").await, vec![], "no entry per event");
    }

    async fn a_replay_by_filter_reports_progress_after_each_chunk_and_its_entry_counts_each_committed_chunk(backend) {
        let app = spawn_app(backend).await;
        store_dead(&app.db, 1_203).await;
        let dead = EventFilter { status: Some("dead".into()), ..EventFilter::default() };
        let selection = Selection::new(dead, false).unwrap();
        let db = app.db.clone();
        let mut seen = Vec::new();
        let mut watch = |p: Progress| {
            // What the audit log holds at that moment, read beside the replay.
            let entries = tokio::task::block_in_place(|| read_audit_entries(&mut db.get().unwrap(), "events.replayed"));
            let counted: Vec<i64> = entries.iter().map(|e| e.detail["requeued"].as_i64().unwrap()).collect();
            seen.push((p.done, p.total, counted));
        };
        let replayed = replay_matching(&app.db, &selection, &Actor::cli(Some("ops")), Some(&mut watch)).await.unwrap();
        assert_eq!(replayed, Replayed { matched: 1_203, requeued: 1_203 });
        assert_eq!(
            seen,
            vec![(0, 1_203, vec![]), (500, 1_203, vec![500]), (1_000, 1_203, vec![1_000]), (1_203, 1_203, vec![1_203])],
            "a progress report after each chunk; one entry, counting what is committed"
        );
        let entries = audit_entries(&app.db, "events.replayed").await;
        assert_eq!(entries[0].detail["by"], "cli:ops");
    }
}

#[test]
fn events_commands_need_an_existing_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = tenantgate(dir.path(), &["events", "list"]);
    command.env("DATABASE_URL", "sqlite://nowhere/tenantgate.db");
    let err = failure(&run(command));
    assert!(err.contains("no database at nowhere/tenantgate.db"), "{err}");
    assert!(
        !dir.path().join("nowhere/tenantgate.db").exists(),
        "no database is created"
    );
}
