//! The subcommands besides `serve`: they work on the data directory itself,
//! so they are for the operator of the host, who is every user's admin.

mod directory;
mod keys;
mod permissions;
mod retention;

pub use directory::{TeamCommand, UserCommand, team, user};
pub use keys::{KeyCommand, key};
pub use permissions::{PermissionCommand, permission};
pub use retention::retention;

use clap::{Args, Subcommand};
use wharf::auth::tokens::{Restrictions, TokenInfo, TokenSpec};
use wharf::config::Settings;
use wharf::services::Services;
use wharf::store::now_millis;

#[derive(Subcommand)]
pub enum Command {
    /// Serve every enabled format (the default).
    Serve,
    /// Check every stored blob against its address and every asset against
    /// the store; quarantine what is corrupt or missing (exit status 1).
    Fsck,
    /// Delete the blobs nothing references and nothing stored within the
    /// grace period (`--gc-grace-secs`); print how many and their bytes.
    Gc {
        /// Only print what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage teams.
    Team {
        #[command(subcommand)]
        command: TeamCommand,
    },
    /// Grant users and teams actions on repositories and package patterns.
    Permission {
        #[command(subcommand)]
        command: PermissionCommand,
    },
    /// What the repositories' retention rules would remove now.
    Retention {
        /// Only list (the server applies the rules).
        #[arg(long)]
        dry_run: bool,
    },
    /// The OpenPGP keys the host signs with for plugins.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Back up the database, the blobs it lists and the keys into a new or
    /// empty directory, while a server keeps serving.
    Backup { dir: std::path::PathBuf },
    /// Restore a backup into an empty or new data directory.
    Restore { dir: std::path::PathBuf },
}

/// Records an access change made from the command line in the audit log.
async fn record(services: &Services, action: &str, target: &str) {
    let actor = wharf::audit::Actor::command_line();
    services
        .audit
        .record(&actor, action, None, target, "ok")
        .await;
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Print a new API token for a user (its id and expiry go to stderr).
    Create(NewToken),
    /// List tokens (never their secrets): a user's, or everyone's.
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by its id (a running server refuses it within a
    /// second; `DELETE /api/v1/tokens/{id}` acts at once).
    Revoke { id: String },
}

#[derive(Args)]
pub struct NewToken {
    #[arg(long)]
    user: String,
    /// Shown when listing.
    #[arg(long, default_value = "")]
    name: String,
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    expires_in_days: Option<u32>,
    /// Only reads.
    #[arg(long)]
    read_only: bool,
    /// Only this repository (repeatable).
    #[arg(long = "repository", value_name = "REPOSITORY")]
    repositories: Vec<String>,
    /// Only packages matching this pattern, `*` any run of characters
    /// (repeatable), e.g. `@acme/*`.
    #[arg(long = "package", value_name = "PATTERN")]
    packages: Vec<String>,
}

pub async fn fsck(settings: Settings) -> anyhow::Result<()> {
    let services = Services::open(settings).await?;
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

pub async fn gc(settings: Settings, dry_run: bool) -> anyhow::Result<()> {
    use wharf::store::gc::{Outcome, run};
    let grace = std::time::Duration::from_secs(settings.gc_grace_secs);
    let services = Services::open(settings).await?;
    match run(&services.blobs, grace, dry_run).await? {
        Outcome::Done(c) if dry_run => {
            println!("would reclaim {} blobs ({} bytes)", c.blobs, c.bytes)
        }
        Outcome::Done(c) => println!("reclaimed {} blobs ({} bytes)", c.blobs, c.bytes),
        Outcome::Busy { holder } => {
            println!("another collection is running ({holder}): nothing done")
        }
    }
    Ok(())
}

pub async fn token(settings: Settings, command: TokenCommand) -> anyhow::Result<()> {
    let services = Services::open(settings).await?;
    let auth = &services.auth;
    match command {
        TokenCommand::Create(new) => {
            if !auth.user_exists(&new.user).await? {
                anyhow::bail!("no user named {:?}", new.user);
            }
            let days = new.expires_in_days.map(i64::from);
            let spec = TokenSpec {
                name: new.name,
                expires_at: days.map(|d| now_millis() + d * 86_400_000),
                restrictions: Restrictions {
                    read_only: new.read_only,
                    repositories: Some(new.repositories).filter(|r| !r.is_empty()),
                    packages: Some(new.packages).filter(|p| !p.is_empty()),
                },
            };
            let issued = auth.issue_token(&new.user, &spec).await?;
            let target = format!("token {} of user:{}", issued.id, new.user);
            record(&services, "token-create", &target).await;
            // stdout is the secret alone, for scripts.
            println!("{}", issued.secret);
            let expires = spec.expires_at.map_or("never".into(), utc);
            eprintln!("id {}, expires {expires}", issued.id);
        }
        TokenCommand::List { user } => {
            let tokens = auth.list_tokens(user.as_deref()).await?;
            println!("ID\tUSER\tNAME\tCREATED\tEXPIRES\tLAST USED\tRESTRICTIONS");
            for t in &tokens {
                println!("{}", row(t));
            }
        }
        TokenCommand::Revoke { id } => {
            if !auth.revoke_token(&id).await? {
                anyhow::bail!("no token with id {id:?}");
            }
            record(&services, "token-revoke", &format!("token {id}")).await;
            println!("revoked {id}");
        }
    }
    Ok(())
}

fn row(t: &TokenInfo) -> String {
    let r = &t.restrictions;
    let mut limits = Vec::new();
    if r.read_only {
        limits.push("read-only".to_string());
    }
    if let Some(repositories) = &r.repositories {
        limits.push(format!("repositories {}", repositories.join(",")));
    }
    if let Some(packages) = &r.packages {
        limits.push(format!("packages {}", packages.join(",")));
    }
    let or = |at: Option<i64>, none: &str| at.map_or(none.to_string(), utc);
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
        t.id,
        t.user,
        t.name,
        utc(t.created_at),
        or(t.expires_at, "never"),
        or(t.last_used_at, "never"),
        if limits.is_empty() {
            "none".into()
        } else {
            limits.join("; ")
        },
    )
}

/// `2025-03-01 12:34Z` for milliseconds since the epoch (the civil-from-days
/// algorithm: no date crate for one column).
fn utc(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}Z",
        day_secs / 3600,
        day_secs % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00Z");
        assert_eq!(super::utc(951_782_400_000), "2000-02-29 00:00Z");
        assert_eq!(super::utc(1_740_832_440_000), "2025-03-01 12:34Z");
    }
}
