//! Users and teams as an administrator sees them: listing, disabling,
//! team membership. (Passwords are set by `Auth::set_user`, which owns the
//! hashing.) A disabled user keeps their data and ownerships but can no
//! longer sign in; their tokens stop working with them.

use super::permissions::Permissions;
use crate::store::{Db, Dialect, Flag, dialect, now_millis};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserInfo {
    pub name: String,
    pub admin: bool,
    pub disabled: bool,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub teams: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeamInfo {
    pub name: String,
    pub members: Vec<String>,
}

/// Team and user names: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

#[derive(Clone)]
pub struct Directory {
    db: Db,
    /// Reloaded after a change of memberships, which grants follow.
    permissions: Permissions,
}

impl Directory {
    pub fn new(db: Db, permissions: Permissions) -> Self {
        Directory { db, permissions }
    }

    pub async fn users(&self) -> Result<Vec<UserInfo>, sqlx::Error> {
        let teams = match dialect(&self.db) {
            Dialect::Sqlite => "group_concat(m.team, char(10))",
            Dialect::Postgres => "string_agg(m.team, chr(10))",
        };
        let rows: Vec<(String, Flag, Flag, i64, Option<String>)> = sqlx::query_as(&format!(
            "SELECT u.name, u.admin, u.disabled, u.created_at, {teams}
             FROM users u LEFT JOIN team_members m ON m.user_name = u.name
             GROUP BY u.name ORDER BY u.name"
        ))
        .fetch_all(&self.db)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(name, admin, disabled, created_at, teams)| UserInfo {
                name,
                admin: admin.into(),
                disabled: disabled.into(),
                created_at,
                teams: sorted_lines(teams),
            })
            .collect())
    }

    /// Changes what is given; `false` when there is no such user.
    pub async fn update_user(
        &self,
        name: &str,
        admin: Option<bool>,
        disabled: Option<bool>,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE users SET admin = COALESCE($1, admin), disabled = COALESCE($2, disabled) WHERE name = $3",
        )
        .bind(admin.map(i64::from))
        .bind(disabled.map(i64::from))
        .bind(name)
        .execute(&self.db)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn teams(&self) -> Result<Vec<TeamInfo>, sqlx::Error> {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT t.name, group_concat(m.user_name, char(10))
             FROM teams t LEFT JOIN team_members m ON m.team = t.name
             GROUP BY t.name ORDER BY t.name",
        )
        .fetch_all(&self.db)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(name, members)| TeamInfo {
                name,
                members: sorted_lines(members),
            })
            .collect())
    }

    /// `false` when the team exists already.
    pub async fn create_team(&self, name: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO teams (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .bind(now_millis())
        .execute(&self.db)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes a team, its memberships, its grants and the ownerships it held.
    pub async fn delete_team(&self, name: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        for held in ["package_owners", "permissions"] {
            sqlx::query(&format!(
                "DELETE FROM {held} WHERE principal = 'team:' || $1"
            ))
            .bind(name)
            .execute(&mut *tx)
            .await?;
        }
        let done = sqlx::query("DELETE FROM teams WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.permissions.refresh().await?;
        Ok(done.rows_affected() == 1)
    }

    /// `Err(RowNotFound)` when the team or the user does not exist.
    pub async fn add_member(&self, team: &str, user: &str) -> Result<(), sqlx::Error> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM teams WHERE name = $1)
                        AND EXISTS (SELECT 1 FROM users WHERE name = $2)",
        )
        .bind(team)
        .bind(user)
        .fetch_optional(&self.db)
        .await?;
        found.ok_or(sqlx::Error::RowNotFound)?;
        sqlx::query(
            "INSERT INTO team_members (team, user_name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(team)
        .bind(user)
        .execute(&self.db)
        .await?;
        self.permissions.refresh().await?;
        Ok(())
    }

    pub async fn remove_member(&self, team: &str, user: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM team_members WHERE team = $1 AND user_name = $2")
            .bind(team)
            .bind(user)
            .execute(&self.db)
            .await?;
        self.permissions.refresh().await?;
        Ok(())
    }
}

fn sorted_lines(joined: Option<String>) -> Vec<String> {
    let mut names: Vec<String> = joined
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    names.sort();
    names
}
