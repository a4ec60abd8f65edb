//! `GET`/`HEAD`/`DELETE /v2/<name>/blobs/<digest>`: the host streams the
//! stored bytes (Range, Content-Length, ETag); the plugin only resolves.

use crate::error::{BLOB_UNKNOWN, oci};
use crate::{names, store};
use wharf_sdk::{HttpError, Request, Response};

fn params(req: &Request) -> Result<(String, String), HttpError> {
    let (name, digest) = (req.param("name"), req.param("digest"));
    names::name(name)?;
    names::digest(digest)?;
    Ok((name.to_string(), digest.to_string()))
}

pub fn get(req: &mut Request) -> Result<Response, HttpError> {
    let (name, digest) = params(req)?;
    // A manifest is content too: some clients fetch it through the blob route.
    let asset = store::find_blob(&name, &digest)
        .or_else(|| store::find_manifest(&name, &digest))
        .ok_or_else(|| {
            oci(
                404,
                BLOB_UNKNOWN,
                format!("blob {digest} is unknown to {name}"),
            )
        })?;
    Ok(Response::blob(&asset.blake3, "application/octet-stream")
        .header("docker-content-digest", &digest)
        .header("etag", &format!("\"{digest}\"")))
}

pub fn delete(req: &mut Request) -> Result<Response, HttpError> {
    let (name, digest) = params(req)?;
    store::delete_blob(&name, &digest).map_err(|_| {
        oci(
            404,
            BLOB_UNKNOWN,
            format!("blob {digest} is unknown to {name}"),
        )
    })?;
    Ok(Response::empty(202).header("content-length", "0"))
}
