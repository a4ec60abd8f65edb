//! `npm search`: `GET -/v1/search?text=&size=&from=` in the registry's shape.
//! Matching is the host's: the name or the latest version's metadata
//! contains the text. There is no ranking, so every score is 1. Each hit is
//! rendered from the row the host returned alone: a page of hits costs one
//! catalog call, not one per hit.

use serde_json::{Map, Value, json};
use wharf_sdk::types::VersionRow;
use wharf_sdk::{HttpError, Meta, Request, Response, catalog};

use crate::packument::iso_time;

const DEFAULT_SIZE: u32 = 20;
const MAX_SIZE: u32 = 250;

pub fn search(req: &mut Request) -> Result<Response, HttpError> {
    let text = search_text(&req.query("text").unwrap_or_default());
    let number = |key: &str| req.query(key).and_then(|v| v.trim().parse::<u32>().ok());
    let size = number("size").unwrap_or(DEFAULT_SIZE).clamp(1, MAX_SIZE);
    let from = number("from").unwrap_or(0);
    let (total, rows) = catalog::search(&text, from, size)?;
    let objects = rows.iter().map(hit).collect::<Result<Vec<Value>, _>>()?;
    Ok(Response::json(
        200,
        &json!({ "objects": objects, "total": total, "time": iso_time(now_ms()) }),
    ))
}

/// The registry's qualifiers (`keywords:x`, `author:x`, …) become plain
/// terms; the ones that only tune ranking are dropped.
fn search_text(raw: &str) -> String {
    let terms = raw
        .split_whitespace()
        .filter_map(|term| match term.split_once(':') {
            Some(("keywords" | "author" | "maintainer" | "scope", value)) => Some(value),
            Some(("not" | "is" | "boost-exact", _)) => None,
            _ => Some(term),
        });
    terms.collect::<Vec<_>>().join(" ")
}

/// One hit, from the latest version's own metadata; its publisher is the
/// maintainer shown.
fn hit(row: &VersionRow) -> Result<Value, HttpError> {
    let meta: Map<String, Value> = row.meta()?;
    let field = |name: &str| meta.get(name).cloned();
    let publisher = meta.get("_npmUser").and_then(|u| u.get("name"));
    let maintainers: Vec<Value> = publisher
        .map(|name| json!({ "username": name, "email": "" }))
        .into_iter()
        .collect();
    let mut package = json!({
        "name": row.package,
        "version": row.version,
        "description": field("description").unwrap_or(json!("")),
        "keywords": field("keywords").unwrap_or(json!([])),
        "date": iso_time(row.published_at),
        "links": {},
        "maintainers": maintainers,
    });
    if let Some(publisher) = publisher {
        package["publisher"] = json!({ "username": publisher });
    }
    Ok(json!({
        "package": package,
        "score": { "final": 1, "detail": { "quality": 1, "popularity": 1, "maintenance": 1 } },
        "searchScore": 1,
    }))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifiers_become_terms() {
        assert_eq!(search_text("keywords:cli"), "cli");
        assert_eq!(search_text("  left  pad "), "left pad");
        assert_eq!(search_text("pad not:deprecated boost-exact:false"), "pad");
    }
}
