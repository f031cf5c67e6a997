//! The provider operations on Airbyte's public API (reference §2.3–2.5).
//!
//! Operation names (for logs, the observer and the fake): `create_workspace`, `list_workspaces`,
//! `rename_workspace`, `delete_workspace`, `list_connections`, `patch_connection`, `list_jobs`,
//! `cancel_job`, `list_destinations`, `create_destination`, and `token`.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Value};

use super::client::AirbyteClient;
use super::errors::not_understood;
use super::models::{ConnectionResponse, DestinationResponse, JobResponse, Pager, WorkspaceResponse};
use crate::provisioning::provider::{DestinationTemplate, ProviderError, Workspace, WorkspaceProvider, WorkspaceSpec};

/// Passes over `GET /workspaces` at most when looking a name up (see `find_workspace_by_name`).
/// One suffices while Airbyte's order holds still (the usual case); a listing shuffled anew for
/// every page, the worst case, shows each workspace in a pass with a chance of at least a half,
/// so twenty passes leave one unseen with odds below one in a million.
const MAX_LISTING_PASSES: usize = 20;

#[async_trait]
impl WorkspaceProvider for AirbyteClient {
    fn mode(&self) -> &'static str {
        "airbyte"
    }

    async fn create_workspace(&self, spec: &WorkspaceSpec) -> Result<Workspace, ProviderError> {
        const OP: &str = "create_workspace";
        let mut body = json!({ "name": spec.name });
        if let Some(organization_id) = &self.organization_id {
            body["organizationId"] = json!(organization_id);
        }
        // After an unknown outcome and a look-up, a refusal ends the create: see the spec.
        let patience = if spec.after_unknown_outcome {
            Duration::ZERO
        } else {
            self.max_throttled_wait
        };
        let created: WorkspaceResponse = self
            .call_json_waiting(OP, Method::POST, &["workspaces"], &[], Some(&body), patience)
            .await?;
        if created.workspace_id.trim().is_empty() {
            return Err(not_understood(OP, 200, "the workspaceId is empty"));
        }
        Ok(Workspace {
            id: created.workspace_id,
            name: created.name.unwrap_or_else(|| spec.name.clone()),
        })
    }

    async fn find_workspace_by_name(&self, name: &str) -> Result<Option<Workspace>, ProviderError> {
        // Airbyte pages `GET /workspaces` with LIMIT/OFFSET and no ORDER BY, so the pages of one
        // pass may overlap and skip a workspace. A pass still counts them all (its pages' lengths
        // add up to the total), so passes repeat until every workspace was seen once: only then
        // is the name proven absent. Never proven, the answer is an error, never "absent" (which
        // would make a second workspace).
        let mut seen = HashSet::new();
        let mut listed = 0;
        for _ in 0..MAX_LISTING_PASSES {
            let mut pages = Pager::new(self, "list_workspaces", &["workspaces"], Vec::new());
            while let Some(page) = pages.next_page::<WorkspaceResponse>().await? {
                for workspace in page {
                    if workspace.name.as_deref() == Some(name) {
                        return Ok(Some(Workspace {
                            id: workspace.workspace_id,
                            name: name.to_owned(),
                        }));
                    }
                    seen.insert(workspace.workspace_id);
                }
            }
            listed = pages.listed();
            if seen.len() >= listed {
                return Ok(None);
            }
        }
        Err(ProviderError::retryable(
            None,
            format!(
                "list_workspaces: {} of {listed} workspaces seen in {MAX_LISTING_PASSES} passes (their order changed between pages): the name is not proven absent",
                seen.len()
            ),
        ))
    }

    async fn rename_workspace(&self, workspace_id: &str, name: &str) -> Result<(), ProviderError> {
        const OP: &str = "rename_workspace";
        let id = require_id(OP, workspace_id)?;
        let body = json!({ "name": name });
        self.call(OP, Method::PATCH, &["workspaces", id], &[], Some(&body))
            .await
            .map(drop)
    }

    async fn pause_connections(&self, workspace_id: &str) -> Result<usize, ProviderError> {
        let id = require_id("list_connections", workspace_id)?;
        let filters = vec![("workspaceIds", id.to_owned())];
        let listed = Pager::new(self, "list_connections", &["connections"], filters).collect::<ConnectionResponse>();
        let Some(connections) = gone_is_none(listed.await)? else {
            return Ok(0);
        };
        let pause = json!({ "status": "inactive" });
        let mut paused = 0;
        for connection in connections.iter().filter(|connection| connection.needs_pausing()) {
            let connection_id = uuid_segment("patch_connection", "connection", &connection.connection_id)?;
            let segments = ["connections", connection_id];
            let patched = self
                .call("patch_connection", Method::PATCH, &segments, &[], Some(&pause))
                .await;
            if gone_is_none(patched)?.is_some() {
                paused += 1;
            }
        }
        Ok(paused)
    }

    async fn cancel_running_jobs(&self, workspace_id: &str) -> Result<usize, ProviderError> {
        const OP: &str = "list_jobs";
        let id = require_id(OP, workspace_id)?;
        let filters = vec![("workspaceIds", id.to_owned()), ("status", "running".to_owned())];
        // The whole list first: cancelling while paging a `status=running` list would shift the offsets.
        let Some(jobs) = gone_is_none(Pager::new(self, OP, &["jobs"], filters).collect::<JobResponse>().await)? else {
            return Ok(0);
        };
        let mut cancelled = 0;
        for job in jobs.iter().filter(|job| !job.is_finished()) {
            let job_id = job
                .id()
                .ok_or_else(|| not_understood(OP, 200, "a job has no integer `jobId`"))?;
            let answer = self
                .call("cancel_job", Method::DELETE, &["jobs", job_id.as_str()], &[], None)
                .await;
            if gone_is_none(answer)?.is_some() {
                cancelled += 1;
            }
        }
        Ok(cancelled)
    }

    async fn delete_workspace(&self, workspace_id: &str) -> Result<(), ProviderError> {
        const OP: &str = "delete_workspace";
        let id = require_id(OP, workspace_id)?;
        gone_is_none(self.call(OP, Method::DELETE, &["workspaces", id], &[], None).await).map(drop)
    }

    async fn live_workspaces(&self, ids: &[String]) -> Result<Vec<Workspace>, ProviderError> {
        self.workspaces_by_id(ids).await
    }

    async fn all_workspaces(&self) -> Result<Vec<Workspace>, ProviderError> {
        self.every_workspace().await
    }

    async fn workspace_exists(&self, workspace_id: &str) -> Result<bool, ProviderError> {
        self.workspace_is_live(workspace_id).await
    }

    async fn ensure_destination(
        &self,
        workspace_id: &str,
        name: &str,
        template: &DestinationTemplate,
    ) -> Result<(), ProviderError> {
        let id = require_id("list_destinations", workspace_id)?;
        let filters = vec![("workspaceIds", id.to_owned())];
        let mut pages = Pager::new(self, "list_destinations", &["destinations"], filters);
        while let Some(page) = pages.next_page::<DestinationResponse>().await? {
            if page.iter().any(|destination| destination.name.as_deref() == Some(name)) {
                return Ok(());
            }
        }
        let mut body = json!({ "name": name, "workspaceId": id, "configuration": template.configuration });
        if let Some(definition_id) = &template.definition_id {
            body["definitionId"] = Value::String(definition_id.clone());
        }
        self.call("create_destination", Method::POST, &["destinations"], &[], Some(&body))
            .await
            .map(drop)
    }
}

/// A workspace id as a path segment: the document types it as a UUID, and an empty one would
/// address the collection instead.
pub(super) fn require_id<'a>(op: &str, id: &'a str) -> Result<&'a str, ProviderError> {
    uuid_segment(op, "workspace", id)
}

/// An id the document types as a UUID, refused before anything is sent when it is not one.
fn uuid_segment<'a>(op: &str, what: &str, id: &'a str) -> Result<&'a str, ProviderError> {
    let id = id.trim();
    match uuid::Uuid::try_parse(id) {
        Ok(_) if id.len() == 36 => Ok(id),
        _ if id.is_empty() => Err(ProviderError::permanent(None, format!("{op}: the {what} id is empty"))),
        _ => Err(ProviderError::permanent(
            None,
            format!(
                "{op}: the {what} id `{}` is not a UUID",
                id.chars().take(64).collect::<String>()
            ),
        )),
    }
}

/// A 404 means the thing is already gone, which is what the caller wanted: `Ok(None)`.
pub(super) fn gone_is_none<T>(result: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.status == Some(404) => Ok(None),
        Err(error) => Err(error),
    }
}
