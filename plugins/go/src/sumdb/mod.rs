//! A checksum database through a proxy repository (the GOPROXY protocol's
//! "Checksum database" part): a go command with `GOSUMDB=<name>…` first
//! asks `sumdb/<name>/supported`; on a 200 it reads `lookup/…` and `tile/…`
//! of the database through the proxy only. Only the databases the
//! repository's `sumdb` setting names are served, from the URL the setting
//! gives; elsewhere (a hosted repository, another name) every path is a
//! 404, on which the go command connects to the database itself.
//!
//! A full tile and a lookup never change for their path: pulled once and
//! kept, as assets of the package `sumdb/<name>` (no module path lacks a
//! dot in its first element, so none can be it). A partial tile and
//! `latest` grow with the tree: fetched through the host's metadata cache.
//! Nothing is verified here: the go command checks every tile and record
//! against the database's signed tree, whichever proxy relays it.

mod paths;
mod settings;

use wharf_sdk::types::{DigestSet, Owner, Write};
use wharf_sdk::upstream::{self, Pull};
use wharf_sdk::{HttpError, Request, Response, catalog};

use paths::Tile;
use settings::Database;

/// Largest `latest` read: a signed tree head and its signatures.
const LATEST_LIMIT: usize = 64 << 10;

const TEXT: &str = "text/plain; charset=utf-8";
const HASHES: &str = "application/octet-stream";

/// `GET sumdb/{name}/supported`: 200 for a database this proxy relays.
pub fn supported(req: &mut Request) -> Result<Response, HttpError> {
    settings::database(req)?;
    Ok(Response::empty(200))
}

/// `GET sumdb/{name}/latest`: the signed tree head, as the database has it
/// now (the go command learns it from lookups; mirrors ask here).
pub fn latest(req: &mut Request) -> Result<Response, HttpError> {
    let db = settings::database(req)?;
    fetched(&db, "latest", LATEST_LIMIT, TEXT, |_| true)
}

/// `GET sumdb/{name}/lookup/{module}@{version}`: the record of a module
/// version, with a signed tree head that contains it.
pub fn lookup(req: &mut Request) -> Result<Response, HttpError> {
    let db = settings::database(req)?;
    let key = paths::lookup_key(req.param("key")).map_err(HttpError::bad_request)?;
    kept(&db, &format!("lookup/{key}"), TEXT)
}

/// `GET sumdb/{name}/tile/{H}/{L}/{NNN}[.p/{W}]`: hashes of the tree, or
/// its records for `L` = `data`.
pub fn tile(req: &mut Request) -> Result<Response, HttpError> {
    let db = settings::database(req)?;
    let tile = Tile::parse(req.param("tile")).map_err(HttpError::bad_request)?;
    let content_type = match tile.is_data() {
        true => TEXT,
        false => HASHES,
    };
    match tile.is_partial() {
        true => fetched(&db, &tile.path(), tile.max_bytes(), content_type, |n| {
            tile.fits(n)
        }),
        false => kept(&db, &tile.path(), content_type),
    }
}

/// An answer that never changes: from the store once kept, else pulled
/// (streamed to the client while stored) and kept.
fn kept(db: &Database, path: &str, content_type: &str) -> Result<Response, HttpError> {
    let asset_path = db.asset_path(path);
    if let Some(asset) = catalog::find_asset(&asset_path)? {
        let response = Response::blob(&asset.blake3, &asset.content_type);
        return Ok(response.cacheable(&[&db.package()], &[]));
    }
    let owner = Owner {
        package: db.package(),
        version: None,
    };
    let asset = upstream::pulled_asset(&asset_path, content_type);
    let pulled = upstream::pull(Pull {
        url: db.url(path),
        want: DigestSet::empty(),
        expect: Vec::new(),
        record: vec![Write::PutAsset((owner, asset, false))],
    })?;
    match pulled.status() {
        200 => Ok(Response::upstream(pulled, content_type)),
        status => Err(refused(db, path, status)),
    }
}

/// An answer that grows with the tree, through the host's metadata cache
/// (stale when the database fails): read whole, refused past `limit` or
/// when `fits` says no tile can have that many bytes.
fn fetched(
    db: &Database,
    path: &str,
    limit: usize,
    content_type: &str,
    fits: impl Fn(usize) -> bool,
) -> Result<Response, HttpError> {
    let what = format!("{} {path}", db.name);
    let Some(document) = upstream::document(&db.url(path), None, limit, &what)? else {
        return Err(refused(db, path, 404));
    };
    if !fits(document.body.len()) {
        return Err(HttpError::new(
            502,
            format!("{what} is {} bytes: not a tile", document.body.len()),
        ));
    }
    let response = Response::bytes(200, content_type, document.body);
    Ok(response.cacheable(&[&db.package()], &[]))
}

/// The database's refusal, in the go plugin's plain-text shape: its 404
/// or 410 is "not found", which the go command reports as it stands.
fn refused(db: &Database, path: &str, status: u16) -> HttpError {
    match status {
        404 | 410 => HttpError::not_found(format!("not found: {} has no {path}", db.name)),
        _ => HttpError::new(502, format!("{} answered {status} for {path}", db.name)),
    }
}
