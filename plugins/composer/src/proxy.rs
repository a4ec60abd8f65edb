//! A proxy repository of a Composer repository (Packagist, or another
//! Wharf): `p2` documents come from the upstream (through the host's
//! metadata cache) with each version's `dist.url` pointing back here; a zip
//! is pulled once, checked against the `shasum` the metadata promises, and
//! recorded in the catalog like an uploaded version, so it is served from
//! the store with the upstream gone.
//!
//! The upstream URL is the repository root (where its `packages.json`
//! is); its metadata is read at `p2/%package%.json`, as Packagist serves it.

use serde_json::{Map, Value, json};
use wharf_sdk::types::{DigestSet, Publication, VersionRow, Write};
use wharf_sdk::upstream::{self, DigestKind, Pull};
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::metadata::{KEPT_FIELDS, Stored, dist_path, expand, minify, p2_target};
use crate::names;

/// One version of a `p2` document, expanded.
type Version = Map<String, Value>;

/// Largest upstream `p2` document read (Packagist's biggest are a few MiB).
const DOCUMENT_LIMIT: usize = 32 << 20;

/// `GET packages.json`: this repository's own, naming no packages (which
/// ones the upstream has is not known until asked).
pub fn root(req: &mut Request) -> Result<Response, HttpError> {
    let doc = json!({
        "packages": [],
        "metadata-url": format!("{}p2/%package%.json", req.base_url()),
    });
    Ok(Response::json(200, &doc).cacheable(&["*"], &[]))
}

/// `GET p2/{vendor}/{package}.json` or `~dev.json`: the upstream's, dist
/// URLs rewritten.
pub fn p2(req: &mut Request) -> Result<Response, HttpError> {
    let (name, dev) = p2_target(req)?;
    let base = req.base_url().to_string();
    let versions: Vec<Version> = upstream_versions(&name, dev)?
        .into_iter()
        .map(|(normalized, mut version)| {
            let url = format!("{base}{}", dist_path(&name, &normalized));
            if let Some(Value::Object(dist)) = version.get_mut("dist") {
                dist.insert("url".into(), json!(url));
            }
            version
        })
        .collect();
    let doc = json!({
        "minified": "composer/2.0",
        "packages": { name.clone(): minify(versions) },
    });
    Ok(Response::json(200, &doc).cacheable(&[&name], &[]))
}

/// `GET dists/{vendor}/{package}/{normalized}.zip`: from the store once
/// pulled, from the upstream (streamed while it is stored) the first time.
pub fn dist(req: &mut Request) -> Result<Response, HttpError> {
    let name = names::package(req.param("vendor"), req.param("package"))?;
    let normalized = req
        .param("file")
        .strip_suffix(".zip")
        .ok_or_else(|| HttpError::not_found("dists end in .zip"))?
        .to_string();
    let path = dist_path(&name, &normalized);
    if let Some(asset) = catalog::find_asset(&path)? {
        return Ok(Response::blob(&asset.blake3, "application/zip").cacheable(&[&name], &[]));
    }
    let (_, version) = upstream_versions(&name, names::is_dev(&normalized))?
        .into_iter()
        .find(|(n, _)| *n == normalized)
        .ok_or_else(|| HttpError::not_found(format!("{name} has no version {normalized}")))?;
    let url = version
        .get("dist")
        .and_then(|d| d.get("url"))
        .and_then(Value::as_str)
        .ok_or_else(|| HttpError::not_found(format!("{name} {normalized} has no dist")))?
        .to_string();
    let shasum = version
        .get("dist")
        .and_then(|d| d.get("shasum"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    // Packagist's zips of GitHub tags promise no digest (an empty shasum):
    // refusing them would make the proxy useless, so they are kept
    // unverified; a promised one is always checked.
    let expect = match shasum.is_empty() {
        true => Vec::new(),
        false => vec![(DigestKind::Sha1, shasum.clone())],
    };
    let stored = Stored {
        version: text(&version, "version").unwrap_or(&normalized).to_string(),
        version_normalized: normalized.clone(),
        shasum,
        fields: KEPT_FIELDS
            .iter()
            .filter_map(|k| Some((k.to_string(), version.get(*k)?.clone())))
            .collect(),
    };
    let pulled = upstream::pull(Pull {
        url,
        want: DigestSet::SHA1,
        expect,
        record: vec![Write::Publish(record(&name, &stored, &path))],
    })?;
    upstream::serve_pulled(pulled, "application/zip", &path)
}

/// The upstream's versions of `name` (tagged or development), expanded,
/// each with its normalized version; versions this repository cannot
/// address (a branch name with a slash, a version that does not normalize)
/// are left out.
fn upstream_versions(name: &str, dev: bool) -> Result<Vec<(String, Version)>, HttpError> {
    let file = match dev {
        true => format!("p2/{name}~dev.json"),
        false => format!("p2/{name}.json"),
    };
    let body = upstream::document(&file, Some("application/json"), DOCUMENT_LIMIT, name)?
        .ok_or_else(|| HttpError::not_found(format!("no package {name}")))?
        .body;
    let doc: Value = serde_json::from_slice(&body)
        .map_err(|e| HttpError::new(502, format!("the upstream's {name} is not JSON: {e}")))?;
    let listed: Vec<Version> = doc
        .pointer(&format!(
            "/packages/{}",
            name.replace('~', "~0").replace('/', "~1")
        ))
        .and_then(Value::as_array)
        .ok_or_else(|| HttpError::not_found(format!("no package {name}")))?
        .iter()
        .filter_map(|v| v.as_object().cloned())
        .collect();
    let versions = match doc.get("minified").and_then(Value::as_str) {
        Some("composer/2.0") => expand(&listed),
        _ => listed,
    };
    Ok(versions
        .into_iter()
        .filter_map(|v| {
            let normalized = match text(&v, "version_normalized") {
                Some(n) => n.to_string(),
                None => names::normalize(text(&v, "version")?).ok()?,
            };
            let addressable = !normalized.is_empty()
                && !normalized.contains(['/', '\\'])
                && normalized != "."
                && normalized != "..";
            addressable.then_some((normalized, v))
        })
        .collect())
}

fn text<'a>(version: &'a Version, key: &str) -> Option<&'a str> {
    version.get(key).and_then(Value::as_str)
}

/// The version as an upload stores it, with its zip: the pulled blob.
fn record(name: &str, stored: &Stored, path: &str) -> Publication {
    Publication {
        version: VersionRow {
            package: name.to_string(),
            version: stored.version_normalized.clone(),
            metadata_json: serde_json::to_string(stored).expect("serializable"),
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        assets: vec![upstream::pulled_asset(path, "application/zip")],
        tags: Vec::new(),
    }
}
