//! `GET`/`HEAD`/`DELETE /v2/<name>/blobs/<digest>`: the host streams the
//! stored bytes (Range, Content-Length, ETag); the plugin only resolves.

use crate::error::{BLOB_UNKNOWN, oci, store};
use crate::{names, store as repo};
use wharf_sdk::types::StoreError;
use wharf_sdk::{HttpError, Request, Response, catalog};

fn params(req: &Request) -> Result<(String, String), HttpError> {
    let (name, digest) = (req.param("name"), req.param("digest"));
    names::name(name)?;
    names::digest(digest)?;
    Ok((name.to_string(), digest.to_string()))
}

fn unknown(name: &str, digest: &str) -> HttpError {
    oci(
        404,
        BLOB_UNKNOWN,
        format!("blob {digest} is unknown to {name}"),
    )
}

pub fn get(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::blob(req);
    }
    let (name, digest) = params(req)?;
    // A manifest is content too: some clients fetch it through the blob route.
    let asset = match repo::find_blob(&name, &digest)? {
        Some(asset) => asset,
        None => repo::find_manifest(&name, &digest)?.ok_or_else(|| unknown(&name, &digest))?,
    };
    Ok(Response::blob(&asset.blake3, "application/octet-stream")
        .header("docker-content-digest", &digest)
        .header("etag", &format!("\"{digest}\""))
        .cacheable(&[&name], &[]))
}

pub fn delete(req: &mut Request) -> Result<Response, HttpError> {
    let (name, digest) = params(req)?;
    match catalog::remove_asset(&name, &repo::blob_path(&name, &digest)) {
        Ok(()) => Ok(Response::empty(202).header("content-length", "0")),
        Err(StoreError::NotFound) => Err(unknown(&name, &digest)),
        Err(e) => Err(store(e)),
    }
}
