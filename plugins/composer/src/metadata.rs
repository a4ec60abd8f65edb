//! Composer v2 repository metadata: `packages.json`, and the minified
//! `p2/{vendor}/{package}.json` (tagged releases) and `~dev.json`
//! (development versions) documents, rendered from the catalog and cached
//! by the host until the package changes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use wharf_sdk::time::UtcTime;
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::names;

/// The composer.json fields a version serves, in Packagist's order.
pub const KEPT_FIELDS: &[&str] = &[
    "description",
    "keywords",
    "homepage",
    "readme",
    "license",
    "authors",
    "type",
    "support",
    "funding",
    "autoload",
    "autoload-dev",
    "extra",
    "bin",
    "include-path",
    "target-dir",
    "require",
    "require-dev",
    "suggest",
    "provide",
    "replace",
    "conflict",
];

/// `packages.json` lists the package names while there are at most this
/// many (Composer then asks only for those); beyond, it lists none.
pub const AVAILABLE_LIMIT: u32 = 1_000;

/// The metadata of a version row.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Stored {
    /// As uploaded (`v1.2.3`): Composer shows this one.
    pub version: String,
    pub version_normalized: String,
    /// SHA-1 of the zip.
    pub shasum: String,
    /// The [`KEPT_FIELDS`] of composer.json.
    pub fields: Map<String, Value>,
}

/// Where a version's zip lives, as an asset path and under the base URL.
pub fn dist_path(name: &str, normalized: &str) -> String {
    format!("dists/{name}/{normalized}.zip")
}

/// `{package}.json` → (`package`, false); `{package}~dev.json` → (`package`, true).
pub fn p2_file(file: &str) -> (&str, bool) {
    let stem = file.strip_suffix(".json").unwrap_or(file);
    match stem.strip_suffix("~dev") {
        Some(package) => (package, true),
        None => (stem, false),
    }
}

/// The package a `p2/{vendor}/{file}` request names, and whether it asks
/// for the development versions (`~dev.json`).
pub fn p2_target(req: &Request) -> Result<(String, bool), HttpError> {
    let file = req.param("file");
    if !file.ends_with(".json") {
        return Err(HttpError::not_found("p2 documents end in .json"));
    }
    let (package, dev) = p2_file(file);
    let name = names::package(req.param("vendor"), package)
        .map_err(|_| HttpError::not_found("no such package"))?;
    Ok((name, dev))
}

/// `GET packages.json`.
pub fn root(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::root(req);
    }
    let base = req.base_url();
    let mut doc = json!({
        "packages": [],
        "metadata-url": format!("{base}p2/%package%.json"),
    });
    let names = catalog::list_packages(None, None, AVAILABLE_LIMIT + 1)?;
    if names.len() <= AVAILABLE_LIMIT as usize {
        doc["available-packages"] = json!(names);
    }
    Ok(Response::json(200, &doc).cacheable(&["*"], &[]))
}

/// `GET p2/{vendor}/{package}.json` or `~dev.json`.
pub fn p2(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::p2(req);
    }
    let (name, dev) = p2_target(req)?;
    let rows = catalog::all_versions(&name)?;
    if rows.is_empty() {
        return Err(HttpError::not_found(format!("no package {name}")));
    }
    let mut versions: Vec<(Stored, u64)> = Vec::with_capacity(rows.len());
    for row in rows {
        let stored: Stored = serde_json::from_str(&row.metadata_json)
            .map_err(|e| HttpError::new(500, format!("stored metadata of {name}: {e}")))?;
        if names::is_dev(&stored.version_normalized) == dev {
            versions.push((stored, row.published_at));
        }
    }
    versions.sort_by(|a, b| names::newest_first(&a.0.version_normalized, &b.0.version_normalized));
    let base = req.base_url().to_string();
    let full: Vec<Map<String, Value>> = versions
        .iter()
        .map(|(stored, at)| entry(&name, stored, *at, &base))
        .collect();
    let doc = json!({
        "minified": "composer/2.0",
        "packages": { name.clone(): minify(full) },
    });
    Ok(Response::json(200, &doc).cacheable(&[&name], &[]))
}

/// One version as Composer reads it.
pub fn entry(name: &str, stored: &Stored, published_at: u64, base: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    let f = &stored.fields;
    let put = |m: &mut Map<String, Value>, key: &str| {
        if let Some(v) = f.get(key) {
            m.insert(key.into(), v.clone());
        }
    };
    for key in ["description", "keywords", "homepage", "readme"] {
        put(&mut m, key);
    }
    m.insert("version".into(), json!(stored.version));
    m.insert(
        "version_normalized".into(),
        json!(stored.version_normalized),
    );
    match f.get("license") {
        Some(Value::String(s)) => {
            m.insert("license".into(), json!([s]));
        }
        Some(other) => {
            m.insert("license".into(), other.clone());
        }
        None => {}
    }
    put(&mut m, "authors");
    m.insert(
        "dist".into(),
        json!({
            "type": "zip",
            "url": format!("{base}{}", dist_path(name, &stored.version_normalized)),
            "reference": stored.shasum,
            "shasum": stored.shasum,
        }),
    );
    m.insert(
        "type".into(),
        f.get("type").cloned().unwrap_or_else(|| json!("library")),
    );
    m.insert("time".into(), json!(iso8601(published_at)));
    for key in &KEPT_FIELDS[7..] {
        put(&mut m, key);
    }
    m
}

/// Composer's time format: `2024-02-29T23:59:58+00:00`.
pub fn iso8601(ms: u64) -> String {
    let t = UtcTime::from_unix_millis(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// Composer's `MetadataMinifier::minify`: the first version whole, each next
/// one as its changes from the one before, a removed key as `"__unset"`.
pub fn minify(versions: Vec<Map<String, Value>>) -> Vec<Map<String, Value>> {
    let mut out = Vec::with_capacity(versions.len());
    let mut expanded: Option<Map<String, Value>> = None;
    for version in versions {
        let Some(prev) = expanded.as_mut() else {
            expanded = Some(version.clone());
            out.push(version);
            continue;
        };
        let mut diff = Map::new();
        for (k, v) in &version {
            if prev.get(k) != Some(v) {
                diff.insert(k.clone(), v.clone());
                prev.insert(k.clone(), v.clone());
            }
        }
        let gone: Vec<String> = prev
            .keys()
            .filter(|k| !version.contains_key(*k))
            .cloned()
            .collect();
        for k in gone {
            diff.insert(k.clone(), json!("__unset"));
            prev.remove(&k);
        }
        out.push(diff);
    }
    out
}

/// Composer's `MetadataMinifier::expand`, the inverse (tests, fuzzing).
pub fn expand(versions: &[Map<String, Value>]) -> Vec<Map<String, Value>> {
    let mut out = Vec::with_capacity(versions.len());
    let mut current: Option<Map<String, Value>> = None;
    for v in versions {
        let mut next = current.take().unwrap_or_default();
        for (k, val) in v {
            if val == "__unset" {
                next.remove(k);
            } else {
                next.insert(k.clone(), val.clone());
            }
        }
        out.push(next.clone());
        current = Some(next);
    }
    out
}
