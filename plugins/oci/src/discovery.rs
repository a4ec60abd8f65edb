//! Content discovery: tag lists and the catalog (paged with `n`/`last` and
//! a `Link` header), and the referrers API with `artifactType` filtering.

use crate::error::{NAME_UNKNOWN, UNSUPPORTED, oci, store};
use crate::manifest::OCI_INDEX;
use crate::{names, store as repo};
use serde_json::{Value, json};
use wharf_sdk::catalog::{self, PAGE};
use wharf_sdk::types::StoreError;
use wharf_sdk::{HttpError, Meta, Request, Response};

/// Page size when the client gives no `n`.
const DEFAULT_PAGE: usize = 1000;
/// Largest page served.
const MAX_PAGE: usize = 10_000;

fn page_size(req: &Request) -> Result<usize, HttpError> {
    match req.query("n") {
        None => Ok(DEFAULT_PAGE),
        Some(n) => n
            .parse::<usize>()
            .map(|n| n.min(MAX_PAGE))
            .map_err(|_| oci(400, UNSUPPORTED, format!("invalid page size n={n}"))),
    }
}

/// Up to `n` names after `last`, and whether more follow. `fetch(after,
/// limit)` is one host page of a sorted list; a client page may span several
/// (the host caps a page at [`PAGE`]), and one more name tells whether the
/// list goes on.
pub fn page(
    n: usize,
    last: Option<String>,
    mut fetch: impl FnMut(Option<&str>, u32) -> Result<Vec<String>, StoreError>,
) -> Result<(Vec<String>, bool), StoreError> {
    let mut out: Vec<String> = Vec::new();
    let mut after = last;
    while out.len() <= n {
        let want = (n + 1 - out.len()).min(PAGE as usize);
        let got = fetch(after.as_deref(), want as u32)?;
        let done = got.len() < want;
        after = got.last().cloned().or(after);
        out.extend(got);
        if done {
            break;
        }
    }
    let more = out.len() > n;
    out.truncate(n);
    Ok((out, more))
}

fn link(path: &str, last: &str, n: usize) -> String {
    format!("<{path}?last={last}&n={n}>; rel=\"next\"")
}

/// `GET /v2/<name>/tags/list`: tags in lexical order.
pub fn tags(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::tags(req);
    }
    let name = req.param("name").to_string();
    names::name(&name)?;
    let n = page_size(req)?;
    let (tags, more) = page(n, req.query("last"), |after, limit| {
        let tags = catalog::list_tags(&name, after, limit)?;
        Ok(tags.into_iter().map(|(t, _)| t).collect())
    })
    .map_err(store)?;
    if tags.is_empty() && !repo::exists(&name)? {
        return Err(oci(
            404,
            NAME_UNKNOWN,
            format!("repository {name} is unknown"),
        ));
    }
    let mut response = Response::json(200, &json!({ "name": name, "tags": tags }));
    if let (true, Some(last)) = (more, tags.last()) {
        response = response.header("link", &link(&format!("/v2/{name}/tags/list"), last, n));
    }
    Ok(response.cacheable(&[&name], &[]))
}

/// `GET /v2/_catalog`: repository names in lexical order.
pub fn repositories(req: &mut Request) -> Result<Response, HttpError> {
    let n = page_size(req)?;
    let (names, more) = page(n, req.query("last"), |after, limit| {
        catalog::list_packages(None, after, limit)
    })
    .map_err(store)?;
    let mut response = Response::json(200, &json!({ "repositories": names }));
    if let (true, Some(last)) = (more, names.last()) {
        response = response.header("link", &link("/v2/_catalog", last, n));
    }
    Ok(response)
}

/// `GET /v2/<name>/referrers/<digest>`: an image index of the manifests
/// whose `subject` is `digest`, optionally only those of one artifactType.
/// The spec has no paging here: the index lists every referrer entry.
pub fn referrers(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::referrers(req);
    }
    let name = req.param("name").to_string();
    names::name(&name)?;
    let subject = req.param("digest").to_string();
    names::digest(&subject)?;
    let wanted = req.query("artifactType");
    let mut manifests: Vec<Value> = Vec::new();
    for entry in entries(&name, &subject)? {
        let descriptor: Value = entry.meta()?;
        let admitted = wanted
            .as_deref()
            .is_none_or(|w| descriptor["artifactType"].as_str() == Some(w));
        if admitted {
            manifests.push(descriptor);
        }
    }
    let index = json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests });
    let bytes = serde_json::to_vec(&index).expect("JSON");
    let mut response = Response::bytes(200, OCI_INDEX, bytes);
    if wanted.is_some() {
        response = response.header("oci-filters-applied", "artifactType");
    }
    Ok(response.cacheable(&[&name], &[]))
}

/// Every referrers entry of `subject` in `name`, page by page.
fn entries(name: &str, subject: &str) -> Result<Vec<catalog::Asset>, HttpError> {
    let owner = repo::package(name);
    let prefix = repo::referrers_prefix(name, subject);
    let mut out: Vec<catalog::Asset> = Vec::new();
    loop {
        let after = out.last().map(|a| a.path.clone());
        let next =
            catalog::list_assets(&owner, Some(&prefix), after.as_deref(), PAGE).map_err(store)?;
        let done = next.len() < PAGE as usize;
        out.extend(next);
        if done {
            return Ok(out);
        }
    }
}
