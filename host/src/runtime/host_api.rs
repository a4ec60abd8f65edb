//! The host side of the WIT imports: what a plugin may do during `handle`.
//!
//! Every call is scoped to the request's repository and re-checked against the
//! caller: a plugin can never grant itself access. During `classify` there is
//! no scope and every import traps (classify must be pure).

use super::bindings::wharf::plugin::{auth, blobs, catalog, log, signing, types, upstream};
use super::bindings::{Access, BlobInfo, Caller as WitCaller, DigestSet, Digests, StoreError};
use super::body::IncomingBody;
use super::registry::Policy;
use crate::auth::{Action, Caller};
use crate::services::Services;
use crate::store::StoreError as HostError;
use crate::store::catalog as cat;
use crate::store::digest::{self, Want};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;
use wasmtime::component::{Resource, ResourceTable};
use wasmtime::{ResourceLimiter, StoreLimits};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Largest window a plugin may read from a blob in one call.
const MAX_READ_WINDOW: u32 = 1 << 20;

/// Per-store state.
pub struct StoreData {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    pub deadline: Instant,
    pub stderr: MemoryOutputPipe,
    pub scope: Option<RequestScope>,
}

/// What one `handle` call may touch.
pub struct RequestScope {
    pub services: Arc<Services>,
    pub plugin: String,
    pub repo: String,
    pub caller: Caller,
    pub policy: Arc<Policy>,
    /// Blobs this request stored: the plugin may stat and open them.
    pub ingested: HashSet<String>,
    /// Bytes the plugin may still read into its memory.
    pub read_left: u64,
}

impl StoreData {
    pub fn new(memory_bytes: u64, deadline: Instant, scope: Option<RequestScope>) -> Self {
        let stderr = MemoryOutputPipe::new(16 * 1024);
        let wasi = wasmtime_wasi::WasiCtxBuilder::new()
            .stderr(stderr.clone())
            .build();
        let limits = wasmtime::StoreLimitsBuilder::new()
            .memory_size(memory_bytes as usize)
            .trap_on_grow_failure(true)
            .build();
        StoreData {
            wasi,
            table: ResourceTable::new(),
            limits,
            deadline,
            stderr,
            scope,
        }
    }

    pub fn limiter(&mut self) -> &mut dyn ResourceLimiter {
        &mut self.limits
    }

    pub fn push_body(&mut self, body: IncomingBody) -> wasmtime::Result<Resource<IncomingBody>> {
        Ok(self.table.push(body)?)
    }

    fn scope(&mut self) -> wasmtime::Result<&mut RequestScope> {
        self.scope
            .as_mut()
            .ok_or_else(|| wasmtime::Error::msg("host calls are not allowed during classify"))
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl RequestScope {
    fn require(&self, action: Action, package: &str) -> Result<(), StoreError> {
        if self
            .services
            .auth
            .permits_on(&self.caller, action, Some(package))
        {
            Ok(())
        } else {
            Err(StoreError::Forbidden(format!(
                "{action:?} on {package} is not allowed for this caller"
            )))
        }
    }

    pub(super) fn charge(&mut self, n: usize) -> Result<(), StoreError> {
        if n as u64 > self.read_left {
            return Err(StoreError::TooLarge(self.policy.read_limit));
        }
        self.read_left -= n as u64;
        Ok(())
    }

    /// Checks `action` on `package`, runs one catalog write, and invalidates
    /// the package's cached documents.
    async fn guarded(
        &self,
        action: Action,
        package: &str,
        write: impl Future<Output = Result<(), HostError>>,
    ) -> Result<(), StoreError> {
        self.require(action, package)?;
        let result = write.await;
        self.changed(package).await;
        result.map_err(wit_error)
    }

    /// After a write to `package`: cached documents go, and the change time
    /// (their Last-Modified) moves. Invalidation comes first, so a render
    /// that sees the new time is known to have started before it (docs.rs).
    async fn changed(&self, package: &str) {
        self.services.docs.invalidate(&self.repo, package);
        if let Err(e) = self
            .services
            .catalog
            .record_change(&self.repo, package)
            .await
        {
            tracing::warn!(repo = %self.repo, package, error = %e, "recording a change failed");
        }
    }

    async fn visible(&self, blake3: &str) -> Result<bool, HostError> {
        Ok(self.ingested.contains(blake3)
            || self
                .services
                .catalog
                .repo_has_blob(&self.repo, blake3)
                .await?)
    }

    pub(super) fn stored(&mut self, info: digest::BlobInfo) -> BlobInfo {
        self.ingested.insert(info.blake3.clone());
        wit_blob(info)
    }
}

pub(super) fn wit_error(e: HostError) -> StoreError {
    match e {
        HostError::NotFound => StoreError::NotFound,
        HostError::AlreadyExists => StoreError::AlreadyExists,
        HostError::DigestMismatch(m) => StoreError::DigestMismatch(m),
        HostError::TooLarge(n) => StoreError::TooLarge(n),
        HostError::Invalid(m) => StoreError::Invalid(m),
        HostError::Unavailable(m) => StoreError::Unavailable(m),
    }
}

fn want(set: DigestSet) -> Want {
    Want {
        sha256: set.contains(DigestSet::SHA256),
        sha512: set.contains(DigestSet::SHA512),
        sha1: set.contains(DigestSet::SHA1),
        md5: set.contains(DigestSet::MD5),
    }
}

fn wit_blob(i: digest::BlobInfo) -> BlobInfo {
    BlobInfo {
        digests: Digests {
            blake3: i.blake3,
            sha256: i.sha256,
            sha512: i.sha512,
            sha1: i.sha1,
            md5: i.md5,
        },
        size: i.size,
    }
}

fn wit_version(v: cat::VersionRow) -> catalog::VersionRow {
    catalog::VersionRow {
        package: v.package,
        version: v.version,
        metadata_json: v.metadata,
        yanked: v.yanked,
        deprecated: v.deprecated,
        published_at: v.published_at.max(0) as u64,
    }
}

fn wit_asset(a: cat::Asset) -> catalog::Asset {
    catalog::Asset {
        path: a.path,
        blake3: a.blake3,
        content_type: a.content_type,
    }
}

/// Turns a store result into the WIT result (never a trap).
fn done<T>(r: Result<T, HostError>) -> wasmtime::Result<Result<T, StoreError>> {
    Ok(r.map_err(wit_error))
}

impl types::Host for StoreData {}

impl blobs::HostIncomingBody for StoreData {
    async fn read(
        &mut self,
        body: Resource<IncomingBody>,
        max: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, StoreError>> {
        let max = max.min(MAX_READ_WINDOW) as usize;
        let chunk = match self.table.get_mut(&body)?.read(max).await {
            Ok(c) => c,
            Err(e) => return done(Err(e)),
        };
        Ok(self.scope()?.charge(chunk.len()).map(|_| chunk.to_vec()))
    }

    async fn ingest(
        &mut self,
        body: Resource<IncomingBody>,
        len: Option<u64>,
        wanted: DigestSet,
        expect_sha256: Option<String>,
    ) -> wasmtime::Result<Result<BlobInfo, StoreError>> {
        let scope = self
            .scope
            .as_mut()
            .ok_or_else(|| wasmtime::Error::msg("no request scope"))?;
        let services = scope.services.clone();
        let max = services.settings.max_body_bytes;
        let body = self.table.get_mut(&body)?;
        let result = services
            .blobs
            .ingest(body.take(len), want(wanted), expect_sha256.as_deref(), max)
            .await;
        Ok(result
            .map(|info| self.scope.as_mut().unwrap().stored(info))
            .map_err(wit_error))
    }

    async fn ingest_multipart(
        &mut self,
        body: Resource<IncomingBody>,
        wanted: DigestSet,
    ) -> wasmtime::Result<Result<Vec<blobs::FormPart>, StoreError>> {
        let StoreData { table, scope, .. } = self;
        let scope = scope
            .as_mut()
            .ok_or_else(|| wasmtime::Error::msg("no request scope"))?;
        let body = table.get_mut(&body)?;
        Ok(super::multipart::ingest(scope, body, want(wanted)).await)
    }

    async fn ingest_json_base64(
        &mut self,
        body: Resource<IncomingBody>,
        pointers: Vec<String>,
        wanted: DigestSet,
    ) -> wasmtime::Result<Result<(String, Vec<BlobInfo>), StoreError>> {
        let services = self.scope()?.services.clone();
        let raw = match self
            .table
            .get_mut(&body)?
            .collect(services.settings.max_body_bytes)
            .await
        {
            Ok(raw) => raw,
            Err(e) => return done(Err(e)),
        };
        let (doc, payloads) = match super::json_base64::extract(&raw, &pointers) {
            Ok(found) => found,
            Err(e) => return done(Err(e)),
        };
        drop(raw);
        let mut doc = doc;
        let mut stored = Vec::new();
        for (pointer, bytes) in payloads {
            let info = match services.blobs.put_bytes(bytes.into(), want(wanted)).await {
                Ok(info) => info,
                Err(e) => return done(Err(e)),
            };
            if let Some(slot) = doc.pointer_mut(&pointer) {
                *slot = serde_json::json!({ "$blob": info.blake3 });
            }
            stored.push(self.scope()?.stored(info));
        }
        let text = doc.to_string();
        Ok(self.scope()?.charge(text.len()).map(|_| (text, stored)))
    }

    async fn drop(&mut self, body: Resource<IncomingBody>) -> wasmtime::Result<()> {
        self.table.delete(body)?;
        Ok(())
    }
}

/// A blob opened for reading inside the sandbox.
pub struct BlobReader {
    blake3: String,
    size: u64,
}

impl blobs::HostBlobReader for StoreData {
    async fn size(&mut self, reader: Resource<BlobReader>) -> wasmtime::Result<u64> {
        Ok(self.table.get(&reader)?.size)
    }

    async fn read(
        &mut self,
        reader: Resource<BlobReader>,
        offset: u64,
        len: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, StoreError>> {
        let r = self.table.get(&reader)?;
        let (blake3, end) = (
            r.blake3.clone(),
            offset
                .saturating_add(len.min(MAX_READ_WINDOW) as u64)
                .min(r.size),
        );
        let services = self.scope()?.services.clone();
        if offset >= end {
            return Ok(Ok(Vec::new()));
        }
        done(
            services
                .blobs
                .read_range(&blake3, offset..end)
                .await
                .map(|b| b.to_vec()),
        )
    }

    async fn drop(&mut self, reader: Resource<BlobReader>) -> wasmtime::Result<()> {
        self.table.delete(reader)?;
        Ok(())
    }
}

impl blobs::Host for StoreData {
    async fn stat(&mut self, blake3: String) -> wasmtime::Result<Option<BlobInfo>> {
        let scope = self.scope()?;
        if !scope.visible(&blake3).await.unwrap_or(false) {
            return Ok(None);
        }
        Ok(scope
            .services
            .blobs
            .info(&blake3)
            .await
            .ok()
            .flatten()
            .map(wit_blob))
    }

    async fn open(
        &mut self,
        blake3: String,
    ) -> wasmtime::Result<Result<Resource<BlobReader>, StoreError>> {
        let scope = self.scope()?;
        let info = match scope.visible(&blake3).await {
            Ok(true) => scope.services.blobs.info(&blake3).await,
            Ok(false) => Ok(None),
            Err(e) => Err(e),
        };
        match info {
            Ok(Some(info)) => Ok(Ok(self.table.push(BlobReader {
                blake3,
                size: info.size,
            })?)),
            Ok(None) => Ok(Err(StoreError::NotFound)),
            Err(e) => done(Err(e)),
        }
    }

    async fn put_bytes(
        &mut self,
        data: Vec<u8>,
        wanted: DigestSet,
    ) -> wasmtime::Result<Result<BlobInfo, StoreError>> {
        let scope = self.scope()?;
        let result = scope
            .services
            .blobs
            .put_bytes(data.into(), want(wanted))
            .await;
        Ok(result.map(|info| scope.stored(info)).map_err(wit_error))
    }

    async fn start_upload(&mut self) -> wasmtime::Result<Result<String, StoreError>> {
        let scope = self.scope()?;
        done(scope.services.uploads.start(&scope.repo).await)
    }

    async fn append_upload(
        &mut self,
        id: String,
        body: Resource<IncomingBody>,
        expect_offset: Option<u64>,
    ) -> wasmtime::Result<Result<u64, StoreError>> {
        let scope = self
            .scope
            .as_ref()
            .ok_or_else(|| wasmtime::Error::msg("no request scope"))?;
        let (services, repo) = (scope.services.clone(), scope.repo.clone());
        let body = self.table.get_mut(&body)?;
        let max = services.settings.max_body_bytes;
        done(
            services
                .uploads
                .append(&repo, &id, body.take(None), expect_offset, max)
                .await,
        )
    }

    async fn upload_offset(&mut self, id: String) -> wasmtime::Result<Result<u64, StoreError>> {
        let scope = self.scope()?;
        done(scope.services.uploads.offset(&scope.repo, &id).await)
    }

    async fn finish_upload(
        &mut self,
        id: String,
        wanted: DigestSet,
        expect_sha256: Option<String>,
    ) -> wasmtime::Result<Result<BlobInfo, StoreError>> {
        let scope = self.scope()?;
        let services = scope.services.clone();
        let result = services
            .uploads
            .finish(
                &scope.repo,
                &id,
                &services.blobs,
                want(wanted),
                expect_sha256.as_deref(),
            )
            .await;
        Ok(result.map(|info| scope.stored(info)).map_err(wit_error))
    }

    async fn abort_upload(&mut self, id: String) -> wasmtime::Result<()> {
        let scope = self.scope()?;
        scope.services.uploads.abort(&scope.repo, &id).await;
        Ok(())
    }
}

impl catalog::Host for StoreData {
    async fn publish(
        &mut self,
        p: catalog::Publication,
    ) -> wasmtime::Result<Result<(), StoreError>> {
        let scope = self.scope()?;
        let package = p.version.package.clone();
        if let Err(e) = scope.require(Action::Write, &package) {
            return Ok(Err(e));
        }
        if let Some(a) = p
            .assets
            .iter()
            .find(|a| !scope.ingested.contains(&a.blake3))
        {
            // Only bytes this request stored may be published: a plugin cannot
            // attach a blob it learned the address of elsewhere.
            let visible = scope
                .services
                .catalog
                .repo_has_blob(&scope.repo, &a.blake3)
                .await
                .unwrap_or(false);
            if !visible {
                return Ok(Err(StoreError::Forbidden(format!(
                    "blob {} was not stored by this request",
                    a.blake3
                ))));
            }
        }
        let publication = cat::Publication {
            version: cat::VersionRow {
                package: p.version.package,
                version: p.version.version,
                metadata: p.version.metadata_json,
                yanked: p.version.yanked,
                deprecated: p.version.deprecated,
                published_at: 0,
            },
            assets: p
                .assets
                .into_iter()
                .map(|a| cat::Asset {
                    path: a.path,
                    blake3: a.blake3,
                    content_type: a.content_type,
                })
                .collect(),
            tags: p.tags,
        };
        let result = scope
            .services
            .catalog
            .publish(&scope.repo, &publication)
            .await;
        if result.is_ok() {
            scope.changed(&package).await;
        }
        done(result)
    }

    async fn get_version(
        &mut self,
        package: String,
        version: String,
    ) -> wasmtime::Result<Option<catalog::VersionRow>> {
        let scope = self.scope()?;
        Ok(scope
            .services
            .catalog
            .get_version(&scope.repo, &package, &version)
            .await
            .ok()
            .flatten()
            .map(wit_version))
    }

    async fn list_versions(
        &mut self,
        package: String,
    ) -> wasmtime::Result<Vec<catalog::VersionRow>> {
        let scope = self.scope()?;
        let rows = scope
            .services
            .catalog
            .list_versions(&scope.repo, &package)
            .await
            .unwrap_or_default();
        Ok(rows.into_iter().map(wit_version).collect())
    }

    async fn set_yanked(
        &mut self,
        package: String,
        version: String,
        yanked: bool,
    ) -> wasmtime::Result<Result<(), StoreError>> {
        let scope = &*self.scope()?;
        let write = scope
            .services
            .catalog
            .set_yanked(&scope.repo, &package, &version, yanked);
        Ok(scope.guarded(Action::Write, &package, write).await)
    }

    async fn set_deprecated(
        &mut self,
        package: String,
        version: String,
        message: Option<String>,
    ) -> wasmtime::Result<Result<(), StoreError>> {
        let scope = &*self.scope()?;
        let write = scope.services.catalog.set_deprecated(
            &scope.repo,
            &package,
            &version,
            message.as_deref(),
        );
        Ok(scope.guarded(Action::Write, &package, write).await)
    }

    async fn delete_version(
        &mut self,
        package: String,
        version: String,
    ) -> wasmtime::Result<Result<(), StoreError>> {
        let scope = &*self.scope()?;
        let write = scope
            .services
            .catalog
            .delete_version(&scope.repo, &package, &version);
        Ok(scope.guarded(Action::Delete, &package, write).await)
    }

    async fn delete_package(
        &mut self,
        package: String,
    ) -> wasmtime::Result<Result<(), StoreError>> {
        let scope = &*self.scope()?;
        let write = scope.services.catalog.delete_package(&scope.repo, &package);
        Ok(scope.guarded(Action::Delete, &package, write).await)
    }

    async fn find_asset(&mut self, path: String) -> wasmtime::Result<Option<catalog::Asset>> {
        let scope = self.scope()?;
        Ok(scope
            .services
            .catalog
            .find_asset(&scope.repo, &path)
            .await
            .ok()
            .flatten()
            .map(wit_asset))
    }

    async fn list_tags(&mut self, package: String) -> wasmtime::Result<Vec<(String, String)>> {
        let scope = self.scope()?;
        Ok(scope
            .services
            .catalog
            .list_tags(&scope.repo, &package)
            .await
            .unwrap_or_default())
    }

    async fn set_tag(
        &mut self,
        package: String,
        tag: String,
        version: String,
    ) -> wasmtime::Result<Result<(), StoreError>> {
        let scope = &*self.scope()?;
        let write = scope
            .services
            .catalog
            .set_tag(&scope.repo, &package, &tag, &version);
        Ok(scope.guarded(Action::Write, &package, write).await)
    }

    async fn remove_tag(
        &mut self,
        package: String,
        tag: String,
    ) -> wasmtime::Result<Result<(), StoreError>> {
        let scope = &*self.scope()?;
        let write = scope
            .services
            .catalog
            .remove_tag(&scope.repo, &package, &tag);
        Ok(scope.guarded(Action::Write, &package, write).await)
    }

    async fn list_packages(
        &mut self,
        prefix: Option<String>,
        after: Option<String>,
        limit: u32,
    ) -> wasmtime::Result<Vec<String>> {
        let scope = self.scope()?;
        let catalog = &scope.services.catalog;
        Ok(catalog
            .list_packages(
                &scope.repo,
                prefix.as_deref(),
                after.as_deref(),
                limit.min(10_000),
            )
            .await
            .unwrap_or_default())
    }

    async fn search(
        &mut self,
        text: String,
        offset: u32,
        limit: u32,
    ) -> wasmtime::Result<(u64, Vec<catalog::VersionRow>)> {
        let scope = self.scope()?;
        let (total, rows) = scope
            .services
            .catalog
            .search(&scope.repo, &text, offset, limit.min(1_000))
            .await
            .unwrap_or_default();
        Ok((total, rows.into_iter().map(wit_version).collect()))
    }

    async fn kv_get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        let scope = self.scope()?;
        Ok(scope
            .services
            .catalog
            .kv_get(&scope.repo, &key)
            .await
            .ok()
            .flatten())
    }

    async fn kv_put(
        &mut self,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), StoreError>> {
        let scope = self.scope()?;
        // Plugin state, not a package: the caller's own write permission.
        if !scope.services.auth.permits(&scope.caller, Action::Write) {
            return Ok(Err(StoreError::Forbidden(
                "writing is not allowed for this caller".into(),
            )));
        }
        let r = scope
            .services
            .catalog
            .kv_put(&scope.repo, &key, &value)
            .await;
        scope.changed("*").await;
        done(r)
    }
}

/// A response from an upstream server (proxy repositories; not granted yet).
pub struct UpstreamResponse;

impl upstream::HostUpstreamResponse for StoreData {
    async fn status(&mut self, _: Resource<UpstreamResponse>) -> wasmtime::Result<u16> {
        Ok(502)
    }
    async fn headers(
        &mut self,
        _: Resource<UpstreamResponse>,
    ) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(Vec::new())
    }
    async fn read(
        &mut self,
        _: Resource<UpstreamResponse>,
        _: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, StoreError>> {
        Ok(Err(StoreError::Unavailable("no upstream".into())))
    }
    async fn ingest(
        &mut self,
        _: Resource<UpstreamResponse>,
        _: DigestSet,
        _: Option<String>,
    ) -> wasmtime::Result<Result<BlobInfo, StoreError>> {
        Ok(Err(StoreError::Unavailable("no upstream".into())))
    }
    async fn drop(&mut self, r: Resource<UpstreamResponse>) -> wasmtime::Result<()> {
        self.table.delete(r)?;
        Ok(())
    }
}

impl upstream::Host for StoreData {
    /// Outbound HTTP arrives with proxy repositories; until then no host is
    /// reachable, whatever the grants say.
    async fn fetch(
        &mut self,
        req: upstream::UpstreamRequest,
    ) -> wasmtime::Result<Result<Resource<UpstreamResponse>, upstream::UpstreamError>> {
        self.scope()?;
        Ok(Err(upstream::UpstreamError::NotGranted(format!(
            "{} is not a granted upstream",
            req.url
        ))))
    }
}

impl auth::Host for StoreData {
    async fn whoami(&mut self) -> wasmtime::Result<WitCaller> {
        let caller = &self.scope()?.caller;
        Ok(WitCaller {
            user: caller.user.clone(),
            roles: if caller.admin {
                vec!["admin".into()]
            } else {
                vec![]
            },
        })
    }

    async fn may(&mut self, a: Access) -> wasmtime::Result<bool> {
        let scope = self.scope()?;
        Ok(scope.services.auth.permits_on(
            &scope.caller,
            super::action(a.action),
            a.package.as_deref(),
        ))
    }

    async fn login(
        &mut self,
        user: String,
        password: String,
    ) -> wasmtime::Result<Result<String, String>> {
        let services = self.scope()?.services.clone();
        match services.auth.password_caller(&user, &password).await {
            Ok(_) => Ok(services
                .auth
                .create_token(&user)
                .await
                .map_err(|e| e.to_string())),
            Err(e) => Ok(Err(e.to_string())),
        }
    }
}

impl signing::Host for StoreData {
    async fn clearsign(
        &mut self,
        key_id: String,
        _data: Vec<u8>,
    ) -> wasmtime::Result<Result<String, String>> {
        Ok(Err(format!("signing key {key_id:?} is not configured")))
    }
    async fn sign_detached(
        &mut self,
        key_id: String,
        _data: Vec<u8>,
    ) -> wasmtime::Result<Result<String, String>> {
        Ok(Err(format!("signing key {key_id:?} is not configured")))
    }
    async fn public_key(&mut self, key_id: String) -> wasmtime::Result<Result<String, String>> {
        Ok(Err(format!("signing key {key_id:?} is not configured")))
    }
}

impl log::Host for StoreData {
    async fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let plugin = self
            .scope
            .as_ref()
            .map(|s| s.plugin.as_str())
            .unwrap_or("?");
        match level {
            log::Level::Trace => tracing::trace!(plugin, "{message}"),
            log::Level::Debug => tracing::debug!(plugin, "{message}"),
            log::Level::Info => tracing::info!(plugin, "{message}"),
            log::Level::Warn => tracing::warn!(plugin, "{message}"),
            log::Level::Error => tracing::error!(plugin, "{message}"),
        }
        Ok(())
    }
}
