//! `wharf`: one artifact registry for every package format. The command
//! line; everything else is the `wharf` library.

use clap::{Parser, Subcommand};
use wharf::config::{Overrides, Settings};
use wharf::{serve, services};

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
    /// Check every stored blob against its address and every asset against
    /// the store; quarantine what is corrupt or missing (exit status 1).
    Fsck,
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
        Command::Fsck => {
            let services = services::Services::open(settings).await?;
            let report = wharf::fsck::run(&services).await?;
            println!(
                "checked {} blobs ({} bytes): {} corrupt, {} missing, {} assets without their blob",
                report.checked,
                report.bytes,
                report.corrupt.len(),
                report.missing.len(),
                report.dangling_assets
            );
            for blake3 in &report.corrupt {
                println!("corrupt, quarantined: {blake3}");
            }
            for blake3 in &report.missing {
                println!("missing, quarantined: {blake3}");
            }
            if !report.clean() {
                std::process::exit(1);
            }
            Ok(())
        }
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
