//! The imports of `wharf:plugin@0.1.0`, mapped onto the calls 0.2 uses, so a
//! component built against 0.1 keeps working under the same policy.
//!
//! 0.1's reads have no error channel: a store error traps the request (a 500)
//! instead of reading as "absent". Its unbounded lists are paged through, up
//! to a bound.

use super::{BlobReader, IncomingBody, StoreData, UpstreamResponse};
use crate::runtime::bindings::v0_1::wharf::plugin::{
    auth, blobs, catalog, log, signing, types, upstream,
};
use crate::runtime::bindings::v0_3::wharf::plugin::{log as log_v0_3, signing as signing_v0_3};
use crate::store::StoreError as HostError;
use crate::store::catalog::{self as cat, MAX_PAGE, Write};
use crate::store::digest::{self, Want};
use types::{BlobInfo, DigestSet, StoreError};
use wasmtime::component::Resource;

/// The most rows a 0.1 list call returns.
const LEGACY_LIST_LIMIT: usize = 100 * MAX_PAGE as usize;

type Res<T> = wasmtime::Result<Result<T, StoreError>>;

impl From<HostError> for StoreError {
    fn from(e: HostError) -> Self {
        match e {
            HostError::NotFound => StoreError::NotFound,
            HostError::AlreadyExists => StoreError::AlreadyExists,
            HostError::Forbidden(m) => StoreError::Forbidden(m),
            HostError::DigestMismatch(m) => StoreError::DigestMismatch(m),
            HostError::TooLarge(n) => StoreError::TooLarge(n),
            HostError::Invalid(m) => StoreError::Invalid(m),
            HostError::Unavailable(m) => StoreError::Unavailable(m),
        }
    }
}

impl From<DigestSet> for Want {
    fn from(set: DigestSet) -> Want {
        Want {
            sha256: set.contains(DigestSet::SHA256),
            sha512: set.contains(DigestSet::SHA512),
            sha1: set.contains(DigestSet::SHA1),
            md5: set.contains(DigestSet::MD5),
            blake2b256: false,
        }
    }
}

impl From<digest::BlobInfo> for BlobInfo {
    fn from(i: digest::BlobInfo) -> Self {
        BlobInfo {
            digests: types::Digests {
                blake3: i.blake3,
                sha256: i.sha256,
                sha512: i.sha512,
                sha1: i.sha1,
                md5: i.md5,
            },
            size: i.size,
        }
    }
}

impl From<cat::VersionRow> for catalog::VersionRow {
    fn from(v: cat::VersionRow) -> Self {
        catalog::VersionRow {
            package: v.package,
            version: v.version,
            metadata_json: v.metadata,
            yanked: v.yanked,
            deprecated: v.deprecated,
            published_at: v.published_at.max(0) as u64,
        }
    }
}

impl From<cat::Asset> for catalog::Asset {
    fn from(a: cat::Asset) -> Self {
        catalog::Asset {
            path: a.path,
            blake3: a.blake3,
            content_type: a.content_type,
        }
    }
}

fn res<T, U: From<T>>(r: Result<T, HostError>) -> Res<U> {
    Ok(r.map(U::from).map_err(StoreError::from))
}

/// A 0.1 read: a store error fails the request rather than reading as absent.
fn read<T>(r: Result<T, HostError>) -> wasmtime::Result<T> {
    r.map_err(|e| wasmtime::Error::msg(format!("catalog read failed: {e}")))
}

impl types::Host for StoreData {}

impl blobs::HostIncomingBody for StoreData {
    async fn read(&mut self, body: Resource<IncomingBody>, max: u32) -> Res<Vec<u8>> {
        res(self.body_read(&body, max).await?)
    }

    async fn ingest(
        &mut self,
        body: Resource<IncomingBody>,
        len: Option<u64>,
        want: DigestSet,
        expect_sha256: Option<String>,
    ) -> Res<BlobInfo> {
        let r = self.body_ingest(&body, len, want.into(), expect_sha256.as_deref());
        res(r.await?)
    }

    async fn ingest_multipart(
        &mut self,
        body: Resource<IncomingBody>,
        want: DigestSet,
    ) -> Res<Vec<blobs::FormPart>> {
        use crate::runtime::multipart::Part;
        let parts = self.body_multipart(&body, want.into()).await?;
        let convert = |p: Part| match p {
            Part::Field(name, text) => blobs::FormPart::Field((name, text)),
            Part::File {
                name,
                filename,
                content_type,
                blob,
            } => blobs::FormPart::File(blobs::FormFile {
                name,
                filename,
                content_type,
                blob: blob.into(),
            }),
        };
        Ok(parts
            .map(|ps| ps.into_iter().map(convert).collect())
            .map_err(Into::into))
    }

    async fn ingest_json_base64(
        &mut self,
        body: Resource<IncomingBody>,
        pointers: Vec<String>,
        want: DigestSet,
    ) -> Res<(String, Vec<BlobInfo>)> {
        let r = self.body_json_base64(&body, &pointers, want.into()).await?;
        Ok(
            r.map(|(doc, blobs)| (doc, blobs.into_iter().map(Into::into).collect()))
                .map_err(Into::into),
        )
    }

    async fn drop(&mut self, body: Resource<IncomingBody>) -> wasmtime::Result<()> {
        self.drop_resource(body)
    }
}

impl blobs::HostBlobReader for StoreData {
    async fn size(&mut self, reader: Resource<BlobReader>) -> wasmtime::Result<u64> {
        self.reader_size(&reader)
    }

    async fn read(&mut self, reader: Resource<BlobReader>, offset: u64, len: u32) -> Res<Vec<u8>> {
        res(self.reader_read(&reader, offset, len).await?)
    }

    async fn drop(&mut self, reader: Resource<BlobReader>) -> wasmtime::Result<()> {
        self.drop_resource(reader)
    }
}

impl blobs::Host for StoreData {
    async fn stat(&mut self, blake3: String) -> wasmtime::Result<Option<BlobInfo>> {
        Ok(read(self.blob_stat(&blake3).await?)?.map(Into::into))
    }

    async fn open(&mut self, blake3: String) -> Res<Resource<BlobReader>> {
        res(self.blob_open(blake3).await?)
    }

    async fn put_bytes(&mut self, data: Vec<u8>, want: DigestSet) -> Res<BlobInfo> {
        res(self.blob_put(data, want.into()).await?)
    }

    async fn start_upload(&mut self) -> Res<String> {
        res(self.upload_start().await?)
    }

    async fn append_upload(
        &mut self,
        id: String,
        body: Resource<IncomingBody>,
        expect_offset: Option<u64>,
    ) -> Res<u64> {
        res(self.upload_append(&id, &body, expect_offset).await?)
    }

    async fn upload_offset(&mut self, id: String) -> Res<u64> {
        res(self.upload_position(&id).await?)
    }

    async fn finish_upload(
        &mut self,
        id: String,
        want: DigestSet,
        expect_sha256: Option<String>,
    ) -> Res<BlobInfo> {
        let r = self.upload_finish(&id, want.into(), expect_sha256.as_deref());
        res(r.await?)
    }

    async fn abort_upload(&mut self, id: String) -> wasmtime::Result<()> {
        let _ = self.upload_abort(&id).await?;
        Ok(())
    }
}

impl StoreData {
    async fn write(&mut self, w: Write) -> Res<()> {
        let scope = self.scope()?;
        res(scope.apply(vec![w]).await)
    }
}

impl catalog::Host for StoreData {
    async fn publish(&mut self, p: catalog::Publication) -> Res<()> {
        let assets = p.assets.into_iter().map(|a| cat::Asset {
            path: a.path,
            blake3: a.blake3,
            content_type: a.content_type,
            metadata: String::new(),
            added_at: 0,
        });
        let publication = cat::Publication {
            version: cat::VersionRow {
                package: p.version.package,
                version: p.version.version,
                metadata: p.version.metadata_json,
                yanked: p.version.yanked,
                deprecated: p.version.deprecated,
                published_at: 0,
            },
            assets: assets.collect(),
            tags: p.tags,
        };
        self.write(Write::Publish(publication)).await
    }

    async fn get_version(
        &mut self,
        package: String,
        version: String,
    ) -> wasmtime::Result<Option<catalog::VersionRow>> {
        let scope = self.scope()?;
        let r = scope
            .services
            .catalog
            .get_version(&scope.repo, &package, &version);
        Ok(read(r.await)?.map(Into::into))
    }

    async fn list_versions(
        &mut self,
        package: String,
    ) -> wasmtime::Result<Vec<catalog::VersionRow>> {
        let scope = self.scope()?;
        let mut out: Vec<cat::VersionRow> = Vec::new();
        while out.len() < LEGACY_LIST_LIMIT {
            let after = out.last().map(|v| v.version.clone());
            let r = scope.services.catalog.list_versions(
                &scope.repo,
                &package,
                after.as_deref(),
                MAX_PAGE,
            );
            let page = read(r.await)?;
            let done = page.len() < MAX_PAGE as usize;
            out.extend(page);
            if done {
                break;
            }
        }
        Ok(out.into_iter().map(Into::into).collect())
    }

    async fn set_yanked(&mut self, package: String, version: String, yanked: bool) -> Res<()> {
        self.write(Write::SetYanked {
            package,
            version,
            yanked,
        })
        .await
    }

    async fn set_deprecated(
        &mut self,
        package: String,
        version: String,
        message: Option<String>,
    ) -> Res<()> {
        self.write(Write::SetDeprecated {
            package,
            version,
            message,
        })
        .await
    }

    async fn delete_version(&mut self, package: String, version: String) -> Res<()> {
        self.write(Write::DeleteVersion { package, version }).await
    }

    async fn delete_package(&mut self, package: String) -> Res<()> {
        self.write(Write::DeletePackage { package }).await
    }

    async fn find_asset(&mut self, path: String) -> wasmtime::Result<Option<catalog::Asset>> {
        let scope = self.scope()?;
        let r = scope.services.catalog.find_asset(&scope.repo, &path);
        Ok(read(r.await)?.map(Into::into))
    }

    async fn list_tags(&mut self, package: String) -> wasmtime::Result<Vec<(String, String)>> {
        let scope = self.scope()?;
        let mut out: Vec<(String, String)> = Vec::new();
        while out.len() < LEGACY_LIST_LIMIT {
            let after = out.last().map(|(t, _)| t.clone());
            let r =
                scope
                    .services
                    .catalog
                    .list_tags(&scope.repo, &package, after.as_deref(), MAX_PAGE);
            let page = read(r.await)?;
            let done = page.len() < MAX_PAGE as usize;
            out.extend(page);
            if done {
                break;
            }
        }
        Ok(out)
    }

    async fn set_tag(&mut self, package: String, tag: String, version: String) -> Res<()> {
        self.write(Write::SetTag {
            package,
            tag,
            version,
        })
        .await
    }

    async fn remove_tag(&mut self, package: String, tag: String) -> Res<()> {
        self.write(Write::RemoveTag { package, tag }).await
    }

    async fn list_packages(
        &mut self,
        prefix: Option<String>,
        after: Option<String>,
        limit: u32,
    ) -> wasmtime::Result<Vec<String>> {
        let scope = self.scope()?;
        let r = scope.services.catalog.list_packages(
            &scope.repo,
            prefix.as_deref(),
            after.as_deref(),
            limit.min(10_000),
        );
        read(r.await)
    }

    async fn search(
        &mut self,
        text: String,
        offset: u32,
        limit: u32,
    ) -> wasmtime::Result<(u64, Vec<catalog::VersionRow>)> {
        let scope = self.scope()?;
        let r = scope
            .services
            .catalog
            .search(&scope.repo, &text, offset, limit.min(MAX_PAGE));
        let (total, rows) = read(r.await)?;
        Ok((total, rows.into_iter().map(Into::into).collect()))
    }

    async fn kv_get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        let scope = self.scope()?;
        read(scope.services.catalog.kv_get(&scope.repo, None, &key).await)
    }

    async fn kv_put(&mut self, key: String, value: Vec<u8>) -> Res<()> {
        self.write(Write::KvPut {
            package: None,
            key,
            value,
        })
        .await
    }
}

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
    async fn read(&mut self, _: Resource<UpstreamResponse>, _: u32) -> Res<Vec<u8>> {
        Ok(Err(StoreError::Unavailable("no upstream".into())))
    }
    async fn ingest(
        &mut self,
        _: Resource<UpstreamResponse>,
        _: DigestSet,
        _: Option<String>,
    ) -> Res<BlobInfo> {
        Ok(Err(StoreError::Unavailable("no upstream".into())))
    }
    async fn drop(&mut self, r: Resource<UpstreamResponse>) -> wasmtime::Result<()> {
        self.drop_resource(r)
    }
}

impl upstream::Host for StoreData {
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
    async fn whoami(&mut self) -> wasmtime::Result<types::Caller> {
        let (user, roles) = self.caller_roles()?;
        Ok(types::Caller { user, roles })
    }

    async fn may(&mut self, a: types::Access) -> wasmtime::Result<bool> {
        let scope = self.scope()?;
        let action = crate::runtime::contract::action_v0_1(a.action);
        Ok(scope
            .may(action, a.package.as_deref(), a.repository.as_deref())
            .await)
    }

    async fn login(
        &mut self,
        user: String,
        password: String,
    ) -> wasmtime::Result<Result<String, String>> {
        self.login_user(&user, &password).await
    }
}

impl signing::Host for StoreData {
    async fn clearsign(
        &mut self,
        key_id: String,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<String, String>> {
        signing_v0_3::Host::clearsign(self, key_id, data).await
    }
    async fn sign_detached(
        &mut self,
        key_id: String,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<String, String>> {
        signing_v0_3::Host::sign_detached(self, key_id, data).await
    }
    async fn public_key(&mut self, key_id: String) -> wasmtime::Result<Result<String, String>> {
        signing_v0_3::Host::public_key(self, key_id).await
    }
}

impl log::Host for StoreData {
    async fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            log::Level::Trace => log_v0_3::Level::Trace,
            log::Level::Debug => log_v0_3::Level::Debug,
            log::Level::Info => log_v0_3::Level::Info,
            log::Level::Warn => log_v0_3::Level::Warn,
            log::Level::Error => log_v0_3::Level::Error,
        };
        log_v0_3::Host::log(self, level, message).await
    }
}
