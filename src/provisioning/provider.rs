//! The outside world tenantgate converges: one workspace per tenant.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use crate::config::DestinationTemplate;

/// A workspace as the provider knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: String,
    pub name: String,
}

/// What to create: the tenant it is for and its deterministic name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceSpec {
    pub tenant_id: String,
    pub name: String,
    /// An earlier attempt's create had an unknown outcome and the name was just looked for: a
    /// refusal for the rate must end this create at once (the next attempt looks again),
    /// never be waited out, or the earlier create could land in between and this one make a
    /// second workspace.
    pub after_unknown_outcome: bool,
}

/// Why a provider call failed, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// Timeouts, connection errors, 408, 409 try-again-later, 429 and 5xx may pass.
    pub retryable: bool,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// The provider's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
    /// The provider refused the call for its rate (429): not a failure of the event.
    pub throttled: bool,
    /// The answer proves the provider did nothing (a refusal, or a request never sent): a
    /// create that failed this way can be sent again as a create, without looking first.
    pub refused: bool,
    /// Readable reason, with the provider's problem detail when there is one. Never a secret.
    pub message: String,
}

impl ProviderError {
    pub fn retryable(status: Option<u16>, message: impl Into<String>) -> Self {
        Self {
            retryable: true,
            status,
            retry_after: None,
            throttled: false,
            refused: false,
            message: message.into(),
        }
    }

    pub fn permanent(status: Option<u16>, message: impl Into<String>) -> Self {
        Self {
            retryable: false,
            status,
            retry_after: None,
            throttled: false,
            refused: false,
            message: message.into(),
        }
    }
}

/// The operations tenantgate needs from a workspace provider. Implementations must be safe to
/// call again after an unknown outcome: callers retry.
#[async_trait]
pub trait WorkspaceProvider: Send + Sync + std::fmt::Debug {
    /// "airbyte" or "dry-run", shown by `/readyz` and in logs.
    fn mode(&self) -> &'static str;

    /// Creates a workspace. Not idempotent on the provider's side: names are not unique.
    async fn create_workspace(&self, spec: &WorkspaceSpec) -> Result<Workspace, ProviderError>;

    /// Finds a workspace by its exact name (paging through every workspace).
    async fn find_workspace_by_name(&self, name: &str) -> Result<Option<Workspace>, ProviderError>;

    async fn rename_workspace(&self, workspace_id: &str, name: &str) -> Result<(), ProviderError>;

    /// Sets every active connection of the workspace inactive; returns how many were paused.
    /// A workspace that no longer exists counts as done.
    async fn pause_connections(&self, workspace_id: &str) -> Result<usize, ProviderError>;

    /// Cancels every running job of the workspace; returns how many were cancelled.
    async fn cancel_running_jobs(&self, workspace_id: &str) -> Result<usize, ProviderError>;

    /// Deletes the workspace; one that no longer exists counts as done.
    async fn delete_workspace(&self, workspace_id: &str) -> Result<(), ProviderError>;

    /// The live workspaces among `ids` (a deleted or unknown one is simply not listed), for the
    /// reconciler. Listed by id, a hundred a page, so a pass sees each of them.
    async fn live_workspaces(&self, ids: &[String]) -> Result<Vec<Workspace>, ProviderError>;

    /// Every live workspace the credentials can read, in one pass (which, unordered, may skip
    /// or repeat one: good for reporting orphans, never for concluding that one is gone).
    async fn all_workspaces(&self) -> Result<Vec<Workspace>, ProviderError>;

    /// Whether one workspace is there: `Ok(false)` only when the provider says it is deleted
    /// (404); a refusal to say (403) is an error.
    async fn workspace_exists(&self, workspace_id: &str) -> Result<bool, ProviderError>;

    /// Creates the destination unless the workspace already has one with that name.
    async fn ensure_destination(
        &self,
        workspace_id: &str,
        name: &str,
        template: &DestinationTemplate,
    ) -> Result<(), ProviderError>;
}
