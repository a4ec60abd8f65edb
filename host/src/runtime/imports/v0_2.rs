//! The imports of `wharf:plugin@0.2.0`, each handed to its 0.3 twin: 0.3
//! only added interfaces (`owners`, `tokens`), so a 0.2 call is a 0.3 call
//! with the records of its interface converted field for field. `types` is
//! shared outright (`bindings/v0_2.rs`).

use super::{BlobReader, IncomingBody, StoreData, UpstreamResponse};
use crate::runtime::bindings::v0_2::wharf::plugin::{auth, blobs, catalog, log, signing, upstream};
use crate::runtime::bindings::v0_3::wharf::plugin::types::{
    Access, BlobInfo, Caller, DigestSet, StoreError,
};
use crate::runtime::bindings::v0_3::wharf::plugin::{
    auth as auth3, blobs as blobs3, catalog as catalog3, log as log3, signing as signing3,
    upstream as upstream3,
};
use wasmtime::component::Resource;

type Res<T> = wasmtime::Result<Result<T, StoreError>>;

fn rows<T, U: From<T>>(r: Res<Vec<T>>) -> Res<Vec<U>> {
    Ok(r?.map(|v| v.into_iter().map(U::from).collect()))
}

impl From<catalog::VersionRow> for catalog3::VersionRow {
    fn from(v: catalog::VersionRow) -> Self {
        catalog3::VersionRow {
            package: v.package,
            version: v.version,
            metadata_json: v.metadata_json,
            yanked: v.yanked,
            deprecated: v.deprecated,
            published_at: v.published_at,
        }
    }
}

impl From<catalog3::VersionRow> for catalog::VersionRow {
    fn from(v: catalog3::VersionRow) -> Self {
        catalog::VersionRow {
            package: v.package,
            version: v.version,
            metadata_json: v.metadata_json,
            yanked: v.yanked,
            deprecated: v.deprecated,
            published_at: v.published_at,
        }
    }
}

impl From<catalog::Asset> for catalog3::Asset {
    fn from(a: catalog::Asset) -> Self {
        catalog3::Asset {
            path: a.path,
            blake3: a.blake3,
            content_type: a.content_type,
            metadata_json: a.metadata_json,
            added_at: a.added_at,
        }
    }
}

impl From<catalog3::Asset> for catalog::Asset {
    fn from(a: catalog3::Asset) -> Self {
        catalog::Asset {
            path: a.path,
            blake3: a.blake3,
            content_type: a.content_type,
            metadata_json: a.metadata_json,
            added_at: a.added_at,
        }
    }
}

impl From<catalog::Owner> for catalog3::Owner {
    fn from(o: catalog::Owner) -> Self {
        catalog3::Owner {
            package: o.package,
            version: o.version,
        }
    }
}

impl From<catalog::Write> for catalog3::Write {
    fn from(w: catalog::Write) -> Self {
        use catalog::Write as W;
        use catalog3::Write as W3;
        match w {
            W::Publish(p) => W3::Publish(catalog3::Publication {
                version: p.version.into(),
                assets: p.assets.into_iter().map(Into::into).collect(),
                tags: p.tags,
            }),
            W::PutAsset((owner, asset, replace)) => {
                W3::PutAsset((owner.into(), asset.into(), replace))
            }
            W::RemoveAsset(x) => W3::RemoveAsset(x),
            W::SetYanked(x) => W3::SetYanked(x),
            W::SetDeprecated(x) => W3::SetDeprecated(x),
            W::SetTag(x) => W3::SetTag(x),
            W::RemoveTag(x) => W3::RemoveTag(x),
            W::DeleteVersion(x) => W3::DeleteVersion(x),
            W::DeletePackage(x) => W3::DeletePackage(x),
            W::KvPut(x) => W3::KvPut(x),
            W::KvInsert(x) => W3::KvInsert(x),
            W::KvDelete(x) => W3::KvDelete(x),
        }
    }
}

impl catalog::Host for StoreData {
    async fn apply(&mut self, writes: Vec<catalog::Write>) -> Res<()> {
        let writes = writes.into_iter().map(Into::into).collect();
        catalog3::Host::apply(self, writes).await
    }

    async fn has_package(&mut self, package: String) -> Res<bool> {
        catalog3::Host::has_package(self, package).await
    }

    async fn get_version(
        &mut self,
        package: String,
        version: String,
    ) -> Res<Option<catalog::VersionRow>> {
        let r = catalog3::Host::get_version(self, package, version).await?;
        Ok(r.map(|v| v.map(Into::into)))
    }

    async fn list_versions(
        &mut self,
        package: String,
        after: Option<String>,
        limit: u32,
    ) -> Res<Vec<catalog::VersionRow>> {
        rows(catalog3::Host::list_versions(self, package, after, limit).await)
    }

    async fn find_asset(&mut self, path: String) -> Res<Option<catalog::Asset>> {
        let r = catalog3::Host::find_asset(self, path).await?;
        Ok(r.map(|a| a.map(Into::into)))
    }

    async fn list_assets(
        &mut self,
        owner: catalog::Owner,
        prefix: Option<String>,
        after: Option<String>,
        limit: u32,
    ) -> Res<Vec<catalog::Asset>> {
        let r = catalog3::Host::list_assets(self, owner.into(), prefix, after, limit);
        rows(r.await)
    }

    async fn get_tag(&mut self, package: String, tag: String) -> Res<Option<String>> {
        catalog3::Host::get_tag(self, package, tag).await
    }

    async fn list_tags(
        &mut self,
        package: String,
        after: Option<String>,
        limit: u32,
    ) -> Res<Vec<(String, String)>> {
        catalog3::Host::list_tags(self, package, after, limit).await
    }

    async fn list_packages(
        &mut self,
        prefix: Option<String>,
        after: Option<String>,
        limit: u32,
    ) -> Res<Vec<String>> {
        catalog3::Host::list_packages(self, prefix, after, limit).await
    }

    async fn search(
        &mut self,
        text: String,
        offset: u32,
        limit: u32,
    ) -> Res<(u64, Vec<catalog::VersionRow>)> {
        let r = catalog3::Host::search(self, text, offset, limit).await?;
        Ok(r.map(|(total, rows)| (total, rows.into_iter().map(Into::into).collect())))
    }

    async fn kv_get(&mut self, package: Option<String>, key: String) -> Res<Option<Vec<u8>>> {
        catalog3::Host::kv_get(self, package, key).await
    }
}

impl From<blobs3::FormPart> for blobs::FormPart {
    fn from(p: blobs3::FormPart) -> Self {
        match p {
            blobs3::FormPart::Field(field) => blobs::FormPart::Field(field),
            blobs3::FormPart::File(f) => blobs::FormPart::File(blobs::FormFile {
                name: f.name,
                filename: f.filename,
                content_type: f.content_type,
                blob: f.blob,
            }),
        }
    }
}

impl blobs::HostIncomingBody for StoreData {
    async fn read(&mut self, body: Resource<IncomingBody>, max: u32) -> Res<Vec<u8>> {
        blobs3::HostIncomingBody::read(self, body, max).await
    }

    async fn ingest(
        &mut self,
        body: Resource<IncomingBody>,
        len: Option<u64>,
        want: DigestSet,
        expect_sha256: Option<String>,
    ) -> Res<BlobInfo> {
        blobs3::HostIncomingBody::ingest(self, body, len, want, expect_sha256).await
    }

    async fn ingest_multipart(
        &mut self,
        body: Resource<IncomingBody>,
        want: DigestSet,
    ) -> Res<Vec<blobs::FormPart>> {
        rows(blobs3::HostIncomingBody::ingest_multipart(self, body, want).await)
    }

    async fn ingest_json_base64(
        &mut self,
        body: Resource<IncomingBody>,
        pointers: Vec<String>,
        want: DigestSet,
    ) -> Res<(String, Vec<BlobInfo>)> {
        blobs3::HostIncomingBody::ingest_json_base64(self, body, pointers, want).await
    }

    async fn drop(&mut self, body: Resource<IncomingBody>) -> wasmtime::Result<()> {
        blobs3::HostIncomingBody::drop(self, body).await
    }
}

impl blobs::HostBlobReader for StoreData {
    async fn size(&mut self, reader: Resource<BlobReader>) -> wasmtime::Result<u64> {
        blobs3::HostBlobReader::size(self, reader).await
    }

    async fn read(&mut self, reader: Resource<BlobReader>, offset: u64, len: u32) -> Res<Vec<u8>> {
        blobs3::HostBlobReader::read(self, reader, offset, len).await
    }

    async fn drop(&mut self, reader: Resource<BlobReader>) -> wasmtime::Result<()> {
        blobs3::HostBlobReader::drop(self, reader).await
    }
}

impl blobs::Host for StoreData {
    async fn stat(&mut self, blake3: String) -> Res<Option<BlobInfo>> {
        blobs3::Host::stat(self, blake3).await
    }

    async fn open(&mut self, blake3: String) -> Res<Resource<BlobReader>> {
        blobs3::Host::open(self, blake3).await
    }

    async fn put_bytes(&mut self, data: Vec<u8>, want: DigestSet) -> Res<BlobInfo> {
        blobs3::Host::put_bytes(self, data, want).await
    }

    async fn start_upload(&mut self) -> Res<String> {
        blobs3::Host::start_upload(self).await
    }

    async fn append_upload(
        &mut self,
        id: String,
        body: Resource<IncomingBody>,
        expect_offset: Option<u64>,
    ) -> Res<u64> {
        blobs3::Host::append_upload(self, id, body, expect_offset).await
    }

    async fn upload_offset(&mut self, id: String) -> Res<u64> {
        blobs3::Host::upload_offset(self, id).await
    }

    async fn finish_upload(
        &mut self,
        id: String,
        want: DigestSet,
        expect_sha256: Option<String>,
    ) -> Res<BlobInfo> {
        blobs3::Host::finish_upload(self, id, want, expect_sha256).await
    }

    async fn abort_upload(&mut self, id: String) -> Res<()> {
        blobs3::Host::abort_upload(self, id).await
    }
}

impl upstream::HostUpstreamResponse for StoreData {
    async fn status(&mut self, r: Resource<UpstreamResponse>) -> wasmtime::Result<u16> {
        upstream3::HostUpstreamResponse::status(self, r).await
    }

    async fn headers(
        &mut self,
        r: Resource<UpstreamResponse>,
    ) -> wasmtime::Result<Vec<(String, String)>> {
        upstream3::HostUpstreamResponse::headers(self, r).await
    }

    async fn read(&mut self, r: Resource<UpstreamResponse>, max: u32) -> Res<Vec<u8>> {
        upstream3::HostUpstreamResponse::read(self, r, max).await
    }

    async fn ingest(
        &mut self,
        r: Resource<UpstreamResponse>,
        want: DigestSet,
        expect_sha256: Option<String>,
    ) -> Res<BlobInfo> {
        upstream3::HostUpstreamResponse::ingest(self, r, want, expect_sha256).await
    }

    async fn drop(&mut self, r: Resource<UpstreamResponse>) -> wasmtime::Result<()> {
        upstream3::HostUpstreamResponse::drop(self, r).await
    }
}

impl upstream::Host for StoreData {
    async fn fetch(
        &mut self,
        req: upstream::UpstreamRequest,
    ) -> wasmtime::Result<Result<Resource<UpstreamResponse>, upstream::UpstreamError>> {
        let req = upstream3::UpstreamRequest {
            method: req.method,
            url: req.url,
            headers: req.headers,
        };
        let r = upstream3::Host::fetch(self, req).await?;
        Ok(r.map_err(|e| match e {
            upstream3::UpstreamError::NotGranted(m) => upstream::UpstreamError::NotGranted(m),
            upstream3::UpstreamError::Timeout => upstream::UpstreamError::Timeout,
            upstream3::UpstreamError::Connect(m) => upstream::UpstreamError::Connect(m),
            upstream3::UpstreamError::TooLarge(n) => upstream::UpstreamError::TooLarge(n),
        }))
    }
}

impl auth::Host for StoreData {
    async fn whoami(&mut self) -> wasmtime::Result<Caller> {
        auth3::Host::whoami(self).await
    }

    async fn may(&mut self, a: Access) -> wasmtime::Result<bool> {
        auth3::Host::may(self, a).await
    }

    async fn login(
        &mut self,
        user: String,
        password: String,
    ) -> wasmtime::Result<Result<String, String>> {
        auth3::Host::login(self, user, password).await
    }
}

impl signing::Host for StoreData {
    async fn clearsign(
        &mut self,
        key_id: String,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<String, String>> {
        signing3::Host::clearsign(self, key_id, data).await
    }

    async fn sign_detached(
        &mut self,
        key_id: String,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<String, String>> {
        signing3::Host::sign_detached(self, key_id, data).await
    }

    async fn public_key(&mut self, key_id: String) -> wasmtime::Result<Result<String, String>> {
        signing3::Host::public_key(self, key_id).await
    }
}

impl log::Host for StoreData {
    async fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            log::Level::Trace => log3::Level::Trace,
            log::Level::Debug => log3::Level::Debug,
            log::Level::Info => log3::Level::Info,
            log::Level::Warn => log3::Level::Warn,
            log::Level::Error => log3::Level::Error,
        };
        log3::Host::log(self, level, message).await
    }
}
