//! `tenantgate subscriptions list|add|rm|test` through the real binary, on a test's database.

use std::process::Output;

use super::secrets::{assert_sealed, insert_plain, stored, PLAIN, PLAIN_PREVIOUS};
use super::*;
use crate::binary::run_on_database;
use crate::on_both_backends;

async fn subscriptions(database_url: &str, args: &[&str]) -> Output {
    let all: Vec<&str> = std::iter::once("subscriptions").chain(args.iter().copied()).collect();
    run_on_database(database_url, &all).await
}

fn text(output: &Output) -> (Option<i32>, String, String) {
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_are_added_listed_tested_and_removed_from_the_command_line() {
    let (ok, failing) = (Receiver::answering(200).await, Receiver::answering(503).await);
    let app = spawn_app(Backend::Sqlite).await;
    let db = app.database_url.clone();

    let (code, out, err) = text(&subscriptions(&db, &["list"]).await);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("no subscriptions"), "{out}");

    let (code, out, err) = text(
        &subscriptions(
            &db,
            &[
                "add",
                "--url",
                &ok.url(),
                "--events",
                "workspace.provisioned,user.activated",
                "--tenant",
                "t1",
            ],
        )
        .await,
    );
    assert_eq!(code, Some(0), "{err}");
    let id = out.split_whitespace().nth(1).unwrap().to_owned();
    assert!(id.starts_with("sub_"), "{out}");
    let secret = out.lines().find_map(|l| l.strip_prefix("secret: ")).unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_sealed(&stored(&app, &id).await.0, TEST_ENCRYPTION_KEY, &secret);

    let (_, out, _) = text(&subscriptions(&db, &["list"]).await);
    let row = out
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        row.contains("active") && row.contains("user.activated,workspace.provisioned") && row.contains("t1"),
        "{row}"
    );
    assert!(!out.contains("whsec_"), "list never shows a secret");

    let (code, out, err) = text(&subscriptions(&db, &["test", &id]).await);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("delivered: the endpoint answered 200 in"), "{out}");
    let envelope = verified(&secret, &ok.requests().await[0]).unwrap();
    assert_eq!(envelope["type"], "subscription.test");

    let (code, out, _) = text(&subscriptions(&db, &["add", "--url", &failing.url()]).await);
    assert_eq!(code, Some(0));
    let failing_id = out.split_whitespace().nth(1).unwrap().to_owned();
    let (code, _, err) = text(&subscriptions(&db, &["test", &failing_id]).await);
    assert_eq!(code, Some(1));
    assert!(err.contains("not delivered") && err.contains("503"), "{err}");

    let (code, _, err) = text(&subscriptions(&db, &["add", "--url", &ok.url(), "--events", "nope"]).await);
    assert_eq!(code, Some(1));
    assert!(err.contains("unknown notification type `nope`"), "{err}");

    let (code, out, err) = text(&subscriptions(&db, &["rm", &id]).await);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("deleted"), "{out}");
    let (code, _, err) = text(&subscriptions(&db, &["rm", &id]).await);
    assert_eq!(code, Some(1));
    assert!(err.contains(&format!("no subscription {id}")), "{err}");
}

on_both_backends! {
    async fn the_subscriptions_command_encrypts_plain_text_rows_before_it_acts(backend) {
        let receiver = Receiver::answering(200).await;
        let app = spawn_app(backend).await;
        insert_plain(&app, "sub_legacy", &receiver.url()).await;

        let (code, out, err) = text(&subscriptions(&app.database_url, &["list"]).await);
        assert_eq!(code, Some(0), "{err}");
        assert!(out.contains("sub_legacy") && !out.contains("whsec_"), "{out}");
        let (secret, previous) = stored(&app, "sub_legacy").await;
        assert_sealed(&secret, TEST_ENCRYPTION_KEY, PLAIN);
        assert_sealed(&previous.unwrap(), TEST_ENCRYPTION_KEY, PLAIN_PREVIOUS);

        let (code, out, err) = text(&subscriptions(&app.database_url, &["test", "sub_legacy"]).await);
        assert_eq!(code, Some(0), "{err}");
        assert!(out.contains("delivered"), "{out}");
        let request = &receiver.requests().await[0];
        verified(PLAIN, request).unwrap();
        verified(PLAIN_PREVIOUS, request).unwrap();
    }
}
