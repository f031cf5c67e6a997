//! Checks the payload fixtures in `fixtures/` against `fixtures/expected.json` and
//! `fixtures/expected-bad.json`, so the fixtures, their README and the parser cannot drift apart.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use super::{normalize, EventKind};

#[derive(Debug, serde::Deserialize)]
struct Expected {
    file: String,
    kind: EventKind,
    tenant_id: Option<String>,
    user_id: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct ExpectedBad {
    file: String,
    error: Option<String>,
    field: Option<String>,
    kind: Option<EventKind>,
    tenant_id: Option<String>,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn read(relative: &str) -> Vec<u8> {
    let path = fixtures_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn expected() -> Vec<Expected> {
    serde_json::from_slice(&read("expected.json")).unwrap()
}

/// The `.json` files directly inside `fixtures/{folder}`, as `folder/name.json`.
fn files_in(folder: &str) -> BTreeSet<String> {
    std::fs::read_dir(fixtures_dir().join(folder))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .map(|name| format!("{folder}/{name}"))
        .collect()
}

#[test]
fn every_frontegg_and_flat_fixture_normalizes_to_its_expected_kind_and_ids() {
    for case in expected() {
        let event = normalize(&read(&case.file)).unwrap_or_else(|err| panic!("{}: {err}", case.file));
        assert_eq!(event.kind, case.kind, "{}", case.file);
        assert_eq!(event.tenant_id, case.tenant_id, "{}", case.file);
        assert_eq!(event.user_id, case.user_id, "{}", case.file);
    }
}

#[test]
fn expected_json_lists_exactly_the_files_of_the_frontegg_and_flat_folders() {
    let listed: BTreeSet<String> = expected().into_iter().map(|case| case.file).collect();
    let mut present = files_in("frontegg");
    present.extend(files_in("flat"));
    assert_eq!(listed, present);
}

#[test]
fn every_fixture_body_is_distinct_so_a_replay_accepts_each_once() {
    let mut seen = HashSet::new();
    for case in expected() {
        assert!(seen.insert(read(&case.file)), "duplicate body: {}", case.file);
    }
}

#[test]
fn the_frontegg_fixtures_use_event_key_and_the_flat_ones_event_type() {
    for case in expected() {
        let body: serde_json::Value = serde_json::from_slice(&read(&case.file)).unwrap();
        let frontegg = case.file.starts_with("frontegg/");
        assert_eq!(body.get("eventKey").is_some(), frontegg, "{}", case.file);
        assert_eq!(body.get("eventType").is_some(), !frontegg, "{}", case.file);
    }
}

#[test]
fn the_fixtures_cover_every_kind_in_both_shapes_where_it_exists() {
    let cases = expected();
    for kind in EventKind::ALL {
        let in_flat = cases
            .iter()
            .any(|case| case.kind == kind && case.file.starts_with("flat/"));
        let in_frontegg = cases
            .iter()
            .any(|case| case.kind == kind && case.file.starts_with("frontegg/"));
        assert!(in_frontegg, "no Frontegg fixture for {kind}");
        // The flat shape has no ignored example (that lives in bad/unknown-event.json), and no
        // example of a kind that has only Frontegg keys (a join).
        let has_flat_name = kind.event_names().any(|name| !name.starts_with("frontegg."));
        assert_eq!(in_flat, has_flat_name && kind != EventKind::Ignored, "{kind}");
    }
}

#[test]
fn every_handled_frontegg_key_has_a_fixture_in_frontegg_shape() {
    let keys: BTreeSet<String> = expected()
        .into_iter()
        .filter(|case| case.file.starts_with("frontegg/"))
        .map(|case| {
            let body: serde_json::Value = serde_json::from_slice(&read(&case.file)).unwrap();
            body["eventKey"].as_str().unwrap().to_owned()
        })
        .collect();
    for kind in EventKind::ALL {
        for name in kind.event_names().filter(|name| name.starts_with("frontegg.")) {
            assert!(keys.contains(name), "no fixture in frontegg/ sends {name}");
        }
    }
}

#[test]
fn the_join_fixtures_say_whether_the_user_is_active_in_the_tenant() {
    for (file, activated) in [
        ("frontegg/user-created.json", true),
        ("frontegg/user-invited-to-tenant.json", false),
        ("frontegg/user-joined-tenant-using-invitation-link.json", true),
    ] {
        let event = normalize(&read(file)).unwrap();
        assert_eq!(event.kind, EventKind::UserJoined, "{file}");
        assert_eq!(event.activated_for_tenant, activated, "{file}");
    }
}

#[test]
fn the_bad_fixtures_fail_or_are_ignored_as_listed() {
    let cases: Vec<ExpectedBad> = serde_json::from_slice(&read("expected-bad.json")).unwrap();
    let listed: BTreeSet<String> = cases.iter().map(|case| case.file.clone()).collect();
    assert_eq!(listed, files_in("bad"));
    for case in cases {
        match normalize(&read(&case.file)) {
            Ok(event) => {
                assert_eq!(case.error, None, "{} was accepted", case.file);
                assert_eq!(Some(event.kind), case.kind, "{}", case.file);
                assert_eq!(event.tenant_id, case.tenant_id, "{}", case.file);
            }
            Err(err) => {
                assert_eq!(case.error.as_deref(), Some(err.code()), "{}", case.file);
                assert_eq!(case.field.as_deref(), err.field(), "{}", case.file);
            }
        }
    }
}

#[test]
fn the_bad_fixtures_are_the_ones_the_brief_names() {
    let names = [
        "bad/malformed.json",
        "bad/missing-tenant-id.json",
        "bad/missing-user-id.json",
        "bad/not-an-object.json",
        "bad/unknown-event.json",
    ];
    assert_eq!(files_in("bad"), names.map(String::from).into());
}
