//! Turning stored events into effects: the workers, one handler per event kind, and the
//! workspace providers (Airbyte's API, or a dry run).

pub mod airbyte;
pub mod dry_run;
pub mod handlers;
pub mod outcome;
pub mod provider;
pub mod queue;
pub mod repairs;
pub mod throttling;

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;

use crate::config::{ProviderKind, ProviderSettings};
use crate::metrics::Metrics;
use crate::pacing::{Gate, GateSettings};
use provider::WorkspaceProvider;

/// Builds the configured provider; its HTTP calls are counted in `metrics`.
pub fn build_provider(
    settings: &ProviderSettings,
    gate: Option<Gate>,
    metrics: Arc<Metrics>,
) -> anyhow::Result<Arc<dyn WorkspaceProvider>> {
    Ok(match settings.kind {
        ProviderKind::DryRun => Arc::new(dry_run::DryRun),
        ProviderKind::Airbyte => {
            let a = &settings.airbyte;
            let auth = if a.token.expose_secret().is_empty() {
                airbyte::AirbyteAuth::ClientCredentials {
                    client_id: a.client_id.clone(),
                    client_secret: a.client_secret.clone(),
                }
            } else {
                airbyte::AirbyteAuth::BearerToken(a.token.clone())
            };
            let config = airbyte::AirbyteConfig {
                base_url: a.base_url.clone(),
                auth,
                organization_id: Some(a.organization_id.clone()).filter(|o| !o.is_empty()),
                connect_timeout: Duration::from_millis(a.connect_timeout_ms),
                request_timeout: Duration::from_millis(a.request_timeout_ms),
                token_refresh_margin: Duration::from_secs(a.token_refresh_margin_secs),
            };
            let observer: airbyte::CallObserver =
                Arc::new(move |operation, status, took| metrics.provider_call(operation, status, took));
            let client = airbyte::AirbyteClient::new(config)?.with_observer(observer);
            Arc::new(match gate {
                Some(gate) => client.with_gate(gate, settings.max_throttled_wait()),
                None => client,
            })
        }
    })
}

/// The pacing gate every call to the provider passes (Airbyte only: dry run calls nobody), for
/// `workers` workers, capped by `provider.max_requests_per_sec` when set.
pub fn provider_gate(settings: &ProviderSettings, workers: usize) -> anyhow::Result<Option<Gate>> {
    if settings.kind != ProviderKind::Airbyte {
        return Ok(None);
    }
    let gate_settings = GateSettings {
        max_requests_per_sec: settings.max_requests_per_sec(),
        ..GateSettings::new("airbyte", workers)
    };
    let gate = Gate::new(gate_settings)
        .map_err(|e| anyhow::anyhow!("provider pacing (provider.max_requests_per_sec, worker.concurrency): {e}"))?;
    Ok(Some(gate))
}
