//! `PUT`: `mvn deploy` sends every file, then its checksum sidecars, then
//! read-modify-writes `maven-metadata.xml` and its sidecars.

use serde::Deserialize;
use wharf_sdk::types::{DigestSet, StoreError};
use wharf_sdk::{HttpError, Request, Response};

use crate::layout::{self, Algo, File, Target, is_snapshot};
use crate::store::{self, Stored};

/// A checksum sidecar or a metadata document is small.
const SMALL_LIMIT: usize = 1 << 20;

/// The repository's Maven settings.
#[derive(Deserialize, Default)]
struct Settings {
    /// Release files may be deployed again (replacing the stored one).
    #[serde(default)]
    allow_redeploy: bool,
}

pub fn put(req: &mut Request) -> Result<Response, HttpError> {
    let path = layout::parse(req.param("path"))?;
    let package = path.package();
    let target = path.target_path();
    match (&path.target, path.checksum) {
        // The server generates metadata from its catalog; the client's copy
        // (and its checksums) is accepted and dropped.
        (Target::Metadata(_), _) => {
            req.take_body()?.read_to_end(SMALL_LIMIT)?;
            Ok(Response::empty(201))
        }
        (Target::File(file), Some(algo)) => verify(req, &target, file, algo),
        (Target::File(file), None) => deploy(req, &package, &target, file),
    }
}

/// Stores a file: releases are immutable unless the repository allows
/// redeploys, SNAPSHOT files may be replaced.
fn deploy(
    req: &mut Request,
    package: &str,
    path: &str,
    file: &File,
) -> Result<Response, HttpError> {
    let replace = is_snapshot(&file.version) || req.repo.settings::<Settings>()?.allow_redeploy;
    let existing = store::get(path)?;
    // Refused before the body is stored; `save` refuses a concurrent one.
    if existing.is_some() && !replace {
        return Err(redeploy(package, file));
    }
    let body = req.take_body()?;
    let all = DigestSet::MD5 | DigestSet::SHA1 | DigestSet::SHA256 | DigestSet::SHA512;
    let blob = body.ingest(None, all, req.header("x-checksum-sha256"))?;
    let stored = Stored::new(file, &blob);
    if existing.is_some_and(|old| old.blake3 == stored.blake3) {
        return Ok(Response::empty(201));
    }
    store::save(package, file, path, &stored, replace).map_err(|e| match e {
        StoreError::AlreadyExists => redeploy(package, file),
        e => e.into(),
    })?;
    Ok(Response::empty(201))
}

fn redeploy(package: &str, file: &File) -> HttpError {
    HttpError::conflict(format!(
        "{} of {package}:{} is already deployed and releases are immutable",
        file.name, file.version
    ))
}

/// A client's checksum sidecar must agree with what the host computed; it
/// is not stored (sidecars are served from the stored digests).
fn verify(req: &mut Request, path: &str, file: &File, algo: Algo) -> Result<Response, HttpError> {
    let body = req.take_body()?.read_to_end(SMALL_LIMIT)?;
    let stored = store::get(path)?.ok_or_else(|| {
        HttpError::bad_request(format!(
            "{} has not been deployed: deploy it before its checksum",
            file.name
        ))
    })?;
    // `sha1sum` style files carry the file name after the digest.
    let text = String::from_utf8_lossy(&body);
    let declared = text
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if declared != stored.digest(algo) {
        return Err(HttpError::bad_request(format!(
            "{} checksum mismatch for {}: uploaded {declared}, stored file has {}",
            algo.name(),
            file.name,
            stored.digest(algo)
        )));
    }
    Ok(Response::empty(201))
}
