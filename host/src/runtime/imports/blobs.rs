//! `blobs`: the request body, stored blobs and resumable uploads.
//!
//! The `StoreData` methods here are the calls both contract versions share;
//! the trait impls below are the 0.3 glue.

use super::{IncomingBody, MAX_READ_WINDOW, StoreData, done};
use crate::runtime::bindings::v0_3::wharf::plugin::blobs as wit;
use crate::runtime::bindings::v0_3::wharf::plugin::types::{BlobInfo, DigestSet, StoreError};
use crate::runtime::capability::RequestScope;
use crate::runtime::json_base64;
use crate::runtime::multipart::{self, Part};
use crate::store::StoreError as HostError;
use crate::store::digest::{self, Want};
use futures::FutureExt;
use wasmtime::component::Resource;

/// A blob opened for reading inside the sandbox.
pub struct BlobReader {
    blake3: String,
    size: u64,
}

type Host<T> = Result<T, HostError>;

impl StoreData {
    pub(super) async fn body_read(
        &mut self,
        body: &Resource<IncomingBody>,
        max: u32,
    ) -> wasmtime::Result<Host<Vec<u8>>> {
        let (scope, table) = self.scope_and_table()?;
        // Never more than the budget: one byte past it says it is exceeded.
        let max = (max.min(MAX_READ_WINDOW) as u64).min(scope.read_left.saturating_add(1)) as usize;
        let read = async |scope: &mut RequestScope, body: &mut IncomingBody| {
            let chunk = body.read(max).await?;
            scope.charge(chunk.len())?;
            Ok(chunk.to_vec())
        };
        // Bytes already here are no wait on the client: the slot stays.
        let body_now = table.get_mut(body)?;
        if let Some(ready) = read(scope, &mut *body_now).now_or_never() {
            return Ok(body_now.settle(ready)?);
        }
        self.on_body(body, read).await
    }

    pub(super) async fn body_ingest(
        &mut self,
        body: &Resource<IncomingBody>,
        len: Option<u64>,
        want: Want,
        expect_sha256: Option<&str>,
    ) -> wasmtime::Result<Host<digest::BlobInfo>> {
        if let Err(e) = self.scope()?.require_store() {
            return Ok(Err(e));
        }
        self.on_body(body, async |scope, body| {
            let services = scope.services.clone();
            let max = services.settings.max_body_bytes;
            let info = services
                .blobs
                .ingest(body.take(len), want, expect_sha256, max)
                .await?;
            Ok(scope.stored(info))
        })
        .await
    }

    pub(super) async fn body_multipart(
        &mut self,
        body: &Resource<IncomingBody>,
        want: Want,
    ) -> wasmtime::Result<Host<Vec<Part>>> {
        if let Err(e) = self.scope()?.require_store() {
            return Ok(Err(e));
        }
        self.on_body(body, async |scope, body| {
            multipart::ingest(scope, body, want).await
        })
        .await
    }

    pub(super) async fn body_json_base64(
        &mut self,
        body: &Resource<IncomingBody>,
        pointers: &[String],
        want: Want,
    ) -> wasmtime::Result<Host<(String, Vec<digest::BlobInfo>)>> {
        if let Err(e) = self.scope()?.require_store() {
            return Ok(Err(e));
        }
        self.on_body(body, async |scope, body| {
            json_base64::ingest(scope, body, pointers, want).await
        })
        .await
    }

    pub(super) async fn reader_read(
        &mut self,
        reader: &Resource<BlobReader>,
        offset: u64,
        len: u32,
    ) -> wasmtime::Result<Host<Vec<u8>>> {
        let (scope, table) = self.scope_and_table()?;
        let r = table.get(reader)?;
        let end = offset
            .saturating_add(len.min(MAX_READ_WINDOW) as u64)
            .min(r.size);
        if offset >= end {
            return Ok(Ok(Vec::new()));
        }
        let blake3 = r.blake3.clone();
        // Every byte that enters the guest counts, archive reads included.
        if let Err(e) = scope.charge((end - offset) as usize) {
            return Ok(Err(e));
        }
        let services = scope.services.clone();
        Ok(services
            .blobs
            .read_range(&blake3, offset..end)
            .await
            .map(|b| b.to_vec()))
    }

    pub(super) fn reader_size(&self, reader: &Resource<BlobReader>) -> wasmtime::Result<u64> {
        Ok(self.table.get(reader)?.size)
    }

    pub(super) fn drop_resource<T: 'static>(&mut self, r: Resource<T>) -> wasmtime::Result<()> {
        self.table.delete(r)?;
        Ok(())
    }

    pub(super) async fn blob_stat(
        &mut self,
        blake3: &str,
    ) -> wasmtime::Result<Host<Option<digest::BlobInfo>>> {
        let scope = self.scope()?;
        Ok(match scope.visible(blake3).await {
            Ok(true) => scope.services.blobs.info(blake3).await,
            Ok(false) => Ok(None),
            Err(e) => Err(e),
        })
    }

    pub(super) async fn blob_open(
        &mut self,
        blake3: String,
    ) -> wasmtime::Result<Host<Resource<BlobReader>>> {
        match self.blob_stat(&blake3).await? {
            Ok(Some(info)) => Ok(Ok(self.table.push(BlobReader {
                blake3,
                size: info.size,
            })?)),
            Ok(None) => Ok(Err(HostError::NotFound)),
            Err(e) => Ok(Err(e)),
        }
    }

    pub(super) async fn blob_put(
        &mut self,
        data: Vec<u8>,
        want: Want,
    ) -> wasmtime::Result<Host<digest::BlobInfo>> {
        let scope = self.scope()?;
        if let Err(e) = scope.require_store() {
            return Ok(Err(e));
        }
        let result = scope.services.blobs.put_bytes(data.into(), want).await;
        Ok(result.map(|info| scope.stored(info)))
    }

    pub(super) async fn upload_start(&mut self) -> wasmtime::Result<Host<String>> {
        let scope = self.scope()?;
        if let Err(e) = scope.require_store() {
            return Ok(Err(e));
        }
        Ok(scope.services.uploads.start(&scope.repo).await)
    }

    pub(super) async fn upload_append(
        &mut self,
        id: &str,
        body: &Resource<IncomingBody>,
        expect_offset: Option<u64>,
    ) -> wasmtime::Result<Host<u64>> {
        if let Err(e) = self.scope()?.require_store() {
            return Ok(Err(e));
        }
        self.on_body(body, async |scope, body| {
            let services = &scope.services;
            let max = services.settings.max_body_bytes;
            services
                .uploads
                .append(&scope.repo, id, body.take(None), expect_offset, max)
                .await
        })
        .await
    }

    pub(super) async fn upload_position(&mut self, id: &str) -> wasmtime::Result<Host<u64>> {
        let scope = self.scope()?;
        Ok(scope.services.uploads.offset(&scope.repo, id).await)
    }

    pub(super) async fn upload_finish(
        &mut self,
        id: &str,
        want: Want,
        expect_sha256: Option<&str>,
    ) -> wasmtime::Result<Host<digest::BlobInfo>> {
        let scope = self.scope()?;
        if let Err(e) = scope.require_store() {
            return Ok(Err(e));
        }
        let services = scope.services.clone();
        let result = services
            .uploads
            .finish(&scope.repo, id, &services.blobs, want, expect_sha256)
            .await;
        Ok(result.map(|info| scope.stored(info)))
    }

    pub(super) async fn upload_abort(&mut self, id: &str) -> wasmtime::Result<Host<()>> {
        let scope = self.scope()?;
        if let Err(e) = scope.require_store() {
            return Ok(Err(e));
        }
        scope.services.uploads.abort(&scope.repo, id).await;
        Ok(Ok(()))
    }
}

impl From<Part> for wit::FormPart {
    fn from(p: Part) -> Self {
        match p {
            Part::Field(name, text) => wit::FormPart::Field((name, text)),
            Part::File {
                name,
                filename,
                content_type,
                blob,
            } => wit::FormPart::File(wit::FormFile {
                name,
                filename,
                content_type,
                blob: blob.into(),
            }),
        }
    }
}

impl wit::HostIncomingBody for StoreData {
    async fn read(
        &mut self,
        body: Resource<IncomingBody>,
        max: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, StoreError>> {
        done(self.body_read(&body, max).await?)
    }

    async fn ingest(
        &mut self,
        body: Resource<IncomingBody>,
        len: Option<u64>,
        want: DigestSet,
        expect_sha256: Option<String>,
    ) -> wasmtime::Result<Result<BlobInfo, StoreError>> {
        let r = self.body_ingest(&body, len, want.into(), expect_sha256.as_deref());
        done(r.await?)
    }

    async fn ingest_multipart(
        &mut self,
        body: Resource<IncomingBody>,
        want: DigestSet,
    ) -> wasmtime::Result<Result<Vec<wit::FormPart>, StoreError>> {
        let parts = self.body_multipart(&body, want.into()).await?;
        Ok(parts
            .map(|ps| ps.into_iter().map(Into::into).collect())
            .map_err(Into::into))
    }

    async fn ingest_json_base64(
        &mut self,
        body: Resource<IncomingBody>,
        pointers: Vec<String>,
        want: DigestSet,
    ) -> wasmtime::Result<Result<(String, Vec<BlobInfo>), StoreError>> {
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

impl wit::HostBlobReader for StoreData {
    async fn size(&mut self, reader: Resource<BlobReader>) -> wasmtime::Result<u64> {
        self.reader_size(&reader)
    }

    async fn read(
        &mut self,
        reader: Resource<BlobReader>,
        offset: u64,
        len: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, StoreError>> {
        done(self.reader_read(&reader, offset, len).await?)
    }

    async fn drop(&mut self, reader: Resource<BlobReader>) -> wasmtime::Result<()> {
        self.drop_resource(reader)
    }
}

impl wit::Host for StoreData {
    async fn stat(
        &mut self,
        blake3: String,
    ) -> wasmtime::Result<Result<Option<BlobInfo>, StoreError>> {
        Ok(self
            .blob_stat(&blake3)
            .await?
            .map(|i| i.map(Into::into))
            .map_err(Into::into))
    }

    async fn open(
        &mut self,
        blake3: String,
    ) -> wasmtime::Result<Result<Resource<BlobReader>, StoreError>> {
        done(self.blob_open(blake3).await?)
    }

    async fn put_bytes(
        &mut self,
        data: Vec<u8>,
        want: DigestSet,
    ) -> wasmtime::Result<Result<BlobInfo, StoreError>> {
        done(self.blob_put(data, want.into()).await?)
    }

    async fn start_upload(&mut self) -> wasmtime::Result<Result<String, StoreError>> {
        done(self.upload_start().await?)
    }

    async fn append_upload(
        &mut self,
        id: String,
        body: Resource<IncomingBody>,
        expect_offset: Option<u64>,
    ) -> wasmtime::Result<Result<u64, StoreError>> {
        done(self.upload_append(&id, &body, expect_offset).await?)
    }

    async fn upload_offset(&mut self, id: String) -> wasmtime::Result<Result<u64, StoreError>> {
        done(self.upload_position(&id).await?)
    }

    async fn finish_upload(
        &mut self,
        id: String,
        want: DigestSet,
        expect_sha256: Option<String>,
    ) -> wasmtime::Result<Result<BlobInfo, StoreError>> {
        let r = self.upload_finish(&id, want.into(), expect_sha256.as_deref());
        done(r.await?)
    }

    async fn abort_upload(&mut self, id: String) -> wasmtime::Result<Result<(), StoreError>> {
        done(self.upload_abort(&id).await?)
    }
}
