//! The `.crate` itself: cargo unpacks it expecting every file under
//! `{name}-{version}/` and a `Cargo.toml` there, and refuses it otherwise; a
//! publish is checked the same way so that no version breaks builds later.
//! The archive is read inside the sandbox, streamed from the blob store.

use flate2::read::GzDecoder;
use std::path::{Component, Path};
use wharf_sdk::{HttpError, blobs};

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
        manifest |= path == Path::new(&root).join("Cargo.toml");
    }
    if !manifest {
        return Err(HttpError::bad_request(format!(
            "the .crate has no `{root}/Cargo.toml`"
        )));
    }
    Ok(())
}
