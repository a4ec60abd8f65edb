//! `cargo search` and the crate summary of the web API.

use serde_json::{Value, json};
use wharf_sdk::catalog::VersionRow;
use wharf_sdk::{HttpError, Meta, Request, Response, catalog};

use crate::index::row_line;
use crate::names;

/// The highest version that is not yanked (or the highest of all when every
/// version is yanked), like crates.io's `max_version`.
fn max_version(rows: &[VersionRow]) -> Option<&VersionRow> {
    let parsed = |r: &&VersionRow| semver::Version::parse(&r.version).ok();
    let live = rows.iter().filter(|r| !r.yanked).max_by_key(parsed);
    live.or_else(|| rows.iter().max_by_key(parsed))
}

/// The summary of a crate from its `max` version and the version published last.
fn summary(max: &VersionRow, newest: &str) -> Result<Value, HttpError> {
    let meta: Value = max.meta()?;
    Ok(json!({
        "name": row_line(max)?["name"],
        "max_version": max.version,
        "newest_version": newest,
        "description": meta["description"],
        "license": meta["license"],
        "repository": meta["repository"],
        "homepage": meta["homepage"],
        "documentation": meta["documentation"],
        "keywords": meta["keywords"],
    }))
}

/// The summary of a search hit, the crate's latest version. cargo shows
/// `max_version` as the version to depend on, which must not be a yanked one:
/// only then are the crate's versions read.
fn hit(latest: &VersionRow) -> Result<Value, HttpError> {
    if !latest.yanked {
        return summary(latest, &latest.version);
    }
    let rows = catalog::all_versions(&latest.package)?;
    summary(max_version(&rows).unwrap_or(latest), &latest.version)
}

/// `GET api/v1/crates?q=…&per_page=…&page=…`.
pub fn search(req: &mut Request) -> Result<Response, HttpError> {
    let q = req.query("q").unwrap_or_default();
    let number = |key: &str, default: u32| {
        req.query(key)
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(default)
    };
    let per_page = number("per_page", 10).clamp(1, 100);
    let page = number("page", 1).max(1);
    let (total, rows) = catalog::search(&q, (page - 1) * per_page, per_page)?;
    let crates = rows.iter().map(hit).collect::<Result<Vec<_>, _>>()?;
    Ok(Response::json(
        200,
        &json!({ "crates": crates, "meta": { "total": total } }),
    ))
}

/// `GET api/v1/crates/{name}`: the summary and every version, so cacheable.
pub fn info(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("name");
    let missing = || HttpError::not_found(format!("crate `{name}` does not exist"));
    names::validate(name).map_err(|_| missing())?;
    let key = names::key(name);
    let rows = catalog::all_versions(&key)?;
    let (Some(max), Some(newest)) = (max_version(&rows), rows.last()) else {
        return Err(missing());
    };
    let summary = summary(max, &newest.version)?;
    let versions = rows
        .iter()
        .rev()
        .map(|r| {
            Ok(json!({
                "num": r.version,
                "yanked": r.yanked,
                "checksum": row_line(r)?["cksum"],
                "published_by": r.meta::<Value>()?["publisher"],
            }))
        })
        .collect::<Result<Vec<_>, HttpError>>()?;
    Ok(
        Response::json(200, &json!({ "crate": summary, "versions": versions }))
            .cacheable(&[&key], &[]),
    )
}
