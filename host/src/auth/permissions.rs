//! Permissions: who may read, write, delete or administer which packages of
//! which repositories, as grants to principals.
//!
//! A grant names a principal (`user:<name>`, `team:<name>`, `users` for every
//! signed-in user, `anonymous` for everyone), a repository (`*` matches any
//! run of characters, as in package patterns), package patterns to include
//! and to exclude, and actions; `admin` implies the others and makes its
//! holder an owner of every package it covers (`owners.rs`). Whatever a
//! signed-in user may do, they may do at least what an anonymous caller may.
//!
//! The defaults of a laptop are grants like any other (migration 0007): `users`
//! read, write and delete everything, within package ownership; anonymous
//! reads follow the `anonymous_read` setting. An operator narrows them by
//! revoking that grant and granting less.
//!
//! A repository-wide read (a listing, a search, a catalog) needs any read
//! grant there, so its listings show every package name to whoever may read
//! some of it. A route that names its packages only in its body (a cargo
//! publish, a PyPI upload) is let in with any write grant there
//! (`allows_somewhere`), and each of its writes is checked with its package
//! when it applies. A write to the repository's own state needs a grant
//! that covers every package (include `*`, nothing excluded).
//!
//! The grants and team memberships are held in memory and checked without
//! a query; every change bumps `access_generation` (triggers), which each
//! server polls every second (`Auth::watch`), so a change made through the
//! command line or another server counts within a second.

use super::Action;
use super::tokens::glob_matches;
use crate::store::{Db, now_millis};
use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Bounds on a grant's lists (`check`).
const MAX_PATTERNS: usize = 64;
const MAX_PATTERN_BYTES: usize = 256;

/// What a grant gives, as it is created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantSpec {
    /// `user:<name>`, `team:<name>`, `users` (every signed-in user) or
    /// `anonymous` (everyone; reads only).
    pub principal: String,
    /// A repository, or a pattern of them (`*`: every one).
    pub repository: String,
    /// Package patterns the grant covers: `*` matches any run of characters,
    /// `/` included (`@acme/*`, `com.acme*`, `team/*`). Default: every package.
    #[serde(default = "everything")]
    pub include: Vec<String>,
    /// Package patterns taken out of `include`.
    #[serde(default)]
    pub exclude: Vec<String>,
    pub actions: Vec<Action>,
}

fn everything() -> Vec<String> {
    vec!["*".into()]
}

/// A grant as it is stored and listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Permission {
    pub id: i64,
    #[serde(flatten)]
    pub spec: GrantSpec,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

impl GrantSpec {
    /// Refuses what would be a mistake: an unknown kind of principal, an
    /// anonymous write, empty or oversized lists, no action.
    pub fn check(&self) -> Result<(), String> {
        let named = |prefix: &str| {
            self.principal
                .strip_prefix(prefix)
                .is_some_and(super::directory::is_valid_name)
        };
        let anonymous = self.principal == "anonymous";
        if !(anonymous || self.principal == "users" || named("user:") || named("team:")) {
            return Err(
                "principal: user:<name>, team:<name>, users (every signed-in user) or anonymous"
                    .into(),
            );
        }
        if anonymous && self.actions.iter().any(|a| *a != Action::Read) {
            return Err("anonymous callers may only be granted read".into());
        }
        if self.actions.is_empty() {
            return Err("actions: at least one of read, write, delete, admin".into());
        }
        let entries = std::iter::once(&self.repository)
            .chain(&self.include)
            .chain(&self.exclude);
        if let Some(bad) = entries.clone().find(|e| {
            e.is_empty() || e.len() > MAX_PATTERN_BYTES || e.chars().any(char::is_control)
        }) {
            return Err(format!(
                "{bad:?} is not a pattern of 1 to {MAX_PATTERN_BYTES} printable bytes"
            ));
        }
        if self.include.is_empty()
            || self.include.len() > MAX_PATTERNS
            || self.exclude.len() > MAX_PATTERNS
        {
            return Err(format!(
                "include: 1 to {MAX_PATTERNS} patterns; exclude: at most {MAX_PATTERNS}"
            ));
        }
        Ok(())
    }

    fn applies_to(&self, user: Option<&str>, teams: &[String]) -> bool {
        match self.principal.split_once(':') {
            _ if self.principal == "anonymous" => true,
            _ if self.principal == "users" => user.is_some(),
            Some(("user", name)) => user == Some(name),
            Some(("team", name)) => teams.iter().any(|t| t == name),
            _ => false,
        }
    }

    fn gives(&self, action: Action) -> bool {
        self.actions.contains(&action) || self.actions.contains(&Action::Admin)
    }

    /// Whether the grant reaches `package` (`None`: the repository as a
    /// whole, see the head comment).
    fn covers(&self, action: Action, package: Option<&str>) -> bool {
        match package {
            Some(name) => {
                self.include.iter().any(|p| glob_matches(p, name))
                    && !self.exclude.iter().any(|p| glob_matches(p, name))
            }
            None if action == Action::Read => true,
            None => self.include.iter().any(|p| p == "*") && self.exclude.is_empty(),
        }
    }
}

/// One line, for the audit log and the command line:
/// `team:core write,delete on npm @acme/* except @acme/secret`.
impl std::fmt::Display for GrantSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let actions: Vec<&str> = self.actions.iter().map(|a| a.as_str()).collect();
        write!(
            f,
            "{} {} on {} {}",
            self.principal,
            actions.join(","),
            self.repository,
            self.include.join(" ")
        )?;
        if !self.exclude.is_empty() {
            write!(f, " except {}", self.exclude.join(" "))?;
        }
        Ok(())
    }
}

/// Every grant and team membership, as one server holds them.
#[derive(Debug, Default)]
pub struct Rules {
    grants: Vec<GrantSpec>,
    /// User → the teams they are a member of.
    teams: HashMap<String, Vec<String>>,
}

impl Rules {
    /// Whether `user` (`None`: anonymous) may do `action` on `package` of
    /// `repository` by some grant.
    pub fn allows(
        &self,
        user: Option<&str>,
        action: Action,
        repository: &str,
        package: Option<&str>,
    ) -> bool {
        let teams = user
            .and_then(|u| self.teams.get(u))
            .map_or(&[][..], Vec::as_slice);
        self.grants.iter().any(|g| {
            g.applies_to(user, teams)
                && g.gives(action)
                && glob_matches(&g.repository, repository)
                && g.covers(action, package)
        })
    }
}

impl Rules {
    /// Whether some grant gives `user` `action` on some package of
    /// `repository`.
    pub fn allows_somewhere(&self, user: Option<&str>, action: Action, repository: &str) -> bool {
        let teams = user
            .and_then(|u| self.teams.get(u))
            .map_or(&[][..], Vec::as_slice);
        self.grants.iter().any(|g| {
            g.applies_to(user, teams) && g.gives(action) && glob_matches(&g.repository, repository)
        })
    }
}

/// The grants in the database, and this server's copy of them.
#[derive(Clone)]
pub struct Permissions {
    db: Db,
    rules: Arc<ArcSwap<Rules>>,
    /// The `access_generation` the rules were loaded at.
    generation: Arc<AtomicI64>,
}

type Row = (i64, String, String, String, String, String, i64);

fn permission(
    (id, principal, repository, include, exclude, actions, created_at): Row,
) -> Permission {
    // Written by `grant` only, from checked specs.
    let list = |json: &str| serde_json::from_str(json).unwrap_or_default();
    Permission {
        id,
        spec: GrantSpec {
            principal,
            repository,
            include: list(&include),
            exclude: list(&exclude),
            actions: serde_json::from_str(&actions).unwrap_or_default(),
        },
        created_at,
    }
}

impl Permissions {
    /// Loads the grants.
    pub async fn load(db: Db) -> Result<Self, sqlx::Error> {
        let permissions = Permissions {
            db,
            rules: Arc::default(),
            generation: Arc::new(AtomicI64::new(-1)),
        };
        permissions.refresh().await?;
        Ok(permissions)
    }

    /// This server's rules.
    pub fn rules(&self) -> arc_swap::Guard<Arc<Rules>> {
        self.rules.load()
    }

    /// Reloads the rules if anything changed since they were loaded;
    /// whether it did.
    pub async fn refresh(&self) -> Result<bool, sqlx::Error> {
        let now: i64 = sqlx::query_scalar("SELECT n FROM access_generation")
            .fetch_one(&self.db)
            .await?;
        if now == self.generation.load(Ordering::SeqCst) {
            return Ok(false);
        }
        // A change after the generation was read bumps it again: the next
        // refresh loads once more.
        let grants = self.list().await?.into_iter().map(|p| p.spec).collect();
        let members: Vec<(String, String)> =
            sqlx::query_as("SELECT user_name, team FROM team_members")
                .fetch_all(&self.db)
                .await?;
        let mut teams: HashMap<String, Vec<String>> = HashMap::new();
        for (user, team) in members {
            teams.entry(user).or_default().push(team);
        }
        self.rules.store(Arc::new(Rules { grants, teams }));
        self.generation.store(now, Ordering::SeqCst);
        Ok(true)
    }

    pub async fn list(&self) -> Result<Vec<Permission>, sqlx::Error> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, principal, repo, include, exclude, actions, created_at
             FROM permissions ORDER BY id",
        )
        .fetch_all(&self.db)
        .await?;
        Ok(rows.into_iter().map(permission).collect())
    }

    /// Stores a checked grant; this server's rules follow at once.
    pub async fn grant(&self, spec: &GrantSpec) -> Result<Permission, sqlx::Error> {
        let created_at = now_millis();
        let id = sqlx::query_scalar(
            "INSERT INTO permissions (principal, repo, include, exclude, actions, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&spec.principal)
        .bind(&spec.repository)
        .bind(json(&spec.include))
        .bind(json(&spec.exclude))
        .bind(json(&spec.actions))
        .bind(created_at)
        .fetch_one(&self.db)
        .await?;
        self.refresh().await?;
        Ok(Permission {
            id,
            spec: spec.clone(),
            created_at,
        })
    }

    /// `false` when there is no such grant.
    pub async fn revoke(&self, id: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM permissions WHERE id = $1")
            .bind(id)
            .execute(&self.db)
            .await?;
        self.refresh().await?;
        Ok(done.rows_affected() == 1)
    }
}

/// The JSON a grant's lists are stored as.
fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("lists of strings serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(principal: &str, repository: &str, include: &[&str], actions: &[Action]) -> GrantSpec {
        GrantSpec {
            principal: principal.into(),
            repository: repository.into(),
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: Vec::new(),
            actions: actions.to_vec(),
        }
    }

    fn rules(grants: Vec<GrantSpec>, teams: &[(&str, &str)]) -> Rules {
        let mut by_user: HashMap<String, Vec<String>> = HashMap::new();
        for (user, team) in teams {
            by_user
                .entry(user.to_string())
                .or_default()
                .push(team.to_string());
        }
        Rules {
            grants,
            teams: by_user,
        }
    }

    #[test]
    fn patterns_limit_a_user_to_their_packages() {
        use Action::*;
        let mut acme = spec("user:ci", "oci", &["team/*"], &[Read, Write]);
        acme.exclude = vec!["team/secret*".into()];
        let r = rules(vec![acme], &[]);
        assert!(r.allows(Some("ci"), Write, "oci", Some("team/app")));
        assert!(!r.allows(Some("ci"), Write, "oci", Some("team/secret-db")));
        assert!(!r.allows(Some("ci"), Write, "oci", Some("other/app")));
        assert!(!r.allows(Some("ci"), Delete, "oci", Some("team/app")));
        assert!(!r.allows(Some("ci"), Write, "npm", Some("team/app")));
        assert!(!r.allows(Some("bob"), Read, "oci", Some("team/app")));
        // Repository-wide: a read with any grant there, a write never here.
        assert!(r.allows(Some("ci"), Read, "oci", None));
        assert!(!r.allows(Some("ci"), Write, "oci", None));
        // A route naming its packages in its body is let in, for its
        // writes to be checked one by one.
        assert!(r.allows_somewhere(Some("ci"), Write, "oci"));
        assert!(!r.allows_somewhere(Some("ci"), Delete, "oci"));
        assert!(!r.allows_somewhere(Some("ci"), Write, "npm"));
    }

    #[test]
    fn teams_users_anonymous_and_admin() {
        use Action::*;
        let r = rules(
            vec![
                spec("team:core", "npm", &["@acme/*"], &[Admin]),
                spec("users", "*", &["*"], &[Read]),
                spec("anonymous", "pypi", &["*"], &[Read]),
            ],
            &[("alice", "core")],
        );
        for action in [Read, Write, Delete, Admin] {
            assert!(r.allows(Some("alice"), action, "npm", Some("@acme/web")));
        }
        assert!(!r.allows(Some("alice"), Write, "npm", Some("@other/web")));
        assert!(r.allows(Some("bob"), Read, "maven", Some("x")));
        assert!(!r.allows(Some("bob"), Write, "npm", Some("@acme/web")));
        assert!(!r.allows(None, Read, "maven", Some("x")));
        // Signed-in users can do what anonymous callers can.
        assert!(r.allows(None, Read, "pypi", Some("x")));
        assert!(r.allows(Some("bob"), Read, "pypi", Some("x")));
    }

    #[test]
    fn mistaken_grants_are_refused() {
        use Action::*;
        assert!(spec("users", "*", &["*"], &[Read]).check().is_ok());
        assert!(
            spec("team:core", "npm", &["@acme/*"], &[Admin])
                .check()
                .is_ok()
        );
        for bad in [
            spec("alice", "*", &["*"], &[Read]),
            spec("user:", "*", &["*"], &[Read]),
            spec("anonymous", "*", &["*"], &[Write]),
            spec("users", "*", &["*"], &[]),
            spec("users", "*", &[], &[Read]),
            spec("users", "", &["*"], &[Read]),
            spec("users", "*", &["a\nb"], &[Read]),
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }
}
