//! Wharf: one artifact registry for every package format.
//!
//! The library behind the `wharf` binary, so that the request pipeline and
//! the host imports are tested in-process (`host/tests/`). The binary
//! (`main.rs`) only parses the command line.

pub mod audit;
pub mod auth;
pub mod backup;
pub mod config;
pub mod doc_cache;
pub mod fsck;
pub mod http;
pub mod passwords;
pub mod registry_token;
pub mod repositories;
pub mod retention;
pub mod runtime;
pub mod services;
pub mod signing;
pub mod store;
pub mod telemetry;
pub mod upstream;

use config::Settings;
use std::sync::Arc;

/// Everything `serve` runs, built and loaded but not yet listening: the
/// router over it answers requests in-process.
pub async fn app(settings: &Settings) -> anyhow::Result<Arc<http::App>> {
    let metrics = telemetry::install()?;
    let services = Arc::new(services::Services::open(settings.clone()).await?);
    if let Some(password) = services
        .auth
        .bootstrap_admin(settings.admin_password.as_deref())
        .await?
    {
        // Printed once, on the first start only.
        println!("Created user admin with password: {password}");
    }
    let runtime = Arc::new(runtime::Runtime::new(settings)?);
    runtime.reload().await;
    let mounts = http::Mounts::new(settings);
    if let Some(specs) = services.repositories.changed().await? {
        mounts.reload(&specs);
    }
    Ok(Arc::new(http::App {
        services,
        runtime,
        metrics,
        mounts,
    }))
}

/// Serves every enabled format until SIGINT or SIGTERM.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let app = app(&settings).await?;
    // Nothing is being written yet: whatever a crash left is abandoned.
    let swept = app
        .services
        .blobs
        .sweep_temp(std::time::Duration::ZERO)
        .await?;
    if swept > 0 {
        tracing::info!(
            files = swept,
            "removed temporary objects a crash left behind"
        );
    }
    runtime::reload::watch(app.runtime.clone())?;
    app.services.auth.watch();
    watch_repositories(app.clone());
    spawn_key_watch(app.services.clone());
    spawn_upload_reaper(app.services.clone());
    spawn_download_notes(app.services.clone());
    fsck::spawn_scrubber(app.services.clone(), settings.scrub_bytes_per_sec);
    spawn_housekeeping(app.services.clone());
    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    let address = listener.local_addr()?;
    tracing::info!(address = %address, formats = ?app.runtime.formats(), startup_ms = started.elapsed().as_millis() as u64, "wharf is listening");
    let limits = http::server::Limits {
        max_connections: settings.max_connections,
        header_timeout: std::time::Duration::from_secs(settings.header_timeout_secs.max(1)),
    };
    http::server::serve(listener, http::router(app.clone()), limits, shutdown()).await?;
    if let Err(e) = app.services.downloads.flush().await {
        tracing::warn!(error = %e, "writing download times failed");
    }
    Ok(())
}

/// Remounts the repositories within a second of a change through the admin
/// API, on this server or another sharing its database.
fn watch_repositories(app: Arc<http::App>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match app.services.repositories.changed().await {
                Ok(Some(specs)) => app.mounts.reload(&specs),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "reading the repositories failed"),
            }
        }
    });
}

/// Cached documents may hold signatures (Debian's InRelease): when a key's
/// signing fingerprint changes (`wharf key rotate`, here or on another
/// node), checked every second, every cached document is dropped, so no
/// signature by the previous key is served again.
fn spawn_key_watch(services: Arc<services::Services>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut seen = None;
        loop {
            tick.tick().await;
            let keys = services.keys.clone();
            let read = tokio::task::spawn_blocking(move || keys.current_fingerprints()).await;
            match read {
                Ok(Ok(now)) => {
                    if seen.as_ref().is_some_and(|seen| *seen != now) {
                        tracing::info!("a signing key rotated: cached documents dropped");
                        services.doc_cache.drop_all();
                    }
                    seen = Some(now);
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "reading the signing keys failed"),
                Err(e) => tracing::warn!(error = %e, "reading the signing keys failed"),
            }
        }
    });
}

/// Temporary objects untouched this long belong to no live ingest.
const TEMP_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Abandoned resumable uploads are removed once untouched for
/// `upload_max_age_secs`, checked every half of that (at most hourly), and
/// temporary objects of ingests that died with a process once untouched for
/// an hour.
fn spawn_upload_reaper(services: Arc<services::Services>) {
    let max_age = std::time::Duration::from_secs(services.settings.upload_max_age_secs.max(1));
    let period = (max_age / 2).clamp(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(3600),
    );
    tokio::spawn(async move {
        let mut every = tokio::time::interval(period);
        loop {
            every.tick().await;
            match services.uploads.reap(max_age).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "reaped abandoned uploads"),
                Err(e) => tracing::warn!(error = %e, "reaping uploads failed"),
            }
            match services.blobs.sweep_temp(TEMP_MAX_AGE).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(files = n, "removed abandoned temporary objects"),
                Err(e) => tracing::warn!(error = %e, "sweeping temporary objects failed"),
            }
        }
    });
}

/// Every `gc_interval_secs` (0: never; the first one interval after
/// start): the repositories' retention rules, then garbage collection,
/// which reclaims what they removed. A removal is one catalog delete, so
/// two nodes applying the same rule at once remove each version once; the
/// collection runs on one node at a time (its lease).
fn spawn_housekeeping(services: Arc<services::Services>) {
    let interval = std::time::Duration::from_secs(services.settings.gc_interval_secs);
    let grace = std::time::Duration::from_secs(services.settings.gc_grace_secs);
    if interval.is_zero() {
        return;
    }
    tokio::spawn(async move {
        let start = tokio::time::Instant::now() + interval;
        let mut every = tokio::time::interval_at(start, interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = retention::run(&services, false).await {
                tracing::warn!(error = %e, "applying retention rules failed");
            }
            // Outcomes are logged and counted by `run`.
            let _ = store::gc::run(&services.blobs, grace, false).await;
        }
    });
}

/// Writes the download notes every minute (`store/downloads.rs`).
fn spawn_download_notes(services: Arc<services::Services>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = services.downloads.flush().await {
                tracing::warn!(error = %e, "writing download times failed");
            }
        }
    });
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("signal handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}
