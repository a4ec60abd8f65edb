//! `PUT`: `mvn deploy` sends every file, then its checksum sidecars, then
//! read-modify-writes `maven-metadata.xml` and its sidecars.

use wharf_sdk::types::{Asset, DigestSet, Publication, StoreError, VersionRow};
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::layout::{self, Algo, File, Target, is_snapshot};
use crate::store::{self, Stored};

/// A checksum sidecar or a metadata document is small.
const SMALL_LIMIT: usize = 1 << 20;

pub fn put(req: &mut Request) -> Result<Response, HttpError> {
    let path = layout::parse(req.param("path"))?;
    let package = path.package();
    match (&path.target, path.checksum) {
        // The server generates metadata from its catalog; the client's copy
        // (and its checksums) is accepted and dropped.
        (Target::Metadata(_), _) => {
            req.take_body()?.read_to_end(SMALL_LIMIT)?;
            Ok(Response::empty(201))
        }
        (Target::File(file), Some(algo)) => verify(req, &package, file, algo),
        (Target::File(file), None) => deploy(req, &package, file),
    }
}

/// Stores a file: releases are immutable unless the repository allows
/// redeploys, SNAPSHOT files may be replaced.
fn deploy(req: &mut Request, package: &str, file: &File) -> Result<Response, HttpError> {
    let key = store::key(file);
    let existing = store::get(package, file);
    if existing.is_some() && !is_snapshot(&file.version) && !allow_redeploy(req) {
        return Err(redeploy(package, file));
    }
    let body = req.take_body()?;
    let all = DigestSet::MD5 | DigestSet::SHA1 | DigestSet::SHA256 | DigestSet::SHA512;
    let blob = body.ingest(None, all, req.header("x-checksum-sha256"))?;
    let stored = Stored::new(file, &blob);
    if let Some(old) = existing {
        if old.blake3 == stored.blake3 {
            return Ok(Response::empty(201));
        }
        // The catalog has no replace: for an instant between these two
        // transactions the file answers 404, never partial bytes.
        // A concurrent replacement may have deleted it already.
        match catalog::delete_version(package, &key) {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let publication = Publication {
        version: VersionRow {
            package: package.to_string(),
            version: key,
            metadata_json: serde_json::to_string(&stored)?,
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        assets: vec![Asset {
            path: req.param("path").to_string(),
            blake3: stored.blake3.clone(),
            content_type: "application/octet-stream".into(),
        }],
        tags: Vec::new(),
    };
    catalog::publish(&publication).map_err(|e| match e {
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

fn allow_redeploy(req: &Request) -> bool {
    serde_json::from_str::<serde_json::Value>(&req.repo.settings_json)
        .ok()
        .and_then(|s| s.get("allow_redeploy")?.as_bool())
        .unwrap_or(false)
}

/// A client's checksum sidecar must agree with what the host computed; it
/// is not stored (sidecars are served from the stored digests).
fn verify(
    req: &mut Request,
    package: &str,
    file: &File,
    algo: Algo,
) -> Result<Response, HttpError> {
    let body = req.take_body()?.read_to_end(SMALL_LIMIT)?;
    let stored = store::get(package, file).ok_or_else(|| {
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
