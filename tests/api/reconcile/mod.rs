//! The reconciler against the fake Frontegg and the fake Airbyte, on both backends: each kind
//! of drift repaired through the inbox (or reported), the brake, dry runs, one run at a time,
//! a repair racing a webhook, the periodic run and its metrics; and the Frontegg client alone.

mod bench;
mod brake;
mod cli;
mod frontegg_client;
mod repairs;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tenantgate::config::Settings;
use tenantgate::metrics::Metrics;
use tenantgate::operations::Actor;
use tenantgate::provisioning::build_provider;
use tenantgate::reconcile::{Reconciler, RunOutcome, RunRecord};
use tenantgate::tenants::{self, Mapping};

use crate::fake_airbyte::FakeAirbyte;
use crate::fake_frontegg::FakeFrontegg;
use crate::helpers::*;
use crate::provisioning_airbyte::use_airbyte;

pub(crate) const CLIENT_ID: &str = "env-client-id";
pub(crate) const API_KEY: &str = "env-api-key-not-real";
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// Both fakes, and the application's workers against Airbyte's.
pub(crate) struct World {
    pub app: TestApp,
    pub airbyte: FakeAirbyte,
    pub frontegg: FakeFrontegg,
    pub metrics: Arc<Metrics>,
}

pub(crate) fn use_frontegg(s: &mut Settings, frontegg: &FakeFrontegg) {
    s.reconcile.frontegg.base_url = frontegg.base_url();
    s.reconcile.frontegg.client_id = CLIENT_ID.to_owned();
    s.reconcile.frontegg.secret = API_KEY.to_owned().into();
}

impl World {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, customize: impl FnOnce(&mut Settings)) -> Self {
        let airbyte = FakeAirbyte::start().await;
        let frontegg = FakeFrontegg::start(CLIENT_ID, API_KEY, 1800.0).await;
        let app = spawn_app_with(backend, |s| {
            use_airbyte(s, &airbyte);
            s.admin.tokens = vec![crate::admin::ADMIN_TOKEN.to_owned().into()];
            customize(s);
        })
        .await;
        Self {
            app,
            airbyte,
            frontegg,
            metrics: Arc::new(Metrics::new().unwrap()),
        }
    }

    /// A reconciler on the application's database (as `tenantgate reconcile` builds one).
    pub fn reconciler(&self, customize: impl FnOnce(&mut Settings)) -> Reconciler {
        let mut settings = test_settings();
        use_airbyte(&mut settings, &self.airbyte);
        use_frontegg(&mut settings, &self.frontegg);
        customize(&mut settings);
        let provider = build_provider(&settings.provider, None, self.metrics.clone()).unwrap();
        Reconciler::new(
            self.app.db.clone(),
            provider,
            &settings,
            Some(self.metrics.clone()),
            None,
        )
        .unwrap()
    }

    /// One run with the shipped settings.
    pub async fn run(&self, apply: bool) -> RunRecord {
        finished(
            self.reconciler(|_| {})
                .run(apply, &Actor::cli(Some("test")))
                .await
                .unwrap(),
        )
    }

    /// A tenant provisioned through a real webhook (its event finished), named `name`.
    pub async fn provisioned(&self, tenant: &str, name: &str) -> Mapping {
        let body = json!({"eventKey": "frontegg.tenant.created", "eventContext": {"tenantId": tenant},
                          "tenant": {"name": name}, "timestamp": "2026-01-01T00:00:00Z"});
        let id = self.app.deliver(&body).await;
        assert_eq!(self.app.finished_event(id, WAIT).await.status, "succeeded");
        self.mapping(tenant).await.expect("mapped")
    }

    pub async fn mapping(&self, tenant: &str) -> Option<Mapping> {
        let tenant = tenant.to_owned();
        self.app.db.run(move |c| tenants::mapping(c, &tenant)).await.unwrap()
    }

    /// Waits for every repair event the run queued to finish, and returns their statuses.
    pub async fn repaired(&self, run: &RunRecord) -> Vec<String> {
        let mut statuses = Vec::new();
        for drift in &run.drifts {
            if let tenantgate::reconcile::Action::Queued { event_id } = drift.action {
                statuses.push(self.app.finished_event(event_id, WAIT).await.status.to_string());
            }
        }
        statuses
    }
}

/// Every audit entry's action, oldest first.
pub(crate) async fn audit_actions(app: &TestApp) -> Vec<String> {
    use diesel::prelude::*;
    use tenantgate::db::schema::audit_log::dsl as a;
    app.db
        .run(|c| {
            Ok(tenantgate::with_conn!(c, |c| a::audit_log
                .order(a::id.asc())
                .select(a::action)
                .load::<String>(c))?)
        })
        .await
        .unwrap()
}

pub(crate) fn finished(outcome: RunOutcome) -> RunRecord {
    match outcome {
        RunOutcome::Finished(record) => record,
        RunOutcome::Busy { run_id } => panic!("run {run_id} held the turn"),
    }
}

/// The drifts of a run as (kind, tenant or workspace, action) for assertions.
pub(crate) fn summary(run: &RunRecord) -> Vec<(String, String, String)> {
    let mut rows: Vec<(String, String, String)> = run
        .drifts
        .iter()
        .map(|d| {
            let action = serde_json::to_value(&d.action).unwrap()["action"]
                .as_str()
                .unwrap()
                .to_owned();
            let subject = d.tenant_id.clone().or(d.workspace_id.clone()).unwrap_or_default();
            (d.kind.as_str().to_owned(), subject, action)
        })
        .collect();
    rows.sort();
    rows
}
