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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_sets_a_subscriptions_own_settings_and_tests_any_url_or_every_subscriber() {
    let (ok, failing) = (Receiver::answering(200).await, Receiver::answering(503).await);
    let app = spawn_app(Backend::Sqlite).await;
    let db = app.database_url.clone();

    let (code, out, err) = text(
        &subscriptions(
            &db,
            &[
                "add",
                "--url",
                &ok.url(),
                "--name",
                "CRM sync",
                "--timeout-ms",
                "2500",
                "--max-attempts",
                "3",
            ],
        )
        .await,
    );
    assert_eq!(code, Some(0), "{err}");
    let id = out.split_whitespace().nth(1).unwrap().to_owned();
    let secret = out.lines().find_map(|l| l.strip_prefix("secret: ")).unwrap().to_owned();
    let (_, out, _) = text(&subscriptions(&db, &["list"]).await);
    assert!(out.lines().next().unwrap().contains("TIMEOUT MS"), "{out}");
    let row = out
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        row.contains("CRM sync") && row.contains("2500") && row.contains(" 3 "),
        "{row}"
    );

    for (flag, value, says) in [
        ("--max-attempts", "0", "max_attempts must be between 1 and 50, got 0"),
        (
            "--timeout-ms",
            "15001",
            "request_timeout_ms must be between 1 and 15000 (notifications.request_timeout_ms), got 15001",
        ),
        ("--timeout-ms", "-1", "got -1"),
    ] {
        let (code, _, err) = text(&subscriptions(&db, &["add", "--url", &ok.url(), flag, value]).await);
        assert_eq!(code, Some(1), "{flag} {value}");
        assert!(err.contains(says), "{flag} {value}: {err}");
    }

    let (code, out, err) = text(&subscriptions(&db, &["test", "--url", &failing.url()]).await);
    assert_eq!(code, Some(1), "{out}");
    assert!(err.contains("not delivered") && err.contains("503"), "{err}");
    let (code, out, err) = text(&subscriptions(&db, &["test", "--url", &ok.url()]).await);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("delivered: the endpoint answered 200 in"), "{out}");
    let one_off = out
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{out}"));
    let request = ok.requests().await.pop().unwrap();
    assert_eq!(verified(one_off, &request).unwrap()["type"], "subscription.test");
    assert!(verified(&secret, &request).is_err(), "not the subscription's secret");

    let (code, out, _) = text(&subscriptions(&db, &["test", "--all"]).await);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&id) && out.contains("CRM sync") && out.contains("delivered (200)"),
        "{out}"
    );
    let (_, out, _) = text(&subscriptions(&db, &["add", "--url", &failing.url()]).await);
    let failing_id = out.split_whitespace().nth(1).unwrap().to_owned();
    let (code, out, err) = text(&subscriptions(&db, &["test", "--all"]).await);
    assert_eq!(code, Some(1), "{out}");
    let row = out
        .lines()
        .find(|l| l.starts_with(&failing_id))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(row.contains("not delivered: the endpoint answered 503"), "{row}");
    assert!(err.contains("1 of 2 subscriptions did not answer 2xx"), "{err}");

    let (code, _, err) = text(&subscriptions(&db, &["test"]).await);
    assert_eq!(code, Some(2), "a target is required: {err}");
    let (code, _, _) = text(&subscriptions(&db, &["test", &id, "--all"]).await);
    assert_eq!(code, Some(2), "one target only");
}
