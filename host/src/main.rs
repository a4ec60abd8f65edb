//! `wharf`: one artifact registry for every package format.

mod auth;
mod config;
mod doc_cache;
mod http;
mod registry_token;
mod runtime;
mod services;
mod store;
mod telemetry;

use clap::{Parser, Subcommand};
use config::{Overrides, Settings};
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "wharf", version, about)]
struct Cli {
    #[command(flatten)]
    overrides: Overrides,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every enabled format (the default).
    Serve,
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Print a new API token for a user.
    Create {
        #[arg(long)]
        user: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(&cli.overrides)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&settings.log).unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Token {
            command: TokenCommand::Create { user },
        } => {
            let services = services::Services::open(settings).await?;
            if !services.auth.user_exists(&user).await? {
                anyhow::bail!("no user named {user:?}");
            }
            println!("{}", services.auth.create_token(&user).await?);
            Ok(())
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
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
    let runtime = Arc::new(runtime::Runtime::new(&settings)?);
    runtime.reload().await;
    runtime::reload::watch(runtime.clone())?;
    spawn_upload_reaper(services.clone());
    let app = Arc::new(http::App {
        services,
        runtime,
        metrics,
    });
    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    tracing::info!(address = %listener.local_addr()?, formats = ?app.runtime.formats(), startup_ms = started.elapsed().as_millis() as u64, "wharf is listening");
    axum::serve(listener, http::router(app))
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

/// Abandoned resumable uploads are removed once untouched for
/// `upload_max_age_secs`, checked every half of that (at most hourly).
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
