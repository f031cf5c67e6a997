//! What the reconciler reads of Airbyte (reference `reconcile-apis.md` §B): the mapped
//! workspaces by id, a hundred per request (`workspaceIds`, repeated), every live workspace (for
//! orphans), and one workspace by id to confirm that it is gone (404 when deleted).

use reqwest::Method;

use super::client::AirbyteClient;
use super::models::{Pager, WorkspaceResponse, PAGE_LIMIT};
use super::ops::{gone_is_none, require_id};
use crate::provisioning::provider::{ProviderError, Workspace};

impl AirbyteClient {
    /// The live workspaces among `ids`: `GET /workspaces?workspaceIds=…` per hundred ids
    /// (deleted ones are not listed without `includeDeleted`).
    pub(super) async fn workspaces_by_id(&self, ids: &[String]) -> Result<Vec<Workspace>, ProviderError> {
        let mut live = Vec::with_capacity(ids.len());
        for batch in ids.chunks(PAGE_LIMIT) {
            let mut filters = Vec::with_capacity(batch.len());
            for id in batch {
                filters.push(("workspaceIds", require_id("list_workspaces", id)?.to_owned()));
            }
            // A hundred ids fit one page of a hundred: the empty page Airbyte's `next` would
            // lead to is not asked for.
            let mut pages = Pager::new(self, "list_workspaces", &["workspaces"], filters);
            let page = pages.next_page::<WorkspaceResponse>().await?.unwrap_or_default();
            live.extend(page.into_iter().map(workspace));
        }
        Ok(live)
    }

    /// Every live workspace, one pass over `GET /workspaces`.
    pub(super) async fn every_workspace(&self) -> Result<Vec<Workspace>, ProviderError> {
        let pages = Pager::new(self, "list_workspaces", &["workspaces"], Vec::new());
        Ok(pages
            .collect::<WorkspaceResponse>()
            .await?
            .into_iter()
            .map(workspace)
            .collect())
    }

    /// `GET /workspaces/{id}`: 200 live, 404 deleted; anything else is an error.
    pub(super) async fn workspace_is_live(&self, workspace_id: &str) -> Result<bool, ProviderError> {
        const OP: &str = "get_workspace";
        let id = require_id(OP, workspace_id)?;
        let answer = self.call(OP, Method::GET, &["workspaces", id], &[], None).await;
        Ok(gone_is_none(answer)?.is_some())
    }
}

fn workspace(response: WorkspaceResponse) -> Workspace {
    Workspace {
        id: response.workspace_id,
        name: response.name.unwrap_or_default(),
    }
}
