//! `upstream`: what a proxy repository's plugin fetches, through the host.
//! Only for a proxy repository, only to hosts granted to the plugin, with
//! credentials the plugin never sees. Metadata goes through the metadata
//! cache (`upstream/metadata.rs`); artifacts through the pull-through
//! (`upstream/pull.rs`), recorded in the catalog once stored.

use super::StoreData;
use crate::runtime::bindings::v0_3::wharf::plugin::types::{BlobInfo, DigestSet, StoreError};
use crate::runtime::bindings::v0_3::wharf::plugin::upstream as wit;
use crate::runtime::capability::RequestScope;
use crate::store::catalog::Write;
use crate::store::now_millis;
use crate::telemetry;
use crate::upstream::{Algorithm, Cached, FetchError, Pulled, Refusal, Target};
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::sync::Arc;
use wasmtime::component::Resource;

/// An upstream answer, as the plugin holds it.
pub enum UpstreamResponse {
    /// Metadata, from the cache or just fetched; `read` moves `offset`
    /// and learns the body's `size` on its first call.
    Metadata {
        cached: Cached,
        offset: u64,
        size: Option<u64>,
    },
    /// An artifact on its way, with the writes that record it: taken when
    /// the plugin returns it as its body.
    Artifact(Option<Artifact>),
    /// The upstream's answer to a pull, other than the artifact.
    Refused(u16),
}

pub struct Artifact {
    pub pulled: Pulled,
    pub record: Vec<Write>,
}

/// Request headers a plugin may send upstream (and the cache keys on):
/// what selects a representation, nothing that authenticates.
const FORWARDED_HEADERS: &[&str] = &["accept"];

/// What the upstream metadata behind an answer allows: how long the
/// document cache may keep it, and whether the client must be told it is
/// stale.
#[derive(Debug, Default, Clone, Copy)]
pub struct Freshness {
    /// Unix milliseconds; `None` when no upstream metadata was read.
    pub fresh_until: Option<i64>,
    pub stale: bool,
}

impl Freshness {
    fn saw(&mut self, cached: &Cached, target: &Target) {
        let until = cached.fetched_at + target.ttl.fresh.as_millis() as i64;
        let until = match cached.status {
            200 => until,
            _ => cached.fetched_at + target.ttl.negative.as_millis() as i64,
        };
        self.fresh_until = Some(self.fresh_until.map_or(until, |t| t.min(until)));
        self.stale |= cached.stale;
    }

    /// What an answer made from both allows (a group's merged members):
    /// kept while both are fresh, stale if either is.
    pub fn and(self, other: Freshness) -> Freshness {
        let fresh_until = match (self.fresh_until, other.fresh_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Freshness {
            fresh_until,
            stale: self.stale || other.stale,
        }
    }

    /// The upstream could not be asked.
    fn failed(&mut self) {
        self.fresh_until = Some(now_millis());
        self.stale = true;
    }

    /// How long from now an answer made from this metadata may be kept;
    /// `None`: not at all.
    pub fn keep_for(&self) -> Option<std::time::Duration> {
        if self.stale {
            return None;
        }
        let left = self.fresh_until? - now_millis();
        (left > 0).then(|| std::time::Duration::from_millis(left as u64))
    }
}

/// The upstream URL a plugin named, if this repository is a proxy and the
/// plugin may reach its host.
fn resolve(scope: &RequestScope, url: &str) -> Result<(Target, Url), wit::UpstreamError> {
    let Some(target) = scope.upstream.clone() else {
        return Err(wit::UpstreamError::NotGranted(format!(
            "{} is not a proxy repository",
            scope.repo
        )));
    };
    let resolved = target
        .base
        .join(url)
        .map_err(|e| wit::UpstreamError::NotGranted(format!("{url:?} is not a URL: {e}")))?;
    if !matches!(resolved.scheme(), "http" | "https") {
        return Err(wit::UpstreamError::NotGranted(format!(
            "{} URLs are not fetched",
            resolved.scheme()
        )));
    }
    if !granted(&scope.policy.upstream, &resolved) {
        return Err(wit::UpstreamError::NotGranted(format!(
            "{} is not granted to the {} plugin",
            crate::upstream::host_of(&resolved),
            scope.plugin
        )));
    }
    Ok((target, resolved))
}

fn granted(grants: &[String], url: &Url) -> bool {
    let host = crate::upstream::host_of(url);
    let default_port = url
        .port_or_known_default()
        .map(|p| format!("{}:{p}", url.host_str().unwrap_or("")));
    grants
        .iter()
        .any(|g| *g == host || Some(g) == default_port.as_ref())
}

fn fetch_error(e: FetchError) -> wit::UpstreamError {
    match e {
        FetchError::NotGranted(host) => wit::UpstreamError::NotGranted(host),
        FetchError::Timeout => wit::UpstreamError::Timeout,
        FetchError::Connect(m) | FetchError::Protocol(m) => wit::UpstreamError::Connect(m),
    }
}

/// The host's request for `url`: the repository's credentials, redirects
/// only to granted hosts.
fn asker(
    scope: &RequestScope,
    target: &Target,
    url: &Url,
) -> impl Fn(HeaderMap) -> crate::upstream::Ask + Send + Sync + 'static {
    let client = (target.client.clone()).unwrap_or_else(|| scope.services.upstream.client.clone());
    let grants: Arc<[String]> = scope.policy.upstream.clone().into();
    // The repository's credentials are for its upstream: not for another
    // granted host a packument points at.
    let credentials = target
        .credentials
        .clone()
        .filter(|_| url.origin() == target.base.origin());
    let url = url.to_string();
    move |headers| {
        let (client, grants, credentials, url) = (
            client.clone(),
            grants.clone(),
            credentials.clone(),
            url.clone(),
        );
        Box::pin(async move {
            let granted = |u: &Url| granted(&grants, u);
            client
                .get(&url, &headers, credentials.as_ref(), &granted)
                .await
        })
    }
}

impl wit::Host for StoreData {
    async fn fetch(
        &mut self,
        req: wit::UpstreamRequest,
    ) -> wasmtime::Result<Result<Resource<UpstreamResponse>, wit::UpstreamError>> {
        let (scope, table) = self.scope_and_table()?;
        if !req.method.eq_ignore_ascii_case("GET") {
            return Ok(Err(wit::UpstreamError::NotGranted(
                "only GET requests go upstream".into(),
            )));
        }
        let (target, url) = match resolve(scope, &req.url) {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        let mut headers = HeaderMap::new();
        let mut key = url.to_string();
        for (name, value) in &req.headers {
            let name = name.to_ascii_lowercase();
            if !FORWARDED_HEADERS.contains(&name.as_str()) {
                continue;
            }
            if let (Ok(n), Ok(v)) = (HeaderName::try_from(&name), HeaderValue::try_from(value)) {
                key.push_str(&format!("\n{name}: {value}"));
                headers.append(n, v);
            }
        }
        let ask = asker(scope, &target, &url);
        let ask: crate::upstream::AskConditionally = Box::new(move |conditional| {
            let mut all = headers.clone();
            all.extend(conditional);
            ask(all)
        });
        let services = scope.services.clone();
        let asked_at = now_millis();
        let cached = services
            .upstream
            .metadata
            .get(&scope.repo, &key, target.ttl, ask)
            .await;
        let result = match &cached {
            Ok(c) if c.stale => "stale",
            Ok(c) if c.fetched_at >= asked_at => "fetched",
            Ok(_) => "hit",
            Err(_) => "error",
        };
        let repo = scope.repo.clone();
        metrics::counter!(telemetry::UPSTREAM_METADATA, "repo" => repo, "result" => result)
            .increment(1);
        match cached {
            Ok(cached) => {
                scope.freshness.saw(&cached, &target);
                let response = UpstreamResponse::Metadata {
                    cached,
                    offset: 0,
                    size: None,
                };
                Ok(Ok(table.push(response)?))
            }
            Err(e) => {
                // Whatever the plugin answers instead is not the upstream's
                // current word: served as stale, never cached.
                scope.freshness.failed();
                Ok(Err(fetch_error(e)))
            }
        }
    }

    async fn pull(
        &mut self,
        req: wit::PullRequest,
    ) -> wasmtime::Result<Result<Resource<UpstreamResponse>, wit::UpstreamError>> {
        self.pull_with(req, HeaderMap::new()).await
    }

    async fn pull_accepting(
        &mut self,
        req: wit::PullRequest,
        accept: String,
    ) -> wasmtime::Result<Result<Resource<UpstreamResponse>, wit::UpstreamError>> {
        let mut headers = HeaderMap::new();
        match HeaderValue::from_str(&accept) {
            Ok(value) => headers.insert(reqwest::header::ACCEPT, value),
            Err(_) => {
                let why = format!("{accept:?} is not a header value");
                return Ok(Err(wit::UpstreamError::Connect(why)));
            }
        };
        self.pull_with(req, headers).await
    }
}

impl StoreData {
    /// `pull`, asking the upstream with `headers`.
    async fn pull_with(
        &mut self,
        req: wit::PullRequest,
        headers: HeaderMap,
    ) -> wasmtime::Result<Result<Resource<UpstreamResponse>, wit::UpstreamError>> {
        let (scope, table) = self.scope_and_table()?;
        let (target, url) = match resolve(scope, &req.url) {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        let record: Vec<Write> = req.record.into_iter().map(Write::from).collect();
        if let Err(why) = scope.may_record(&record).await {
            return Ok(Err(wit::UpstreamError::NotGranted(why)));
        }
        let promised = req
            .expect
            .into_iter()
            .map(|(kind, hex)| {
                let algorithm = match kind {
                    wit::DigestKind::Sha256 => Algorithm::Sha256,
                    wit::DigestKind::Sha512 => Algorithm::Sha512,
                    wit::DigestKind::Sha1 => Algorithm::Sha1,
                };
                (algorithm, hex.to_ascii_lowercase())
            })
            .collect();
        let ask = asker(scope, &target, &url);
        let key = format!("{}\n{url}", scope.repo);
        let services = scope.services.clone();
        let pulled = services
            .upstream
            .pulls
            .pull(&key, req.want.into(), promised, || ask(headers))
            .await;
        let result = match &pulled {
            Ok(_) => "fetched",
            Err(Refusal::Status(_)) => "refused",
            Err(Refusal::Error(_)) => "error",
        };
        let repo = scope.repo.clone();
        metrics::counter!(telemetry::UPSTREAM_PULLS, "repo" => repo, "result" => result)
            .increment(1);
        let response = match pulled {
            Ok(pulled) => UpstreamResponse::Artifact(Some(Artifact { pulled, record })),
            Err(Refusal::Status(status)) => UpstreamResponse::Refused(status),
            Err(Refusal::Error(e)) => return Ok(Err(fetch_error(e))),
        };
        Ok(Ok(table.push(response)?))
    }
}

impl wit::HostUpstreamResponse for StoreData {
    async fn status(&mut self, r: Resource<UpstreamResponse>) -> wasmtime::Result<u16> {
        Ok(match self.table.get(&r)? {
            UpstreamResponse::Metadata { cached, .. } => cached.status,
            UpstreamResponse::Artifact(_) => 200,
            UpstreamResponse::Refused(status) => *status,
        })
    }

    async fn headers(
        &mut self,
        r: Resource<UpstreamResponse>,
    ) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(match self.table.get(&r)? {
            UpstreamResponse::Metadata { cached, .. } => cached
                .content_type
                .iter()
                .map(|t| ("content-type".to_string(), t.clone()))
                .collect(),
            UpstreamResponse::Artifact(Some(a)) => a
                .pulled
                .length
                .iter()
                .map(|n| ("content-length".to_string(), n.to_string()))
                .collect(),
            _ => Vec::new(),
        })
    }

    async fn read(
        &mut self,
        r: Resource<UpstreamResponse>,
        max: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, StoreError>> {
        let (scope, table) = self.scope_and_table()?;
        let UpstreamResponse::Metadata {
            cached,
            offset,
            size,
        } = table.get_mut(&r)?
        else {
            return Ok(Err(StoreError::Invalid(
                "a pulled artifact is not read: return it as the response body".into(),
            )));
        };
        let Some(blake3) = cached.blake3.clone() else {
            return Ok(Ok(Vec::new()));
        };
        let blobs = scope.services.blobs.clone();
        let size = match *size {
            Some(known) => known,
            None => match blobs.info(&blake3).await {
                Ok(Some(info)) => *size.insert(info.size),
                Ok(None) => {
                    return Ok(Err(StoreError::Unavailable(
                        "the cached body is gone".into(),
                    )));
                }
                Err(e) => return Ok(Err(e.into())),
            },
        };
        let want = u64::from(max.min(super::MAX_READ_WINDOW)).min(size - (*offset).min(size));
        if let Err(e) = scope.charge(want as usize) {
            return Ok(Err(e.into()));
        }
        match blobs.read_range(&blake3, *offset..*offset + want).await {
            Ok(bytes) => {
                *offset += bytes.len() as u64;
                Ok(Ok(bytes.to_vec()))
            }
            Err(e) => Ok(Err(e.into())),
        }
    }

    async fn ingest(
        &mut self,
        _: Resource<UpstreamResponse>,
        _: DigestSet,
        _: Option<String>,
    ) -> wasmtime::Result<Result<BlobInfo, StoreError>> {
        Ok(Err(StoreError::Invalid(
            "artifacts are pulled (upstream.pull), not ingested".into(),
        )))
    }

    async fn stale(&mut self, r: Resource<UpstreamResponse>) -> wasmtime::Result<bool> {
        Ok(matches!(
            self.table.get(&r)?,
            UpstreamResponse::Metadata { cached, .. } if cached.stale
        ))
    }

    async fn drop(&mut self, r: Resource<UpstreamResponse>) -> wasmtime::Result<()> {
        self.drop_resource(r)
    }
}

impl StoreData {
    /// The body of a plugin answer that returned an upstream response.
    pub fn upstream_body(
        &mut self,
        r: Resource<UpstreamResponse>,
    ) -> wasmtime::Result<crate::runtime::ReplyBody> {
        use crate::runtime::ReplyBody;
        let response = self.table.delete(r)?;
        let scope = self.scope()?;
        Ok(match response {
            UpstreamResponse::Metadata { cached, .. } => match cached.blake3 {
                Some(blake3) => ReplyBody::UpstreamDocument(blake3),
                None => ReplyBody::Empty,
            },
            UpstreamResponse::Artifact(Some(artifact)) => {
                let (length, body) = artifact.serve(scope.services.clone(), scope.repo.clone());
                ReplyBody::Pulled { length, body }
            }
            UpstreamResponse::Artifact(None) | UpstreamResponse::Refused(_) => ReplyBody::Empty,
        })
    }
}

impl Artifact {
    /// The bytes for the client. The writes that record the artifact are
    /// applied once it is stored, whether or not the client stays; a second
    /// request that recorded it first makes them `already-exists`, which is
    /// the same outcome.
    fn serve(
        self,
        services: Arc<crate::services::Services>,
        repo: String,
    ) -> (Option<u64>, crate::store::blobs::ByteStream) {
        let Artifact { pulled, record } = self;
        let Pulled {
            length,
            body,
            stored,
            started,
        } = pulled;
        tokio::spawn(async move {
            let Some(info) = stored.await else {
                return;
            };
            if started {
                metrics::counter!(telemetry::UPSTREAM_BYTES, "repo" => repo.clone())
                    .increment(info.size);
            }
            if !record.is_empty() {
                let writes: Vec<Write> = record
                    .into_iter()
                    .map(|w| w.with_blob(&info.blake3))
                    .collect();
                // Another file of the version was recorded first (a jar and
                // its pom, a go.mod and its zip): this one joins it.
                let applied = match services.catalog.apply(&repo, &writes).await {
                    Err(crate::store::StoreError::AlreadyExists) => {
                        services.catalog.apply(&repo, &joining(&writes)).await
                    }
                    other => other,
                };
                match applied {
                    Ok(()) => {
                        let mut packages: Vec<&str> =
                            writes.iter().filter_map(Write::package).collect();
                        packages.dedup();
                        for package in &packages {
                            services.doc_cache.invalidate(&repo, package);
                        }
                        if let Err(e) = services.catalog.record_change(&repo, &packages).await {
                            tracing::warn!(%repo, error = %e, "recording a change failed");
                        }
                    }
                    Err(crate::store::StoreError::AlreadyExists) => {}
                    Err(e) => {
                        tracing::warn!(%repo, error = %e, "recording a pulled artifact failed")
                    }
                }
            }
        });
        (length, body)
    }
}

/// `writes` with each publish as the assets (and tags) it adds to a version
/// that exists already.
fn joining(writes: &[Write]) -> Vec<Write> {
    writes
        .iter()
        .flat_map(|w| match w {
            Write::Publish(p) => {
                let package = &p.version.package;
                let version = &p.version.version;
                let assets = p.assets.iter().map(|asset| Write::PutAsset {
                    owner: crate::store::catalog::Owner {
                        package: package.clone(),
                        version: Some(version.clone()),
                    },
                    asset: asset.clone(),
                    replace: false,
                });
                let tags = p.tags.iter().map(|tag| Write::SetTag {
                    package: package.clone(),
                    tag: tag.clone(),
                    version: version.clone(),
                });
                assets.chain(tags).collect::<Vec<_>>()
            }
            other => vec![other.clone()],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::Ttl;
    use std::time::Duration;

    #[test]
    fn a_publish_of_a_version_that_exists_joins_it() {
        let asset = |path: &str| crate::store::catalog::Asset {
            path: path.into(),
            blake3: "b".into(),
            content_type: "application/java-archive".into(),
            metadata: String::new(),
            added_at: 0,
        };
        let publish = Write::Publish(crate::store::catalog::Publication {
            version: crate::store::catalog::VersionRow {
                package: "g:a".into(),
                version: "1.0".into(),
                metadata: "{}".into(),
                yanked: false,
                deprecated: None,
                published_at: 0,
            },
            assets: vec![asset("g/a/1.0/a-1.0.jar")],
            tags: vec!["latest".into()],
        });
        let joined = joining(&[publish]);
        assert!(matches!(&joined[..], [
            Write::PutAsset { owner, asset, replace: false },
            Write::SetTag { tag, .. },
        ] if owner.version.as_deref() == Some("1.0") && asset.path.ends_with(".jar") && tag == "latest"));
    }

    #[test]
    fn a_grant_names_the_host_and_port_or_the_schemes_default() {
        let grants = [
            "registry.npmjs.org:443".to_string(),
            "127.0.0.1:4873".into(),
        ];
        let url = |u: &str| Url::parse(u).unwrap();
        assert!(granted(
            &grants,
            &url("https://registry.npmjs.org/left-pad")
        ));
        assert!(granted(&grants, &url("http://127.0.0.1:4873/x")));
        assert!(!granted(
            &grants,
            &url("http://registry.npmjs.org/left-pad")
        ));
        assert!(!granted(&grants, &url("http://127.0.0.1:4874/x")));
        assert!(!granted(&grants, &url("https://registry.npmjs.org.evil/x")));
    }

    #[test]
    fn an_answer_is_kept_while_its_metadata_is_fresh_and_never_when_stale() {
        let target = Target {
            base: Url::parse("http://up.test/").unwrap(),
            client: None,
            credentials: None,
            ttl: Ttl {
                fresh: Duration::from_secs(300),
                negative: Duration::from_secs(30),
            },
        };
        let cached = |status, stale, age_ms| Cached {
            status,
            content_type: None,
            blake3: None,
            stale,
            fetched_at: now_millis() - age_ms,
        };
        let mut fresh = Freshness::default();
        assert_eq!(
            fresh.keep_for(),
            None,
            "no upstream metadata: not bounded here"
        );
        fresh.saw(&cached(200, false, 100_000), &target);
        let left = fresh.keep_for().unwrap();
        assert!(left <= Duration::from_secs(200) && left > Duration::from_secs(190));
        // A 404 bounds it by the negative TTL.
        fresh.saw(&cached(404, false, 0), &target);
        assert!(fresh.keep_for().unwrap() <= Duration::from_secs(30));
        let mut stale = Freshness::default();
        stale.saw(&cached(200, true, 0), &target);
        assert_eq!(stale.keep_for(), None);
        assert!(stale.stale);
    }
}
