//! `PUT {module}/@v/{version}.zip`: a module zip as `go mod download` stores
//! it. The URL is checked before a byte is stored; the zip is then opened
//! inside the sandbox through the SDK's bounded reader and checked against
//! the rules of `golang.org/x/mod/zip` (`rules`); its `go.mod` must declare
//! this module. The version, its zip and its go.mod become visible together
//! in one catalog transaction, or not at all.

use wharf_sdk::archive::{Limits, Zip};
use wharf_sdk::types::{Asset, DigestSet, Publication, StoreError, VersionRow};
use wharf_sdk::{HttpError, Request, Response, blobs, catalog};

use crate::asset_path;
use crate::module::{self, Version};
use crate::rules::{self, Entry, MAX_GO_MOD, MAX_ZIP_FILE};
use crate::serve::{rfc3339, write_module};

/// What a module zip may unpack to: `zip.MaxZipFile` in all, the SDK's
/// entry count and ratio bounds.
const LIMITS: Limits = Limits {
    max_unpacked_bytes: MAX_ZIP_FILE,
    max_entry_bytes: MAX_ZIP_FILE,
    ..Limits::DEFAULT
};

pub fn upload(req: &mut Request) -> Result<Response, HttpError> {
    let module = write_module(req)?;
    let file = req.param("file");
    let escaped = file.strip_suffix(".zip").ok_or_else(|| {
        HttpError::new(
            405,
            format!("upload a module zip to {{module}}/@v/{{version}}.zip, not {file}"),
        )
    })?;
    let version = module::unescape_version(escaped).map_err(HttpError::bad_request)?;
    check_version(&module, &version)?;
    let name = version.to_string();
    if catalog::get_version(&module, &name)?.is_some() {
        return Err(exists(&module, &name));
    }

    let too_large = || {
        HttpError::new(
            413,
            format!("module zip too large (max size is {MAX_ZIP_FILE} bytes)"),
        )
    };
    // Refused before a byte is stored when the client says so up front.
    if req
        .header("content-length")
        .and_then(|n| n.trim().parse::<u64>().ok())
        .is_some_and(|n| n > MAX_ZIP_FILE)
    {
        return Err(too_large());
    }
    let blob = req.take_body()?.ingest(None, DigestSet::SHA256, None)?;
    if blob.size > MAX_ZIP_FILE {
        return Err(too_large());
    }
    let zip = Zip::open(blobs::open(&blob.digests.blake3)?, LIMITS)
        .map_err(|e| with_context(HttpError::from(e)))?;
    let go_mod = check_zip(&zip, &module, &version)?;
    let go_mod = blobs::put_bytes(&go_mod, DigestSet::empty())?;

    let sha256 = blob.digests.sha256.clone().unwrap_or_default();
    let publication = Publication {
        version: VersionRow {
            package: module.clone(),
            version: name.clone(),
            metadata_json: serde_json::json!({ "sha256": sha256, "size": blob.size }).to_string(),
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        assets: vec![
            Asset {
                path: asset_path(&module, &name, "zip"),
                blake3: blob.digests.blake3.clone(),
                content_type: "application/zip".into(),
                metadata_json: String::new(),
                added_at: 0,
            },
            Asset {
                path: asset_path(&module, &name, "mod"),
                blake3: go_mod.digests.blake3,
                content_type: "text/plain; charset=utf-8".into(),
                metadata_json: String::new(),
                added_at: 0,
            },
        ],
        tags: vec![],
    };
    catalog::publish(publication).map_err(|e| match e {
        StoreError::AlreadyExists => exists(&module, &name),
        e => e.into(),
    })?;
    let time = catalog::get_version(&module, &name)?.map_or(0, |r| r.published_at);
    Ok(Response::json(
        201,
        &serde_json::json!({ "Version": name, "Time": rfc3339(time), "sha256": sha256 }),
    ))
}

/// `module.Check`: the version fits the path's major version suffix.
pub(crate) fn check_version(module: &str, version: &Version) -> Result<(), HttpError> {
    module::check_path_major(module, version).map_err(HttpError::bad_request)
}

fn exists(module: &str, version: &str) -> HttpError {
    HttpError::conflict(format!(
        "{module}@{version} exists; versions are immutable (delete it first)"
    ))
}

fn with_context(e: HttpError) -> HttpError {
    HttpError::new(e.status, format!("invalid module zip: {}", e.message))
}

/// The zip rules, then the go.mod it serves as `.mod`: its own for a module
/// version, `module {path}` for a `+incompatible` one (which by definition
/// has none).
pub(crate) fn check_zip<R: std::io::Read + std::io::Seek>(
    zip: &Zip<R>,
    module: &str,
    version: &Version,
) -> Result<Vec<u8>, HttpError> {
    let name = version.to_string();
    let entries: Vec<Entry> = zip
        .names()
        .map(|n| Entry {
            name: n,
            size: zip.size(n).unwrap_or(0),
        })
        .collect();
    let go_mod_name = format!("{module}@{name}/go.mod");
    let has_go_mod = entries.iter().any(|e| e.name == go_mod_name);
    rules::check(module, &name, &entries, !version.incompatible)
        .map_err(|e| HttpError::bad_request(format!("invalid module zip:\n{e}")))?;
    if version.incompatible {
        if has_go_mod {
            return Err(HttpError::bad_request(format!(
                "invalid module zip: {name} is +incompatible, so the module has no go.mod; \
                 this zip has one (publish it as {module}/v{} instead)",
                version.major()
            )));
        }
        return Ok(format!("module {module}\n").into_bytes());
    }
    let go_mod = zip
        .read(&go_mod_name, MAX_GO_MOD)
        .map_err(|e| with_context(HttpError::from(e)))?
        .ok_or_else(|| HttpError::bad_request("invalid module zip: go.mod is missing"))?;
    let declared = rules::go_mod_module(&go_mod)
        .map_err(|e| HttpError::bad_request(format!("invalid module zip: {e}")))?;
    if declared != module {
        return Err(HttpError::bad_request(format!(
            "invalid module zip: go.mod declares module {declared:?}, but this is {module:?}"
        )));
    }
    Ok(go_mod)
}
