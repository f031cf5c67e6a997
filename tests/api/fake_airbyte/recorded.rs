//! The requests the fake received, as tests ask for them.

use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::Request;

use super::FakeAirbyte;

impl FakeAirbyte {
    async fn requests(&self, method: &str, path_prefix: &str) -> Vec<Request> {
        let prefix = full_path(path_prefix);
        let received = self.server.received_requests().await.unwrap_or_default();
        received
            .into_iter()
            .filter(|request| request.method.as_str().eq_ignore_ascii_case(method))
            .filter(|request| request.url.path().starts_with(&prefix))
            .collect()
    }

    /// Requests received with `method` whose path starts with `path_prefix` (e.g. `"/v1/workspaces"`;
    /// `"/workspaces"` means the same).
    pub async fn calls(&self, method: &str, path_prefix: &str) -> usize {
        self.requests(method, path_prefix).await.len()
    }

    /// The JSON bodies of those requests (`null` for a body that is not JSON).
    pub async fn request_bodies(&self, method: &str, path_prefix: &str) -> Vec<Value> {
        let requests = self.requests(method, path_prefix).await;
        requests
            .iter()
            .map(|request| serde_json::from_slice(&request.body).unwrap_or(Value::Null))
            .collect()
    }

    /// Waits until at least `n` such requests arrived; panics with the list of requests after `timeout`.
    pub async fn wait_for_calls(&self, method: &str, path_prefix: &str, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(2);
        while self.calls(method, path_prefix).await < n {
            if Instant::now() >= deadline {
                let received = self.server.received_requests().await.unwrap_or_default();
                let listing: Vec<String> = received
                    .iter()
                    .map(|r| format!("{} {}", r.method, r.url.path()))
                    .collect();
                panic!(
                    "waited {timeout:?} for {n} × {method} {}; received:\n{}",
                    full_path(path_prefix),
                    listing.join("\n")
                );
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

/// `/v1` + `path_prefix`, unless it already starts with `/v1`.
fn full_path(path_prefix: &str) -> String {
    if path_prefix == "/v1" || path_prefix.starts_with("/v1/") {
        path_prefix.to_owned()
    } else {
        format!("/v1{path_prefix}")
    }
}
