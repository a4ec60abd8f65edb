//! The Go modules format: the GOPROXY protocol (`@v/list`, `.info`, `.mod`,
//! `.zip`, `@latest`) over hosted modules, uploads of module zips checked
//! against the rules of `golang.org/x/mod/zip`, delete, yank and unyank.
//! In a proxy repository, the same reads come from the upstream proxy
//! (`proxy.rs`), which may also relay checksum databases (`sumdb/`).
//! See docs/formats/go.md.
//!
//! Catalog mapping: a module path (unescaped, as go.mod spells it) is the
//! package, so owners and permissions follow it; a version is a version row;
//! its zip and its go.mod are two assets.

mod merge;
pub mod module;
mod proxy;
pub mod rules;
mod serve;
mod sumdb;
mod upload;

#[cfg(test)]
mod proxy_tests;
#[cfg(test)]
mod tests;

use wharf_sdk::types::{Access, Action, PluginInfo};
use wharf_sdk::{
    Format, HttpError, Need, Params, Request, Response, Router, need, register_format,
};

pub struct Go;

impl Format for Go {
    fn info() -> PluginInfo {
        PluginInfo {
            format: "go".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            suggested_grants: vec!["proxy.golang.org:443".into(), "sum.golang.org:443".into()],
        }
    }

    /// A module path has any number of segments: each route ends with the
    /// fixed `@v/…` or `@latest` tail, which no module path element can
    /// equal (`@` is not allowed in module paths). The checksum database
    /// comes first: `sumdb` has no dot, so it is no module's first element.
    fn router() -> Router {
        Router::new()
            .get(
                "sumdb/{name}/supported",
                "sumdb-supported",
                SUMDB,
                sumdb::supported,
            )
            .get("sumdb/{name}/latest", "sumdb-latest", SUMDB, sumdb::latest)
            .get(
                "sumdb/{name}/lookup/{key*}",
                "sumdb-lookup",
                SUMDB,
                sumdb::lookup,
            )
            .get(
                "sumdb/{name}/tile/{tile*}",
                "sumdb-tile",
                SUMDB,
                sumdb::tile,
            )
            .get("{module*}/@v/list", "list", READ, list)
            .merged("list", merge::list)
            .get("{module*}/@latest", "latest", READ, latest)
            .merged("latest", merge::latest)
            .get("{module*}/@v/{file}", "file", READ, file)
            .put("{module*}/@v/{file}", "upload", WRITE, upload::upload)
            .delete("{module*}/@v/{version}", "delete", DELETE, serve::delete)
            .post("{module*}/@v/{version}/yank", "yank", WRITE, serve::yank)
            .post(
                "{module*}/@v/{version}/unyank",
                "unyank",
                WRITE,
                serve::unyank,
            )
    }

    /// The go command prints the body of an error answer (`server
    /// response: …`): plain text, one message.
    fn error(status: u16, message: &str) -> Response {
        Response::text_error(status, message)
    }
}

register_format!(Go);

// The reads, from the catalog or, in a proxy repository, the upstream.
fn list(req: &mut Request) -> Result<Response, HttpError> {
    match req.is_proxy() {
        true => proxy::list(req),
        false => serve::list(req),
    }
}

fn latest(req: &mut Request) -> Result<Response, HttpError> {
    match req.is_proxy() {
        true => proxy::latest(req),
        false => serve::latest(req),
    }
}

fn file(req: &mut Request) -> Result<Response, HttpError> {
    match req.is_proxy() {
        true => proxy::file(req),
        false => serve::file(req),
    }
}

/// A checksum database is the repository's, no module's: reading it is
/// reading the repository.
const SUMDB: Need = need::read_repo();

// Permissions apply to the module path as go.mod spells it, whatever the
// URL's escaping; a path that does not decode keeps its raw form (the handler
// refuses it before any host call).
const READ: Need = Need::Custom(|p| module_access(Action::Read, p));
const WRITE: Need = Need::Custom(|p| module_access(Action::Write, p));
const DELETE: Need = Need::Custom(|p| module_access(Action::Delete, p));

fn module_access(action: Action, params: &Params) -> Vec<Access> {
    let raw = params.get("module");
    let package = module::unescape_path(raw).unwrap_or_else(|_| raw.to_string());
    vec![Access {
        action,
        package: Some(package),
        repository: None,
    }]
}

/// Catalog asset paths of a version's files.
pub(crate) fn asset_path(module: &str, version: &str, ext: &str) -> String {
    format!("{module}/@v/{version}.{ext}")
}
