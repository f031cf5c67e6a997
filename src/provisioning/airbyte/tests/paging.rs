//! Looking a workspace up by name: paging, and listings whose order changes from page to page.

use std::sync::Mutex;

use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::*;
use crate::provisioning::provider::WorkspaceProvider;

fn names(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}-{i}")).collect()
}

async fn mount_page(server: &MockServer, offset: u32, answer: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path("/v1/workspaces"))
        .and(query_param("limit", "100"))
        .and(query_param("offset", offset.to_string()))
        .respond_with(answer)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn paging_through_three_pages_finds_a_name_on_the_third() {
    let server = strict_server().await;
    mount_page(&server, 0, workspaces_page(&names("a", 100), true)).await;
    mount_page(&server, 100, workspaces_page(&names("b", 100), true)).await;
    let mut last = names("c", 7);
    last.push("fe-tenant-42".into());
    mount_page(&server, 200, workspaces_page(&last, false)).await;

    let found = client(&server, static_token("t"))
        .find_workspace_by_name("fe-tenant-42")
        .await
        .unwrap();
    assert_eq!(found.map(|w| w.id), Some(id("fe-tenant-42")));
}

#[tokio::test]
async fn paging_stops_at_a_short_page_or_a_page_without_next() {
    let server = strict_server().await;
    mount_page(&server, 0, workspaces_page(&names("a", 100), false)).await;
    assert_eq!(
        client(&server, static_token("t"))
            .find_workspace_by_name("zzz")
            .await
            .unwrap(),
        None
    );

    let server = strict_server().await;
    mount_page(&server, 0, workspaces_page(&names("a", 100), true)).await;
    mount_page(&server, 100, workspaces_page(&names("b", 3), true)).await;
    // An exact match only: a prefix of a name is not that name.
    assert_eq!(
        client(&server, static_token("t"))
            .find_workspace_by_name("b-")
            .await
            .unwrap(),
        None
    );
}

/// Airbyte's `GET /workspaces`: LIMIT/OFFSET with no ORDER BY, so every request may order the
/// workspaces differently; `next` on every non-empty page, `""` on the empty one.
struct Unordered {
    names: Vec<String>,
    rng: Mutex<fastrand::Rng>,
}

impl Respond for Unordered {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query = |key: &str| {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.parse::<usize>().ok())
        };
        let (limit, offset) = (query("limit").unwrap_or(20), query("offset").unwrap_or(0));
        let mut names = self.names.clone();
        self.rng.lock().unwrap().shuffle(&mut names);
        let page: Vec<String> = names.into_iter().skip(offset).take(limit).collect();
        let next = if page.is_empty() {
            String::new()
        } else {
            format!(
                "https://api.airbyte.com/v1/workspaces?limit={limit}&offset={}",
                offset + limit
            )
        };
        let data: Vec<_> = page
            .iter()
            .map(|name| json!({"workspaceId": id(name), "name": name, "dataResidency": "auto", "notifications": {}}))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"data": data, "next": next, "previous": ""}))
    }
}

#[tokio::test]
async fn a_name_is_found_or_proven_absent_even_when_every_page_is_ordered_anew() {
    for seed in 0..10 {
        let server = strict_server().await;
        let names = names("w", 250);
        Mock::given(method("GET"))
            .and(path("/v1/workspaces"))
            .respond_with(Unordered {
                names: names.clone(),
                rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            })
            .mount(&server)
            .await;
        let client = client(&server, static_token("t"));
        // Whichever page a pass skips it on, the name is found.
        for wanted in ["w-0", "w-137", "w-249"] {
            let found = client.find_workspace_by_name(wanted).await.unwrap();
            assert_eq!(found.map(|w| w.id), Some(id(wanted)), "seed {seed}: {wanted}");
        }
        // Absent only once every one of the 250 was seen; and the search ends.
        assert_eq!(
            client.find_workspace_by_name("w-250").await.unwrap(),
            None,
            "seed {seed}"
        );
    }
}

#[tokio::test]
async fn a_listing_that_never_shows_every_workspace_is_an_error_not_an_absence() {
    let server = strict_server().await;
    // Every offset answers the same first 100 of 150: pages add up to 150, only 100 are seen.
    let first: Vec<String> = names("w", 100);
    Mock::given(method("GET"))
        .and(path("/v1/workspaces"))
        .and(query_param("offset", "100"))
        .respond_with(workspaces_page(&first[..50], true))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/workspaces"))
        .and(query_param("offset", "0"))
        .respond_with(workspaces_page(&first, true))
        .mount(&server)
        .await;
    let error = client(&server, static_token("t"))
        .find_workspace_by_name("elsewhere")
        .await
        .unwrap_err();
    assert!(error.retryable, "{error}");
    assert!(error.message.contains("100 of 150 workspaces seen"), "{error}");
}
