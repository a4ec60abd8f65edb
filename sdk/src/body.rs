//! The request body of phase two: bounded reads for small framed parts,
//! streaming ingestion into the blob store for everything else.

use crate::http::HttpError;
use crate::types::{BlobInfo, DigestSet, StoreError};

#[cfg(target_arch = "wasm32")]
type Inner = crate::bindings::wharf::plugin::blobs::IncomingBody;
#[cfg(not(target_arch = "wasm32"))]
type Inner = crate::mock::MockBody;

pub use crate::bindings::wharf::plugin::blobs::{FormFile, FormPart};

pub struct Body(Inner);

impl Body {
    #[cfg(target_arch = "wasm32")]
    pub fn from_host(inner: Inner) -> Self {
        Body(inner)
    }
    #[cfg(target_arch = "wasm32")]
    pub(crate) fn host(&self) -> &Inner {
        &self.0
    }

    /// Native builds: a body the handler is handed never comes from the host.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_host(_: crate::bindings::wharf::plugin::blobs::IncomingBody) -> Self {
        unreachable!("native builds have no host bodies")
    }
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Body(crate::mock::MockBody::new(bytes))
    }
    /// Native builds: a body with its `Content-Type` (a multipart boundary).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_bytes_typed(bytes: Vec<u8>, content_type: Option<String>) -> Self {
        Body(crate::mock::MockBody::new(bytes).with_content_type(content_type))
    }
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn host(&self) -> &Inner {
        &self.0
    }

    /// Read up to `max` bytes; an empty vector means the end of the body.
    pub fn read(&self, max: u32) -> Result<Vec<u8>, StoreError> {
        self.0.read(max)
    }

    /// Read the whole body into the guest, refusing more than `limit` bytes.
    pub fn read_to_end(&self, limit: usize) -> Result<Vec<u8>, HttpError> {
        let mut out = Vec::new();
        loop {
            let chunk = self.0.read(64 * 1024)?;
            if chunk.is_empty() {
                return Ok(out);
            }
            out.extend_from_slice(&chunk);
            if out.len() > limit {
                return Err(HttpError::new(
                    413,
                    format!("body larger than {limit} bytes"),
                ));
            }
        }
    }

    /// Read exactly `n` bytes (binary framing such as cargo's publish body).
    pub fn read_exact(&self, n: usize) -> Result<Vec<u8>, HttpError> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let chunk = self.0.read((n - out.len()).min(64 * 1024) as u32)?;
            if chunk.is_empty() {
                return Err(HttpError::bad_request("request body ended early"));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Stream the next `len` bytes (or the rest) into the blob store.
    pub fn ingest(
        &self,
        len: Option<u64>,
        want: DigestSet,
        expect_sha256: Option<&str>,
    ) -> Result<BlobInfo, StoreError> {
        self.0.ingest(len, want, expect_sha256)
    }

    /// Parse multipart/form-data; file parts go to the blob store.
    pub fn ingest_multipart(&self, want: DigestSet) -> Result<Vec<FormPart>, StoreError> {
        self.0.ingest_multipart(want)
    }

    /// Decode base64 strings at the JSON `pointers` into the blob store;
    /// returns the rewritten document and the stored blobs.
    pub fn ingest_json_base64(
        &self,
        pointers: &[String],
        want: DigestSet,
    ) -> Result<(String, Vec<BlobInfo>), StoreError> {
        self.0.ingest_json_base64(pointers, want)
    }
}
