//! Starts the gateway: database, state, router and background workers, as one handle.
//!
//! `serve`, `demo` and the integration tests all start the gateway through [`App::start`], so
//! tests run the same code as production.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::{bail, Context};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{
    ckb::{
        client::CkbClient, manage::ManageClient, outbox::Outbox, stats::RemoteStats,
        sync::FriendSync,
    },
    config::Settings,
    db, http,
    metrics::Metrics,
    state::{AppState, AppStateInner},
};

/// A running gateway.
pub struct App {
    addr: SocketAddr,
    state: AppState,
    shutdown: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    workers: Vec<JoinHandle<()>>,
}

impl App {
    /// Opens the database, applies pending migrations (unless turned off), and builds the state.
    pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
        settings.validate()?;
        settings.prepare_database_path()?;
        db::counters::set_utc_offset_hours(settings.telemetry.utc_offset_hours);
        let (db, statements) = db::connect(
            &settings.database.database_url,
            settings.database.db_max_connections,
        )
        .await?;
        if settings.database.no_migrate {
            let pending = db::pending_migrations(&db).await?;
            if !pending.is_empty() {
                bail!(
                    "{} migrations are pending ({}) and PGW_NO_MIGRATE is set; run `partner-gateway migrate apply` first",
                    pending.len(),
                    pending.join(", ")
                );
            }
        } else {
            db::migrate(&db).await?;
        }
        let metrics = Arc::new(Metrics::new());
        let client = CkbClient::new(
            Duration::from_millis(settings.ckb.ckb_connect_timeout_ms),
            Duration::from_millis(settings.ckb.ckb_timeout_ms),
            Arc::clone(&metrics),
        )
        .context("failed to build the HTTP client for CKB")?;
        let outbox = Arc::new(Outbox::new(db.clone(), client, settings.ckb.clone()));
        let manage = Arc::new(
            ManageClient::new(
                settings.ckb_credentials(),
                Duration::from_millis(settings.ckb.ckb_connect_timeout_ms),
                Duration::from_millis(settings.ckb.ckb_timeout_ms),
                Arc::clone(&metrics),
            )
            .context("failed to build the HTTP client for CKB's management API")?,
        );
        let remote_stats = Arc::new(RemoteStats::new(
            Arc::clone(&manage),
            Duration::from_secs(settings.ckb.ckb_stats_ttl_secs),
        ));
        let friend_sync = Arc::new(FriendSync::new(
            db.clone(),
            Arc::clone(&manage),
            settings.ckb.friend_sync_max_pages,
        ));
        Ok(AppState::new(AppStateInner {
            db,
            settings,
            statements,
            outbox,
            manage,
            remote_stats,
            friend_sync,
            metrics,
        }))
    }

    /// Builds the state and serves on the configured address.
    pub async fn start(settings: Settings) -> anyhow::Result<App> {
        let listen = settings.http.listen;
        let state = Self::build_state(settings).await?;
        let listener = TcpListener::bind(listen).await.with_context(|| {
            format!(
                "failed to listen on {listen}; is another process using the port? set PGW_LISTEN"
            )
        })?;
        Self::start_with(listener, state).await
    }

    /// Serves `state` on an already bound listener (tests bind port 0).
    pub async fn start_with(listener: TcpListener, state: AppState) -> anyhow::Result<App> {
        let addr = listener
            .local_addr()
            .context("failed to read the listening address")?;
        let shutdown = CancellationToken::new();
        let router = http::router(state.clone());
        let stop = shutdown.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        });
        let mut workers = Vec::new();
        if state.settings.ckb.outbox_worker {
            workers.push(Arc::clone(&state.outbox).spawn_worker(shutdown.child_token()));
        }
        workers.push(db::counters::spawn_folder(
            state.db.clone(),
            shutdown.child_token(),
        ));
        if state.settings.ckb.friend_sync_secs > 0 && state.manage.is_configured() {
            let interval = Duration::from_secs(state.settings.ckb.friend_sync_secs);
            workers.push(
                Arc::clone(&state.friend_sync).spawn_worker(interval, shutdown.child_token()),
            );
        }
        tracing::info!(%addr, "listening");
        Ok(App {
            addr,
            state,
            shutdown,
            server,
            workers,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting connections, lets requests in flight and their first delivery attempts
    /// finish within the configured timeout, and stops the workers.
    pub async fn shutdown(self) {
        tracing::info!("shutting down");
        self.shutdown.cancel();
        let timeout = Duration::from_secs(self.state.settings.http.shutdown_timeout_secs);
        let deadline = tokio::time::Instant::now() + timeout;
        let mut server = self.server;
        match tokio::time::timeout(timeout, &mut server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => tracing::error!(error = %error, "server stopped with an error"),
            Ok(Err(error)) => tracing::error!(error = %error, "server task failed"),
            Err(_) => {
                tracing::warn!(
                    timeout_secs = timeout.as_secs(),
                    "requests still in flight after the shutdown timeout; closing them"
                );
                server.abort();
            }
        }
        // One timeout covers both the requests and the attempts they started.
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        if !self.state.outbox.finish_attempts(remaining).await {
            tracing::warn!(
                timeout_secs = timeout.as_secs(),
                "lead deliveries still in flight after the shutdown timeout; their leads stay PENDING and are sent after their lease runs out"
            );
        }
        for worker in self.workers {
            if let Err(error) = worker.await {
                tracing::error!(error = %error, "a background worker failed");
            }
        }
        self.state.db.clone().close().await.ok();
        tracing::info!("stopped");
    }

    /// Serves until SIGTERM or Ctrl-C, then shuts down.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        wait_for_signal().await;
        self.shutdown().await;
        Ok(())
    }
}

async fn wait_for_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(error = %error, "failed to listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("received Ctrl-C"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}
