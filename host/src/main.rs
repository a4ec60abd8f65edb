//! `wharf`: one artifact registry for every package format. The command
//! line; everything else is the `wharf` library.

mod cli;

use clap::Parser;
use cli::Command;
use wharf::config::{Overrides, Settings};
use wharf::serve;

#[derive(Parser)]
#[command(name = "wharf", version, about)]
struct Cli {
    #[command(flatten)]
    overrides: Overrides,
    #[command(subcommand)]
    command: Option<Command>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    return_big_buffers();
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
        Command::Fsck => cli::fsck(settings).await,
        Command::Gc { dry_run } => cli::gc(settings, dry_run).await,
        Command::Token { command } => cli::token(settings, command).await,
        Command::User { command } => cli::user(settings, command).await,
        Command::Team { command } => cli::team(settings, command).await,
        Command::Permission { command } => cli::permission(settings, command).await,
        Command::Retention { dry_run } => cli::retention(settings, dry_run).await,
        Command::Key { command } => cli::key(settings, command).await,
        Command::Backup { dir } => wharf::backup::backup(&settings, &dir).await.map(drop),
        Command::Restore { dir } => wharf::backup::restore(&settings, &dir).await.map(drop),
    }
}

/// Big transient buffers (19 MiB per password check, archive and body
/// buffers) go back to the system when freed. glibc would otherwise raise
/// its mmap threshold after the first one and keep later ones in each
/// thread's arena: ten wrong passwords kept ~100 MiB resident for good.
fn return_big_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; called before any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
