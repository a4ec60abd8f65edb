//! `npm unpublish`. For `pkg@1.0.0` npm PUTs the pruned packument to
//! `{pkg}/-rev/{rev}` (`revision.rs`), then DELETEs `{pkg}/-/{file}/-rev/{rev}`; for the
//! whole package (`--force`, or the last version) it DELETEs `{pkg}/-rev/{rev}`.
//! Revisions are not checked: the catalog serializes writes. Each request is
//! one transaction.

use serde_json::{Map, Value};
use wharf_sdk::types::{StoreError, VersionRow, Write};
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::{deprecate, names, package_doc};

/// `PUT {pkg}/-rev/{rev}` with a pruned packument (`revision.rs`): drop
/// every version the document no longer lists.
pub fn versions(name: &str, doc: &Map<String, Value>) -> Result<(), HttpError> {
    // What the document no longer lists is only known against every version.
    let rows = catalog::all_versions(name)?;
    if rows.is_empty() {
        return Err(HttpError::not_found("not found"));
    }
    // Without a versions member the document says nothing about what to keep.
    let keep = doc
        .get("versions")
        .and_then(Value::as_object)
        .ok_or_else(|| HttpError::bad_request("the document has no versions"))?;
    let (remaining, removed): (Vec<VersionRow>, Vec<VersionRow>) = rows
        .into_iter()
        .partition(|r| keep.contains_key(&r.version));
    let removed: Vec<&str> = removed.iter().map(|r| r.version.as_str()).collect();
    let wanted_latest = doc
        .get("dist-tags")
        .and_then(|t| t.get("latest"))
        .and_then(Value::as_str);
    let latest = catalog::get_tag(name, "latest")?;

    let mut writes: Vec<Write> = removed.iter().map(|v| delete_version(name, v)).collect();
    writes.extend(after_removal(
        name,
        &removed,
        &remaining,
        latest.as_deref(),
        wanted_latest,
    ));
    writes.extend(deprecate::writes(name, doc, &remaining));
    if !writes.is_empty() {
        catalog::apply(&writes)?;
    }
    Ok(())
}

/// `DELETE {pkg}/-/{file}/-rev/{rev}`: remove the tarball's version if it is
/// still there; npm has usually pruned it already, which is fine.
pub fn tarball(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("pkg").to_string();
    names::validate(&name)?;
    let file = req.param("file");
    let path = names::tarball_path(&name, file);
    let prefix = format!("{}-", names::split(&name).1);
    let Some(version) = file
        .strip_prefix(&prefix)
        .and_then(|f| f.strip_suffix(".tgz"))
    else {
        return Ok(crate::ok());
    };
    if catalog::find_asset(&path)?.is_none() || catalog::get_version(&name, version)?.is_none() {
        return Ok(crate::ok());
    }
    let latest = catalog::get_tag(&name, "latest")?;
    let others = match latest.as_deref() == Some(version) {
        // `latest` moves to the highest version left: that takes every version.
        true => catalog::all_versions(&name)?,
        // Otherwise it only matters whether any other version is left.
        false => catalog::list_versions(&name, None, 2)?,
    };
    let remaining: Vec<VersionRow> = others
        .into_iter()
        .filter(|r| r.version != version)
        .collect();
    let mut writes = vec![delete_version(&name, version)];
    writes.extend(after_removal(
        &name,
        &[version],
        &remaining,
        latest.as_deref(),
        None,
    ));
    catalog::apply(&writes)?;
    Ok(crate::ok())
}

/// `DELETE {pkg}/-rev/{rev}`: the whole package, with its tags and package
/// document.
pub fn package(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("pkg").to_string();
    names::validate(&name)?;
    catalog::delete_package(&name).map_err(|e| match e {
        StoreError::NotFound => HttpError::not_found("not found"),
        e => e.into(),
    })?;
    Ok(crate::ok())
}

fn delete_version(name: &str, version: &str) -> Write {
    Write::DeleteVersion((name.to_string(), version.to_string()))
}

/// The writes that keep the package consistent once `removed` are deleted:
/// `latest` moves to `wanted` (if it remains) or the highest remaining
/// version; a package without versions loses its package-level document.
/// `remaining` must hold every version left when `latest` is among the
/// removed; otherwise it only has to tell whether any is left.
fn after_removal(
    name: &str,
    removed: &[&str],
    remaining: &[VersionRow],
    latest: Option<&str>,
    wanted: Option<&str>,
) -> Vec<Write> {
    if remaining.is_empty() {
        return vec![package_doc::delete(name)];
    }
    if !latest.is_some_and(|v| removed.contains(&v)) {
        return Vec::new();
    }
    let latest = wanted
        .filter(|w| remaining.iter().any(|r| r.version == *w))
        .unwrap_or_else(|| highest(remaining));
    vec![Write::SetTag((
        name.to_string(),
        "latest".into(),
        latest.to_string(),
    ))]
}

/// The highest version by semver precedence (unparsable versions rank lowest).
fn highest(rows: &[VersionRow]) -> &str {
    let key = |r: &&VersionRow| semver::Version::parse(&r.version).ok();
    rows.iter()
        .max_by_key(key)
        .map(|r| r.version.as_str())
        .unwrap_or_default()
}
