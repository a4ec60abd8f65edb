//! A proxy repository. `maven-metadata.xml` changes upstream, so it is the
//! upstream's, through the host's metadata cache. A file does not change:
//! it is pulled once, held to the digests of the upstream's checksum
//! sidecars, and recorded like a deployed file (`store`), then served from
//! the store, with the upstream gone too. Only a SNAPSHOT file without a
//! build timestamp changes in place: it passes through the metadata cache
//! and is not kept.

use wharf_sdk::types::DigestSet;
use wharf_sdk::upstream::{self, Pull};
use wharf_sdk::{HttpError, Request, Response, escape};

use crate::layout::{self, Algo, File, Target, is_snapshot};
use crate::serve::text;
use crate::sidecar;
use crate::store::{self, Stored};

/// Largest `maven-metadata.xml` read from the upstream.
const METADATA_LIMIT: usize = 8 << 20;

/// `GET`/`HEAD` of any path, as in a hosted repository.
pub fn get(req: &mut Request) -> Result<Response, HttpError> {
    let path = crate::request_path(req);
    let path = layout::parse(&path).map_err(|e| HttpError::not_found(e.message))?;
    let package = path.package();
    let target = path.target_path();
    // Encoded: a `?`, `#` or `%` in a name stays part of the path.
    let url = escape::url_path(&target);
    match (&path.target, path.checksum) {
        (Target::Metadata(_), algo) => metadata(&package, &url, algo),
        (Target::File(file), algo) if changes_in_place(file) => passed_through(&url, file, algo),
        (Target::File(file), None) => artifact(&package, &target, &url, file),
        (Target::File(_), Some(algo)) => artifact_checksum(&package, &target, &url, algo),
    }
}

/// `1.0-SNAPSHOT/demo-1.0-SNAPSHOT.jar`: redeployed under the same name.
fn changes_in_place(file: &File) -> bool {
    is_snapshot(&file.version) && file.build.is_none()
}

/// The upstream's document, or a checksum of the very bytes served: the
/// upstream's own sidecar is another cached document, which may be from
/// another moment than the document. The checksum carries the document
/// for a group's merge (`merge::sidecar`).
fn metadata(package: &str, url: &str, algo: Option<Algo>) -> Result<Response, HttpError> {
    let xml = upstream::document(url, None, METADATA_LIMIT, url)?
        .ok_or_else(|| HttpError::not_found(format!("{url} not found upstream")))?
        .body;
    let response = match algo {
        Some(algo) => crate::merge::sidecar(algo, &xml),
        None => Response::bytes(200, "application/xml", xml),
    };
    Ok(response.cacheable(&[package], &[]))
}

/// From the store once pulled; the first time, pulled from the upstream
/// (streamed while stored) if it publishes a SHA checksum of it.
fn artifact(package: &str, target: &str, url: &str, file: &File) -> Result<Response, HttpError> {
    let content_type = store::content_type(&file.extension);
    if let Some(stored) = store::get(target)? {
        return Ok(Response::blob(&stored.blake3, content_type).cacheable(&[package], &[]));
    }
    let promises = sidecar::promises(url)?;
    let expect: Vec<_> = promises
        .iter()
        .filter_map(|(algo, hex)| Some((sidecar::kind(*algo)?, hex.clone())))
        .collect();
    // A missing file has no sidecar either; one without any is not kept
    // (nothing could check it), which Maven takes as missing too.
    if expect.is_empty() {
        return Err(HttpError::not_found(format!(
            "{target} not found upstream, or published without a .sha1, .sha256 or .sha512"
        )));
    }
    let stored = Stored::promised(file, &promises);
    let pulled = upstream::pull(Pull {
        url: url.to_string(),
        want: DigestSet::MD5 | DigestSet::SHA1 | DigestSet::SHA256 | DigestSet::SHA512,
        expect,
        record: vec![store::record(package, file, target, &stored)?],
    })?;
    upstream::serve_pulled(pulled, content_type, url)
}

/// A file's sidecar: from the digests the host computed once it is stored,
/// the upstream's before.
fn artifact_checksum(
    package: &str,
    target: &str,
    url: &str,
    algo: Algo,
) -> Result<Response, HttpError> {
    if let Some(stored) = store::get(target)? {
        let stored = stored.completed()?;
        if !stored.digest(algo).is_empty() {
            let digest = stored.digest(algo).to_string();
            return Ok(text(digest).cacheable(&[package], &[]));
        }
    }
    let digest = sidecar::fetch(url, algo)?
        .ok_or_else(|| HttpError::not_found(format!("{url}.{} not found upstream", algo.name())))?;
    Ok(text(digest).cacheable(&[package], &[]))
}

/// A file that changes in place, or its sidecar, as the upstream has it now.
fn passed_through(url: &str, file: &File, algo: Option<Algo>) -> Result<Response, HttpError> {
    let (url, content_type) = match algo {
        Some(algo) => (format!("{url}.{}", algo.name()), "text/plain"),
        None => (url.to_string(), store::content_type(&file.extension)),
    };
    let answer = upstream::fetch(&url, None)?;
    upstream::serve_pulled(answer, content_type, &url)
}
