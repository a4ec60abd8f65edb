//! Package ownership, for every format alike: the first publisher of a
//! package becomes its owner; further versions, tags, yanks, deprecations
//! and deletes need an owner (a user, or a member of an owning team) or an
//! administrator. Owners are kept per repository and package name, the name
//! the format's plugin puts in its routes and writes.
//!
//! A package that has content but no owner (published before owners were
//! kept) is changed only by an administrator, who can assign owners: it is
//! never claimed by whoever writes to it first.

use super::permissions::Permissions;
use super::{Action, Caller};
use crate::store::catalog::Catalog;
use crate::store::{Db, begin_write, now_millis};

/// How a caller stands towards a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// An owner, directly or through a team; or an administrator (of the
    /// registry, or of the package by a grant), of a package that exists.
    Owner,
    /// Nobody holds the name and nothing is published under it: the caller
    /// may publish it and becomes its owner.
    Unclaimed,
    /// Others own it, or it has content and no owner.
    Outsider,
}

/// An owner: `user:<name>` or `team:<name>`.
pub fn principal_is_valid(principal: &str) -> bool {
    matches!(principal.split_once(':'), Some(("user" | "team", name)) if !name.is_empty())
}

#[derive(Clone)]
pub struct Owners {
    db: Db,
    /// Who administers a repository's packages (an `admin` grant).
    permissions: Permissions,
}

impl Owners {
    pub fn new(db: Db, permissions: Permissions) -> Self {
        Owners { db, permissions }
    }

    /// Where `caller` stands towards `package` of `repo`.
    pub async fn standing(
        &self,
        catalog: &dyn Catalog,
        caller: &Caller,
        repo: &str,
        package: &str,
    ) -> Result<Standing, sqlx::Error> {
        let Some(user) = caller.user.as_deref() else {
            return Ok(Standing::Outsider);
        };
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN principal = 'user:' || $3
                 OR principal IN (SELECT 'team:' || team FROM team_members WHERE user_name = $3)
                 THEN 1 ELSE 0 END), 0) AS BIGINT)
             FROM package_owners WHERE repo = $1 AND package = $2",
        )
        .bind(repo)
        .bind(package)
        .bind(user)
        .fetch_optional(&self.db)
        .await?;
        let (owners, mine) = row.unwrap_or((0, 0));
        // An admin, or an admin of the package by a grant, may change
        // anything, and claims a new name like anyone.
        let rules = self.permissions.rules();
        let admin = caller.admin || rules.allows(Some(user), Action::Admin, repo, Some(package));
        let others = match admin {
            true => Standing::Owner,
            false => Standing::Outsider,
        };
        Ok(match (owners, mine) {
            (_, 1..) => Standing::Owner,
            (1.., 0) => others,
            _ => match catalog.has_package(repo, package).await {
                Ok(false) => Standing::Unclaimed,
                _ => others,
            },
        })
    }

    /// Makes `user` the owner of an unowned package; `false` when someone
    /// claimed it first (one statement: two first publishes cannot both win).
    pub async fn claim(&self, repo: &str, package: &str, user: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO package_owners (repo, package, principal, added_at)
             SELECT $1, $2, 'user:' || $3, $4
             WHERE NOT EXISTS (SELECT 1 FROM package_owners WHERE repo = $1 AND package = $2)",
        )
        .bind(repo)
        .bind(package)
        .bind(user)
        .bind(now_millis())
        .execute(&self.db)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives a claim back: the publish it was made for failed.
    pub async fn unclaim(&self, repo: &str, package: &str, user: &str) -> Result<(), sqlx::Error> {
        self.remove(repo, package, &format!("user:{user}")).await
    }

    /// The packages `principal` owns, as (repository, package).
    pub async fn packages_of(&self, principal: &str) -> Result<Vec<(String, String)>, sqlx::Error> {
        sqlx::query_as("SELECT repo, package FROM package_owners WHERE principal = $1")
            .bind(principal)
            .fetch_all(&self.db)
            .await
    }

    pub async fn list(&self, repo: &str, package: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT principal FROM package_owners WHERE repo = $1 AND package = $2 ORDER BY added_at, principal",
        )
        .bind(repo)
        .bind(package)
        .fetch_all(&self.db)
        .await
    }

    pub async fn add(&self, repo: &str, package: &str, principal: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO package_owners (repo, package, principal, added_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(repo)
        .bind(package)
        .bind(principal)
        .bind(now_millis())
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// Adds `add` and removes `remove` in one transaction, unless no owner
    /// would be left: then nothing changes and the answer is `false` (two
    /// removals at once cannot both pass a check made before either).
    pub async fn change(
        &self,
        repo: &str,
        package: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<bool, sqlx::Error> {
        let mut tx = begin_write(&self.db, &format!("owners {repo} {package}")).await?;
        let now = now_millis();
        for principal in add {
            sqlx::query(
                "INSERT INTO package_owners (repo, package, principal, added_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(repo)
            .bind(package)
            .bind(principal)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        for principal in remove {
            sqlx::query(
                "DELETE FROM package_owners WHERE repo = $1 AND package = $2 AND principal = $3",
            )
            .bind(repo)
            .bind(package)
            .bind(principal)
            .execute(&mut *tx)
            .await?;
        }
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM package_owners WHERE repo = $1 AND package = $2",
        )
        .bind(repo)
        .bind(package)
        .fetch_one(&mut *tx)
        .await?;
        if left == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn remove(
        &self,
        repo: &str,
        package: &str,
        principal: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "DELETE FROM package_owners WHERE repo = $1 AND package = $2 AND principal = $3",
        )
        .bind(repo)
        .bind(package)
        .bind(principal)
        .execute(&self.db)
        .await?;
        Ok(())
    }
}
