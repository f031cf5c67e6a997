//! Old notifications go with the retention purge once every delivery of theirs has finished.

use diesel::prelude::*;
use tenantgate::db::schema::{notification_attempts, notification_deliveries, notification_messages};
use tenantgate::notifications::store::purge_finished;
use tenantgate::with_conn;

use super::*;
use crate::on_both_backends;

on_both_backends! {
    async fn old_notifications_whose_deliveries_finished_are_purged_and_waiting_ones_kept(backend) {
        let (ok, down) = (Receiver::answering(200).await, Receiver::answering(503).await);
        let app = spawn_notifying_app(backend, |s| s.notifications.retry_schedule_secs = vec![3600.0]).await;
        let delivered = app.subscribe(&ok.url(), &["workspace.provisioned"], Some("t-old")).await;
        let waiting = app.subscribe(&down.url(), &["workspace.provisioned"], Some("t-waiting")).await;
        app.deliver(&tenant_created("t-old")).await;
        app.deliver(&tenant_created("t-waiting")).await;
        app.finished_deliveries(&delivered.id, 1).await;
        eventually(WAIT, || async {
            (app.deliveries(&waiting.id).await.first()?["status"] == "failed_retrying").then_some(())
        })
        .await
        .expect("the second delivery waits for its retry");

        let long_ago = chrono::Utc::now().naive_utc() - chrono::Duration::days(40);
        let cutoff = chrono::Utc::now().naive_utc() - chrono::Duration::days(30);
        let counts = |app: &TestApp| {
            let db = app.db.clone();
            async move {
                db.run(|conn| {
                    Ok(with_conn!(conn, |c| (
                        notification_messages::table.count().get_result::<i64>(c)?,
                        notification_deliveries::table.count().get_result::<i64>(c)?,
                        notification_attempts::table.count().get_result::<i64>(c)?,
                    )))
                })
                .await
                .unwrap()
            }
        };
        assert_eq!(counts(&app).await, (2, 2, 2));
        // Created long ago, but delivered just now (a redelivery, say): kept.
        let purged = app
            .db
            .run(move |conn| {
                with_conn!(conn, |c| diesel::update(notification_messages::table)
                    .set(notification_messages::created_at.eq(long_ago))
                    .execute(c))?;
                purge_finished(conn, cutoff, 1000)
            })
            .await
            .unwrap();
        assert_eq!(purged, 0, "a delivery that finished after the cutoff keeps its notification");
        let purged = app
            .db
            .run(move |conn| {
                with_conn!(conn, |c| diesel::update(notification_deliveries::table)
                    .filter(notification_deliveries::finished_at.is_not_null())
                    .set(notification_deliveries::finished_at.eq(Some(long_ago)))
                    .execute(c))?;
                purge_finished(conn, cutoff, 1000)
            })
            .await
            .unwrap();
        assert_eq!(purged, 1, "only the delivered one");
        assert_eq!(counts(&app).await, (1, 1, 1));
        assert_eq!(app.deliveries(&waiting.id).await[0]["status"], "failed_retrying");
        assert!(app.deliveries(&delivered.id).await.is_empty());
    }
}
