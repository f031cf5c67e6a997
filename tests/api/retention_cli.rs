//! Retention through the real binary: `tenantgate events purge` (dry run, finished, on purpose
//! dead, its own cutoff, bad input), the `[retention]` settings, and the job inside `serve`.

use std::process::Output;
use std::time::Duration;

use diesel::prelude::*;
use tenantgate::db::schema::audit_log;
use tenantgate::db::Database;
use tenantgate::with_conn;

use crate::binary::{run, run_on_database, tenantgate, Server};
use crate::helpers::*;
use crate::on_both_backends;
use crate::retention::{all_but, attempts_by_event, remaining, seed, OLD_FINISHED};

/// `tenantgate events purge ARGS…` on the test's database.
async fn purge(database_url: &str, args: &[&str]) -> Output {
    let all: Vec<&str> = ["events", "purge"].into_iter().chain(args.iter().copied()).collect();
    run_on_database(database_url, &all).await
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The part of a purge's output before the cutoff time, which moves with the clock.
fn counts(out: &str) -> &str {
    out.split(": finished").next().unwrap_or(out)
}

async fn purge_audits(db: &Database) -> Vec<serde_json::Value> {
    db.run(|conn| {
        use audit_log::dsl as l;
        let details: Vec<Option<String>> = with_conn!(conn, |c| l::audit_log
            .filter(l::action.eq("events.purged"))
            .order(l::id.asc())
            .select(l::detail)
            .load(c))?;
        Ok(details
            .into_iter()
            .map(|d| serde_json::from_str(&d.unwrap_or_default()).unwrap())
            .collect())
    })
    .await
    .unwrap()
}

on_both_backends! {
    async fn events_purge_counts_on_a_dry_run_and_deletes_dead_events_only_when_asked(backend) {
        let app = spawn_app(backend).await;
        let ids = seed(&app.db).await;
        let url = app.database_url.as_str();

        let dry = stdout(&purge(url, &["--dry-run"]).await);
        assert_eq!(counts(&dry), "would purge 3 finished event(s) and 4 attempt(s)", "{dry}");
        assert!(dry.contains("more than 30 day(s) ago") && dry.ends_with("; nothing deleted (--dry-run)\n"), "{dry}");
        let dry = stdout(&purge(url, &["--dead", "--dry-run"]).await);
        assert_eq!(counts(&dry), "would purge 1 dead event(s) and 2 attempt(s)", "{dry}");
        assert_eq!(remaining(&app.db, &ids).await, all_but(&[]), "a dry run deletes nothing");

        let out = stdout(&purge(url, &[]).await);
        assert_eq!(counts(&out), "purged 3 finished event(s) and 4 attempt(s)", "{out}");
        assert_eq!(remaining(&app.db, &ids).await, all_but(&OLD_FINISHED));
        let out = stdout(&purge(url, &["--dead"]).await);
        assert_eq!(counts(&out), "purged 1 dead event(s) and 2 attempt(s)", "{out}");
        let mut gone = OLD_FINISHED.to_vec();
        gone.push("old dead");
        assert_eq!(remaining(&app.db, &ids).await, all_but(&gone));
        assert_eq!(attempts_by_event(&app.db).await.get(&ids["old dead"]), None);

        // Its own cutoff: one day takes the finished events of the last days too, never the unfinished.
        let out = stdout(&purge(url, &["--older-than-days", "1"]).await);
        assert!(out.starts_with("purged 2 finished event(s) and 4 attempt(s): finished more than 1 day(s) ago"), "{out}");
        gone.extend(["recent succeeded", "replayed lately"]);
        assert_eq!(remaining(&app.db, &ids).await, all_but(&gone));
        assert_eq!(remaining(&app.db, &ids).await, vec!["old pending", "old processing", "old retrying"]);

        let audits = purge_audits(&app.db).await;
        let summary: Vec<(String, i64)> = audits
            .iter()
            .map(|a| (a["status"].to_string(), a["events"].as_i64().unwrap()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (r#"["succeeded","skipped","ignored"]"#.to_owned(), 3),
                (r#"["dead"]"#.to_owned(), 1),
                (r#"["succeeded","skipped","ignored"]"#.to_owned(), 2),
            ],
            "one audit entry per purge that deleted something: {audits:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_purge_refuses_a_cutoff_out_of_range_naming_the_option() {
    let database = TestDatabase::create(Backend::Sqlite);
    for days in ["0", "36501", "-3", "soon"] {
        let out = purge(&database.url, &["--older-than-days", days]).await;
        assert_eq!(out.status.code(), Some(2), "--older-than-days {days} is a usage error");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--older-than-days"), "{days}: {err}");
    }
}

#[test]
fn an_invalid_retention_setting_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = tenantgate(dir.path(), &["check-config"]);
    command.env("TENANTGATE__RETENTION__FINISHED_AFTER_DAYS", "0");
    let out = run(command);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("retention.finished_after_days must be between 1 and 36500"),
        "{err}"
    );

    let mut command = tenantgate(dir.path(), &["check-config"]);
    command.env("TENANTGATE__RETENTION__INTERVAL_SECS", "60");
    let out = stdout(&run(command));
    assert!(
        out.contains("[retention]\nenabled = true\nfinished_after_days = 30\ninterval_secs = 60\n"),
        "{out}"
    );
}

on_both_backends! {
    async fn serve_runs_the_retention_job_logs_its_counts_and_stops_cleanly(backend) {
        let database = TestDatabase::create(backend);
        let db = Database::connect(&database.url, 2, Duration::from_secs(5)).unwrap();
        db.migrate().unwrap();
        let ids = seed(&db).await;

        let dir = tempfile::tempdir().unwrap();
        let mut command = tenantgate(dir.path(), &["serve"]);
        command
            .env("DATABASE_URL", &database.url)
            .env("TENANTGATE__RETENTION__INTERVAL_SECS", "1");
        let server = Server::start(command);
        let left = eventually(Duration::from_secs(20), || async {
            let left = remaining(&db, &ids).await;
            OLD_FINISHED.iter().all(|name| !left.contains(name)).then_some(left)
        })
        .await
        .expect("the job purged the old finished events");
        assert_eq!(left, all_but(&OLD_FINISHED));

        let lines = server.stop();
        let runs: Vec<&String> = lines.iter().filter(|l| l.contains("old finished events purged")).collect();
        assert!(
            runs.iter().any(|l| l.contains("purged.events=3") && l.contains("purged.attempts=4")),
            "one line per run with its counts:\n{}",
            lines.join("\n")
        );
        assert!(lines.iter().any(|l| l.contains("tenantgate stopped")), "{}", lines.join("\n"));
    }
}
