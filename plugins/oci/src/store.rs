//! How OCI content maps onto the host's catalog.
//!
//! All OCI repositories live in the one Wharf repository `oci`, one package
//! per repository name (`org/team/app`). Within a package:
//!
//! - a blob is an asset of the package itself (`version: None`) at
//!   `v2/<name>/blobs/sha256:<hex>`, metadata `{"size"}`; GET, HEAD and mounts
//!   find it with `find_asset`, and the host streams it with Range;
//! - a manifest is a version row `sha256:<hex>` whose metadata holds its media
//!   type, size, artifactType, subject and the digests it references, with one
//!   asset at `v2/<name>/manifests/sha256:<hex>` holding the exact bytes pushed
//!   (or, in a proxy, served from the upstream);
//! - a manifest with a `subject` also has a package asset at
//!   `v2/<name>/referrers/<subject>/<digest>` (the same bytes) whose metadata
//!   is its descriptor in the referrers index, so the referrers API lists one
//!   path prefix instead of reading every manifest;
//! - a tag is a catalog tag of the package pointing at a manifest row.
//!
//! A mount stores the source's bytes (same BLAKE3) as a blob of the target:
//! the repository already serves them, so the host allows it.

use crate::error::store;
use serde_json::Value;
use wharf_sdk::HttpError;
use wharf_sdk::catalog::{self, Asset, Owner, VersionRow};
use wharf_sdk::types::StoreError;

pub fn blob_path(name: &str, digest: &str) -> String {
    format!("v2/{name}/blobs/{digest}")
}

pub fn manifest_path(name: &str, digest: &str) -> String {
    format!("v2/{name}/manifests/{digest}")
}

/// Where the referrers of `subject` are listed (ends with `/`).
pub fn referrers_prefix(name: &str, subject: &str) -> String {
    format!("v2/{name}/referrers/{subject}/")
}

pub fn referrer_path(name: &str, subject: &str, digest: &str) -> String {
    format!("{}{digest}", referrers_prefix(name, subject))
}

/// The owner of a repository's blobs and referrer entries: the package itself.
pub fn package(name: &str) -> Owner {
    Owner {
        package: name.to_string(),
        version: None,
    }
}

/// An asset to add; `metadata_json` is "" for none.
pub fn asset(path: String, blake3: &str, content_type: &str, metadata_json: String) -> Asset {
    Asset {
        path,
        blake3: blake3.to_string(),
        content_type: content_type.to_string(),
        metadata_json,
        added_at: 0,
    }
}

pub fn find_blob(name: &str, digest: &str) -> Result<Option<Asset>, HttpError> {
    catalog::find_asset(&blob_path(name, digest)).map_err(store)
}

pub fn find_manifest(name: &str, digest: &str) -> Result<Option<Asset>, HttpError> {
    catalog::find_asset(&manifest_path(name, digest)).map_err(store)
}

/// Makes stored bytes servable as a blob of `name`; pushing a blob the
/// repository already has (or a concurrent push of it) is a success.
pub fn put_blob(name: &str, digest: &str, blake3: &str, size: u64) -> Result<(), HttpError> {
    let blob = asset(
        blob_path(name, digest),
        blake3,
        "application/octet-stream",
        serde_json::json!({ "size": size }).to_string(),
    );
    match catalog::put_asset(package(name), blob, false) {
        Ok(()) | Err(StoreError::AlreadyExists) => Ok(()),
        Err(e) => Err(store(e)),
    }
}

pub fn row(name: &str, version: &str, metadata: Value) -> VersionRow {
    VersionRow {
        package: name.to_string(),
        version: version.to_string(),
        metadata_json: metadata.to_string(),
        yanked: false,
        deprecated: None,
        published_at: 0,
    }
}

/// The digest a tag points at.
pub fn tagged(name: &str, tag: &str) -> Result<Option<String>, HttpError> {
    catalog::get_tag(name, tag).map_err(store)
}

/// Whether anything (a blob or a manifest) was ever pushed to `name`.
pub fn exists(name: &str) -> Result<bool, HttpError> {
    catalog::has_package(name).map_err(store)
}
