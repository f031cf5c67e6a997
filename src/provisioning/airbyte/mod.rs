//! PLACEHOLDER until the real client lands (same public API).
use std::time::Duration;

use async_trait::async_trait;

use super::provider::{DestinationTemplate, ProviderError, Workspace, WorkspaceProvider, WorkspaceSpec};

pub struct AirbyteConfig {
    pub base_url: String,
    pub auth: AirbyteAuth,
    pub organization_id: Option<String>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub token_refresh_margin: Duration,
}
pub enum AirbyteAuth {
    BearerToken(secrecy::SecretString),
    ClientCredentials {
        client_id: String,
        client_secret: secrecy::SecretString,
    },
}
#[derive(Debug)]
pub struct AirbyteClient;
pub type CallObserver = std::sync::Arc<dyn Fn(&'static str, Option<u16>, Duration) + Send + Sync>;
impl AirbyteClient {
    pub fn new(_config: AirbyteConfig) -> anyhow::Result<Self> {
        anyhow::bail!("not yet")
    }
    pub fn with_observer(self, _o: CallObserver) -> Self {
        self
    }
}
#[async_trait]
impl WorkspaceProvider for AirbyteClient {
    fn mode(&self) -> &'static str {
        "airbyte"
    }
    async fn create_workspace(&self, _: &WorkspaceSpec) -> Result<Workspace, ProviderError> {
        Err(ProviderError::permanent(None, "x"))
    }
    async fn find_workspace_by_name(&self, _: &str) -> Result<Option<Workspace>, ProviderError> {
        Ok(None)
    }
    async fn rename_workspace(&self, _: &str, _: &str) -> Result<(), ProviderError> {
        Ok(())
    }
    async fn pause_connections(&self, _: &str) -> Result<usize, ProviderError> {
        Ok(0)
    }
    async fn cancel_running_jobs(&self, _: &str) -> Result<usize, ProviderError> {
        Ok(0)
    }
    async fn delete_workspace(&self, _: &str) -> Result<(), ProviderError> {
        Ok(())
    }
    async fn ensure_destination(&self, _: &str, _: &str, _: &DestinationTemplate) -> Result<(), ProviderError> {
        Ok(())
    }
}
