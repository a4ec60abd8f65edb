//! A proxy repository: packuments come from the upstream registry (through
//! the host's metadata cache) with their tarball URLs pointing back here;
//! a tarball is pulled once, checked against the packument's `integrity`
//! and `shasum`, and recorded in the catalog as a published version, so a
//! later download is served from the store even with the upstream gone.

use base64::Engine;
use serde_json::{Map, Value, json};
use wharf_sdk::types::{DigestSet, Publication, VersionRow, Write};
use wharf_sdk::upstream::{self, DigestKind, Pull};
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::packument::CORGI;
use crate::{DOCUMENT_LIMIT, names};

/// `GET {pkg}`: the upstream's document, tarball URLs rewritten.
pub fn packument(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("pkg").to_string();
    let corgi = req.header("accept").is_some_and(|a| a.contains(CORGI));
    let mut doc = upstream_packument(&name, corgi)?;
    rewrite_tarballs(&name, &mut doc, req.base_url());
    let content_type = if corgi { CORGI } else { "application/json" };
    let body = serde_json::to_vec(&doc).expect("JSON value");
    Ok(Response::bytes(200, content_type, body).cacheable(&[&name], &["accept"]))
}

/// `GET {pkg}/{version}`: one version of the upstream's document.
pub fn version(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("pkg").to_string();
    let wanted = req.param("version").to_string();
    let mut doc = upstream_packument(&name, false)?;
    rewrite_tarballs(&name, &mut doc, req.base_url());
    let version = doc
        .pointer(&format!("/dist-tags/{}", pointer_escape(&wanted)))
        .and_then(Value::as_str)
        .unwrap_or(&wanted)
        .to_string();
    let object = doc
        .pointer(&format!("/versions/{}", pointer_escape(&version)))
        .cloned()
        .ok_or_else(|| HttpError::not_found(format!("version not found: {wanted}")))?;
    Ok(Response::json(200, &object).cacheable(&[&name], &[]))
}

/// `GET -/package/{pkg}/dist-tags`.
pub fn dist_tags(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("pkg").to_string();
    let doc = upstream_packument(&name, true)?;
    let tags = doc.get("dist-tags").cloned().unwrap_or_else(|| json!({}));
    Ok(Response::json(200, &tags).cacheable(&[&name], &[]))
}

/// `GET {pkg}/-/{file}`: from the store once pulled, from the upstream
/// (streamed while it is stored) the first time.
pub fn tarball(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("pkg").to_string();
    let file = req.param("file").to_string();
    let path = names::tarball_path(&name, &file);
    if let Some(asset) = catalog::find_asset(&path)? {
        return Ok(
            Response::blob(&asset.blake3, "application/octet-stream").cacheable(&[&name], &[])
        );
    }
    // The install document names every tarball, and is the one `npm
    // install` just read: most likely cached.
    let doc = upstream_packument(&name, true)?;
    let (version, object) = doc
        .get("versions")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .find(|(_, v)| tarball_url(v).is_some_and(|url| names::basename(url) == file))
        .ok_or_else(|| HttpError::not_found(format!("{file} is not a tarball of {name}")))?;
    let url = tarball_url(object).expect("found by it").to_string();
    let pulled = upstream::pull(Pull {
        url,
        want: DigestSet::SHA1 | DigestSet::SHA512,
        expect: promises(object)?,
        record: vec![Write::Publish(record(&name, version, object, &path))],
    })?;
    upstream::serve_pulled(pulled, "application/octet-stream", &file)
}

/// The upstream's packument of `name`: the install document or the full one.
fn upstream_packument(name: &str, corgi: bool) -> Result<Value, HttpError> {
    names::validate(name)?;
    // The registry's own spelling: a scope's slash encoded.
    let path = name.replacen('/', "%2f", 1);
    let accept = match corgi {
        true => CORGI,
        false => "application/json",
    };
    let body = upstream::document(&path, Some(accept), DOCUMENT_LIMIT, name)?
        .ok_or_else(|| HttpError::not_found("not found"))?
        .body;
    let doc: Value = serde_json::from_slice(&body)
        .map_err(|e| HttpError::new(502, format!("the upstream's {name} is not JSON: {e}")))?;
    match doc.get("versions") {
        Some(Value::Object(_)) => Ok(doc),
        _ => Err(HttpError::new(
            502,
            format!("the upstream's {name} has no versions"),
        )),
    }
}

/// Points every version's tarball at this repository, same file name.
fn rewrite_tarballs(name: &str, doc: &mut Value, base_url: &str) {
    let Some(Value::Object(versions)) = doc.get_mut("versions") else {
        return;
    };
    for object in versions.values_mut() {
        let Some(Value::Object(dist)) = object.get_mut("dist") else {
            continue;
        };
        let Some(file) = dist
            .get("tarball")
            .and_then(Value::as_str)
            .map(names::basename)
        else {
            continue;
        };
        let url = format!("{base_url}{}", names::tarball_path(name, file));
        dist.insert("tarball".into(), json!(url));
    }
}

fn tarball_url(version: &Value) -> Option<&str> {
    version.pointer("/dist/tarball").and_then(Value::as_str)
}

/// What the packument promises about the bytes: `integrity` (sha512, the
/// one npm checks) and `shasum` (sha1). A tarball promised nothing is
/// refused: a proxy keeps nothing it cannot check.
fn promises(version: &Value) -> Result<Vec<(DigestKind, String)>, HttpError> {
    let mut expect = Vec::new();
    let integrity = version.pointer("/dist/integrity").and_then(Value::as_str);
    for entry in integrity.unwrap_or("").split_whitespace() {
        if let Some(b64) = entry.strip_prefix("sha512-")
            && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b64)
        {
            expect.push((DigestKind::Sha512, hex::encode(bytes)));
        }
    }
    if let Some(shasum) = version.pointer("/dist/shasum").and_then(Value::as_str) {
        expect.push((DigestKind::Sha1, shasum.to_ascii_lowercase()));
    }
    match expect.is_empty() {
        true => Err(HttpError::new(
            502,
            "the upstream promises no digest for this tarball",
        )),
        false => Ok(expect),
    }
}

/// The version as a hosted publish stores it (`dist.tarball` the file
/// name), with its tarball: the pulled blob.
fn record(name: &str, version: &str, object: &Value, path: &str) -> Publication {
    let mut meta: Map<String, Value> = object.as_object().cloned().unwrap_or_default();
    if let Some(Value::Object(dist)) = meta.get_mut("dist")
        && let Some(file) = dist
            .get("tarball")
            .and_then(Value::as_str)
            .map(names::basename)
    {
        let file = file.to_string();
        dist.insert("tarball".into(), json!(file));
    }
    Publication {
        version: VersionRow {
            package: name.to_string(),
            version: version.to_string(),
            metadata_json: Value::Object(meta).to_string(),
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        assets: vec![upstream::pulled_asset(path, "application/octet-stream")],
        tags: Vec::new(),
    }
}

/// RFC 6901: `~` and `/` escaped.
fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}
