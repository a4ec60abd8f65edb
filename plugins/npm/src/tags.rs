//! `npm dist-tag ls|add|rm`: `-/package/{pkg}/dist-tags[/{tag}]`.

use serde_json::{Value, json};
use wharf_sdk::types::StoreError;
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::packument::tag_map;
use crate::{SMALL_LIMIT, names};

/// `GET -/package/{pkg}/dist-tags` → `{"latest": "1.0.0", …}`.
pub fn list(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::dist_tags(req);
    }
    let name = req.param("pkg").to_string();
    existing(&name)?;
    let tags = tag_map(&catalog::all_tags(&name)?);
    Ok(Response::json(200, &tags).cacheable(&[&name], &[]))
}

/// `PUT|POST -/package/{pkg}/dist-tags/{tag}` with the version as a JSON string.
pub fn set(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("pkg").to_string();
    let tag = req.param("tag").to_string();
    check_name(&tag)?;
    existing(&name)?;
    let body = req.take_body()?.read_to_end(SMALL_LIMIT)?;
    // npm sends `"1.0.1"`; a bare `1.0.1` is accepted too.
    let version = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::String(v)) => v,
        _ => String::from_utf8_lossy(&body).trim().to_string(),
    };
    if catalog::get_version(&name, &version)?.is_none() {
        return Err(HttpError::not_found(format!(
            "version not found: {name}@{version}"
        )));
    }
    catalog::set_tag(&name, &tag, &version)?;
    answer(&name)
}

/// `DELETE -/package/{pkg}/dist-tags/{tag}`; `latest` cannot be removed.
pub fn remove(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("pkg").to_string();
    let tag = req.param("tag").to_string();
    if tag == "latest" {
        return Err(HttpError::bad_request("the latest tag cannot be removed"));
    }
    existing(&name)?;
    let missing = || HttpError::not_found(format!("tag not found: {tag}"));
    if catalog::get_tag(&name, &tag)?.is_none() {
        return Err(missing());
    }
    catalog::remove_tag(&name, &tag).map_err(|e| match e {
        StoreError::NotFound => missing(),
        e => e.into(),
    })?;
    answer(&name)
}

/// A valid name of a package the catalog has, or 404.
fn existing(name: &str) -> Result<(), HttpError> {
    names::validate(name)?;
    match catalog::has_package(name)? {
        true => Ok(()),
        false => Err(HttpError::not_found("not found")),
    }
}

/// The answer npm gets for a tag change: the tags after it.
fn answer(name: &str) -> Result<Response, HttpError> {
    let tags = tag_map(&catalog::all_tags(name)?);
    Ok(Response::json(
        200,
        &json!({ "ok": true, "id": name, "dist-tags": tags }),
    ))
}

/// Like npm: a tag that reads as a version range would make `pkg@tag` ambiguous.
pub fn check_name(tag: &str) -> Result<(), HttpError> {
    if tag.trim().is_empty() {
        return Err(HttpError::bad_request("a dist-tag needs a name"));
    }
    if is_semver_range(tag) {
        return Err(HttpError::bad_request(format!(
            "Tag name must not be a valid SemVer range: {tag}"
        )));
    }
    Ok(())
}

/// node-semver's `validRange` in outline: `||`-separated sets of
/// space-separated comparators (hyphen ranges included), each with an
/// optional operator and `v` prefix.
fn is_semver_range(text: &str) -> bool {
    text.split("||").all(|set| {
        set.split_whitespace()
            .filter(|t| *t != "-")
            .all(|comparator| {
                let version = comparator.trim_start_matches(['<', '>', '=', '~', '^']);
                let operator = &comparator[..comparator.len() - version.len()];
                let version = version.strip_prefix(['v', 'V']).unwrap_or(version);
                semver::VersionReq::parse(&format!("{operator}{version}")).is_ok()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_not_tags() {
        for range in [
            "1",
            "1.0.0",
            "v1.2.3",
            "^1.0.0",
            "~1.2",
            ">=1 <2",
            "1.x",
            "*",
            "x",
            "1 - 2",
            "1 || 2",
            "1.0.0-beta.1",
        ] {
            assert!(check_name(range).is_err(), "{range}");
        }
        for tag in ["latest", "beta", "next", "v", "canary-2", "release-1.x"] {
            assert!(check_name(tag).is_ok(), "{tag}");
        }
    }
}
