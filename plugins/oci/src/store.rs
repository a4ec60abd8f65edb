//! How OCI content maps onto the host's version-centric catalog.
//!
//! All OCI repositories live in the one Wharf repository `oci`, one package
//! per repository name (`org/team/app`). Within a package:
//!
//! - a blob is a version row `blob:sha256:<hex>` (metadata `{"size"}`) with one
//!   asset at `v2/<name>/blobs/sha256:<hex>`; GET, HEAD and mounts find it with
//!   `find_asset`, and the host streams it with Range;
//! - a manifest is a version row `sha256:<hex>` whose metadata holds its media
//!   type, size, artifactType, subject and the digests it references, with one
//!   asset at `v2/<name>/manifests/sha256:<hex>` holding the exact bytes pushed;
//! - a tag is a catalog tag of the package pointing at a manifest row.
//!
//! A mount publishes the source's stored bytes (same BLAKE3) as a blob row of
//! the target: the repository already serves them, so the host allows it.

use crate::error::store;
use serde_json::Value;
use wharf_sdk::HttpError;
use wharf_sdk::catalog::{self, Asset, Publication, VersionRow};
use wharf_sdk::types::StoreError;

pub fn blob_path(name: &str, digest: &str) -> String {
    format!("v2/{name}/blobs/{digest}")
}

pub fn manifest_path(name: &str, digest: &str) -> String {
    format!("v2/{name}/manifests/{digest}")
}

fn blob_version(digest: &str) -> String {
    format!("blob:{digest}")
}

pub fn find_blob(name: &str, digest: &str) -> Option<Asset> {
    catalog::find_asset(&blob_path(name, digest))
}

pub fn find_manifest(name: &str, digest: &str) -> Option<Asset> {
    catalog::find_asset(&manifest_path(name, digest))
}

/// Makes stored bytes servable as a blob of `name`; pushing a blob the
/// repository already has is a success.
pub fn publish_blob(name: &str, digest: &str, blake3: &str, size: u64) -> Result<(), HttpError> {
    if find_blob(name, digest).is_some() {
        return Ok(());
    }
    let publication = Publication {
        version: row(
            name,
            &blob_version(digest),
            serde_json::json!({ "size": size }),
        ),
        assets: vec![Asset {
            path: blob_path(name, digest),
            blake3: blake3.to_string(),
            content_type: "application/octet-stream".into(),
        }],
        tags: vec![],
    };
    match catalog::publish(&publication) {
        // A concurrent push of the same blob won the race.
        Err(_) if find_blob(name, digest).is_some() => Ok(()),
        other => other.map_err(store),
    }
}

pub fn delete_blob(name: &str, digest: &str) -> Result<(), StoreError> {
    catalog::delete_version(name, &blob_version(digest))
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
pub fn tagged(name: &str, tag: &str) -> Option<String> {
    catalog::list_tags(name)
        .into_iter()
        .find(|(t, _)| t == tag)
        .map(|(_, digest)| digest)
}

/// Whether anything was ever pushed to `name`.
pub fn exists(name: &str) -> bool {
    !catalog::list_versions(name).is_empty()
}

/// The manifest rows of `name` with their metadata, oldest first.
pub fn manifests(name: &str) -> Vec<(String, Value)> {
    catalog::list_versions(name)
        .into_iter()
        .filter(|v| v.version.starts_with("sha256:"))
        .map(|v| {
            let meta = serde_json::from_str(&v.metadata_json).unwrap_or(Value::Null);
            (v.version, meta)
        })
        .collect()
}
