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
