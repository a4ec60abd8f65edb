//! The audit log: every catalog write and every change to access (users,
//! teams, owners, tokens), with who made it (and with which token), from
//! where, and how it ended. Nothing secret is recorded: tokens by their
//! public id, passwords never.
//!
//! Recording never fails a request: a database error is logged and the
//! entry is lost, as an access log line would be.

use crate::store::catalog::Write;
use crate::store::{Db, now_millis};
use serde::Serialize;

/// One entry, as `GET /api/v1/audit` returns it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Entry {
    pub id: i64,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    /// The user, or none for an anonymous caller.
    pub actor: Option<String>,
    /// The public id of the API token used, if one was.
    pub token: Option<String>,
    /// The client's address.
    pub address: Option<String>,
    /// `publish`, `tag`, `delete-version`, `owner-add`, `user-change`, …
    pub action: String,
    pub repo: Option<String>,
    /// What was acted on: `left-pad@1.0.0`, `user:bob`, …
    pub target: String,
    /// `ok`, or why not (`denied: …`, `failed: …`).
    pub outcome: String,
}

/// Who acted, from where.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user: Option<String>,
    pub token: Option<String>,
    pub address: Option<String>,
}

impl Actor {
    /// The caller, the public id of the API token they used, their address.
    pub fn of(caller: &crate::auth::Caller, address: Option<std::net::IpAddr>) -> Actor {
        Actor {
            user: caller.user.clone(),
            token: caller.api_token.as_ref().map(|t| t.id.clone()),
            address: address.map(|ip| ip.to_string()),
        }
    }

    /// The server's retention job, applying a repository's rule.
    pub fn retention() -> Actor {
        Actor {
            user: Some("(retention)".into()),
            token: None,
            address: None,
        }
    }

    /// The operator, through `wharf user|team|token|permission …` on the
    /// server's own data directory.
    pub fn command_line() -> Actor {
        Actor {
            user: Some("(command line)".into()),
            token: None,
            address: None,
        }
    }
}

/// Filters of a listing, newest first.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct Filter {
    pub actor: Option<String>,
    pub repository: Option<String>,
    pub action: Option<String>,
    /// From this time on (epoch milliseconds).
    pub since: Option<i64>,
    /// Before this time (epoch milliseconds).
    pub until: Option<i64>,
    /// Entries older than this id: the `next` of the previous page.
    pub before: Option<i64>,
    /// At most this many (default 100, at most 1,000).
    pub limit: Option<u32>,
}

/// Longest `target` or `outcome` kept: they may carry client input.
const MAX_TEXT: usize = 512;

#[derive(Clone)]
pub struct Audit {
    db: Db,
}

impl Audit {
    pub fn new(db: Db) -> Self {
        Audit { db }
    }

    pub async fn record(
        &self,
        actor: &Actor,
        action: &str,
        repo: Option<&str>,
        target: &str,
        outcome: &str,
    ) {
        let done = sqlx::query(
            "INSERT INTO audit (at, actor, token, address, action, repo, target, outcome)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(now_millis())
        .bind(&actor.user)
        .bind(&actor.token)
        .bind(&actor.address)
        .bind(action)
        .bind(repo)
        .bind(crate::telemetry::bounded(target, MAX_TEXT).to_string())
        .bind(crate::telemetry::bounded(outcome, MAX_TEXT).to_string())
        .execute(&self.db)
        .await;
        if let Err(e) = done {
            tracing::warn!(action, error = %e, "an audit entry was lost");
        }
    }

    /// A page of entries, newest first.
    pub async fn list(&self, filter: &Filter) -> Result<Vec<Entry>, sqlx::Error> {
        let limit = filter.limit.unwrap_or(100).clamp(1, 1000);
        sqlx::query_as(
            "SELECT id, at, actor, token, address, action, repo, target, outcome FROM audit
             WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR repo = $2)
               AND ($3 IS NULL OR action = $3) AND ($4 IS NULL OR at >= $4)
               AND ($5 IS NULL OR at < $5) AND ($6 IS NULL OR id < $6)
             ORDER BY id DESC LIMIT $7",
        )
        .bind(&filter.actor)
        .bind(&filter.repository)
        .bind(&filter.action)
        .bind(filter.since)
        .bind(filter.until)
        .bind(filter.before)
        .bind(i64::from(limit))
        .fetch_all(&self.db)
        .await
    }
}

/// The action and target of a catalog write.
pub fn describe(w: &Write) -> (&'static str, String) {
    let at = |package: &str, version: &str| format!("{package}@{version}");
    match w {
        Write::Publish(p) => ("publish", at(&p.version.package, &p.version.version)),
        Write::PutAsset { owner, asset, .. } => {
            ("put-asset", format!("{} {}", owner.package, asset.path))
        }
        Write::RemoveAsset { package, path } => ("remove-asset", format!("{package} {path}")),
        Write::SetYanked {
            package,
            version,
            yanked,
        } => (
            if *yanked { "yank" } else { "unyank" },
            at(package, version),
        ),
        Write::SetDeprecated {
            package, version, ..
        } => ("deprecate", at(package, version)),
        Write::SetTag {
            package,
            tag,
            version,
        } => ("tag", format!("{package} {tag}={version}")),
        Write::RemoveTag { package, tag } => ("untag", format!("{package} {tag}")),
        Write::DeleteVersion { package, version } => ("delete-version", at(package, version)),
        Write::DeletePackage { package } => ("delete-package", package.clone()),
        Write::KvPut { package, key, .. }
        | Write::KvInsert { package, key, .. }
        | Write::KvDelete { package, key } => {
            ("kv", format!("{} {key}", package.as_deref().unwrap_or("*")))
        }
    }
}
