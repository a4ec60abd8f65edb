//! Where repositories are mounted: the first path segment resolved to its
//! repository, with the repository's metric handles, once per repository
//! rather than once per request (both sit on the warm-read path). The
//! table is swapped whole when the admin API changes repositories.

use crate::config::Settings;
use crate::repositories::{Kind, RepositorySpec};
use crate::runtime::{RepoInfo, RepoKind};
use crate::telemetry;
use arc_swap::ArcSwap;
use axum::http::{HeaderMap, HeaderValue, header};
use metrics::{Counter, Histogram};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

pub struct Mount {
    pub repo: RepoInfo,
    pub format: String,
    pub seconds: Histogram,
    pub cache_hits: Counter,
    pub cache_misses: Counter,
    /// A proxy's upstream.
    pub upstream: Option<crate::upstream::Target>,
    /// Its definition; none for a zero-config repository (joined on first
    /// use, named after its format).
    spec: Option<RepositorySpec>,
    /// One counter per status 100-599, made on first use: reading one is a
    /// plain load, where a lock would be shared writes on every request.
    statuses: Box<[OnceLock<Counter>]>,
}

impl Mount {
    /// A group's members, as configured.
    pub fn members(&self) -> &[String] {
        self.spec.as_ref().map_or(&[], |s| &s.members)
    }

    /// `server_ca`: the server-wide CA bundle of upstreams.
    fn new(
        repo: RepoInfo,
        format: String,
        spec: Option<RepositorySpec>,
        server_ca: Option<&std::path::Path>,
    ) -> Self {
        let name = repo.name.clone();
        Mount {
            seconds: metrics::histogram!(telemetry::REQUEST_SECONDS, "repo" => name.clone()),
            cache_hits: metrics::counter!(telemetry::DOCUMENT_CACHE, "repo" => name.clone(), "result" => "hit"),
            cache_misses: metrics::counter!(telemetry::DOCUMENT_CACHE, "repo" => name, "result" => "miss"),
            statuses: (100..600).map(|_| OnceLock::new()).collect(),
            upstream: spec.as_ref().and_then(|s| s.upstream_target(server_ca)),
            spec,
            repo,
            format,
        }
    }

    /// Counts one answered request.
    pub fn answered(&self, status: u16) {
        let Some(slot) = self.statuses.get(usize::from(status).wrapping_sub(100)) else {
            return;
        };
        slot.get_or_init(|| {
            let name = self.repo.name.clone();
            metrics::counter!(telemetry::REQUESTS, "repo" => name, "status" => status.to_string())
        })
        .increment(1);
    }
}

pub struct Mounts {
    settings: Settings,
    table: ArcSwap<HashMap<String, Arc<Mount>>>,
}

impl Mounts {
    /// The repositories of `wharf.toml`; the API's arrive with `reload`,
    /// zero-config ones join on first use.
    pub fn new(settings: &Settings) -> Self {
        let mounts = Mounts {
            settings: settings.clone(),
            table: ArcSwap::default(),
        };
        mounts.reload(&settings.repositories);
        mounts
    }

    /// Serves exactly `specs` (and the zero-config repositories in use
    /// that none of them replaces). A repository whose definition did not
    /// change keeps its mount, and so its metric handles.
    pub fn reload(&self, specs: &[RepositorySpec]) {
        self.table.rcu(|table| {
            let mut next: HashMap<String, Arc<Mount>> = table
                .iter()
                .filter(|(name, mount)| {
                    mount.spec.is_none() && !specs.iter().any(|s| &s.name == *name)
                })
                .map(|(name, mount)| (name.clone(), mount.clone()))
                .collect();
            for spec in specs {
                let mount = match table.get(&spec.name) {
                    Some(m) if m.spec.as_ref() == Some(spec) => m.clone(),
                    _ => {
                        let repo = self.repo_info(spec);
                        let ca = self.settings.upstream_ca_bundle.as_deref();
                        Arc::new(Mount::new(
                            repo,
                            spec.format.clone(),
                            Some(spec.clone()),
                            ca,
                        ))
                    }
                };
                next.insert(spec.name.clone(), mount);
            }
            next
        });
    }

    fn repo_info(&self, spec: &RepositorySpec) -> RepoInfo {
        let kind = match spec.kind {
            Kind::Hosted => RepoKind::Hosted,
            Kind::Proxy => RepoKind::Proxy,
            Kind::Group => RepoKind::Group,
        };
        let settings_json = serde_json::Value::Object(spec.settings.clone()).to_string();
        repo_info(&self.settings, &spec.name, kind, settings_json)
    }

    /// The repository a path addresses and the path below its mount, still
    /// percent-encoded: `/v2/…` is the OCI registry, `/<repo>/…` a configured
    /// repository or the zero-config one of the format `is_format` knows.
    ///
    /// Another OCI repository (a proxy, a group, a second hosted one) is
    /// `/v2/<repo>/…`, as container clients need a registry root: its
    /// plugin sees `v2/…` as at the registry (see [`oci_prefix`]).
    pub fn resolve<'p>(
        &self,
        path: &'p str,
        is_format: impl Fn(&str) -> bool,
    ) -> Result<(Arc<Mount>, Cow<'p, str>), String> {
        let path = path.trim_start_matches('/');
        if let Some((mount, rest)) = path
            .strip_prefix("v2/")
            .and_then(|p| self.oci_repository(p))
        {
            return Ok((mount, Cow::Owned(format!("v2/{rest}"))));
        }
        // The registry at `/v2/` is the repository registry tokens serve.
        let (name, rest) = if path == "v2" || path.starts_with("v2/") {
            (crate::registry_token::REPOSITORY, path)
        } else {
            path.split_once('/').unwrap_or((path, ""))
        };
        let rest = Cow::Borrowed(rest);
        if let Some(mount) = self.table.load().get(name) {
            return Ok((mount.clone(), rest));
        }
        // Only names of loaded formats join, so the table stays bounded.
        if !is_format(name) {
            return Err(name.to_string());
        }
        let repo = repo_info(&self.settings, name, RepoKind::Hosted, "{}".into());
        let mount = Arc::new(Mount::new(repo, name.to_string(), None, None));
        self.table.rcu(|table| {
            let mut table = HashMap::clone(table);
            table
                .entry(name.to_string())
                .or_insert_with(|| mount.clone());
            table
        });
        Ok((self.table.load()[name].clone(), rest))
    }

    /// `<repo>/<rest>` (a path below `/v2/`, or a registry token scope's
    /// name) of a configured OCI repository other than the registry's own.
    pub fn oci_repository<'p>(&self, path: &'p str) -> Option<(Arc<Mount>, &'p str)> {
        let (name, rest) = path.split_once('/')?;
        let mount = self.table.load().get(name)?.clone();
        let other = mount.format == OCI && name != crate::registry_token::REPOSITORY;
        other.then_some((mount, rest))
    }

    /// The repositories a group's reads walk, in order: its members, a
    /// nested group's in its place (configuration refuses cycles; the depth
    /// bound only keeps a broken table from looping), each once.
    pub fn leaves(&self, group: &Mount, is_format: &dyn Fn(&str) -> bool) -> Vec<Arc<Mount>> {
        let mut leaves: Vec<Arc<Mount>> = Vec::new();
        let mut todo: Vec<(String, usize)> = group
            .members()
            .iter()
            .rev()
            .map(|m| (m.clone(), 1))
            .collect();
        while let Some((name, depth)) = todo.pop() {
            let Ok((mount, _)) = self.resolve(&name, is_format) else {
                continue;
            };
            match mount.repo.kind {
                RepoKind::Group if depth < MAX_DEPTH => {
                    let nested = mount.members().iter().rev();
                    todo.extend(nested.map(|m| (m.clone(), depth + 1)));
                }
                RepoKind::Group => {}
                _ if leaves.iter().any(|l| l.repo.name == mount.repo.name) => {}
                _ => leaves.push(mount),
            }
        }
        leaves
    }
}

/// The format whose repositories are addressed under `/v2/`.
const OCI: &str = "oci";

/// The path prefix that addresses `mount` below `/v2/` (`/v2/<repo>`), when
/// it is an OCI repository other than the registry's own: the paths its
/// plugin writes into `Location` and `Link` (`/v2/…`) need it.
pub fn oci_prefix(mount: &Mount) -> Option<String> {
    let other = mount.format == OCI && mount.repo.name != crate::registry_token::REPOSITORY;
    other.then(|| format!("/v2/{}", mount.repo.name))
}

/// Puts `prefix` before the registry paths (`/v2/…`) of `Location` and
/// `Link` headers.
pub fn prefix_registry_paths(headers: &mut HeaderMap, prefix: &str) {
    for name in [header::LOCATION, header::LINK] {
        let Some(value) = headers.get(&name).and_then(|v| v.to_str().ok()) else {
            continue;
        };
        let prefixed = value.replacen("</v2/", &format!("<{prefix}/"), 1);
        let prefixed = match prefixed.strip_prefix("/v2/") {
            Some(rest) => format!("{prefix}/{rest}"),
            None => prefixed,
        };
        if let Ok(value) = HeaderValue::from_str(&prefixed) {
            headers.insert(name, value);
        }
    }
}

/// Groups nested deeper than this are not walked.
const MAX_DEPTH: usize = 8;

fn repo_info(settings: &Settings, name: &str, kind: RepoKind, settings_json: String) -> RepoInfo {
    RepoInfo {
        name: name.to_string(),
        kind,
        base_url: format!("{}/{}/", settings.base_url(), name),
        settings_json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_paths_get_the_repositorys_prefix() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::LOCATION,
            HeaderValue::from_static("/v2/org/app/blobs/uploads/1"),
        );
        headers.insert(
            header::LINK,
            HeaderValue::from_static("</v2/org/app/tags/list?last=b&n=2>; rel=\"next\""),
        );
        prefix_registry_paths(&mut headers, "/v2/mirror");
        assert_eq!(
            headers[header::LOCATION],
            "/v2/mirror/org/app/blobs/uploads/1"
        );
        assert_eq!(
            headers[header::LINK],
            "</v2/mirror/org/app/tags/list?last=b&n=2>; rel=\"next\""
        );
        // An absolute URL elsewhere is left alone.
        let mut headers = HeaderMap::new();
        headers.insert(
            header::LOCATION,
            HeaderValue::from_static("https://cdn.test/v2/x"),
        );
        prefix_registry_paths(&mut headers, "/v2/mirror");
        assert_eq!(headers[header::LOCATION], "https://cdn.test/v2/x");
    }
}
