//! `wharf user …` and `wharf team …`: the directory from the command line,
//! for the operator (the same rules as `/api/v1/users` and `/api/v1/teams`).
//! Passwords are read from stdin, one line, never from the arguments (which
//! other users of the machine can see).

use super::record;
use clap::Subcommand;
use wharf::auth::directory::is_valid_name;
use wharf::config::Settings;
use wharf::services::Services;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user (the password is read from stdin).
    Add {
        name: String,
        #[arg(long)]
        admin: bool,
    },
    /// List users, their teams and whether they are disabled.
    List,
    /// Set a user's password (read from stdin).
    Passwd {
        name: String,
        /// Revoke every API token of the user too.
        #[arg(long)]
        revoke_tokens: bool,
    },
    /// Refuse a user's password and tokens from now on.
    Disable {
        name: String,
    },
    Enable {
        name: String,
    },
}

#[derive(Subcommand)]
pub enum TeamCommand {
    Add {
        name: String,
    },
    List,
    /// Delete a team, its memberships and the packages it owned as a team.
    Delete {
        name: String,
    },
    AddMember {
        team: String,
        user: String,
    },
    RemoveMember {
        team: String,
        user: String,
    },
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    anyhow::ensure!(password.len() >= 8, "passwords have at least 8 characters");
    Ok(password)
}

pub async fn user(settings: Settings, command: UserCommand) -> anyhow::Result<()> {
    let services = Services::open(settings).await?;
    let auth = &services.auth;
    let found = |found: bool, name: &str| match found {
        true => Ok(()),
        false => Err(anyhow::anyhow!("no user named {name:?}")),
    };
    match command {
        UserCommand::Add { name, admin } => {
            anyhow::ensure!(
                is_valid_name(&name),
                "user names are 1-64 of [A-Za-z0-9._-]"
            );
            anyhow::ensure!(!auth.user_exists(&name).await?, "user {name:?} exists");
            auth.set_user(&name, &read_password()?, admin).await?;
            record(&services, "user-set", &format!("user:{name}")).await;
            println!("created {name}");
        }
        UserCommand::List => {
            println!("NAME\tADMIN\tDISABLED\tTEAMS");
            for u in auth.directory.users().await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    u.name,
                    u.admin,
                    u.disabled,
                    u.teams.join(",")
                );
            }
        }
        UserCommand::Passwd {
            name,
            revoke_tokens,
        } => {
            found(auth.set_password(&name, &read_password()?).await?, &name)?;
            record(&services, "user-change", &format!("user:{name} password")).await;
            if revoke_tokens {
                let n = auth.revoke_tokens_of(&name).await?;
                record(
                    &services,
                    "token-revoke",
                    &format!("{n} tokens of user:{name}"),
                )
                .await;
                println!("revoked {n} tokens of {name}");
            }
            println!("password of {name} set");
        }
        UserCommand::Disable { name } => {
            found(auth.update_user(&name, None, Some(true)).await?, &name)?;
            record(&services, "user-change", &format!("user:{name} disabled")).await;
            println!("disabled {name}");
        }
        UserCommand::Enable { name } => {
            found(auth.update_user(&name, None, Some(false)).await?, &name)?;
            record(&services, "user-change", &format!("user:{name} enabled")).await;
            println!("enabled {name}");
        }
    }
    Ok(())
}

pub async fn team(settings: Settings, command: TeamCommand) -> anyhow::Result<()> {
    let services = Services::open(settings).await?;
    let directory = &services.auth.directory;
    match command {
        TeamCommand::Add { name } => {
            anyhow::ensure!(
                is_valid_name(&name),
                "team names are 1-64 of [A-Za-z0-9._-]"
            );
            anyhow::ensure!(directory.create_team(&name).await?, "team {name:?} exists");
            record(&services, "team-create", &format!("team:{name}")).await;
            println!("created team {name}");
        }
        TeamCommand::List => {
            println!("TEAM\tMEMBERS");
            for t in directory.teams().await? {
                println!("{}\t{}", t.name, t.members.join(","));
            }
        }
        TeamCommand::Delete { name } => {
            anyhow::ensure!(
                directory.delete_team(&name).await?,
                "no team named {name:?}"
            );
            record(&services, "team-delete", &format!("team:{name}")).await;
            println!("deleted team {name}");
        }
        TeamCommand::AddMember { team, user } => {
            match directory.add_member(&team, &user).await {
                Err(sqlx::Error::RowNotFound) => {
                    anyhow::bail!("no team {team:?} or no user {user:?}")
                }
                other => other?,
            }
            let target = format!("team:{team} user:{user}");
            record(&services, "team-add-member", &target).await;
            println!("{user} is a member of {team}");
        }
        TeamCommand::RemoveMember { team, user } => {
            directory.remove_member(&team, &user).await?;
            let target = format!("team:{team} user:{user}");
            record(&services, "team-remove-member", &target).await;
            println!("{user} is not a member of {team}");
        }
    }
    Ok(())
}
