//! The `.crate` itself: cargo unpacks it expecting every file under
//! `{name}-{version}/` and a `Cargo.toml` there naming the same package, and
//! refuses it otherwise; a publish is checked the same way so that no version
//! breaks builds later. The archive is read inside the sandbox, streamed from
//! the blob store, within the SDK's archive limits (crates.io's: 512 MiB
//! unpacked), so a compression bomb is refused before it costs much.

use serde::Deserialize;
use std::path::{Component, Path};
use wharf_sdk::archive::{ArchiveError, Limits, Tar};
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
    let root = format!("{name}-{version}");
    let blob = blobs::open(blake3)?;
    let size = blob.size();
    let mut archive = Tar::gz(blob, size, Limits::default());
    let mut manifest = false;
    for entry in archive.entries().map_err(refused)? {
        let mut entry = entry.map_err(refused)?;
        let path = Path::new(entry.name());
        let normal = path.components().all(|c| matches!(c, Component::Normal(_)));
        if !normal || !path.starts_with(&root) {
            return Err(HttpError::bad_request(format!(
                "the .crate has a file at `{}` outside `{root}/`",
                path.display()
            )));
        }
        if path == Path::new(&root).join("Cargo.toml") {
            let text = entry
                .read_to_string(MANIFEST_LIMIT)
                .map_err(|e| HttpError::new(e.status(), format!("the .crate's Cargo.toml: {e}")))?;
            check_manifest(&text, name, version)?;
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

/// A limit (413), a broken archive (400) or a store failure, said of the .crate.
fn refused(e: ArchiveError) -> HttpError {
    match e {
        ArchiveError::Malformed(why) => {
            HttpError::bad_request(format!("the .crate is not a valid .tar.gz: {why}"))
        }
        ArchiveError::TooLarge { .. } => HttpError::new(413, format!("the .crate: {e}")),
        e => e.into(),
    }
}

fn check_manifest(text: &str, name: &str, version: &str) -> Result<(), HttpError> {
    let manifest: Manifest = toml::from_str(text).map_err(|e| {
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
