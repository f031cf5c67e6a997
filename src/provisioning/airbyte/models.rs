//! Wire shapes of the public API (only the fields tenantgate reads; unknown ones are ignored,
//! missing optional ones tolerated) and the `limit`/`offset` paging loop.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::client::AirbyteClient;
use crate::provisioning::provider::ProviderError;

/// Items asked for per page: the API's maximum.
pub(super) const PAGE_LIMIT: usize = 100;
/// Pages read before giving up on a server that never stops answering full pages.
const MAX_PAGES: usize = 1_000;

/// `WorkspacesResponse`, `ConnectionsResponse`, `JobsResponse`, `DestinationsResponse`.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct Page<T> {
    #[serde(default)]
    data: Option<Vec<T>>,
    #[serde(default)]
    next: Option<Value>,
}

/// `WorkspaceResponse`.
#[derive(Debug, Deserialize)]
pub(super) struct WorkspaceResponse {
    #[serde(rename = "workspaceId")]
    pub workspace_id: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// Connection statuses that need no pausing: already paused, deleted, or locked by Airbyte.
const NOT_RUNNABLE: [&str; 3] = ["inactive", "deprecated", "locked"];
/// Job statuses that are over: such a job needs no cancelling.
const FINISHED: [&str; 3] = ["succeeded", "failed", "cancelled"];

/// `ConnectionResponse`; `status` is `active | inactive | deprecated | locked`.
#[derive(Debug, Deserialize)]
pub(super) struct ConnectionResponse {
    #[serde(rename = "connectionId")]
    pub connection_id: String,
    #[serde(default)]
    pub status: Option<String>,
}

/// `JobResponse`. The schema names the id `jobId`, an int64, which is what `DELETE /jobs/{jobId}`
/// takes; the document's examples show an `id` instead, read too when it is an integer.
#[derive(Debug, Deserialize)]
pub(super) struct JobResponse {
    #[serde(rename = "jobId", default)]
    job_id: Option<Value>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    pub status: Option<String>,
}

impl ConnectionResponse {
    /// Whether the connection may still sync (an unknown or missing status counts as runnable).
    pub fn needs_pausing(&self) -> bool {
        !self
            .status
            .as_deref()
            .is_some_and(|status| NOT_RUNNABLE.contains(&status))
    }
}

impl JobResponse {
    /// Whether the job is over (a missing status counts as still running).
    pub fn is_finished(&self) -> bool {
        self.status.as_deref().is_some_and(|status| FINISHED.contains(&status))
    }

    /// The job id as a path segment: an int64, from `jobId` or `id`, as a number or digits.
    pub fn id(&self) -> Option<String> {
        [&self.job_id, &self.id]
            .into_iter()
            .flatten()
            .find_map(|value| match value {
                Value::Number(number) => number.as_i64(),
                Value::String(text) => text.trim().parse::<i64>().ok(),
                _ => None,
            })
            .map(|id| id.to_string())
    }
}

/// `DestinationResponse`.
#[derive(Debug, Deserialize)]
pub(super) struct DestinationResponse {
    #[serde(default)]
    pub name: Option<String>,
}

/// Walks a list endpoint with `limit=100&offset=N`, the offsets counted here (the server's `next`
/// link may name another host or path), until a page is short or empty or has no `next` (the
/// server gives `next` for every non-empty page and `""` for the empty one).
pub(super) struct Pager<'a> {
    client: &'a AirbyteClient,
    op: &'static str,
    segments: &'a [&'a str],
    filters: Vec<(&'static str, String)>,
    offset: usize,
    pages: usize,
    done: bool,
}

impl<'a> Pager<'a> {
    pub fn new(
        client: &'a AirbyteClient,
        op: &'static str,
        segments: &'a [&'a str],
        filters: Vec<(&'static str, String)>,
    ) -> Self {
        Self {
            client,
            op,
            segments,
            filters,
            offset: 0,
            pages: 0,
            done: false,
        }
    }

    /// The next page's items, or `None` after the last page.
    pub async fn next_page<T: DeserializeOwned>(&mut self) -> Result<Option<Vec<T>>, ProviderError> {
        if self.done {
            return Ok(None);
        }
        if self.pages >= MAX_PAGES {
            return Err(ProviderError::permanent(
                None,
                format!("{}: still more after {MAX_PAGES} pages", self.op),
            ));
        }
        let mut query = self.filters.clone();
        query.push(("limit", PAGE_LIMIT.to_string()));
        query.push(("offset", self.offset.to_string()));
        let page: Page<T> = self
            .client
            .call_json(self.op, Method::GET, self.segments, &query, None)
            .await?;
        let data = page.data.unwrap_or_default();
        self.pages += 1;
        self.offset += data.len();
        let has_next = page.next.as_ref().is_some_and(|next| match next {
            Value::String(url) => !url.trim().is_empty(),
            Value::Null => false,
            _ => true,
        });
        self.done = data.len() < PAGE_LIMIT || !has_next;
        Ok(Some(data))
    }

    /// How many items this pass's pages held: the total, once the last page was read.
    pub fn listed(&self) -> usize {
        self.offset
    }

    /// Every item of every page.
    pub async fn collect<T: DeserializeOwned>(mut self) -> Result<Vec<T>, ProviderError> {
        let mut items = Vec::new();
        while let Some(page) = self.next_page().await? {
            items.extend(page);
        }
        Ok(items)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_read_from_either_field_as_number_or_string() {
        let cases = [
            (r#"{"jobId": 42, "status": "running"}"#, Some("42")),
            (r#"{"id": "18dccc91-0ab1", "status": "running"}"#, None),
            (r#"{"jobId": 18446744073709551615}"#, None),
            (r#"{"jobId": "7"}"#, Some("7")),
            (r#"{"jobId": null, "id": 9}"#, Some("9")),
            (r#"{"jobId": 1.5}"#, None),
            (r#"{"jobId": ""}"#, None),
            (r#"{"status": "running"}"#, None),
        ];
        for (json, expected) in cases {
            let job: JobResponse = serde_json::from_str(json).unwrap();
            assert_eq!(job.id().as_deref(), expected, "{json}");
        }
    }

    #[test]
    fn pages_tolerate_missing_and_null_fields() {
        let page: Page<WorkspaceResponse> = serde_json::from_str(r#"{"next": null}"#).unwrap();
        assert!(page.data.is_none());
        let page: Page<WorkspaceResponse> = serde_json::from_str(r#"{"data": null}"#).unwrap();
        assert!(page.data.is_none());
        let page: Page<WorkspaceResponse> =
            serde_json::from_str(r#"{"data":[{"workspaceId":"w1","dataResidency":"auto"}]}"#).unwrap();
        let data = page.data.unwrap();
        assert_eq!(data[0].workspace_id, "w1");
        assert_eq!(data[0].name, None);
    }
}
