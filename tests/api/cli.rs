//! The binary as a new user meets it: start-up on each backend, start-up failures, migrate,
//! configuration errors and check-config.

use crate::binary::{run, tenantgate, Server};
use crate::helpers::*;

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn serve_starts_on_sqlite_with_no_set_up_and_readyz_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(tenantgate(dir.path(), &["serve"]));
    let body: serde_json::Value = reqwest::get(format!("{}/readyz", server.address))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["database"]["backend"], "sqlite", "{body}");
    assert!(
        dir.path().join("data/tenantgate.db").exists(),
        "the default SQLite file is created"
    );
    let lines = server.stop();
    assert!(
        lines.iter().any(|l| l.contains("tenantgate stopped")),
        "no graceful stop:\n{}",
        lines.join("\n")
    );
}

#[tokio::test]
async fn serve_starts_on_postgres_from_database_url() {
    let Some(_) = postgres_url() else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let database = TestDatabase::create(Backend::Postgres);
    let dir = tempfile::tempdir().unwrap();
    let mut command = tenantgate(dir.path(), &["serve"]);
    command.env("DATABASE_URL", &database.url);
    let server = Server::start(command);
    let body: serde_json::Value = reqwest::get(format!("{}/readyz", server.address))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["database"]["backend"], "postgres", "{body}");
    server.stop();
}

#[test]
fn a_database_that_cannot_be_reached_stops_start_up_with_its_own_words() {
    let Some(admin_url) = postgres_url() else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            admin_url
                .replacen("://", "://no_such_user_tg@", 1)
                .replacen("@postgres@", "@", 1),
            "no_such_user_tg",
        ),
        (with_database(&admin_url, "no_such_database_tg"), "no_such_database_tg"),
        ("postgres://postgres@127.0.0.1:1/test".to_owned(), "Connection refused"),
    ];
    for (url, expected) in cases {
        let mut command = tenantgate(dir.path(), &["serve"]);
        command.env("DATABASE_URL", &url);
        let output = run(command);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{url}: {err}");
        assert!(err.contains(expected), "{url}: expected `{expected}` in: {err}");
        assert!(!err.contains("panicked") && !err.contains("backtrace"), "{url}: {err}");
    }
}

#[test]
fn migrate_twice_applies_nothing_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(tenantgate(dir.path(), &["migrate"]));
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(String::from_utf8_lossy(&first.stdout).contains("applied migration"));
    let second = run(tenantgate(dir.path(), &["migrate"]));
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(String::from_utf8_lossy(&second.stdout).contains("no pending migrations"));
}

#[test]
fn an_invalid_value_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("TENANTGATE__SERVER__PORT", "70000", "server.port"),
        ("TENANTGATE__LOG__FORMAT", "xml", "log.format"),
        (
            "TENANTGATE__SOURCES__FRONTEGG__SCHEMES",
            "rot13",
            "sources.frontegg.schemes",
        ),
        (
            "TENANTGATE__SOURCES__FRONTEGG__ALLOWED_IPS",
            "not-an-ip",
            "sources.frontegg.allowed_ips",
        ),
    ];
    for (name, value, key) in cases {
        let mut command = tenantgate(dir.path(), &["serve"]);
        command.env(name, value);
        let output = run(command);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{name}={value}: {err}");
        assert!(err.contains(key), "{name}={value}: expected `{key}` in: {err}");
    }
}

#[test]
fn production_without_a_secret_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = tenantgate(dir.path(), &["serve"]);
    command.env("TENANTGATE_ENV", "production");
    let output = run(command);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("sources.frontegg.secrets"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn check_config_never_prints_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = tenantgate(dir.path(), &["check-config"]);
    command
        .env(
            "TENANTGATE__SOURCES__FRONTEGG__SECRETS",
            "first-secret-value-x1,second-secret-value-x2",
        )
        .env(
            "DATABASE_URL",
            "postgres://app:db-password-value-x3@db.internal:5432/tenantgate",
        );
    let output = run(command);
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", stderr(&output));
    for secret in [
        "first-secret-value-x1",
        "second-secret-value-x2",
        "db-password-value-x3",
    ] {
        assert!(!out.contains(secret), "check-config printed {secret}:\n{out}");
    }
    assert!(out.contains("postgres://db.internal:5432/tenantgate"), "{out}");
    assert!(out.contains("secrets = [\"[redacted]\",\"[redacted]\"]"), "{out}");
}

#[test]
fn the_retry_schedule_can_be_set_by_one_environment_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (value, expected) in [("0.2,0.4,0.8", "[0.2,0.4,0.8]"), ("30", "[30.0]"), ("1.5", "[1.5]")] {
        let mut command = tenantgate(dir.path(), &["check-config"]);
        command.env("TENANTGATE__WORKER__RETRY_SCHEDULE_SECS", value);
        let output = run(command);
        let out = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{value}: {}", stderr(&output));
        assert!(
            out.contains(&format!("retry_schedule_secs = {expected}")),
            "{value}:\n{out}"
        );
    }
}
