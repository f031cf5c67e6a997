//! The embedded default provider: no outside calls, a deterministic workspace id per tenant,
//! every would-be call logged.

use async_trait::async_trait;

use super::provider::{DestinationTemplate, ProviderError, Workspace, WorkspaceProvider, WorkspaceSpec};

/// Namespace for dry-run workspace ids (UUID v5 of the tenant id).
const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x7e4a_9b1c_3d2f_4e5a_8b6c_0d1e_2f3a_4b5c);

#[derive(Debug, Clone, Copy, Default)]
pub struct DryRun;

impl DryRun {
    /// The id a dry run gives a tenant's workspace: the same every time.
    pub fn workspace_id(tenant_id: &str) -> String {
        uuid::Uuid::new_v5(&NAMESPACE, tenant_id.as_bytes()).to_string()
    }
}

#[async_trait]
impl WorkspaceProvider for DryRun {
    fn mode(&self) -> &'static str {
        "dry-run"
    }

    async fn create_workspace(&self, spec: &WorkspaceSpec) -> Result<Workspace, ProviderError> {
        let id = Self::workspace_id(&spec.tenant_id);
        tracing::info!(workspace.id = %id, workspace.name = %spec.name, "dry run: would POST /workspaces");
        Ok(Workspace {
            id,
            name: spec.name.clone(),
        })
    }

    async fn find_workspace_by_name(&self, name: &str) -> Result<Option<Workspace>, ProviderError> {
        tracing::info!(workspace.name = %name, "dry run: would page GET /workspaces for this name");
        Ok(None)
    }

    async fn rename_workspace(&self, workspace_id: &str, name: &str) -> Result<(), ProviderError> {
        tracing::info!(workspace.id = %workspace_id, workspace.name = %name, "dry run: would PATCH /workspaces/{{id}}");
        Ok(())
    }

    async fn pause_connections(&self, workspace_id: &str) -> Result<usize, ProviderError> {
        tracing::info!(workspace.id = %workspace_id, "dry run: would set every connection inactive");
        Ok(0)
    }

    async fn cancel_running_jobs(&self, workspace_id: &str) -> Result<usize, ProviderError> {
        tracing::info!(workspace.id = %workspace_id, "dry run: would cancel running jobs");
        Ok(0)
    }

    async fn delete_workspace(&self, workspace_id: &str) -> Result<(), ProviderError> {
        tracing::info!(workspace.id = %workspace_id, "dry run: would DELETE /workspaces/{{id}}");
        Ok(())
    }

    async fn live_workspaces(&self, ids: &[String]) -> Result<Vec<Workspace>, ProviderError> {
        // A dry run's workspaces are the ones its mapping says it made.
        Ok(ids
            .iter()
            .map(|id| Workspace {
                id: id.clone(),
                name: String::new(),
            })
            .collect())
    }

    async fn all_workspaces(&self) -> Result<Vec<Workspace>, ProviderError> {
        Ok(Vec::new())
    }

    async fn workspace_exists(&self, _workspace_id: &str) -> Result<bool, ProviderError> {
        Ok(true)
    }

    async fn ensure_destination(
        &self,
        workspace_id: &str,
        name: &str,
        _template: &DestinationTemplate,
    ) -> Result<(), ProviderError> {
        tracing::info!(workspace.id = %workspace_id, destination.name = %name, "dry run: would POST /destinations");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_always_gets_the_same_workspace_id_and_tenants_differ() {
        assert_eq!(DryRun::workspace_id("t1"), DryRun::workspace_id("t1"));
        assert_ne!(DryRun::workspace_id("t1"), DryRun::workspace_id("t2"));
    }
}
