//! Outcomes written by group commit: a batch of finished attempts in one transaction, with the
//! tenant rows read with the claim.

use chrono::{NaiveDateTime, SubsecRound, Utc};
use serde_json::json;
use tenantgate::db::{DbConn, StoreError};
use tenantgate::inbox::claims::{self, Attempt, Completion};
use tenantgate::inbox::{EventRow, EventStatus};
use tenantgate::provisioning::outcome::{self, Finish};
use tenantgate::tenants::TenantRows;
use tenantgate::tenants::{self, Effect, Mapping, MappingStatus, TenantSso, TenantUser};

use crate::helpers::*;
use crate::on_both_backends;

fn user_event(tenant: &str, user: &str) -> serde_json::Value {
    json!({"eventType": "user.activated", "tenantId": tenant, "userId": user, "timestamp": "2026-01-01T00:00:00Z"})
}

/// Stores one user event per tenant and claims them all.
async fn claimed_user_events(app: &TestApp, tenants: &[&str]) -> Vec<EventRow> {
    for tenant in tenants {
        app.deliver(&user_event(tenant, "u1")).await;
    }
    let now = Utc::now().naive_utc();
    let limit = tenants.len() as i64;
    app.db
        .run(move |c| claims::claim(c, now, now + chrono::Duration::seconds(60), limit))
        .await
        .unwrap()
}

fn succeeded(row: &EventRow, effects: Vec<Effect>, now: NaiveDateTime) -> Finish {
    Finish {
        attempt: Attempt {
            event_id: row.id,
            attempt: row.attempts,
            started_at: now,
            finished_at: now,
            outcome: "succeeded".into(),
            error: None,
            http_status: None,
            duration_ms: 1,
            throttled_calls: 0,
        },
        completion: Completion::Succeeded,
        effects,
    }
}

fn user(row: &EventRow, now: NaiveDateTime) -> Effect {
    Effect::User(TenantUser {
        tenant_id: row.tenant_id.clone().unwrap(),
        user_id: "u1".into(),
        email: None,
        status: "active".parse().unwrap(),
        last_event_at: Some(now),
        created_at: now,
        updated_at: now,
        deleted_at: None,
    })
}

on_both_backends! {
    async fn a_released_claim_is_pending_again_when_no_attempt_of_its_round_was_made(backend) {
        let app = spawn_app(backend).await;
        let first = claimed_user_events(&app, &["rel"]).await.remove(0);
        let now = Utc::now().naive_utc();
        // Its first attempt dead; then replayed: a new round begins.
        let dead = Finish {
            completion: Completion::Dead { error: "gone".into() },
            ..succeeded(&first, vec![], now)
        };
        app.db.run(move |c| Ok(outcome::record_batch(c, vec![dead]))).await.unwrap();
        let id = first.id;
        let requeued = app
            .db
            .run(move |c| tenantgate::inbox::listing::requeue(c, &Default::default(), &[id], now))
            .await
            .unwrap();
        assert_eq!(requeued, 1);
        let again = app
            .db
            .run(move |c| claims::claim(c, now, now + chrono::Duration::seconds(60), 1))
            .await
            .unwrap()
            .remove(0);
        assert_eq!((again.attempts, again.attempts_in_round()), (2, 1));
        let released = app
            .db
            .run(move |c| claims::release(c, again.id, again.attempts, now))
            .await
            .unwrap();
        assert!(released);
        let row = app.event(again.id).await;
        assert_eq!((row.status.as_str(), row.attempts_in_round()), ("pending", 0), "{row:?}");
    }

    async fn a_batch_writes_each_held_claim_and_nothing_for_a_lost_one(backend) {
        let app = spawn_app(backend).await;
        let rows = claimed_user_events(&app, &["b1", "b2", "b3"]).await;
        assert_eq!(rows.len(), 3);
        let now = Utc::now().naive_utc().trunc_subsecs(6);
        let mut batch: Vec<Finish> = rows.iter().map(|r| succeeded(r, vec![user(r, now)], now)).collect();
        // The second claim was lost: another worker's attempt number is on the row now.
        batch[1].attempt.attempt += 1;

        let results = app.db.run(move |c| Ok(outcome::record_batch(c, batch))).await.unwrap();
        let results: Vec<bool> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(results, [true, false, true]);

        for (row, held) in rows.iter().zip(results) {
            let stored = app.event(row.id).await;
            let tenant = row.tenant_id.clone().unwrap();
            let (attempts, user) = app
                .db
                .run({
                    let id = row.id;
                    move |c| Ok((claims::attempts_of(c, id)?, tenants::user(c, &tenant, "u1")?))
                })
                .await
                .unwrap();
            if held {
                assert_eq!(stored.status, "succeeded", "event {}", row.id);
                assert_eq!(stored.finished_at, Some(now));
                assert_eq!(attempts.len(), 1);
                assert_eq!(user.map(|u| u.status.as_str()), Some("active"));
            } else {
                assert_eq!(stored.status, "processing", "a lost claim leaves the event to its new owner");
                assert!(attempts.is_empty() && user.is_none(), "nothing written for a lost claim");
            }
        }
    }

    async fn an_outcome_the_database_refuses_does_not_hold_back_the_rest_of_its_batch(backend) {
        let app = spawn_app(backend).await;
        let rows = claimed_user_events(&app, &["r1", "r2", "r3"]).await;
        let now = Utc::now().naive_utc();
        let mut batch: Vec<Finish> = rows.iter().map(|r| succeeded(r, vec![user(r, now)], now)).collect();
        // A mapping the database refuses (a trigger stands for any constraint): this outcome
        // cannot be written.
        app.db.run(refuse_mappings_of_r2).await.unwrap();
        batch[1].effects.push(Effect::Mapping(Mapping {
            tenant_id: "r2".into(),
            tenant_name: None,
            workspace_id: None,
            workspace_name: None,
            status: MappingStatus::Active,
            last_event_at: None,
            last_event_id: None,
            created_at: now,
            updated_at: now,
        }));

        let results = app.db.run(move |c| Ok(outcome::record_batch(c, batch))).await.unwrap();
        assert!(results[0].as_ref().is_ok_and(|held| *held));
        assert!(results[1].is_err(), "the refused outcome reports its error: {:?}", results[1]);
        assert!(results[2].as_ref().is_ok_and(|held| *held));
        let statuses: Vec<EventStatus> = futures_util::future::join_all(rows.iter().map(|r| app.event(r.id)))
            .await
            .into_iter()
            .map(|r| r.status)
            .collect();
        assert_eq!(statuses, ["succeeded", "processing", "succeeded"]);
        assert!(app.db.run(|c| tenants::user(c, "r2", "u1")).await.unwrap().is_none(), "nothing of the refused outcome");
    }

    async fn the_rows_read_at_the_claim_are_each_events_own(backend) {
        let app = spawn_app(backend).await;
        let now = Utc::now().naive_utc();
        let first = claimed_user_events(&app, &["k1"]).await;
        let mapping = Mapping {
            tenant_id: "k1".into(),
            tenant_name: Some("K \"one\" ünïcode".into()),
            workspace_id: Some("w1".into()),
            workspace_name: Some("K1".into()),
            status: MappingStatus::Active,
            last_event_at: Some(now),
            last_event_id: Some(first[0].id),
            created_at: now,
            updated_at: now,
        };
        let sso = TenantSso {
            tenant_id: "k1".into(),
            provider: "okta".into(),
            last_event_at: Some(now),
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        let effects = vec![user(&first[0], now), Effect::Mapping(mapping), Effect::Sso(sso)];
        let done = vec![succeeded(&first[0], effects, now)];
        app.db.run(move |c| Ok(outcome::record_batch(c, done))).await.unwrap();

        app.deliver(&json!({"eventType": "user.deactivated", "tenantId": "k1", "userId": "u1", "timestamp": "2026-01-02T00:00:00Z"})).await;
        app.deliver(&user_event("k2", "u9")).await;
        let later = Utc::now().naive_utc();
        let claimed = app
            .db
            .run(move |c| claims::claim_with_tenants(c, later, later + chrono::Duration::seconds(60), 10))
            .await
            .unwrap();
        let of = |tenant: &str| -> TenantRows {
            let claimed = claimed.iter().find(|c| c.row.tenant_id.as_deref() == Some(tenant)).unwrap();
            claimed.tenant.clone().unwrap()
        };
        assert_eq!(of("k1").user.as_ref().map(|u| u.status.as_str()), Some("active"), "k1's user as it stands");
        let stored = app
            .db
            .run(|c| Ok((tenants::mapping(c, "k1")?, tenants::user(c, "k1", "u1")?, tenants::sso(c, "k1")?)))
            .await
            .unwrap();
        assert!(stored.0.is_some() && stored.2.is_some());
        assert_eq!((of("k1").mapping, of("k1").user, of("k1").sso), stored, "read with the claim exactly as stored");
        assert!(of("k2").user.is_none() && of("k2").mapping.is_none(), "k2 has no rows yet");
    }
}

on_both_backends! {
    async fn an_expired_attempt_finishing_with_its_successor_in_one_batch_writes_only_the_successor(backend) {
        let app = spawn_app(backend).await;
        app.deliver(&user_event("x1", "u1")).await;
        let then = Utc::now().naive_utc();
        // The first attempt's lease has run out by the time the event is claimed again.
        let first = app.db.run(move |c| claims::claim(c, then, then, 1)).await.unwrap();
        let later = then + chrono::Duration::seconds(1);
        let second = app.db.run(move |c| claims::claim(c, later, later + chrono::Duration::seconds(60), 1)).await.unwrap();
        assert_eq!((first[0].id, first[0].attempts, second[0].attempts), (second[0].id, 1, 2));
        let now = Utc::now().naive_utc();
        let batch = vec![succeeded(&first[0], vec![], now), succeeded(&second[0], vec![user(&second[0], now)], now)];

        let results = app.db.run(move |c| Ok(outcome::record_batch(c, batch))).await.unwrap();
        let results: Vec<bool> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(results, [false, true], "only the attempt holding the claim is written");
        let id = second[0].id;
        let logged = app.db.run(move |c| claims::attempts_of(c, id)).await.unwrap();
        assert_eq!(logged.iter().map(|a| a.attempt).collect::<Vec<_>>(), [2], "the expired attempt is not logged");
    }
}

/// The claim's plan is made once per connection, generic, often while the inbox is still empty.
/// It must walk the unfinished events in order whatever the statistics say, or a backlog that
/// arrives later would be scanned whole and sorted at every claim.
#[tokio::test]
async fn the_claim_plan_made_on_an_empty_inbox_walks_the_unfinished_events_in_order() {
    let Some(app) = spawn_postgres_app().await else { return };
    let plan = app
        .db
        .run(claims::claim_plan)
        .await
        .unwrap()
        .expect("a plan on Postgres");
    let walk = "Index Scan using webhook_events_unfinished_order on webhook_events e";
    assert!(plan.contains(walk), "the claim walks the unfinished index:\n{plan}");
    assert!(
        !plan
            .lines()
            .take_while(|l| !l.contains(walk))
            .any(|l| l.contains("Sort")),
        "no sort of the claimable rows:\n{plan}"
    );
    assert!(
        app.db.run(claims::claim_plan).await.unwrap().is_some(),
        "it can be asked again on a connection"
    );
}

/// The claim and the outcome open their transactions with `BEGIN` and settings in one round trip.
/// If a setting fails after `BEGIN` went through, the connection must not stay in a transaction
/// the server has aborted: it goes back to the pool and would refuse every later statement.
#[tokio::test]
async fn a_transaction_whose_opening_settings_fail_leaves_its_connection_usable() {
    let Some(app) = spawn_postgres_app().await else { return };
    let (opened, after) = app
        .db
        .run(|c| {
            let opened = c.transaction_beginning(
                tenantgate::db::Begin::WithSettings("BEGIN; SET LOCAL enable_seqscan = 'sometimes'"),
                |_| Ok::<_, tenantgate::db::StoreError>(()),
            );
            Ok((opened, claims::any_unfinished(c)))
        })
        .await
        .unwrap();
    assert!(opened.is_err(), "the bad setting is reported");
    assert!(
        after.is_ok(),
        "the same connection answers the next statement: {after:?}"
    );
}

/// Makes the database refuse any mapping row of tenant `r2`, as a constraint would.
fn refuse_mappings_of_r2(conn: &mut DbConn) -> Result<(), StoreError> {
    use diesel::connection::SimpleConnection;
    let sql = match conn {
        DbConn::Pg(_) => {
            "CREATE FUNCTION refuse_r2() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'mapping refused'; END $$;
             CREATE TRIGGER refuse_r2 BEFORE INSERT OR UPDATE ON tenant_airbyte_workspaces
             FOR EACH ROW WHEN (NEW.tenant_id = 'r2') EXECUTE FUNCTION refuse_r2();"
        }
        DbConn::Sqlite(_) => {
            "CREATE TRIGGER refuse_r2 BEFORE INSERT ON tenant_airbyte_workspaces
             WHEN NEW.tenant_id = 'r2' BEGIN SELECT RAISE(ABORT, 'mapping refused'); END;"
        }
    };
    tenantgate::with_conn!(conn, |c| c.batch_execute(sql))?;
    Ok(())
}
