//! The provider operations on Airbyte's public API (reference §2.3–2.5).
//!
//! Operation names (for logs, the observer and the fake): `create_workspace`, `list_workspaces`,
//! `rename_workspace`, `delete_workspace`, `list_connections`, `patch_connection`, `list_jobs`,
//! `cancel_job`, `list_destinations`, `create_destination`, and `token`.

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Value};

use super::client::AirbyteClient;
use super::errors::not_understood;
use super::models::{ConnectionResponse, DestinationResponse, JobResponse, Pager, WorkspaceResponse};
use crate::provisioning::provider::{DestinationTemplate, ProviderError, Workspace, WorkspaceProvider, WorkspaceSpec};

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
        let created: WorkspaceResponse = self
            .call_json(OP, Method::POST, &["workspaces"], &[], Some(&body))
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
        let mut pages = Pager::new(self, "list_workspaces", &["workspaces"], Vec::new());
        while let Some(page) = pages.next_page::<WorkspaceResponse>().await? {
            if let Some(found) = page
                .into_iter()
                .find(|workspace| workspace.name.as_deref() == Some(name))
            {
                return Ok(Some(Workspace {
                    id: found.workspace_id,
                    name: name.to_owned(),
                }));
            }
        }
        Ok(None)
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
            let segments = ["connections", connection.connection_id.as_str()];
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
                .ok_or_else(|| not_understood(OP, 200, "a job has neither `jobId` nor `id`"))?;
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

/// An id that can name a path segment: an empty one would address the collection instead.
fn require_id<'a>(op: &str, id: &'a str) -> Result<&'a str, ProviderError> {
    match id.trim() {
        "" => Err(ProviderError::permanent(
            None,
            format!("{op}: the workspace id is empty"),
        )),
        id => Ok(id),
    }
}

/// A 404 means the thing is already gone, which is what the caller wanted: `Ok(None)`.
fn gone_is_none<T>(result: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.status == Some(404) => Ok(None),
        Err(error) => Err(error),
    }
}
