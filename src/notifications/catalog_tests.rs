//! The catalog's examples against the code that builds real notifications: every handler runs
//! (dry-run provider, a fresh SQLite database) and each notification it queues must carry
//! exactly the `data` fields of its type's example; README's Notifications table must list the
//! same fields. An example that drifts from what is sent fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::inbox::EventStatus;
use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::{json, Value};

use super::catalog::CATALOG;
use crate::config::DeletionPolicy;
use crate::db::Database;
use crate::inbox::claims::Completion;
use crate::inbox::EventRow;
use crate::provisioning::dry_run::DryRun;
use crate::provisioning::handlers::{handle, Context, Outcome};
use crate::provisioning::outcome::failure_notice;
use crate::tenants::{self, Effect};

type Fields = BTreeSet<String>;

fn at(secs: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0)
        .unwrap()
        .naive_utc()
}

/// A stored event with this flat payload, arriving at `at(n)`.
fn stored(n: i64, payload: Value) -> EventRow {
    EventRow {
        id: n,
        source: "frontegg".into(),
        idempotency_key: format!("key-{n}"),
        body_sha256: format!("sha-{n}"),
        event_type: payload["eventType"].as_str().unwrap_or_default().to_owned(),
        kind: "tenant_created".into(),
        tenant_id: payload["tenantId"].as_str().map(str::to_owned),
        user_id: payload["userId"].as_str().map(str::to_owned),
        occurred_at: None,
        received_at: at(n),
        order_at: at(n),
        payload: payload.to_string(),
        status: EventStatus::Processing,
        attempts: 1,
        next_attempt_at: at(n),
        locked_until: None,
        last_error: None,
        finished_at: None,
        attempts_before_replay: 0,
        replayed_at: None,
        throttled_attempts: 0,
    }
}

fn data_fields(effects: &[Effect]) -> Vec<(String, Fields)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Notify(m) => {
                let envelope: Value = serde_json::from_str(&m.payload).unwrap();
                let fields = envelope["data"].as_object().unwrap().keys().cloned().collect();
                Some((m.event_type.clone(), fields))
            }
            _ => None,
        })
        .collect()
}

/// Runs the events in order through the real handlers, writing each one's effects as the
/// worker does; returns the data fields of every notification queued, by type.
async fn sent(db: &Database, policy: DeletionPolicy, events: Vec<Value>, sent: &mut BTreeMap<String, Fields>) {
    let ctx = Context {
        db: db.clone(),
        provider: Arc::new(DryRun),
        deletion_policy: policy,
        name_template: "{tenant_name} [{tenant_id}]".into(),
        destinations: vec![],
        metrics: Arc::new(crate::metrics::Metrics::new().unwrap()),
        notices: Arc::new(tokio::sync::Notify::new()),
    };
    for (n, payload) in events.into_iter().enumerate() {
        let row = stored(i64::try_from(n).unwrap() + 1, payload);
        let Outcome::Done { effects } = handle(&ctx, &row, row.received_at, None).await.unwrap() else {
            panic!("{} was skipped", row.payload);
        };
        sent.extend(data_fields(&effects));
        db.run(move |c| tenants::apply(c, &effects)).await.unwrap();
    }
}

#[tokio::test]
async fn every_example_carries_exactly_the_data_fields_real_notifications_carry() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
    let db = Database::connect(&url, 2, Duration::from_secs(5)).unwrap();
    db.migrate().unwrap();
    let mut real = BTreeMap::new();
    let lifecycle = |tenant: &str| {
        vec![
            json!({"eventType": "tenant.created", "tenantId": tenant, "tenantName": "Acme"}),
            json!({"eventType": "user.activated", "tenantId": tenant, "userId": "u1", "email": "ada@acme.example"}),
            json!({"eventType": "user.deactivated", "tenantId": tenant, "userId": "u1"}),
            json!({"eventType": "sso.configured", "tenantId": tenant, "ssoProvider": "okta"}),
            json!({"eventType": "tenant.deleted", "tenantId": tenant}),
        ]
    };
    sent(&db, DeletionPolicy::Archive, lifecycle("t-archived"), &mut real).await;
    sent(&db, DeletionPolicy::Delete, lifecycle("t-deleted"), &mut real).await;
    let dead = stored(99, json!({"eventType": "tenant.created", "tenantId": "t-dead"}));
    let failed = failure_notice(&dead, &Completion::Dead { error: "gone".into() }, at(99));
    real.extend(data_fields(&failed.into_iter().collect::<Vec<_>>()));

    for t in CATALOG {
        let example: Fields = t.example()["data"].as_object().unwrap().keys().cloned().collect();
        let sent = real.get(t.name).unwrap_or_else(|| panic!("no handler sent {}", t.name));
        assert_eq!(&example, sent, "{}: the example's data against what is sent", t.name);
    }
    assert_eq!(
        real.len(),
        CATALOG.len(),
        "a type sent but not in the catalog: {real:?}"
    );
}

#[test]
fn the_readme_table_lists_each_types_data_fields() {
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme.split("\n## Notifications\n").nth(1).unwrap();
    let table = section.split("\n| type |").nth(1).unwrap();
    let quoted = |cell: &str| -> Vec<String> { cell.split('`').skip(1).step_by(2).map(str::to_owned).collect() };
    let mut documented: BTreeMap<String, Fields> = BTreeMap::new();
    let rows = table.lines().skip(2).take_while(|l| l.starts_with('|'));
    for row in rows {
        let cells: Vec<&str> = row.split('|').collect();
        for name in quoted(cells[1]) {
            documented.insert(name, quoted(cells[3]).into_iter().collect());
        }
    }
    for t in CATALOG {
        let example: Fields = t.example()["data"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(documented.get(t.name), Some(&example), "README's row for {}", t.name);
    }
    assert_eq!(
        documented.len(),
        CATALOG.len(),
        "README lists other types: {documented:?}"
    );
}
