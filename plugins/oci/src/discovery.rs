//! Content discovery: tag lists and the catalog (paged with `n`/`last` and
//! a `Link` header), and the referrers API with `artifactType` filtering.

use crate::error::{NAME_UNKNOWN, UNSUPPORTED, oci};
use crate::manifest::OCI_INDEX;
use crate::{names, store};
use serde_json::{Value, json};
use wharf_sdk::{HttpError, Request, Response, catalog};

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

/// One page of a sorted list after `last`, and whether more follow.
pub fn page(sorted: &[String], last: Option<&str>, n: usize) -> (Vec<String>, bool) {
    let rest: Vec<&String> = sorted
        .iter()
        .filter(|t| last.is_none_or(|l| t.as_str() > l))
        .collect();
    let more = rest.len() > n;
    (rest.into_iter().take(n).cloned().collect(), more)
}

fn link(path: &str, last: &str, n: usize) -> String {
    format!("<{path}?last={last}&n={n}>; rel=\"next\"")
}

/// `GET /v2/<name>/tags/list`: tags in lexical order.
pub fn tags(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("name").to_string();
    names::name(&name)?;
    let n = page_size(req)?;
    let last = req.query("last");
    let mut all: Vec<String> = catalog::list_tags(&name)
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    if all.is_empty() && !store::exists(&name) {
        return Err(oci(
            404,
            NAME_UNKNOWN,
            format!("repository {name} is unknown"),
        ));
    }
    all.sort();
    let (tags, more) = page(&all, last.as_deref(), n);
    let mut response = Response::json(200, &json!({ "name": name, "tags": tags }));
    if let (true, Some(last)) = (more, tags.last()) {
        response = response.header("link", &link(&format!("/v2/{name}/tags/list"), last, n));
    }
    Ok(response.cacheable(&[&name], &[]))
}

/// `GET /v2/_catalog`: repository names in lexical order.
pub fn repositories(req: &mut Request) -> Result<Response, HttpError> {
    let n = page_size(req)?;
    let last = req.query("last");
    let mut names = catalog::list_packages(None, last.as_deref(), n as u32 + 1);
    let more = names.len() > n;
    names.truncate(n);
    let mut response = Response::json(200, &json!({ "repositories": names }));
    if let (true, Some(last)) = (more, names.last()) {
        response = response.header("link", &link("/v2/_catalog", last, n));
    }
    Ok(response)
}

/// `GET /v2/<name>/referrers/<digest>`: an image index of the manifests
/// whose `subject` is `digest`, optionally only those of one artifactType.
pub fn referrers(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("name").to_string();
    names::name(&name)?;
    let subject = req.param("digest").to_string();
    names::digest(&subject)?;
    let wanted = req.query("artifactType");
    let manifests: Vec<Value> = store::manifests(&name)
        .into_iter()
        .filter(|(_, m)| m["subject"].as_str() == Some(subject.as_str()))
        .filter(|(_, m)| {
            wanted
                .as_deref()
                .is_none_or(|w| m["artifactType"].as_str() == Some(w))
        })
        .map(|(digest, m)| descriptor(&digest, &m))
        .collect();
    let index = json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests });
    let bytes = serde_json::to_vec(&index).expect("JSON");
    let mut response = Response::bytes(200, OCI_INDEX, bytes);
    if wanted.is_some() {
        response = response.header("oci-filters-applied", "artifactType");
    }
    Ok(response.cacheable(&[&name], &[]))
}

fn descriptor(digest: &str, m: &Value) -> Value {
    let mut d = json!({ "mediaType": m["mediaType"], "digest": digest, "size": m["size"] });
    if let Some(t) = m["artifactType"].as_str() {
        d["artifactType"] = json!(t);
    }
    if m["annotations"].is_object() {
        d["annotations"] = m["annotations"].clone();
    }
    d
}
