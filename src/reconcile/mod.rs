//! The reconciler: level-triggered convergence. Webhooks are hints; a run compares what exists
//! (every tenant Frontegg lists, the workspaces Airbyte has for mapped tenants, every workspace
//! for orphans) with what should (the mapping), and repairs each difference by writing an event
//! into the inbox, where the workers apply it like any webhook (see [`repair`]).
//!
//! One run, in order:
//! 1. take the turn, when it applies repairs ([`runs::begin`]; one such run at a time on a shared
//!    database, its lease renewed while it runs);
//! 2. read the mapping and the tenants with unfinished events ([`snapshot`]: those are on their way
//!    and not compared), then list Frontegg's tenants and Airbyte's workspaces;
//! 3. compare ([`compare`]); confirm each absence with a single look-up (a tenant missing from
//!    a list that changed while it was paged, a workspace skipped by Airbyte's unordered pages);
//! 4. brake: a list that came back empty while mappings are active, or more deletions than
//!    `reconcile.max_deletions_per_run`, deletes nothing (reported, and the brake metric set);
//! 5. queue the repairs (with `--apply`), record the run with each drift and what was done, and
//!    one `reconcile.applied` audit entry for a run that applies.
//!
//! Doors: `tenantgate reconcile [--apply]`, the periodic job ([`job`]), and the run records'
//! reads, all through `operations::reconcile` (`run`, `list`, `find`), which the admin API and
//! the console call too.

pub mod compare;
pub mod drift;
pub mod frontegg;
pub mod gauges;
pub mod job;
mod pass;
pub mod repair;
pub mod runs;
mod snapshot;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::config::ReconcileSettings;
use crate::db::{Database, StoreError};
use crate::metrics::Metrics;
use crate::operations::Actor;
use crate::provisioning::provider::WorkspaceProvider;
pub use drift::{Action, Drift, DriftKind};
use frontegg::FronteggClient;
pub use runs::{Begun, RunRecord};

/// How long a run that applies holds the turn without renewing it: an instance that dies in a
/// run gives the turn back after this.
pub const LEASE: Duration = Duration::from_secs(300);

/// Everything a run needs. Built once per process (or per CLI command).
#[derive(Debug, Clone)]
pub struct Reconciler {
    pub db: Database,
    pub provider: Arc<dyn WorkspaceProvider>,
    pub frontegg: Arc<FronteggClient>,
    pub settings: ReconcileSettings,
    /// `provider.workspace_name_template`: orphans are workspaces named like it.
    pub name_template: String,
    pub metrics: Option<Arc<Metrics>>,
    /// Wakes this process's workers when repairs were queued.
    pub wake: Option<Arc<Notify>>,
}

/// How a request for a run ended.
#[derive(Debug, Clone)]
pub enum RunOutcome {
    /// The run's record: succeeded (perhaps with its brake on) or failed with the reason.
    Finished(RunRecord),
    /// Another run that applies holds the turn; nothing was done.
    Busy { run_id: i64 },
}

impl Reconciler {
    /// Builds the Frontegg client from `[reconcile.frontegg]`; fails naming the keys when the
    /// credentials are missing.
    pub fn new(
        db: Database,
        provider: Arc<dyn WorkspaceProvider>,
        settings: &crate::config::Settings,
        metrics: Option<Arc<Metrics>>,
        wake: Option<Arc<Notify>>,
    ) -> anyhow::Result<Self> {
        if !settings.reconcile.has_credentials() {
            anyhow::bail!(
                "reconcile needs reconcile.frontegg.client_id and reconcile.frontegg.secret \
                 (e.g. TENANTGATE__RECONCILE__FRONTEGG__CLIENT_ID and TENANTGATE__RECONCILE__FRONTEGG__SECRET)"
            );
        }
        let config = frontegg::FronteggConfig::from_settings(&settings.reconcile.frontegg);
        Ok(Self {
            db,
            provider,
            frontegg: Arc::new(FronteggClient::new(config)?),
            settings: settings.reconcile.clone(),
            name_template: settings.provider.workspace_name_template.clone(),
            metrics,
            wake,
        })
    }

    /// One run: a dry run (`apply = false`) reports and changes nothing; with `apply` the
    /// repairs are queued. `by` is named in the run and its audit entry.
    pub async fn run(&self, apply: bool, by: &Actor) -> Result<RunOutcome, StoreError> {
        pass::run(self, apply, by).await
    }
}
