//! `upstream`: outbound HTTP. It arrives with proxy repositories; until then
//! no host is reachable, whatever the grants say.

use super::StoreData;
use crate::runtime::bindings::v0_3::wharf::plugin::types::{BlobInfo, DigestSet, StoreError};
use crate::runtime::bindings::v0_3::wharf::plugin::upstream as wit;
use wasmtime::component::Resource;

/// A response from an upstream server (never created yet).
pub struct UpstreamResponse;

impl wit::HostUpstreamResponse for StoreData {
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
        self.drop_resource(r)
    }
}

impl wit::Host for StoreData {
    async fn fetch(
        &mut self,
        req: wit::UpstreamRequest,
    ) -> wasmtime::Result<Result<Resource<UpstreamResponse>, wit::UpstreamError>> {
        self.scope()?;
        Ok(Err(wit::UpstreamError::NotGranted(format!(
            "{} is not a granted upstream",
            req.url
        ))))
    }
}
