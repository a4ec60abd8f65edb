//! `cargo search` and the crate summary of the web API.

use serde_json::{Value, json};
use wharf_sdk::types::VersionRow;
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::index::row_line;
use crate::names;

fn meta(row: &VersionRow) -> Value {
    serde_json::from_str(&row.metadata_json).unwrap_or(Value::Null)
}

/// The highest version that is not yanked (or the highest of all when every
/// version is yanked), like crates.io's `max_version`.
fn max_version(rows: &[VersionRow]) -> Option<&VersionRow> {
    let parsed = |r: &&VersionRow| semver::Version::parse(&r.version).ok();
    let live = rows.iter().filter(|r| !r.yanked).max_by_key(parsed);
    live.or_else(|| rows.iter().max_by_key(parsed))
}

/// The summary of a crate from its versions.
fn summary(rows: &[VersionRow]) -> Option<Value> {
    let max = max_version(rows)?;
    let meta = meta(max);
    Some(json!({
        "name": row_line(max)["name"],
        "max_version": max.version,
        "newest_version": rows.last()?.version,
        "description": meta["description"],
        "license": meta["license"],
        "repository": meta["repository"],
        "homepage": meta["homepage"],
        "documentation": meta["documentation"],
        "keywords": meta["keywords"],
    }))
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
    let (total, rows) = catalog::search(&q, (page - 1) * per_page, per_page);
    let crates: Vec<Value> = rows
        .iter()
        .filter_map(|row| summary(&catalog::list_versions(&row.package)))
        .collect();
    Ok(Response::json(
        200,
        &json!({ "crates": crates, "meta": { "total": total } }),
    ))
}

/// `GET api/v1/crates/{name}`.
pub fn info(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("name");
    let rows = catalog::list_versions(&names::key(name));
    let summary = summary(&rows)
        .filter(|_| names::validate(name).is_ok())
        .ok_or_else(|| HttpError::not_found(format!("crate `{name}` does not exist")))?;
    let versions: Vec<Value> = rows
        .iter()
        .rev()
        .map(|r| {
            json!({
                "num": r.version,
                "yanked": r.yanked,
                "checksum": row_line(r)["cksum"],
                "published_by": meta(r)["publisher"],
            })
        })
        .collect();
    Ok(Response::json(
        200,
        &json!({ "crate": summary, "versions": versions }),
    ))
}
