//! Each kind of drift, repaired through the inbox (or reported), on both backends.

use serde_json::json;

use super::*;
use crate::on_both_backends;

fn row(kind: &str, subject: &str, action: &str) -> (String, String, String) {
    (kind.to_owned(), subject.to_owned(), action.to_owned())
}

on_both_backends! {
    async fn a_missed_creation_is_repaired_with_exactly_one_workspace(backend) {
        let w = World::start(backend).await;
        w.frontegg.add_tenant("t-missed", "Acme");

        let run = w.run(true).await;
        assert_eq!(summary(&run), [row("unprovisioned_tenant", "t-missed", "queued")]);
        assert_eq!(w.repaired(&run).await, ["succeeded"]);
        let workspaces = w.airbyte.workspaces();
        assert_eq!(workspaces.len(), 1);
        assert_eq!(workspaces[0].1, "Acme [t-missed]");
        let mapping = w.mapping("t-missed").await.unwrap();
        assert_eq!((mapping.status.as_str(), mapping.workspace_id.as_deref()), ("active", Some(workspaces[0].0.as_str())));
        // The repair went through the inbox under its own source.
        let events = w.app.events().await;
        assert_eq!((events[0].source.as_str(), events[0].kind.as_str()), ("reconcile", "tenant_created"));

        let again = w.run(true).await;
        assert!(again.drifts.is_empty(), "{:?}", again.drifts);
    }

    async fn a_missed_deletion_is_confirmed_by_a_lookup_then_applied_by_the_deletion_policy(backend) {
        let w = World::start(backend).await;
        w.provisioned("t-gone", "Gone Inc").await;
        w.provisioned("t-kept", "Kept Inc").await;
        w.frontegg.add_tenant("t-kept", "Kept Inc");

        let run = w.run(true).await;
        assert_eq!(summary(&run), [row("deleted_tenant", "t-gone", "queued")]);
        assert_eq!(w.frontegg.counters().lookups, 1, "one look-up, for the tenant missing from the list");
        assert_eq!(w.repaired(&run).await, ["succeeded"]);
        assert_eq!(w.mapping("t-gone").await.unwrap().status, "archived");
        assert_eq!(w.mapping("t-kept").await.unwrap().status, "active");
    }

    async fn a_deleted_tenant_a_lagging_list_still_shows_is_looked_up_and_not_brought_back(backend) {
        let w = World::start(backend).await;
        w.provisioned("t-gone", "Gone Inc").await;
        w.provisioned("t-kept", "Kept Inc").await;
        w.frontegg.add_tenant("t-kept", "Kept Inc");
        let run = w.run(true).await;
        assert_eq!(w.repaired(&run).await, ["succeeded"]);
        assert_eq!(w.mapping("t-gone").await.unwrap().status, "archived");
        let made = w.airbyte.workspaces().len();

        // Frontegg's list still shows it (its deletion has not reached the listing yet); its
        // look-up does not.
        w.frontegg.add_tenant("t-gone", "Gone Inc");
        w.frontegg.after_page(0, |tenants| tenants.delete("t-gone"));
        let lookups = w.frontegg.counters().lookups;
        let run = w.run(true).await;
        assert!(summary(&run).is_empty(), "nothing to repair: {:?}", summary(&run));
        assert_eq!(w.frontegg.counters().lookups, lookups + 1, "one look-up, for the tenant listed with an archived mapping");
        assert_eq!(w.airbyte.workspaces().len(), made, "no workspace made for a deleted tenant");

        // Listed and found: it did come back, and is active again.
        w.frontegg.add_tenant("t-gone", "Gone Inc");
        let run = w.run(true).await;
        assert_eq!(summary(&run), [row("unprovisioned_tenant", "t-gone", "queued")]);
        assert_eq!(w.repaired(&run).await, ["succeeded"]);
        assert_eq!(w.mapping("t-gone").await.unwrap().status, "active");
    }

    async fn a_workspace_deleted_by_hand_is_recreated_and_the_tenant_remapped(backend) {
        let w = World::start(backend).await;
        let before = w.provisioned("t-hand", "Hand Co").await;
        w.frontegg.add_tenant("t-hand", "Hand Co");
        let old = before.workspace_id.clone().unwrap();
        w.airbyte.delete_by_hand(&old);

        let run = w.run(true).await;
        assert_eq!(summary(&run), [row("missing_workspace", "t-hand", "queued")]);
        assert_eq!(w.repaired(&run).await, ["succeeded"]);
        let after = w.mapping("t-hand").await.unwrap();
        assert_eq!(after.status, "active");
        let new = after.workspace_id.unwrap();
        assert_ne!(new, old, "remapped to a new workspace");
        let live: Vec<_> = w.airbyte.workspaces().into_iter().filter(|(_, _, deleted)| !deleted).collect();
        assert_eq!(live.len(), 1);
        assert_eq!((live[0].0.as_str(), live[0].1.as_str()), (new.as_str(), "Hand Co [t-hand]"));
        assert!(w.run(true).await.drifts.is_empty());
    }

    async fn a_missing_workspace_is_only_reported_when_recreation_is_off(backend) {
        let w = World::start(backend).await;
        let before = w.provisioned("t-hand", "Hand Co").await;
        w.frontegg.add_tenant("t-hand", "Hand Co");
        w.airbyte.delete_by_hand(before.workspace_id.as_deref().unwrap());

        let reconciler = w.reconciler(|s| s.reconcile.recreate_missing_workspaces = false);
        let run = finished(reconciler.run(true, &Actor::cli(None)).await.unwrap());
        assert_eq!(summary(&run), [row("missing_workspace", "t-hand", "reported")]);
        assert_eq!(w.app.events().await.len(), 1, "no repair event");
        assert_eq!(w.mapping("t-hand").await.unwrap(), before);
    }

    async fn a_renamed_tenant_gets_its_workspace_renamed(backend) {
        let w = World::start(backend).await;
        let before = w.provisioned("t-name", "Old Name").await;
        w.frontegg.add_tenant("t-name", "New Name");

        let run = w.run(true).await;
        assert_eq!(summary(&run), [row("renamed_tenant", "t-name", "queued")]);
        assert_eq!(w.repaired(&run).await, ["succeeded"]);
        let workspaces = w.airbyte.workspaces();
        assert_eq!((workspaces.len(), workspaces[0].1.as_str()), (1, "New Name [t-name]"));
        let after = w.mapping("t-name").await.unwrap();
        assert_eq!((after.workspace_id, after.tenant_name.as_deref()), (before.workspace_id, Some("New Name")));
    }

    async fn an_orphan_workspace_is_reported_and_left_alone(backend) {
        let w = World::start(backend).await;
        let orphan = w.airbyte.add_workspace("Ghost [t-ghost]");
        w.airbyte.add_workspace("Staging sandbox");

        let run = w.run(true).await;
        assert_eq!(summary(&run), [row("orphan_workspace", &orphan, "reported")]);
        assert!(w.app.events().await.is_empty());
        assert_eq!(w.airbyte.calls("DELETE", "/v1/workspaces/").await, 0);
        assert!(w.airbyte.workspaces().iter().all(|(_, _, deleted)| !deleted));
    }

    async fn a_repair_racing_the_real_webhook_for_the_same_tenant_makes_one_workspace(backend) {
        let w = World::start(backend).await;
        w.frontegg.add_tenant("t-race", "Race Ltd");
        let webhook = json!({"eventKey": "frontegg.tenant.created", "eventContext": {"tenantId": "t-race"},
                             "tenant": {"name": "Race Ltd"}});
        let (run, delivered) = tokio::join!(w.run(true), w.app.deliver(&webhook));

        w.app.finished_event(delivered, WAIT).await;
        w.repaired(&run).await;
        for event in w.app.events().await {
            let done = w.app.finished_event(event.id, WAIT).await;
            assert_eq!(done.status, "succeeded", "{done:?}");
        }
        assert_eq!(w.airbyte.calls("POST", "/v1/workspaces").await, 1);
        assert_eq!(w.airbyte.workspaces().len(), 1);
        assert_eq!(w.mapping("t-race").await.unwrap().status, "active");
    }

    async fn a_tenant_that_shifted_out_of_a_changing_list_is_looked_up_and_kept(backend) {
        let w = World::start(backend).await;
        for i in 0..5 {
            w.provisioned(&format!("t-{i}"), &format!("Tenant {i}")).await;
            if i > 0 {
                w.frontegg.add_tenant(&format!("t-{i}"), &format!("Tenant {i}"));
            }
        }
        // t-0 is gone. After the first page (t-1, t-2), t-1 goes too: every later tenant moves
        // up a place, so t-3 is on neither page although it is still there.
        w.frontegg.after_page(0, |tenants| tenants.delete("t-1"));
        let reconciler = w.reconciler(|s| s.reconcile.frontegg.page_size = 2);
        let run = finished(reconciler.run(true, &Actor::cli(None)).await.unwrap());
        assert_eq!(summary(&run), [row("deleted_tenant", "t-0", "queued")]);
        assert_eq!(w.frontegg.counters().lookups, 2, "t-0 and t-3 looked up");
        w.repaired(&run).await;
        assert_eq!(w.mapping("t-3").await.unwrap().status, "active");
    }
}
