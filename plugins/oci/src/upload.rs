//! Blob uploads: monolithic (`POST ?digest=`, or `POST` then `PUT ?digest=`),
//! chunked (`POST`, `PATCH` with `Content-Range`…, `PUT ?digest=`), streamed
//! (`PATCH` without `Content-Range`), status (`GET`), cancel (`DELETE`) and
//! cross-repository mount (`POST ?mount=&from=`).
//!
//! Sessions are host-owned (they survive restarts); bytes go from the socket
//! to the host's upload file and never enter the plugin. `finish_upload`
//! verifies the sha256 the client claims. A finished blob becomes an asset
//! of the package (see `store`).

use crate::error::{BLOB_UPLOAD_UNKNOWN, DIGEST_INVALID, RANGE_INVALID, oci, store};
use crate::{names, store as repo};
use wharf_sdk::types::{DigestSet, StoreError};
use wharf_sdk::{HttpError, Request, Response, blobs};

fn upload_location(name: &str, id: &str) -> String {
    format!("/v2/{name}/blobs/uploads/{id}")
}

/// 202 (or 204 for status) with where the session is and what it holds.
fn progress(status: u16, name: &str, id: &str, offset: u64) -> Response {
    Response::empty(status)
        .header("location", &upload_location(name, id))
        .header("range", &format!("0-{}", offset.saturating_sub(1)))
        .header("docker-upload-uuid", id)
        .header("content-length", "0")
}

/// 201 for a blob now served under `name`.
fn created(name: &str, digest: &str) -> Response {
    Response::empty(201)
        .header("location", &format!("/v2/{name}/blobs/{digest}"))
        .header("docker-content-digest", digest)
        .header("content-length", "0")
}

fn unknown_upload(id: &str) -> HttpError {
    oci(404, BLOB_UPLOAD_UNKNOWN, format!("upload {id} is unknown"))
}

fn upload_error(id: &str, e: StoreError) -> HttpError {
    match e {
        StoreError::NotFound => unknown_upload(id),
        other => store(other),
    }
}

/// The `?digest=` a request completes with, as `(digest, hex)`.
fn claimed_digest(req: &Request) -> Result<(String, String), HttpError> {
    let digest = req.query("digest").ok_or_else(|| {
        oci(
            400,
            DIGEST_INVALID,
            "the digest query parameter is required",
        )
    })?;
    let hex = names::digest(&digest)?.to_string();
    Ok((digest, hex))
}

/// The `(digest, from)` of a mount request (`?mount=&from=`). Classify
/// reads it too, to declare read on `from`.
pub fn mount_query(req: &Request) -> Option<(String, String)> {
    Some((req.query("mount")?, req.query("from")?))
}

/// `POST /v2/<name>/blobs/uploads/`.
pub fn start(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("name").to_string();
    names::name(&name)?;
    if let Some((mount, from)) = mount_query(req) {
        if let Some(response) = mount_blob(&name, &mount, &from)? {
            return Ok(response);
        }
    } else if req.query("digest").is_some() {
        let (digest, hex) = claimed_digest(req)?;
        let body = req.take_body()?;
        let info = body
            .ingest(None, DigestSet::SHA256, Some(&hex))
            .map_err(store)?;
        repo::put_blob(&name, &digest, &info.digests.blake3, info.size)?;
        return Ok(created(&name, &digest));
    }
    let id = blobs::start_upload().map_err(store)?;
    Ok(progress(202, &name, &id, 0))
}

/// A mount; `None` when the source lacks the blob (the client then uploads
/// it: the spec's 202 fallback). The route declared read on `from`, so the
/// host checked the caller may read the source before this runs.
fn mount_blob(name: &str, digest: &str, from: &str) -> Result<Option<Response>, HttpError> {
    names::digest(digest)?;
    names::name(from)?;
    let Some(source) = repo::find_blob(from, digest)? else {
        return Ok(None);
    };
    let size = match blobs::stat(&source.blake3).map_err(store)? {
        Some(info) => info.size,
        None => return Ok(None),
    };
    repo::put_blob(name, digest, &source.blake3, size)?;
    Ok(Some(created(name, digest)))
}

/// `Content-Range: <start>-<end>` (also accepted with a `bytes ` prefix).
fn content_range(req: &Request) -> Result<Option<(u64, u64)>, HttpError> {
    let Some(value) = req.header("content-range") else {
        return Ok(None);
    };
    let spec = value
        .trim()
        .trim_start_matches("bytes")
        .trim_start_matches(['=', ' ']);
    let parsed = spec
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?)))
        .filter(|(a, b)| a <= b);
    parsed.map(Some).ok_or_else(|| {
        oci(
            416,
            RANGE_INVALID,
            format!("invalid Content-Range {value:?}"),
        )
    })
}

/// Appends the body at the declared offset. A chunk that does not start
/// where the session ends is refused with a ready 416 response.
fn append(req: &mut Request, name: &str, id: &str) -> Result<Result<u64, Response>, HttpError> {
    let range = content_range(req)?;
    if let Some((start, end)) = range {
        let offset = blobs::upload_offset(id).map_err(|e| upload_error(id, e))?;
        let length = req
            .header("content-length")
            .and_then(|l| l.trim().parse::<u64>().ok());
        if start != offset || length.is_some_and(|l| l != end - start + 1) {
            return Ok(Err(out_of_order(name, id, offset)));
        }
    }
    let body = req.take_body()?;
    match blobs::append_upload(id, &body, range.map(|(start, _)| start)) {
        Ok(offset) => Ok(Ok(offset)),
        // Another chunk landed between the check and the append.
        Err(StoreError::Invalid(_)) if range.is_some() => {
            let offset = blobs::upload_offset(id).map_err(|e| upload_error(id, e))?;
            Ok(Err(out_of_order(name, id, offset)))
        }
        Err(e) => Err(upload_error(id, e)),
    }
}

/// 416 with the session's Range and Location, so the client can resume.
fn out_of_order(name: &str, id: &str, offset: u64) -> Response {
    let message = format!("chunk must start at offset {offset} of upload {id}");
    let mut response = crate::error::render(416, &format!("{RANGE_INVALID}: {message}"));
    for (k, v) in progress(416, name, id, offset).headers {
        if k != "content-length" {
            response = response.header(&k, &v);
        }
    }
    response
}

/// `PATCH /v2/<name>/blobs/uploads/<id>`.
pub fn patch(req: &mut Request) -> Result<Response, HttpError> {
    let (name, id) = (req.param("name").to_string(), req.param("id").to_string());
    names::name(&name)?;
    match append(req, &name, &id)? {
        Ok(offset) => Ok(progress(202, &name, &id, offset)),
        Err(refused) => Ok(refused),
    }
}

/// `PUT /v2/<name>/blobs/uploads/<id>?digest=`: optional last chunk, then
/// the bytes are verified against the digest and published.
pub fn finish(req: &mut Request) -> Result<Response, HttpError> {
    let (name, id) = (req.param("name").to_string(), req.param("id").to_string());
    names::name(&name)?;
    let (digest, hex) = claimed_digest(req)?;
    if req.header("content-length").map(str::trim) != Some("0")
        && let Err(refused) = append(req, &name, &id)?
    {
        return Ok(refused);
    }
    let info = blobs::finish_upload(&id, DigestSet::SHA256, Some(&hex))
        .map_err(|e| upload_error(&id, e))?;
    repo::put_blob(&name, &digest, &info.digests.blake3, info.size)?;
    Ok(created(&name, &digest))
}

/// `GET /v2/<name>/blobs/uploads/<id>`: 204 with the received Range.
pub fn status(req: &mut Request) -> Result<Response, HttpError> {
    let (name, id) = (req.param("name").to_string(), req.param("id").to_string());
    names::name(&name)?;
    let offset = blobs::upload_offset(&id).map_err(|e| upload_error(&id, e))?;
    Ok(progress(204, &name, &id, offset))
}

/// `DELETE /v2/<name>/blobs/uploads/<id>`.
pub fn cancel(req: &mut Request) -> Result<Response, HttpError> {
    let (name, id) = (req.param("name").to_string(), req.param("id").to_string());
    names::name(&name)?;
    blobs::upload_offset(&id).map_err(|e| upload_error(&id, e))?;
    blobs::abort_upload(&id).map_err(|e| upload_error(&id, e))?;
    Ok(Response::empty(204))
}
