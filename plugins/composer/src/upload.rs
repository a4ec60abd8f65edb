//! `PUT packages/upload/{vendor}/{package}/{version}` (a zip as the body) and
//! `DELETE packages/{vendor}/{package}/{version}`.
//!
//! The zip streams into the blob store (with its SHA-1, Composer's `shasum`);
//! `composer.json` is then read from it inside the sandbox, through the SDK's
//! bounded zip reader, from the zip's root or its single top folder (how
//! GitHub and `composer archive` lay archives out). Nothing is visible until
//! the one `publish` that adds the version and its zip together.

use serde_json::{Map, Value};
use std::io::{Read, Seek};
use wharf_sdk::archive::{ArchiveError, Limits, Zip};
use wharf_sdk::types::{Asset, DigestSet, Publication, StoreError, VersionRow};
use wharf_sdk::{HttpError, Request, Response, blobs, catalog};

use crate::metadata::{self, Stored};
use crate::names;

/// Largest `composer.json` read (real ones are a few KiB; Symfony's biggest is ~10).
pub const COMPOSER_JSON_LIMIT: u64 = 1 << 20;

/// What an uploaded package may unpack to: the SDK's defaults (512 MiB,
/// 100,000 entries, ratio 100). Only the directory and composer.json are read
/// here; the limits protect every installer too.
const ZIP_LIMITS: Limits = Limits::DEFAULT;

pub fn upload(req: &mut Request) -> Result<Response, HttpError> {
    let name = names::package(req.param("vendor"), req.param("package"))?;
    let pretty = req.param("version").to_string();
    let normalized = names::normalize(&pretty)?;
    if catalog::get_version(&name, &normalized)?.is_some() {
        return Err(exists(&name, &pretty));
    }
    let blob = req.take_body()?.ingest(None, DigestSet::SHA1, None)?;
    if blob.size == 0 {
        return Err(HttpError::bad_request("the body must be the package's zip"));
    }
    let sha1 = blob
        .digests
        .sha1
        .clone()
        .ok_or_else(|| HttpError::new(500, "the host computed no SHA-1"))?;
    let manifest = composer_json(blobs::open(&blob.digests.blake3)?)?;
    let fields = check(&manifest, &name, &normalized)?;
    let stored = Stored {
        version: pretty.clone(),
        version_normalized: normalized.clone(),
        shasum: sha1.clone(),
        fields,
    };
    let publication = Publication {
        version: VersionRow {
            package: name.clone(),
            version: normalized.clone(),
            metadata_json: serde_json::to_string(&stored)?,
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        assets: vec![Asset {
            path: metadata::dist_path(&name, &normalized),
            blake3: blob.digests.blake3.clone(),
            content_type: "application/zip".into(),
            metadata_json: String::new(),
            added_at: 0,
        }],
        tags: vec![],
    };
    catalog::publish(publication).map_err(|e| match e {
        StoreError::AlreadyExists => exists(&name, &pretty),
        e => e.into(),
    })?;
    Ok(Response::json(
        201,
        &serde_json::json!({
            "status": "success",
            "name": name,
            "version": pretty,
            "version_normalized": normalized,
            "shasum": sha1,
            "url": format!("{}{}", req.base_url(), metadata::dist_path(&name, &normalized)),
        }),
    ))
}

fn exists(name: &str, version: &str) -> HttpError {
    HttpError::conflict(format!(
        "{name} {version} already exists; delete it first to replace it"
    ))
}

/// `DELETE packages/{vendor}/{package}/{version}` (any spelling of the version).
pub fn delete(req: &mut Request) -> Result<Response, HttpError> {
    let name = names::package(req.param("vendor"), req.param("package"))?;
    let normalized = names::normalize(req.param("version"))?;
    if catalog::get_version(&name, &normalized)?.is_none() {
        return Err(HttpError::not_found(format!(
            "no version {} of {name}",
            req.param("version")
        )));
    }
    catalog::delete_version(&name, &normalized)?;
    Ok(Response::json(
        200,
        &serde_json::json!({"status": "success", "deleted": format!("{name} {normalized}")}),
    ))
}

/// The `composer.json` of a package zip: at the root, or in the single
/// folder every entry sits in.
pub fn composer_json(zip: impl Read + Seek) -> Result<Value, HttpError> {
    let archive = Zip::open(zip, ZIP_LIMITS).map_err(refused)?;
    let mut tops = archive.names().map(|n| n.split('/').next().unwrap_or(""));
    let first = tops.next().unwrap_or("").to_string();
    let single_top = !first.is_empty() && tops.all(|t| t == first);
    let candidates = [
        "composer.json".to_string(),
        format!("{first}/composer.json"),
    ];
    let found = candidates
        .iter()
        .take(if single_top { 2 } else { 1 })
        .find(|c| archive.names().any(|n| n == c.as_str()));
    let Some(path) = found else {
        return Err(HttpError::bad_request(
            "the zip has no composer.json at its root or in its single top folder",
        ));
    };
    let bytes = archive
        .read(path, COMPOSER_JSON_LIMIT)
        .map_err(refused)?
        .expect("a listed entry");
    serde_json::from_slice(&bytes)
        .map_err(|e| HttpError::bad_request(format!("composer.json is not valid JSON: {e}")))
}

/// A limit (413), a broken archive (400), or a store failure, said of the zip.
fn refused(e: ArchiveError) -> HttpError {
    match e {
        ArchiveError::Malformed(why) => {
            HttpError::bad_request(format!("the upload is not a valid zip: {why}"))
        }
        ArchiveError::TooLarge { .. } => HttpError::new(413, format!("zip refused: {e}")),
        e => e.into(),
    }
}

/// The manifest must name the package of the URL (and, if it states a
/// version, the same one); returns the fields served in the metadata.
pub fn check(
    manifest: &Value,
    name: &str,
    normalized: &str,
) -> Result<Map<String, Value>, HttpError> {
    let Some(object) = manifest.as_object() else {
        return Err(HttpError::bad_request(
            "composer.json must be a JSON object",
        ));
    };
    let declared = object.get("name").and_then(Value::as_str).unwrap_or("");
    if declared.to_ascii_lowercase() != name {
        return Err(HttpError::bad_request(format!(
            "composer.json names {declared:?}, but the upload URL is for {name}"
        )));
    }
    if let Some(version) = object.get("version").and_then(Value::as_str)
        && names::normalize(version).ok().as_deref() != Some(normalized)
    {
        return Err(HttpError::bad_request(format!(
            "composer.json declares version {version:?}, but the upload URL is for {normalized}"
        )));
    }
    let mut fields = Map::new();
    for key in metadata::KEPT_FIELDS {
        if let Some(value) = object.get(*key) {
            check_shape(key, value)?;
            fields.insert(key.to_string(), value.clone());
        }
    }
    Ok(fields)
}

/// Fields Composer reads as maps or lists must be so: a wrong shape would
/// break every client resolving against this repository.
fn check_shape(key: &str, value: &Value) -> Result<(), HttpError> {
    let ok = match key {
        "require" | "require-dev" | "conflict" | "replace" | "provide" | "suggest" => value
            .as_object()
            .is_some_and(|m| m.values().all(Value::is_string)),
        "autoload" | "autoload-dev" | "extra" | "support" => value.is_object(),
        "keywords" | "authors" | "funding" | "include-path" => value.is_array(),
        "license" | "bin" => value.is_string() || value.is_array(),
        "description" | "homepage" | "type" | "target-dir" | "readme" => value.is_string(),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(HttpError::bad_request(format!(
            "composer.json: {key:?} has the wrong type"
        )))
    }
}
