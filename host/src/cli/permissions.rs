//! `wharf permission …`: grants from the command line, for the operator
//! (the same rules as `/api/v1/permissions`). A running server follows
//! within a second.

use super::record;
use clap::{Args, Subcommand, ValueEnum};
use wharf::auth::Action;
use wharf::auth::permissions::GrantSpec;
use wharf::config::Settings;
use wharf::services::Services;

#[derive(Subcommand)]
pub enum PermissionCommand {
    /// Grant actions on a repository's packages.
    Grant(NewGrant),
    /// List every grant with its id.
    List,
    /// Revoke a grant by its id.
    Revoke { id: i64 },
}

#[derive(Args)]
pub struct NewGrant {
    /// `user:<name>`, `team:<name>`, `users` (every signed-in user) or
    /// `anonymous`.
    principal: String,
    /// A repository, or a pattern of them (`*`: every one).
    #[arg(long, default_value = "*")]
    repository: String,
    /// Packages matching this pattern, `*` any run of characters
    /// (repeatable; default every package), e.g. `@acme/*`.
    #[arg(long = "include", value_name = "PATTERN")]
    include: Vec<String>,
    /// Except packages matching this pattern (repeatable).
    #[arg(long = "exclude", value_name = "PATTERN")]
    exclude: Vec<String>,
    /// Repeatable; `admin` implies the others and ownership.
    #[arg(long = "action", value_name = "ACTION", required = true)]
    actions: Vec<ActionArg>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ActionArg {
    Read,
    Write,
    Delete,
    Admin,
}

impl From<ActionArg> for Action {
    fn from(a: ActionArg) -> Action {
        match a {
            ActionArg::Read => Action::Read,
            ActionArg::Write => Action::Write,
            ActionArg::Delete => Action::Delete,
            ActionArg::Admin => Action::Admin,
        }
    }
}

pub async fn permission(settings: Settings, command: PermissionCommand) -> anyhow::Result<()> {
    let services = Services::open(settings).await?;
    let auth = &services.auth;
    match command {
        PermissionCommand::Grant(new) => {
            let include = match new.include.is_empty() {
                true => vec!["*".to_string()],
                false => new.include,
            };
            let spec = GrantSpec {
                principal: new.principal,
                repository: new.repository,
                include,
                exclude: new.exclude,
                actions: new.actions.into_iter().map(Action::from).collect(),
            };
            spec.check().map_err(anyhow::Error::msg)?;
            anyhow::ensure!(
                !spec.principal.contains(':') || auth.principal_exists(&spec.principal).await?,
                "there is no {}",
                spec.principal
            );
            let granted = auth.permissions.grant(&spec).await?;
            record(&services, "permission-grant", &spec.to_string()).await;
            println!("{}", granted.id);
        }
        PermissionCommand::List => {
            for p in auth.permissions.list().await? {
                println!("{}\t{}", p.id, p.spec);
            }
        }
        PermissionCommand::Revoke { id } => {
            anyhow::ensure!(
                auth.permissions.revoke(id).await?,
                "there is no permission {id}"
            );
            record(&services, "permission-revoke", &format!("permission {id}")).await;
            println!("revoked permission {id}");
        }
    }
    Ok(())
}
