//! Repositories beyond the zero-config one per format: hosted ones under
//! other names, proxies of an upstream, groups of members. They come from
//! `wharf.toml` (`[[repository]]`, fixed while the server runs) and from
//! the admin API (stored in the database, seen by every server within a
//! second through `repositories_generation`). Both are checked together by
//! one rule, `check`, so the API cannot make what the file could not.

use crate::store::Db;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[default]
    Hosted,
    Proxy,
    Group,
}

/// One repository, as `[[repository]]` and the admin API spell it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepositorySpec {
    /// Served at `/<name>/`.
    pub name: String,
    pub format: String,
    #[serde(default)]
    pub kind: Kind,
    /// Proxy: the upstream's base URL (no credentials in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// Proxy: who to authenticate to the upstream as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_username: Option<String>,
    /// Proxy: the environment variable holding the upstream password or
    /// token; the secret itself is never stored or shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_password_env: Option<String>,
    /// Proxy: a PEM file of certificates this upstream is trusted by, beside
    /// the system's roots and the server-wide `upstream_ca_bundle` (a
    /// company CA in front of one registry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_ca_bundle: Option<String>,
    /// Proxy: how long mutable metadata is served before it is revalidated,
    /// e.g. `30s`, `5m`, `1h` (default `5m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_ttl: Option<String>,
    /// Group: member repositories of the same format, in the order reads
    /// try them; writes go to the first hosted one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// Hosted or proxy: which versions the retention job removes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
    /// Format-specific settings the plugin reads, as a JSON object.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schema(value_type = Object)]
    pub settings: serde_json::Map<String, serde_json::Value>,
}

/// Which versions of a repository the retention job removes
/// (`retention.rs`): every version that matches `versions`, is not one of
/// its package's `keep_last` newest, has no tag, and is older than every
/// age given. At least one of `keep_last`, `older_than` and
/// `not_downloaded_for` is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// The newest versions of each package (by publication) always kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<u32>,
    /// Only versions matching this pattern (`*`: any run of characters)
    /// are ever removed, e.g. `*-SNAPSHOT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<String>,
    /// Remove only versions published longer ago, e.g. `90d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub older_than: Option<String>,
    /// Remove only versions none of whose files was downloaded for this
    /// long (a version never downloaded counts from its publication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_downloaded_for: Option<String>,
}

impl Retention {
    fn check(&self, name: &str) -> Result<(), String> {
        let age = |field: &str, text: &Option<String>| match text {
            Some(text) if parse_duration(text).is_none() => Err(format!(
                "{name}: retention {field} {text:?} is not a duration like 12h or 90d"
            )),
            _ => Ok(()),
        };
        age("older_than", &self.older_than)?;
        age("not_downloaded_for", &self.not_downloaded_for)?;
        let bounded = self.keep_last.is_some_and(|n| n > 0)
            || self.older_than.is_some()
            || self.not_downloaded_for.is_some();
        if !bounded {
            return Err(format!(
                "{name}: a retention rule keeps the last N (at least 1) versions, or removes by age"
            ));
        }
        if self
            .versions
            .as_ref()
            .is_some_and(|p| p.is_empty() || p.len() > 256)
        {
            return Err(format!("{name}: retention versions is 1 to 256 characters"));
        }
        Ok(())
    }

    /// `older_than` and `not_downloaded_for`, checked to parse.
    pub fn ages(&self) -> (Option<Duration>, Option<Duration>) {
        let age = |text: &Option<String>| text.as_deref().and_then(parse_duration);
        (age(&self.older_than), age(&self.not_downloaded_for))
    }
}

/// First path segments the host answers itself.
const RESERVED: &[&str] = &[
    "api", "api-docs", "auth", "health", "ready", "metrics", "ui", "v2",
];
/// Members of one group, at most.
const MAX_MEMBERS: usize = 64;

impl RepositorySpec {
    pub fn hosted(name: &str, format: &str) -> Self {
        RepositorySpec {
            name: name.into(),
            format: format.into(),
            kind: Kind::Hosted,
            upstream: None,
            upstream_username: None,
            upstream_password_env: None,
            upstream_ca_bundle: None,
            metadata_ttl: None,
            members: Vec::new(),
            retention: None,
            settings: Default::default(),
        }
    }

    /// What this repository alone must satisfy.
    fn check_alone(&self) -> Result<(), String> {
        let name = &self.name;
        let valid_name = (1..=64).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !valid_name {
            return Err(format!(
                "{name:?} is not a repository name: 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
            ));
        }
        if RESERVED.contains(&name.as_str()) {
            return Err(format!("{name:?} is a path the server answers itself"));
        }
        let proxy_fields = self.upstream.is_some()
            || self.upstream_username.is_some()
            || self.upstream_password_env.is_some()
            || self.upstream_ca_bundle.is_some()
            || self.metadata_ttl.is_some();
        match self.kind {
            Kind::Hosted | Kind::Group if proxy_fields => {
                return Err(format!("{name}: upstream settings belong to a proxy"));
            }
            Kind::Hosted | Kind::Proxy if !self.members.is_empty() => {
                return Err(format!("{name}: members belong to a group"));
            }
            _ => {}
        }
        if let Some(retention) = &self.retention {
            if self.kind == Kind::Group {
                return Err(format!(
                    "{name}: a group holds nothing of its own to retain"
                ));
            }
            retention.check(name)?;
        }
        match self.kind {
            Kind::Hosted => Ok(()),
            Kind::Proxy => self.check_proxy(),
            Kind::Group if self.members.is_empty() => {
                Err(format!("{name}: a group needs at least one member"))
            }
            Kind::Group if self.members.len() > MAX_MEMBERS => {
                Err(format!("{name}: a group has at most {MAX_MEMBERS} members"))
            }
            Kind::Group => Ok(()),
        }
    }

    fn check_proxy(&self) -> Result<(), String> {
        let name = &self.name;
        let Some(upstream) = &self.upstream else {
            return Err(format!("{name}: a proxy needs an upstream URL"));
        };
        let url = reqwest::Url::parse(upstream)
            .map_err(|e| format!("{name}: the upstream is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!("{name}: the upstream must be an http or https URL"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            // It would be shown by the API and written to logs.
            return Err(format!(
                "{name}: put credentials in upstream_username and upstream_password_env, not in the URL"
            ));
        }
        if let Some(var) = &self.upstream_password_env {
            let valid =
                !var.is_empty() && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err(format!(
                    "{name}: {var:?} is not an environment variable name"
                ));
            }
        }
        if let Some(path) = &self.upstream_ca_bundle {
            crate::upstream::certificates(std::path::Path::new(path))
                .map_err(|e| format!("{name}: {e}"))?;
        }
        self.ttl().map(|_| ())
    }

    /// How long mutable metadata of a proxy stays fresh.
    pub fn ttl(&self) -> Result<Duration, String> {
        match &self.metadata_ttl {
            None => Ok(Duration::from_secs(300)),
            Some(text) => parse_duration(text).ok_or_else(|| {
                format!(
                    "{}: {text:?} is not a duration like 30s, 5m or 1h",
                    self.name
                )
            }),
        }
    }
}

impl RepositorySpec {
    /// A proxy's upstream, as its requests fetch from it: the URL with a
    /// trailing slash (relative URLs resolve below it), the credentials
    /// (a password from its environment variable, read now), the TTLs.
    /// With its own CA bundle it gets a client of its own, trusting that
    /// beside `server_ca` (the server-wide `upstream_ca_bundle`).
    /// `None` for another kind, or a definition `check` would refuse.
    pub fn upstream_target(
        &self,
        server_ca: Option<&std::path::Path>,
    ) -> Option<crate::upstream::Target> {
        use crate::upstream::{Client, Credentials, Options, Target, Ttl};
        if self.kind != Kind::Proxy {
            return None;
        }
        let mut base = self.upstream.clone()?;
        if !base.ends_with('/') {
            base.push('/');
        }
        let secret = self
            .upstream_password_env
            .as_deref()
            .and_then(|var| std::env::var(var).ok());
        let credentials = match (&self.upstream_username, secret) {
            (Some(username), Some(password)) => Some(Credentials::Basic {
                username: username.clone(),
                password,
            }),
            (None, Some(token)) => Some(Credentials::Bearer(token)),
            (_, None) => None,
        };
        let fresh = self.ttl().ok()?;
        let client = match &self.upstream_ca_bundle {
            None => None,
            Some(own) => {
                let options = Options {
                    ca_bundles: server_ca
                        .into_iter()
                        .map(Into::into)
                        .chain([own.into()])
                        .collect(),
                    ..Options::default()
                };
                match Client::new(&options) {
                    Ok(client) => Some(std::sync::Arc::new(client)),
                    Err(e) => {
                        tracing::error!(repo = %self.name, error = %e, "the repository's CA bundle is unusable");
                        return None;
                    }
                }
            }
        };
        Some(Target {
            base: base.parse().ok()?,
            client,
            credentials,
            ttl: Ttl {
                fresh,
                negative: fresh.min(NEGATIVE_TTL),
            },
        })
    }
}

/// How long a proxy remembers an upstream's 404 or failure at most.
const NEGATIVE_TTL: Duration = Duration::from_secs(30);

/// `90`, `90s`, `5m`, `2h`, `1d`.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86400)?,
        _ => return None,
    };
    Some(Duration::from_secs(seconds))
}

/// Whether `all` can be served together: each repository valid alone,
/// names unique, members that exist, share the group's format and never
/// lead back to the group; and, with `is_format` (the enabled formats),
/// formats that exist and a name that is a format's holding that format
/// (its zero-config repository, configured). At start-up the formats are
/// not checked: a plugin may load later (a repository of a format that is
/// not loaded answers 404).
pub fn check(
    all: &[RepositorySpec],
    is_format: Option<&dyn Fn(&str) -> bool>,
) -> Result<(), String> {
    let mut by_name: HashMap<&str, &RepositorySpec> = HashMap::new();
    for spec in all {
        spec.check_alone()?;
        if let Some(is_format) = is_format {
            if !is_format(&spec.format) {
                return Err(format!(
                    "{}: there is no enabled format {:?}",
                    spec.name, spec.format
                ));
            }
            if is_format(&spec.name) && spec.name != spec.format {
                return Err(format!(
                    "{}: the name is the {} format's own repository",
                    spec.name, spec.name
                ));
            }
        }
        if by_name.insert(&spec.name, spec).is_some() {
            return Err(format!("{}: the name is taken", spec.name));
        }
    }
    for spec in all.iter().filter(|s| s.kind == Kind::Group) {
        let mut seen = HashSet::new();
        for member in &spec.members {
            if !seen.insert(member) {
                return Err(format!("{}: {member} is listed twice", spec.name));
            }
            // A member may be a zero-config repository of the group's format.
            let format = match by_name.get(member.as_str()) {
                Some(m) => &m.format,
                None if member == &spec.format => &spec.format,
                None => return Err(format!("{}: there is no repository {member}", spec.name)),
            };
            if format != &spec.format {
                return Err(format!(
                    "{}: {member} holds {format}, the group {}",
                    spec.name, spec.format
                ));
            }
        }
        if let Some(path) = cycle_from(spec, &by_name) {
            return Err(format!("{}: members lead back to it: {path}", spec.name));
        }
    }
    Ok(())
}

/// A path of members from `group` back to it, if there is one.
fn cycle_from(group: &RepositorySpec, by_name: &HashMap<&str, &RepositorySpec>) -> Option<String> {
    let mut stack: Vec<(String, Vec<String>)> =
        vec![(group.name.clone(), vec![group.name.clone()])];
    let mut visited = HashSet::new();
    while let Some((name, path)) = stack.pop() {
        let Some(spec) = by_name.get(name.as_str()) else {
            continue;
        };
        for member in &spec.members {
            let mut next = path.clone();
            next.push(member.clone());
            if member == &group.name {
                return Some(next.join(" → "));
            }
            if visited.insert(member.clone()) {
                stack.push((member.clone(), next));
            }
        }
    }
    None
}

/// Where a repository's definition lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// `wharf.toml`: changed there, not through the API.
    Config,
    Api,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Repository {
    #[serde(flatten)]
    pub spec: RepositorySpec,
    pub source: Source,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("{0}")]
    Invalid(String),
    #[error("there is no repository {0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// The repositories of `wharf.toml` and of the database.
#[derive(Clone)]
pub struct Repositories {
    configured: Arc<Vec<RepositorySpec>>,
    db: Db,
    /// The database's `repositories_generation` last read.
    seen: Arc<AtomicI64>,
}

impl Repositories {
    pub fn new(configured: Vec<RepositorySpec>, db: Db) -> Self {
        Repositories {
            configured: Arc::new(configured),
            db,
            seen: Arc::new(AtomicI64::new(-1)),
        }
    }

    /// Every repository: the configured ones, then the API's (one the file
    /// now defines too is the file's).
    pub async fn list(&self) -> Result<Vec<Repository>, sqlx::Error> {
        let stored: Vec<(String,)> = sqlx::query_as("SELECT spec FROM repositories ORDER BY name")
            .fetch_all(&self.db)
            .await?;
        let mut all: Vec<Repository> = self
            .configured
            .iter()
            .map(|spec| Repository {
                spec: spec.clone(),
                source: Source::Config,
            })
            .collect();
        for (json,) in stored {
            match serde_json::from_str::<RepositorySpec>(&json) {
                Ok(spec) if !self.configured.iter().any(|c| c.name == spec.name) => {
                    all.push(Repository {
                        spec,
                        source: Source::Api,
                    })
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "a stored repository does not parse"),
            }
        }
        Ok(all)
    }

    /// The specs to serve, when the database changed since the last call
    /// (always on the first).
    pub async fn changed(&self) -> Result<Option<Vec<RepositorySpec>>, sqlx::Error> {
        let (n,): (i64,) = sqlx::query_as("SELECT n FROM repositories_generation")
            .fetch_one(&self.db)
            .await?;
        if self.seen.swap(n, Ordering::SeqCst) == n {
            return Ok(None);
        }
        Ok(Some(
            self.list().await?.into_iter().map(|r| r.spec).collect(),
        ))
    }

    /// Adds `spec` after checking it beside every other repository.
    pub async fn create(
        &self,
        spec: RepositorySpec,
        is_format: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Repository, ChangeError> {
        let all = self.list().await?;
        if all.iter().any(|r| r.spec.name == spec.name) {
            return Err(ChangeError::Conflict(format!(
                "there is already a repository {}",
                spec.name
            )));
        }
        let mut next: Vec<RepositorySpec> = all.into_iter().map(|r| r.spec).collect();
        next.push(spec.clone());
        check(&next, Some(&is_format)).map_err(ChangeError::Invalid)?;
        let now = crate::store::now_millis();
        sqlx::query(
            "INSERT INTO repositories (name, spec, created_at, updated_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&spec.name)
        .bind(serde_json::to_string(&spec).expect("serializable"))
        .bind(now)
        .bind(now)
        .execute(&self.db)
        .await?;
        Ok(Repository {
            spec,
            source: Source::Api,
        })
    }

    /// Replaces the definition of an API-made repository; its name and
    /// format stay (its packages were stored for that format).
    pub async fn update(
        &self,
        spec: RepositorySpec,
        is_format: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Repository, ChangeError> {
        let all = self.list().await?;
        let current = self.changeable(&all, &spec.name)?;
        if current.format != spec.format {
            return Err(ChangeError::Invalid(format!(
                "{}: the format of a repository does not change",
                spec.name
            )));
        }
        let next: Vec<RepositorySpec> = all
            .into_iter()
            .map(|r| match r.spec.name == spec.name {
                true => spec.clone(),
                false => r.spec,
            })
            .collect();
        check(&next, Some(&is_format)).map_err(ChangeError::Invalid)?;
        sqlx::query("UPDATE repositories SET spec = $1, updated_at = $2 WHERE name = $3")
            .bind(serde_json::to_string(&spec).expect("serializable"))
            .bind(crate::store::now_millis())
            .bind(&spec.name)
            .execute(&self.db)
            .await?;
        Ok(Repository {
            spec,
            source: Source::Api,
        })
    }

    /// Removes an API-made repository no group lists. One that
    /// `holds_packages` is refused, so that nothing is left unreachable (and
    /// found again by a repository later given its name).
    pub async fn delete(&self, name: &str, holds_packages: bool) -> Result<(), ChangeError> {
        let all = self.list().await?;
        self.changeable(&all, name)?;
        if let Some(group) = all
            .iter()
            .find(|r| r.spec.members.iter().any(|m| m == name))
        {
            return Err(ChangeError::Conflict(format!(
                "the group {} lists {name}",
                group.spec.name
            )));
        }
        if holds_packages {
            return Err(ChangeError::Conflict(format!(
                "{name} holds packages; delete them first"
            )));
        }
        sqlx::query("DELETE FROM repositories WHERE name = $1")
            .bind(name)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    fn changeable<'a>(
        &self,
        all: &'a [Repository],
        name: &str,
    ) -> Result<&'a RepositorySpec, ChangeError> {
        match all.iter().find(|r| r.spec.name == name) {
            None => Err(ChangeError::NotFound(name.to_string())),
            Some(r) if r.source == Source::Config => Err(ChangeError::Conflict(format!(
                "{name} is defined in wharf.toml; change it there"
            ))),
            Some(r) => Ok(&r.spec),
        }
    }
}

#[cfg(test)]
mod tests;
