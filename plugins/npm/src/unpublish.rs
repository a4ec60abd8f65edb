//! `npm unpublish`. For `pkg@1.0.0` npm PUTs the pruned packument to
//! `{pkg}/-rev/{rev}`, then DELETEs `{pkg}/-/{file}/-rev/{rev}`; for the
//! whole package (`--force`, or the last version) it DELETEs `{pkg}/-rev/{rev}`.
//! Revisions are not checked: the catalog serializes writes.

use serde_json::{Map, Value};
use wharf_sdk::types::{StoreError, VersionRow};
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::packument::{Package, clear_package_doc};
use crate::{DOCUMENT_LIMIT, names, publish};

/// `PUT {pkg}/-rev/{rev}`: drop every version the document no longer lists.
pub fn versions(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("pkg").to_string();
    let package = Package::load_or_404(&name)?;
    let doc: Map<String, Value> =
        serde_json::from_slice(&req.take_body()?.read_to_end(DOCUMENT_LIMIT)?)?;
    if doc
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| n != name)
    {
        return Err(HttpError::bad_request(
            "the package name in the document does not match the URL",
        ));
    }
    // Without a versions member the document says nothing about what to keep.
    let keep = doc
        .get("versions")
        .and_then(Value::as_object)
        .ok_or_else(|| HttpError::bad_request("the document has no versions"))?;
    let removed: Vec<&str> = package
        .versions
        .iter()
        .map(|r| r.version.as_str())
        .filter(|v| !keep.contains_key(*v))
        .collect();
    for version in &removed {
        catalog::delete_version(&name, version)?;
    }
    let wanted_latest = doc
        .get("dist-tags")
        .and_then(|t| t.get("latest"))
        .and_then(Value::as_str);
    after_removal(&package, &removed, wanted_latest)?;
    publish::apply_deprecations(&name, &doc)?;
    Ok(crate::ok())
}

/// `DELETE {pkg}/-/{file}/-rev/{rev}`: remove the tarball's version if it is
/// still there; npm has usually pruned it already, which is fine.
pub fn tarball(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("pkg").to_string();
    names::validate(&name)?;
    let file = req.param("file");
    let path = names::tarball_path(&name, file);
    let prefix = format!("{}-", names::split(&name).1);
    let version = file
        .strip_prefix(&prefix)
        .and_then(|f| f.strip_suffix(".tgz"));
    if let (Some(_), Some(version)) = (catalog::find_asset(&path), version)
        && let Some(package) = Package::load(&name)
        && package.versions.iter().any(|r| r.version == version)
    {
        catalog::delete_version(&name, version)?;
        after_removal(&package, &[version], None)?;
    }
    Ok(crate::ok())
}

/// `DELETE {pkg}/-rev/{rev}`: the whole package.
pub fn package(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("pkg").to_string();
    names::validate(&name)?;
    catalog::delete_package(&name).map_err(|e| match e {
        StoreError::NotFound => HttpError::not_found("not found"),
        e => e.into(),
    })?;
    clear_package_doc(&name)?;
    Ok(crate::ok())
}

/// Keeps the package consistent after versions were deleted: `latest` moves
/// to `wanted` (if it remains) or the highest remaining version; a package
/// without versions loses its package-level document.
fn after_removal(
    before: &Package,
    removed: &[&str],
    wanted: Option<&str>,
) -> Result<(), HttpError> {
    let remaining: Vec<&VersionRow> = before
        .versions
        .iter()
        .filter(|r| !removed.contains(&r.version.as_str()))
        .collect();
    if remaining.is_empty() {
        return clear_package_doc(&before.name);
    }
    let old_latest = before
        .tags
        .iter()
        .find(|(t, _)| t == "latest")
        .map(|(_, v)| v.as_str());
    if old_latest.is_some_and(|v| removed.contains(&v)) {
        let latest = wanted
            .filter(|w| remaining.iter().any(|r| r.version == *w))
            .unwrap_or_else(|| highest(&remaining));
        catalog::set_tag(&before.name, "latest", latest)?;
    }
    Ok(())
}

/// The highest version by semver precedence (unparsable versions rank lowest).
fn highest<'a>(rows: &[&'a VersionRow]) -> &'a str {
    let key = |r: &&&VersionRow| semver::Version::parse(&r.version).ok();
    rows.iter()
        .max_by_key(key)
        .map(|r| r.version.as_str())
        .unwrap_or_default()
}
