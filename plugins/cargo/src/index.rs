//! The sparse index: one file per crate, one JSON line per version, oldest
//! first. Lines are built once at publish from cargo's metadata and stored in
//! the catalog; `yanked` comes from the catalog row at read time.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use wharf_sdk::catalog::VersionRow;
use wharf_sdk::{HttpError, Meta, Request, Response, catalog};

use crate::{names, proxy};

/// The metadata `cargo publish` sends (the registry web API's "new crate").
#[derive(Deserialize)]
pub struct NewCrate {
    pub name: String,
    pub vers: String,
    #[serde(default)]
    pub deps: Vec<NewDep>,
    #[serde(default)]
    pub features: BTreeMap<String, Vec<String>>,
    pub description: Option<String>,
    pub license: Option<String>,
    pub repository: Option<String>,
    pub homepage: Option<String>,
    pub documentation: Option<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    pub links: Option<String>,
    pub rust_version: Option<String>,
}

#[derive(Deserialize)]
pub struct NewDep {
    /// The real crate name.
    pub name: String,
    pub version_req: String,
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default)]
    pub optional: bool,
    #[serde(default = "yes")]
    pub default_features: bool,
    pub target: Option<String>,
    pub kind: Option<String>,
    /// Index URL of another registry; absent for this one.
    pub registry: Option<String>,
    /// The name in Cargo.toml when the dependency is renamed.
    pub explicit_name_in_toml: Option<String>,
}

fn yes() -> bool {
    true
}

/// The index line of a new version (without `yanked`).
pub fn line(meta: &NewCrate, cksum: &str) -> Result<Value, HttpError> {
    let deps = meta
        .deps
        .iter()
        .map(dep_line)
        .collect::<Result<Vec<_>, _>>()?;
    // Features using `dep:` or `?/` go to `features2` so that cargo older than
    // 1.60 skips the version instead of misreading it (what crates.io does).
    let (features, features2): (BTreeMap<_, _>, BTreeMap<_, _>) =
        meta.features.iter().partition(|(_, values)| {
            !values
                .iter()
                .any(|v| v.starts_with("dep:") || v.contains("?/"))
        });
    let mut line = json!({
        "name": meta.name,
        "vers": meta.vers,
        "deps": deps,
        "cksum": cksum,
        "features": features,
        "links": meta.links,
        "rust_version": meta.rust_version,
        "v": if features2.is_empty() { 1 } else { 2 },
    });
    if !features2.is_empty() {
        line["features2"] = json!(features2);
    }
    Ok(line)
}

fn dep_line(dep: &NewDep) -> Result<Value, HttpError> {
    names::validate(&dep.name)?;
    if semver::VersionReq::parse(&dep.version_req).is_err() {
        return Err(HttpError::bad_request(format!(
            "dependency `{}` has an invalid version requirement `{}`",
            dep.name, dep.version_req
        )));
    }
    let kind = dep.kind.as_deref().unwrap_or("normal");
    if !["normal", "dev", "build"].contains(&kind) {
        return Err(HttpError::bad_request(format!(
            "dependency `{}` has an unknown kind `{kind}`",
            dep.name
        )));
    }
    // The index names a dependency as Cargo.toml does; `package` is the real crate.
    let mut line = Map::new();
    let name = dep.explicit_name_in_toml.as_deref().unwrap_or(&dep.name);
    line.insert("name".into(), json!(name));
    line.insert("req".into(), json!(dep.version_req));
    line.insert("features".into(), json!(dep.features));
    line.insert("optional".into(), json!(dep.optional));
    line.insert("default_features".into(), json!(dep.default_features));
    line.insert("target".into(), json!(dep.target));
    line.insert("kind".into(), json!(kind));
    if let Some(registry) = &dep.registry {
        line.insert("registry".into(), json!(registry));
    }
    if dep.explicit_name_in_toml.is_some() {
        line.insert("package".into(), json!(dep.name));
    }
    Ok(Value::Object(line))
}

/// The stored index line of a catalog row, with its current yank state.
pub fn row_line(row: &VersionRow) -> Result<Value, HttpError> {
    let mut line = row.meta::<Value>()?["index"].take();
    line["yanked"] = json!(row.yanked);
    Ok(line)
}

/// `GET 1/{name}`, `2/{name}`, `3/{c}/{name}`, `{ab}/{cd}/{name}`.
pub fn file(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("name");
    let missing = || HttpError::not_found(format!("no crate `{name}`"));
    if names::validate(name).is_err() || req.head.raw_path != names::index_path(name) {
        return Err(missing());
    }
    if req.is_proxy() {
        return proxy::index(name);
    }
    from_catalog(name)?.ok_or_else(missing)
}

/// The index file of the versions in the catalog; `None` without any.
pub fn from_catalog(name: &str) -> Result<Option<Response>, HttpError> {
    // The index file lists every version: the one read of a whole crate.
    let rows = catalog::all_versions(name)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut text = String::new();
    for row in &rows {
        text.push_str(&row_line(row)?.to_string());
        text.push('\n');
    }
    Ok(Some(Response::text(200, text).cacheable(&[name], &[])))
}
