//! The outbox: a notification is committed with the effect it announces, so neither a missing
//! dispatcher nor a dispatcher killed mid-send loses it.

use std::time::Duration;

use wiremock::ResponseTemplate;

use super::*;
use crate::on_both_backends;

on_both_backends! {
    async fn a_notification_queued_while_no_dispatcher_runs_is_delivered_by_the_next_instance(backend) {
        let receiver = Receiver::answering(200).await;
        let first = spawn_notifying_app(backend, |s| s.notifications.enabled = false).await;
        let sub = first.subscribe(&receiver.url(), &["workspace.provisioned"], None).await;
        let id = first.deliver(&tenant_created("t-outbox")).await;
        assert_eq!(first.finished_event(id, WAIT).await.status, "succeeded");
        let queued = first.deliveries(&sub.id).await;
        assert_eq!((queued.len(), queued[0]["status"].as_str()), (1, Some("pending")), "queued with the effect");
        assert!(receiver.requests().await.is_empty());

        let next = delivering_instance(&first).await;
        let envelope = verified(&sub.secret, &receiver.wait_for(1).await[0]).unwrap();
        assert_eq!((envelope["type"].as_str(), envelope["tenant_id"].as_str()), (Some("workspace.provisioned"), Some("t-outbox")));
        assert_eq!(next.finished_deliveries(&sub.id, 1).await[0]["status"], "succeeded");
    }

    async fn a_dispatcher_killed_mid_delivery_leaves_it_to_the_next_which_delivers_it(backend) {
        // The first answer never comes before the kill; later ones are at once.
        let receiver = Receiver::failing_first(1, ResponseTemplate::new(200).set_delay(Duration::from_secs(30))).await;
        let app = spawn_notifying_app(backend, |s| s.notifications.enabled = false).await;
        let sub = app.subscribe(&receiver.url(), &["workspace.provisioned"], None).await;

        let dir = tempfile::tempdir().unwrap();
        let mut worker = crate::binary::tenantgate(dir.path(), &["worker"]);
        worker
            .env("DATABASE_URL", &app.database_url)
            .env("TENANTGATE__NOTIFICATIONS__ENCRYPTION_KEYS", TEST_ENCRYPTION_KEY)
            .env("TENANTGATE__NOTIFICATIONS__REQUEST_TIMEOUT_MS", "1500")
            .env("TENANTGATE__NOTIFICATIONS__LEASE_SECS", "2")
            .env("TENANTGATE__NOTIFICATIONS__POLL_INTERVAL_MS", "50")
            .env("TENANTGATE__WORKER__POLL_INTERVAL_MS", "50")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut worker = worker.spawn().unwrap();
        let id = app.deliver(&tenant_created("t-killed")).await;
        receiver.wait_for(1).await;
        worker.kill().unwrap(); // SIGKILL mid-send: no outcome written, the lease still held
        worker.wait().unwrap();
        assert_eq!(app.finished_event(id, WAIT).await.status, "succeeded");
        assert_eq!(app.deliveries(&sub.id).await[0]["status"], "delivering");

        let rescuer = delivering_instance(&app).await;
        let log = rescuer.finished_deliveries(&sub.id, 1).await;
        assert_eq!((log[0]["status"].as_str(), log[0]["attempts"].as_i64()), (Some("succeeded"), Some(2)));
        let requests = receiver.requests().await;
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].headers["webhook-id"], requests[1].headers["webhook-id"], "the same message, sent again");
        verified(&sub.secret, &requests[1]).unwrap();
    }
}

/// Another instance on the same database, delivering.
async fn delivering_instance(other: &TestApp) -> TestApp {
    spawn_instance(other, |s| {
        s.admin.tokens = vec![crate::admin::ADMIN_TOKEN.to_owned().into()];
        s.worker.enabled = true;
        s.notifications.poll_interval_ms = 50;
        s.notifications.allowed_private_networks = vec!["127.0.0.1/32".into()];
    })
    .await
}
