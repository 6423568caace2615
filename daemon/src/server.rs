//! Running the daemon: the HTTP listener, the ticker that drives the engine's clock, reloads, and
//! a clean shutdown. The listener and the shutdown signal are passed in, so tests and the demo run
//! the same code on an ephemeral port.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::{error, info};

use crate::cluster::Cluster;
use crate::config::{self, Config, DATABASE_URL_ENV, StoreBackend};
use crate::http::{AppState, Reloader, auth::Auth, router};
use crate::store::{PostgresStore, SqliteStore};
use crate::watch::{Clock, Watch};

pub struct DaemonOptions {
    pub config: Arc<Config>,
    /// The file to re-read on reload; `None` for an embedded configuration.
    pub config_path: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub clock: Clock,
    pub auth: Auth,
    pub prometheus: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// More routes to serve beside the API (the demo's webhook receiver).
    pub extra_routes: Option<axum::Router>,
    /// Write e-mail pages as .eml files here instead of sending them (the demo).
    pub mail_folder: Option<PathBuf>,
}

/// Opens the store (`[store] backend`) and the watch (replaying the journal), ready to serve.
pub fn open(opts: &DaemonOptions) -> anyhow::Result<Arc<Watch>> {
    let deadline = opts.config.delivery.deadline;
    let watch = match opts.config.store {
        StoreBackend::Sqlite => Watch::open(
            opts.config.clone(),
            Arc::new(SqliteStore::open(&opts.data_dir)?.with_delivery_deadline(deadline)),
            opts.clock.clone(),
            &opts.data_dir,
        )?,
        StoreBackend::Postgres => {
            let url = std::env::var(DATABASE_URL_ENV).map_err(|_| {
                anyhow::anyhow!(
                    "[store] backend = \"postgres\" needs the database's URL in {DATABASE_URL_ENV} (postgres://user:password@host:port/database)"
                )
            })?;
            let node = node_name(&opts.config);
            let store = PostgresStore::open(&url)
                .map_err(|e| anyhow::anyhow!("opening the PostgreSQL store: {e}"))?;
            let cluster = Cluster::new(&url, &node)?;
            info!(node, "store: PostgreSQL, as a node of a cluster");
            let store = store
                .with_delivery_deadline(deadline)
                .with_fence(cluster.fence.clone());
            Watch::open_shared(
                opts.config.clone(),
                Arc::new(store),
                cluster,
                opts.clock.clone(),
                &opts.data_dir,
            )?
        }
    };
    Ok(Arc::new(watch))
}

/// This daemon's name among a cluster's nodes: `FLOORWATCH_NODE`, else the host's name and the
/// port it listens on (or its process id, on an ephemeral port).
fn node_name(cfg: &Config) -> String {
    if let Ok(n) = std::env::var("FLOORWATCH_NODE")
        && !n.trim().is_empty()
    {
        return n.trim().to_string();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "floorwatch".into());
    match cfg.daemon.listen.port() {
        0 => format!("{host}-{}", std::process::id()),
        port => format!("{host}:{port}"),
    }
}

/// Re-reads the configuration file and swaps it in; a file with errors is refused and the
/// running configuration stays.
pub fn reloader(
    watch: Arc<Watch>,
    path: PathBuf,
    overrides: impl Fn(&mut Config) + Send + Sync + 'static,
) -> Reloader {
    Arc::new(move || {
        let mut cfg = config::load(&path)
            .and_then(config::Config::require_secrets)
            .map_err(|e| {
                let msg = e.to_string();
                error!("reload refused, keeping the running configuration:\n{msg}");
                msg
            })?;
        overrides(&mut cfg);
        watch.reload(Arc::new(cfg)).map_err(|e| e.to_string())?;
        info!("configuration reloaded from {}", path.display());
        Ok(())
    })
}

/// Serves the API on `listener` and ticks the engine until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    watch: Arc<Watch>,
    opts: &DaemonOptions,
    reload: Option<Reloader>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let tick = Duration::from_millis(opts.config.daemon.tick as u64);
    let ticker = tokio::spawn(run_ticker(watch.clone(), tick));
    let links = crate::notify::ack_link::LinkKey::load(&opts.data_dir)?;
    let outbox = tokio::spawn(crate::notify::outbox::run(
        watch.clone(),
        links.clone(),
        opts.mail_folder.clone(),
    ));
    let heartbeats = tokio::spawn(crate::health::run(watch.clone()));
    let live = crate::live::Hub::new(opts.config.live.clone());
    let producer = tokio::spawn(live.clone().run(watch.clone()));
    let state = AppState {
        live: live.clone(),
        watch: watch.clone(),
        auth: Arc::new(opts.auth.clone()),
        prometheus: opts.prometheus.clone(),
        reload,
        links,
        started: chrono::Utc::now(),
    };
    let mut app = router(state, opts.config.daemon.limits.max_body_bytes);
    if let Some(extra) = opts.extra_routes.clone() {
        app = app.merge(extra);
    }
    let addr = listener.local_addr()?;
    info!("listening on http://{addr}");
    // A node of a cluster: the lease and the journal, each on a thread of its own.
    let cluster_threads = watch.cluster().cloned().map(|c| {
        let url = std::env::var("FLOORWATCH_NODE_URL").unwrap_or_else(|_| format!("http://{addr}"));
        c.set_url(&url);
        let (lw, fw) = (watch.clone(), watch.clone());
        let (lc, fc) = (c.clone(), c.clone());
        let lease = std::thread::spawn(move || crate::cluster::run_lease(lc, lw));
        let follow = std::thread::spawn(move || crate::cluster::run_follow(fc, fw));
        (c, lease, follow)
    });
    // Live clients are upgraded connections, which the graceful shutdown does not wait for:
    // they are told (close code 1001) as soon as the signal comes.
    let hub = live.clone();
    let shutdown = async move {
        shutdown.await;
        hub.stop(Duration::from_secs(2)).await;
    };
    // No Nagle: a small live frame right after another would otherwise wait for the client's
    // delayed acknowledgement (up to 40 ms).
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    producer.abort();
    ticker.abort();
    heartbeats.abort();
    // Undelivered notifications stay in the outbox and go out after the next start.
    outbox.abort();
    // A last tick so nothing decided in the final moments is left unsaved.
    let w = watch.clone();
    tokio::task::spawn_blocking(move || w.tick()).await?;
    // A leader hands over: the lease is given up, and another node takes it at once.
    if let Some((cluster, lease, follow)) = cluster_threads {
        cluster.stop();
        let _ = tokio::task::spawn_blocking(move || {
            let _ = lease.join();
            let _ = follow.join();
        })
        .await;
    }
    info!("stopped");
    Ok(())
}

async fn run_ticker(watch: Arc<Watch>, every: Duration) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut ticks: u64 = 0;
    loop {
        interval.tick().await;
        ticks += 1;
        let w = watch.clone();
        let prune = ticks.is_multiple_of((3_600_000 / every.as_millis().max(1) as u64).max(1));
        let started = std::time::Instant::now();
        let _ = tokio::task::spawn_blocking(move || {
            w.tick();
            if prune {
                w.prune_journal();
            }
        })
        .await;
        metrics::histogram!("floorwatch_tick_seconds").record(started.elapsed().as_secs_f64());
    }
}
