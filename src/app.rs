//! The application: database, sources and the HTTP server, built from settings.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::db::{notify, Database, DatabaseUrl};
use crate::health::HealthMonitor;
use crate::http::{self, AppState};
use crate::ingest::{InboxRecorder, Source};
use crate::jobs::periodic::Scheduler;
use crate::jobs::Runner;
use crate::metrics::Metrics;
use crate::notifications::queue::DeliveryQueue;
use crate::notifications::reseal::seal_stored_secrets;
use crate::notifications::sealing::Sealer;
use crate::notifications::sender::Sender;
use crate::pacing::Gate;
use crate::provisioning::handlers::Context as HandlerContext;
use crate::provisioning::provider::WorkspaceProvider;
use crate::provisioning::queue::EventQueue;
use crate::provisioning::{build_provider, dry_run::DryRun, provider_gate};
use crate::reconcile::job::ReconcileJob;
use crate::reconcile::Reconciler;
use crate::retention::RetentionJob;

/// A built, bound application that has not started serving yet.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    engine: Engine,
    monitor: HealthMonitor,
}

impl Application {
    /// Connects to the database (migrating it unless told not to), binds the listener and
    /// prepares the server. Port 0 binds a free port; see [`Application::port`].
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = open_database(&settings)?;
        if settings.database.run_migrations {
            migrate(&db).await?;
        }
        let metrics = Arc::new(Metrics::new()?);
        let engine = Engine::start(&settings, db.clone(), metrics.clone()).await?;
        let frontegg = Source::new("frontegg", settings.sources.frontegg.clone());
        if frontegg.settings.insecure_skip_verification {
            tracing::warn!("sources.frontegg.insecure_skip_verification is on: unsigned requests are accepted");
        }
        if !settings.is_development() && frontegg.settings.body_unauthenticated() {
            tracing::warn!(
                "sources.frontegg accepts frontegg-jwt without allowed_ips: the token proves who sent a request, not \
                 its body, so a captured token can carry another body while it is fresh (up to \
                 sources.frontegg.jwt_max_age_secs). Set sources.frontegg.allowed_ips to Frontegg's published addresses"
            );
        }
        // SQLite has one writer: a second batch would only wait for the first one's lock.
        let concurrent_batches = match &db {
            Database::Sqlite(_) => 1,
            Database::Pg(_) => settings.ingest.concurrent_batches,
        };
        let recorder = InboxRecorder::spawn(db.clone(), settings.ingest.max_batch, concurrent_batches);
        let gauges_every = Duration::from_secs(settings.metrics.refresh_interval_secs);
        let (monitor, health) = HealthMonitor::start(db.clone(), metrics.clone(), gauges_every).await;
        let metrics_token = Some(settings.metrics.token.expose_secret())
            .filter(|token| !token.is_empty())
            .map(|token| Sha256::digest(token.trim().as_bytes()).into());
        let state = web::Data::new(AppState {
            db,
            recorder,
            frontegg,
            body_read_timeout: Duration::from_millis(settings.server.body_read_timeout_ms),
            wake: engine.wake.clone(),
            provider_mode: engine.provider.mode(),
            pacing: engine.pacing.clone(),
            admin_tokens: http::admin::AdminTokens::new(settings.admin.grants()),
            metrics,
            notifier: engine.notifier.clone(),
            sealer: engine.sealer.clone(),
            notices: engine.notices.clone(),
            rotation_grace: Duration::from_secs(settings.notifications.rotation_grace_secs),
            health,
            metrics_token,
            console: crate::console::Console::new(&settings),
        });
        let address = (settings.server.host.as_str(), settings.port());
        let listener = TcpListener::bind(address)
            .with_context(|| format!("cannot listen on {}:{}", settings.server.host, settings.port()))?;
        let port = listener.local_addr()?.port();
        let server = build_server(listener, state.clone(), &settings)?;
        tracing::info!(
            address = %format!("{}:{port}", settings.server.host),
            database = state.db.backend_name(),
            environment = %settings.environment,
            "tenantgate listening"
        );
        Ok(Self {
            port,
            server,
            state,
            engine,
            monitor,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database the application uses.
    pub fn database(&self) -> Database {
        self.state.db.clone()
    }

    /// Serves until SIGINT or SIGTERM, then lets in-flight requests finish (up to
    /// `server.shutdown_timeout_secs`).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let mut server = tokio::spawn(self.server);
        let served = tokio::select! {
            served = &mut server => served,
            () = shutdown_signal() => {
                tracing::info!("shutdown signal received: finishing in-flight requests and events");
                handle.stop(true).await;
                server.await
            }
        };
        self.engine.stop().await;
        self.monitor.shutdown().await;
        served
            .context("the HTTP server task failed")?
            .context("the HTTP server failed")?;
        tracing::info!("tenantgate stopped");
        Ok(())
    }
}

/// Runs the provisioning workers without the HTTP server (`tenantgate worker`) until SIGINT or
/// SIGTERM.
pub async fn run_workers(mut settings: Settings) -> anyhow::Result<()> {
    let db = open_database(&settings)?;
    if settings.database.run_migrations {
        migrate(&db).await?;
    }
    settings.worker.enabled = true;
    tracing::info!(environment = %settings.environment, "tenantgate worker starting");
    let engine = Engine::start(&settings, db, Arc::new(Metrics::new()?)).await?;
    shutdown_signal().await;
    tracing::info!("shutdown signal received: finishing in-flight events");
    engine.stop().await;
    tracing::info!("tenantgate worker stopped");
    Ok(())
}

async fn migrate(db: &Database) -> anyhow::Result<()> {
    let db = db.clone();
    let applied = web::block(move || db.migrate())
        .await
        .context("migration task failed")??;
    for version in &applied {
        tracing::info!(migration = %version, "migration applied");
    }
    Ok(())
}

/// The provider, the workers and their wake-ups, and the retention job and the notification
/// dispatcher that run with them.
struct Engine {
    provider: Arc<dyn WorkspaceProvider>,
    /// Paces every call to the provider (none in dry run).
    pacing: Option<Gate>,
    wake: Arc<Notify>,
    notifier: Sender,
    sealer: Sealer,
    notices: Arc<Notify>,
    workers: Option<Runner<EventQueue>>,
    periodic: Scheduler,
    dispatcher: Option<Runner<DeliveryQueue>>,
    stop_listening: Arc<AtomicBool>,
    listener: Option<std::thread::JoinHandle<()>>,
}

impl Engine {
    async fn start(settings: &Settings, db: Database, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        // Before anything signs: no subscription secret stays in plain text, nor under an old key.
        let sealer = Sealer::new(&settings.notifications.encryption_keys)?;
        seal_stored_secrets(&db, &sealer).await?;
        let pacing = provider_gate(&settings.provider, settings.worker.concurrency)?;
        if let Some(gate) = &pacing {
            metrics.watch_gate(gate.clone());
        }
        let provider = build_provider(&settings.provider, pacing.clone(), metrics.clone())?;
        if provider.mode() == DryRun.mode() {
            tracing::warn!("provider is dry-run: no workspace is really created (set provider.kind = \"airbyte\")");
        }
        let wake = Arc::new(Notify::new());
        let notices = Arc::new(Notify::new());
        let notifier = Sender::new(&settings.notifications)?;
        let stop_listening = Arc::new(AtomicBool::new(false));
        if !settings.worker.enabled {
            return Ok(Self {
                provider,
                pacing,
                wake,
                notifier,
                sealer,
                notices,
                workers: None,
                periodic: Scheduler::default(),
                dispatcher: None,
                stop_listening,
                listener: None,
            });
        }
        let listener = match db {
            Database::Pg(_) => {
                let url = settings.database.url.expose_secret().to_owned();
                Some(notify::spawn_listener(url, wake.clone(), stop_listening.clone())?)
            }
            Database::Sqlite(_) => None,
        };
        let mut periodic = Scheduler::default();
        if settings.retention.enabled {
            periodic.start(RetentionJob {
                db: db.clone(),
                settings: settings.retention.clone(),
                metrics: metrics.clone(),
            });
        }
        if settings.reconcile.enabled {
            let reconciler = Reconciler::new(
                db.clone(),
                provider.clone(),
                settings,
                Some(metrics.clone()),
                Some(wake.clone()),
            )?;
            periodic.start(ReconcileJob { reconciler });
        }
        let dispatcher = settings.notifications.enabled.then(|| {
            let queue = DeliveryQueue::new(
                db.clone(),
                notifier.clone(),
                sealer.clone(),
                settings.notifications.clone(),
                metrics.clone(),
            );
            Runner::spawn(
                queue,
                DeliveryQueue::runner_settings(&settings.notifications),
                notices.clone(),
                metrics.clone(),
            )
        });
        let ctx = HandlerContext {
            notices: notices.clone(),
            db,
            provider: provider.clone(),
            deletion_policy: settings.provider.deletion_policy,
            name_template: settings.provider.workspace_name_template.clone(),
            destinations: settings.provider.default_destinations.clone(),
            metrics: metrics.clone(),
        };
        let release_delay = match settings.provider.kind {
            crate::config::ProviderKind::Airbyte => Duration::from_millis(settings.provider.airbyte.request_timeout_ms),
            crate::config::ProviderKind::DryRun => Duration::ZERO,
        };
        let runner_settings = EventQueue::runner_settings(&settings.worker, release_delay);
        let workers = Runner::spawn(
            EventQueue::new(ctx, settings.worker.clone()),
            runner_settings,
            wake.clone(),
            metrics,
        );
        Ok(Self {
            provider,
            pacing,
            wake,
            notifier,
            sealer,
            notices,
            workers: Some(workers),
            periodic,
            dispatcher,
            stop_listening,
            listener,
        })
    }

    async fn stop(self) {
        self.stop_listening.store(true, Ordering::Relaxed);
        self.periodic.shutdown().await;
        if let Some(workers) = self.workers {
            workers.shutdown().await;
            tracing::info!("provisioning workers stopped");
        }
        if let Some(dispatcher) = self.dispatcher {
            dispatcher.shutdown().await;
        }
        if let Some(listener) = self.listener {
            let _ = tokio::task::spawn_blocking(move || listener.join()).await;
        }
    }
}

/// Opens the pool for `database.url`, naming the backend in the log.
pub fn open_database(settings: &Settings) -> anyhow::Result<Database> {
    let url = settings.database.url.expose_secret();
    tracing::info!(database = %DatabaseUrl::describe(url), "opening database");
    Database::connect(
        url,
        settings.database.pool_size,
        Duration::from_secs(settings.database.connect_timeout_secs),
    )
}

fn build_server(listener: TcpListener, state: web::Data<AppState>, settings: &Settings) -> anyhow::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .wrap(TracingLogger::<http::RequestSpans>::new())
            .app_data(state.clone())
            .configure(http::routes)
    })
    // Signals are handled in `run_until_stopped`, so that SIGINT is graceful too.
    .disable_signals()
    .client_request_timeout(Duration::from_millis(settings.server.client_request_timeout_ms))
    .shutdown_timeout(settings.server.shutdown_timeout_secs)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut stream) => {
                    stream.recv().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
