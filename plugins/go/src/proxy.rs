//! A proxy repository: `@v/list`, `@latest` and `.info` are the upstream's,
//! as it serves them, through the host's metadata cache (stale when the
//! upstream fails); a `.mod` or `.zip` is pulled once and recorded as a
//! hosted upload records it (the version, its zip and its go.mod), so a
//! build whose go.sum names it works with the upstream gone. With the
//! upstream gone and no answer of it left in the host's cache, the list,
//! `@latest` and `.info` are those of what was pulled.
//!
//! The GOPROXY protocol promises no digest: a zip is kept as the upstream
//! sends it, and the go command checks it against go.sum (or GOSUMDB)
//! itself, as it checks any proxy's.

use wharf_sdk::types::{DigestSet, Owner, Publication, VersionRow, Write};
use wharf_sdk::upstream::{self, Pull};
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::module::{self, Version};
use crate::{asset_path, serve};

/// Largest `@v/list` read from the upstream.
const LIST_LIMIT: usize = 4 << 20;
/// Largest `@latest` or `.info` read from the upstream.
const INFO_LIMIT: usize = 64 << 10;

/// `GET {module}/@v/list`.
pub fn list(req: &mut Request) -> Result<Response, HttpError> {
    let module = serve::read_module(req)?;
    let url = format!("{}/@v/list", module::escape(&module));
    match document(&url, LIST_LIMIT, &module)? {
        Fetched::Body(body) => {
            Ok(Response::bytes(200, "text/plain; charset=utf-8", body).cacheable(&[&module], &[]))
        }
        Fetched::Missing => Err(missing(&module)),
        Fetched::Failed(e) => serve::list(req).map(from_the_catalog).map_err(|_| e),
    }
}

/// `GET {module}/@latest`.
pub fn latest(req: &mut Request) -> Result<Response, HttpError> {
    let module = serve::read_module(req)?;
    let url = format!("{}/@latest", module::escape(&module));
    match document(&url, INFO_LIMIT, &module)? {
        Fetched::Body(body) => Ok(json(body).cacheable(&[&module], &[])),
        Fetched::Missing => Err(missing(&module)),
        Fetched::Failed(e) => serve::latest(req).map(from_the_catalog).map_err(|_| e),
    }
}

/// `GET {module}/@v/{version}.info|.mod|.zip`.
pub fn file(req: &mut Request) -> Result<Response, HttpError> {
    let module = serve::read_module(req)?;
    let (version, ext) = serve::file_name(req.param("file"))?;
    let name = version.to_string();
    // A version this module cannot have is not asked of the upstream.
    module::check_path_major(&module, &version)
        .map_err(|e| HttpError::not_found(format!("not found: {e}")))?;
    let url = format!(
        "{}/@v/{}.{ext}",
        module::escape(&module),
        module::escape(&name)
    );
    let what = format!("{module}@{name}");
    if ext == "info" {
        return match document(&url, INFO_LIMIT, &what)? {
            Fetched::Body(body) => Ok(json(body).cacheable(&[&module], &[])),
            Fetched::Missing => Err(missing(&what)),
            Fetched::Failed(e) => serve::file(req).map(from_the_catalog).map_err(|_| e),
        };
    }
    let path = asset_path(&module, &name, ext);
    let content_type = match ext {
        "mod" => "text/plain; charset=utf-8",
        _ => "application/zip",
    };
    if let Some(asset) = catalog::find_asset(&path)? {
        return Ok(Response::blob(&asset.blake3, &asset.content_type).cacheable(&[&module], &[]));
    }
    let pulled = upstream::pull(Pull {
        url,
        want: DigestSet::empty(),
        expect: Vec::new(),
        record: vec![record(&module, &version, path, content_type)?],
    })?;
    match pulled.status() {
        200 => Ok(Response::upstream(pulled, content_type)),
        404 | 410 => Err(missing(&what)),
        status => Err(HttpError::new(
            502,
            format!("the upstream answered {status} for {what}.{ext}"),
        )),
    }
}

/// An answer of what was pulled, made because the upstream failed: marked
/// stale as the host marks its stale answers, and not kept in the host's
/// document cache (which would keep it past the upstream's return).
fn from_the_catalog(mut response: Response) -> Response {
    response.cache = None;
    response.header("warning", STALE_WARNING)
}

/// What the host says of a stale answer.
const STALE_WARNING: &str = "110 - \"Response is Stale\"";

/// The go command's cue to try the next proxy, or report this text.
fn missing(what: &str) -> HttpError {
    HttpError::not_found(format!("not found: {what}"))
}

fn json(body: Vec<u8>) -> Response {
    Response::bytes(200, "application/json", body)
}

/// An upstream document: its body, its absence, or the failure to reach
/// it (the caller may still answer from the catalog).
enum Fetched {
    Body(Vec<u8>),
    Missing,
    Failed(HttpError),
}

fn document(url: &str, limit: usize, what: &str) -> Result<Fetched, HttpError> {
    let answer = match upstream::fetch(url, None) {
        Ok(answer) => answer,
        Err(e) => return Ok(Fetched::Failed(e.into())),
    };
    Ok(match answer.status() {
        200 => {
            Fetched::Body(answer.read_all(limit).map_err(|e| {
                HttpError::new(502, format!("reading the upstream's {what}: {e:?}"))
            })?)
        }
        404 | 410 => Fetched::Missing,
        status => Fetched::Failed(HttpError::new(
            502,
            format!("the upstream answered {status} for {what}"),
        )),
    })
}

/// How a pulled file enters the catalog: with its version, as an upload
/// makes it, or beside the version an earlier pull made.
fn record(
    module: &str,
    version: &Version,
    path: String,
    content_type: &str,
) -> Result<Write, HttpError> {
    let name = version.to_string();
    let asset = upstream::pulled_asset(&path, content_type);
    if catalog::get_version(module, &name)?.is_some() {
        let owner = Owner {
            package: module.to_string(),
            version: Some(name),
        };
        return Ok(Write::PutAsset((owner, asset, false)));
    }
    Ok(Write::Publish(Publication {
        version: VersionRow {
            package: module.to_string(),
            version: name,
            metadata_json: "{}".into(),
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        assets: vec![asset],
        tags: Vec::new(),
    }))
}
