//! `tenantgate replay` against a running `tenantgate serve`, and `tenantgate sign`, through the
//! real binary with the shipped development configuration.

use std::path::{Path, PathBuf};
use std::process::Output;

use secrecy::SecretString;
use tenantgate::verify::{Scheme, Verifier, VerifyOptions};

use crate::binary::{run, tenantgate, Server};
use crate::helpers::*;

/// The webhook secret the development profile generated in `dir` (run as a new user would, in a
/// fresh folder), if it did.
fn dev_secret(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join("data/credentials/webhook-secret"))
        .ok()
        .map(|s| s.trim().to_owned())
}

fn fixtures(folder: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(folder)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `.json` files of a folder, sorted: what `replay FOLDER` sends, in order.
fn json_files(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Runs `tenantgate replay ARGS…` in `dir` (where the server runs, so both read the development
/// credentials generated there), with the clean environment. The secret is printed only by the
/// run that generates it, once.
fn replay(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["replay"];
    all.extend_from_slice(args);
    let existing = dev_secret(dir);
    let output = run(tenantgate(dir, &all));
    let printed = text(&output.stdout) + text(&output.stderr).as_str();
    if let Some(secret) = existing {
        assert!(!printed.contains(&secret), "replay printed the secret:\n{printed}");
    }
    output
}

/// Per file, in order: (HTTP status, answer, event id) from `PATH  200 accepted  event 12`.
fn answers(output: &Output, files: &[PathBuf]) -> Vec<(String, String, i64)> {
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        files.len() + 1,
        "one line per file and a summary:\n{stdout}"
    );
    files
        .iter()
        .zip(&lines)
        .map(|(file, line)| {
            let rest = line
                .strip_prefix(file.to_str().unwrap())
                .unwrap_or_else(|| panic!("line for {} expected, got: {line}", file.display()));
            let words: Vec<&str> = rest.split_whitespace().collect();
            assert_eq!(words.len(), 4, "{line}");
            assert_eq!(words[2], "event", "{line}");
            (words[0].to_owned(), words[1].to_owned(), words[3].parse().unwrap())
        })
        .collect()
}

/// Replays fixtures/frontegg twice: stored the first time (the unknown event as `ignored`),
/// every file a duplicate of the same event the second time.
fn replay_twice_against(dir: &Path, server: &Server, scheme: Option<&str>) {
    let folder = fixtures("frontegg");
    let files = json_files(&folder);
    let mut args = vec![folder.to_str().unwrap(), "--url", server.address.as_str()];
    if let Some(scheme) = scheme {
        args.extend(["--scheme", scheme]);
    }

    let first = replay(dir, &args);
    assert_eq!(first.status.code(), Some(0), "{scheme:?}: {}", text(&first.stderr));
    let stored = answers(&first, &files);
    for (file, (http, answer, _)) in files.iter().zip(&stored) {
        let want = if file.to_str().unwrap().contains("ignored") {
            "ignored"
        } else {
            "accepted"
        };
        assert_eq!(
            (http.as_str(), answer.as_str()),
            ("200", want),
            "{scheme:?} {}",
            file.display()
        );
    }
    let n = files.len();
    let summary = format!("{n} sent: {} accepted, 0 duplicate, 1 ignored, 0 failed", n - 1);
    assert_eq!(text(&first.stdout).lines().last(), Some(summary.as_str()));

    let second = replay(dir, &args);
    assert_eq!(second.status.code(), Some(0), "{scheme:?}: {}", text(&second.stderr));
    for ((http, answer, id), (_, _, first_id)) in answers(&second, &files).iter().zip(&stored) {
        assert_eq!(
            (http.as_str(), answer.as_str(), id),
            ("200", "duplicate", first_id),
            "{scheme:?}"
        );
    }
    let summary = format!("{n} sent: 0 accepted, {n} duplicate, 0 ignored, 0 failed");
    assert_eq!(text(&second.stdout).lines().last(), Some(summary.as_str()));
}

#[test]
fn replaying_a_folder_stores_every_file_once_and_a_rerun_is_all_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(tenantgate(dir.path(), &["serve"]));
    replay_twice_against(dir.path(), &server, None);
}

#[test]
fn replaying_with_each_scheme_is_accepted_then_duplicate() {
    for scheme in Scheme::ALL {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(tenantgate(dir.path(), &["serve"]));
        replay_twice_against(dir.path(), &server, Some(scheme.as_str()));
    }
}

#[test]
fn a_refused_file_is_reported_with_its_status_and_the_exit_code_is_1() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(tenantgate(dir.path(), &["serve"]));
    let malformed = fixtures("bad").join("malformed.json");
    let good = fixtures("flat").join("tenant-created.json");
    let output = replay(
        dir.path(),
        &[
            malformed.to_str().unwrap(),
            good.to_str().unwrap(),
            "--url",
            &server.address,
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with(malformed.to_str().unwrap()) && lines[0].contains(" 400 malformed_json: "),
        "{stdout}"
    );
    assert!(lines[1].contains(" 200 accepted "), "{stdout}");
    assert_eq!(lines[2], "2 sent: 1 accepted, 0 duplicate, 0 ignored, 1 failed");
    assert!(text(&output.stderr).contains("1 of 2 deliveries failed"));
}

#[test]
fn a_receiver_that_does_not_answer_is_a_failure() {
    let file = fixtures("flat").join("tenant-created.json");
    let dir = tempfile::tempdir().unwrap();
    let output = replay(dir.path(), &[file.to_str().unwrap(), "--url", "http://127.0.0.1:1"]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("no answer: ") && stdout.contains("127.0.0.1:1/api/webhooks/frontegg"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("1 sent: 0 accepted, 0 duplicate, 0 ignored, 1 failed\n"),
        "{stdout}"
    );
}

#[test]
fn replay_refuses_an_empty_folder_a_missing_file_and_a_configuration_without_a_secret() {
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("notes.txt"), "not a payload").unwrap();
    let output = replay(empty.path(), &[empty.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("holds no .json files"),
        "{}",
        text(&output.stderr)
    );

    let output = replay(empty.path(), &["/no/such/fixture.json"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("/no/such/fixture.json"),
        "{}",
        text(&output.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let file = fixtures("flat").join("tenant-created.json");
    for command in ["replay", "sign"] {
        let mut no_secret = tenantgate(dir.path(), &[command, file.to_str().unwrap()]);
        no_secret
            .env("TENANTGATE_ENV", "production")
            .env("TENANTGATE__NOTIFICATIONS__ENCRYPTION_KEYS", TEST_ENCRYPTION_KEY)
            .env("TENANTGATE__SOURCES__FRONTEGG__INSECURE_SKIP_VERIFICATION", "true");
        let output = run(no_secret);
        assert_eq!(output.status.code(), Some(1), "{command}");
        let err = text(&output.stderr);
        assert!(
            err.contains("no secret to sign with: set sources.frontegg.secrets"),
            "{command}: {err}"
        );
    }
}

#[test]
fn sign_prints_headers_that_verify_and_a_curl_command() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixtures("frontegg").join("tenant-created.json");
    let body = std::fs::read(&file).unwrap();
    for scheme in Scheme::ALL {
        let mut command = tenantgate(
            dir.path(),
            &["sign", file.to_str().unwrap(), "--scheme", scheme.as_str()],
        );
        command.env("TENANTGATE__SOURCES__FRONTEGG__SECRETS", TEST_SECRET);
        let output = run(command);
        assert!(output.status.success(), "{scheme}: {}", text(&output.stderr));
        let stdout = text(&output.stdout);
        assert!(!stdout.contains(TEST_SECRET), "sign printed the secret:\n{stdout}");

        let (header_block, curl) = stdout.split_once("\n\n").expect("headers, a blank line, the command");
        let headers: Vec<(String, String)> = header_block
            .lines()
            .map(|line| {
                let (name, value) = line.split_once(": ").expect("name: value");
                (name.to_owned(), value.to_owned())
            })
            .collect();
        let verifier = Verifier::new(
            vec![scheme],
            vec![SecretString::from(TEST_SECRET.to_owned())],
            VerifyOptions::default(),
        );
        assert_eq!(
            verifier.verify(&body, &headers, now()).map(|v| v.scheme),
            Ok(scheme),
            "{stdout}"
        );

        let curl = curl.trim_end();
        assert!(
            curl.starts_with(
                "curl -X POST http://127.0.0.1:8000/api/webhooks/frontegg -H 'content-type: application/json' -H '"
            ),
            "{curl}"
        );
        for (name, value) in &headers {
            assert!(curl.contains(&format!("-H '{name}: {value}'")), "{curl}");
        }
        assert!(curl.ends_with(&format!("--data-binary @{}", file.display())), "{curl}");
    }
}

#[test]
fn sign_uses_the_first_configured_scheme_and_the_given_url() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixtures("flat").join("tenant-created.json");
    let mut command = tenantgate(
        dir.path(),
        &["sign", file.to_str().unwrap(), "--url", "https://abc.ngrok-free.app"],
    );
    command.env("TENANTGATE__SOURCES__FRONTEGG__SCHEMES", "hmac-sha256,frontegg-jwt");
    let output = run(command);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.starts_with("x-webhook-signature: sha256="), "{stdout}");
    assert!(
        stdout.contains("curl -X POST https://abc.ngrok-free.app/api/webhooks/frontegg "),
        "{stdout}"
    );
    let secret = dev_secret(dir.path()).expect("the development profile generated its webhook secret");
    assert!(!stdout.contains(&secret), "{stdout}");
}
