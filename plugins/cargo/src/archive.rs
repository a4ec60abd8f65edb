//! The `.crate` itself: cargo unpacks it expecting every file under
//! `{name}-{version}/` and a `Cargo.toml` there naming the same package, and
//! refuses it otherwise; a publish is checked the same way so that no version
//! breaks builds later. The archive is read inside the sandbox, streamed from
//! the blob store.

use flate2::read::GzDecoder;
use serde::Deserialize;
use std::io::Read;
use std::path::{Component, Path};
use wharf_sdk::{HttpError, blobs};

/// Largest Cargo.toml read (cargo's normalized manifests are a few KiB).
const MANIFEST_LIMIT: u64 = 1 << 20;

#[derive(Deserialize)]
struct Manifest {
    package: Package,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: String,
}

pub fn check(blake3: &str, name: &str, version: &str) -> Result<(), HttpError> {
    let invalid = |e: std::io::Error| {
        HttpError::bad_request(format!("the .crate is not a valid .tar.gz: {e}"))
    };
    let root = format!("{name}-{version}");
    let mut archive = tar::Archive::new(GzDecoder::new(blobs::open(blake3)?));
    let mut manifest = false;
    for entry in archive.entries().map_err(invalid)? {
        let entry = entry.map_err(invalid)?;
        let path = entry.path().map_err(invalid)?;
        let normal = path.components().all(|c| matches!(c, Component::Normal(_)));
        if !normal || !path.starts_with(&root) {
            return Err(HttpError::bad_request(format!(
                "the .crate has a file at `{}` outside `{root}/`",
                path.display()
            )));
        }
        if path == Path::new(&root).join("Cargo.toml") {
            check_manifest(entry, name, version)?;
            manifest = true;
        }
    }
    if !manifest {
        return Err(HttpError::bad_request(format!(
            "the .crate has no `{root}/Cargo.toml`"
        )));
    }
    Ok(())
}

fn check_manifest(entry: impl Read, name: &str, version: &str) -> Result<(), HttpError> {
    let mut text = String::new();
    entry
        .take(MANIFEST_LIMIT)
        .read_to_string(&mut text)
        .map_err(|e| {
            HttpError::bad_request(format!("the .crate's Cargo.toml is unreadable: {e}"))
        })?;
    let manifest: Manifest = toml::from_str(&text).map_err(|e| {
        HttpError::bad_request(format!(
            "the .crate's Cargo.toml is invalid: {}",
            e.message()
        ))
    })?;
    let package = manifest.package;
    if package.name != name || package.version != version {
        return Err(HttpError::bad_request(format!(
            "the .crate's Cargo.toml is for {} {}, not {name} {version}",
            package.name, package.version
        )));
    }
    Ok(())
}
