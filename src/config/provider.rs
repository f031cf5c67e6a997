//! `[provider]`: where workspaces are made, and how.

use anyhow::bail;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    DryRun,
    Airbyte,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeletionPolicy {
    Archive,
    Delete,
}

/// Where workspaces are made, and how.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ProviderSettings {
    pub kind: ProviderKind,
    pub deletion_policy: DeletionPolicy,
    pub workspace_name_template: String,
    pub default_destinations: Vec<DestinationTemplate>,
    /// A cap on calls per second to the provider; 0 = none.
    pub max_requests_per_sec: f64,
    /// Longest time one attempt waits at the gate after refusals for the rate.
    pub max_throttled_wait_secs: u64,
    pub airbyte: AirbyteSettings,
}

impl ProviderSettings {
    /// The cap on calls per second, if one is set.
    pub fn max_requests_per_sec(&self) -> Option<f64> {
        Some(self.max_requests_per_sec).filter(|cap| *cap > 0.0)
    }

    pub fn max_throttled_wait(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.max_throttled_wait_secs)
    }
}

/// A destination created in every new workspace, from `provider.default_destinations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DestinationTemplate {
    /// Destination name; `{tenant_id}` and `{tenant_name}` are replaced.
    pub name: String,
    /// Airbyte's destination configuration object (it names its `destinationType`).
    pub configuration: serde_json::Value,
    /// Optional destination definition id (needed for custom connectors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AirbyteSettings {
    pub base_url: String,
    #[serde(serialize_with = "super::redact::one")]
    pub token: SecretString,
    pub client_id: String,
    #[serde(serialize_with = "super::redact::one")]
    pub client_secret: SecretString,
    pub organization_id: String,
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    pub token_refresh_margin_secs: u64,
}

impl ProviderSettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if !(self.max_requests_per_sec.is_finite()
            && (self.max_requests_per_sec == 0.0 || self.max_requests_per_sec >= 1.0))
        {
            bail!(
                "provider.max_requests_per_sec must be 0 (no cap) or at least 1 call per second, got {}",
                self.max_requests_per_sec
            );
        }
        if self.max_throttled_wait_secs > 86_400 {
            bail!(
                "provider.max_throttled_wait_secs must be at most 86400 (a day), got {}",
                self.max_throttled_wait_secs
            );
        }
        if !self.workspace_name_template.contains("{tenant_id}") {
            bail!(
                "provider.workspace_name_template must contain {{tenant_id}} so that every tenant's name is unique, got `{}`",
                self.workspace_name_template
            );
        }
        if self.kind == ProviderKind::Airbyte {
            let airbyte = &self.airbyte;
            if !(airbyte.base_url.starts_with("https://") || airbyte.base_url.starts_with("http://")) {
                bail!("provider.airbyte.base_url must be an http(s) URL, e.g. https://api.airbyte.com/v1");
            }
            let has_token = !airbyte.token.expose_secret().is_empty();
            let has_credentials = !airbyte.client_id.is_empty() && !airbyte.client_secret.expose_secret().is_empty();
            if has_token == has_credentials {
                bail!("provider.airbyte needs either token, or client_id and client_secret (exactly one of the two)");
            }
            if airbyte.connect_timeout_ms == 0 || airbyte.request_timeout_ms == 0 {
                bail!("provider.airbyte.connect_timeout_ms and request_timeout_ms must be at least 1");
            }
            let organization = airbyte.organization_id.trim();
            if !organization.is_empty() && !is_uuid(organization) {
                bail!(
                    "provider.airbyte.organization_id must be a UUID (Airbyte's organizationId), got `{organization}`"
                );
            }
        }
        for (i, destination) in self.default_destinations.iter().enumerate() {
            if destination.name.trim().is_empty() || !destination.configuration.is_object() {
                bail!("provider.default_destinations[{i}] needs a name and a configuration table");
            }
            if destination.definition_id.as_deref().is_some_and(|id| !is_uuid(id)) {
                bail!("provider.default_destinations[{i}].definition_id must be a UUID (Airbyte's definitionId)");
            }
        }
        Ok(())
    }
}

/// A UUID in its usual 36-character form, as Airbyte's document types its ids.
fn is_uuid(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}
