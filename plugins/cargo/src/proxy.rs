//! A proxy repository: index files are the upstream's, as it serves them,
//! through the host's metadata cache (stale when the upstream fails);
//! `config.json` is this repository's own, so downloads come back here; a
//! `.crate` is pulled once, checked against the `cksum` of its index line,
//! and recorded as a hosted publish records it. With the upstream gone and
//! no answer of it left in the host's cache, the index is rendered from
//! what was pulled.

use serde_json::{Value, json};
use wharf_sdk::types::{DigestSet, Publication, VersionRow, Write};
use wharf_sdk::upstream::{self, DigestKind, Pull};
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::{dl, index, names};

/// Largest index file read from the upstream (crates.io's largest are a
/// few MiB).
const INDEX_LIMIT: usize = 32 << 20;
/// Largest upstream `config.json` read.
const CONFIG_LIMIT: usize = 64 << 10;

/// `GET 1/{name}`, `2/{name}`, `3/{c}/{name}`, `{ab}/{cd}/{name}`: the
/// upstream's file of `name` (validated, lower case, by the caller).
pub fn index(name: &str) -> Result<Response, HttpError> {
    let missing = || HttpError::not_found(format!("no crate `{name}`"));
    match upstream_index(name) {
        Ok(Some(text)) => {
            Ok(Response::bytes(200, "text/plain; charset=utf-8", text).cacheable(&[name], &[]))
        }
        Ok(None) => Err(missing()),
        // Nothing of the upstream's left: what was pulled, if anything.
        Err(e) => match index::from_catalog(name)? {
            Some(response) => Ok(from_the_catalog(response)),
            None => Err(e),
        },
    }
}

/// An answer of what was pulled, made because the upstream failed: marked
/// stale as the host marks its stale answers, and not kept in the host's
/// document cache (which would keep it past the upstream's return).
fn from_the_catalog(mut response: Response) -> Response {
    response.cache = None;
    response.header("warning", STALE_WARNING)
}

/// What the host says of a stale answer.
const STALE_WARNING: &str = "110 - \"Response is Stale\"";

/// `GET api/v1/crates/{name}/{version}/download`: from the store once
/// pulled, from the upstream (streamed while it is stored) the first time.
pub fn download(req: &mut Request) -> Result<Response, HttpError> {
    let (name, version) = (req.param("name"), req.param("version"));
    let missing = || HttpError::not_found(format!("crate `{name}` has no version {version}"));
    names::validate(name).map_err(|_| missing())?;
    // The version goes into a URL and an asset path: only a real one.
    semver::Version::parse(version).map_err(|_| missing())?;
    let key = names::key(name);
    let path = names::crate_path(&key, version);
    if let Some(asset) = catalog::find_asset(&path)? {
        return Ok(Response::blob(&asset.blake3, "application/gzip").cacheable(&[&key], &[]));
    }
    let text = upstream_index(&key)?.ok_or_else(missing)?;
    let line = version_line(&text, version).ok_or_else(missing)?;
    // The upstream's spelling of the name, if it is this crate's.
    let spelled = line["name"]
        .as_str()
        .filter(|n| names::validate(n).is_ok() && names::key(n) == key)
        .ok_or_else(|| {
            HttpError::new(
                502,
                format!("the upstream's index of `{name}` names another crate"),
            )
        })?;
    let cksum = line["cksum"]
        .as_str()
        .filter(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| {
            HttpError::new(
                502,
                format!("the upstream's index states no cksum for `{name}` {version}"),
            )
        })?;
    let url = dl::url(&upstream_dl()?, spelled, version, &cksum);
    let pulled = upstream::pull(Pull {
        url,
        want: DigestSet::SHA256,
        expect: vec![(DigestKind::Sha256, cksum)],
        record: vec![Write::Publish(record(&key, version, line, &path))],
    })?;
    upstream::serve_pulled(pulled, "application/gzip", &format!("`{name}` {version}"))
}

/// The upstream's index file of `name`, `None` when it has no such crate.
fn upstream_index(name: &str) -> Result<Option<Vec<u8>>, HttpError> {
    let what = format!("the index of `{name}`");
    let found = upstream::document(&names::index_path(name), None, INDEX_LIMIT, &what)?;
    Ok(found.map(|d| d.body))
}

/// The upstream's download template, from its (cached) `config.json`.
fn upstream_dl() -> Result<String, HttpError> {
    let body = upstream::document(
        "config.json",
        Some("application/json"),
        CONFIG_LIMIT,
        "config.json",
    )?
    .ok_or_else(|| HttpError::new(502, "the upstream has no config.json"))?
    .body;
    let config: Value = serde_json::from_slice(&body)
        .map_err(|e| HttpError::new(502, format!("the upstream's config.json is not JSON: {e}")))?;
    config["dl"]
        .as_str()
        .filter(|dl| !dl.is_empty())
        .map(str::to_string)
        .ok_or_else(|| HttpError::new(502, "the upstream's config.json has no `dl`"))
}

/// The index line of `version`; lines that do not parse are skipped, as
/// cargo skips them.
fn version_line(text: &[u8], version: &str) -> Option<Value> {
    text.split(|&b| b == b'\n')
        .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
        .find(|line| line["vers"] == version)
}

/// The version as a hosted publish stores it (its index line, yanked kept
/// in the row), with its `.crate`: the pulled blob.
fn record(key: &str, version: &str, mut line: Value, path: &str) -> Publication {
    let yanked = line["yanked"] == true;
    if let Some(object) = line.as_object_mut() {
        object.remove("yanked");
    }
    Publication {
        version: VersionRow {
            package: key.to_string(),
            version: version.to_string(),
            metadata_json: json!({ "index": line }).to_string(),
            yanked,
            deprecated: None,
            published_at: 0,
        },
        assets: vec![upstream::pulled_asset(path, "application/gzip")],
        tags: Vec::new(),
    }
}
