//! The Composer format: zip uploads at `packages/upload/{vendor}/{package}/{version}`,
//! Composer v2 repository metadata (`packages.json`, minified
//! `p2/{vendor}/{package}.json` and `~dev.json`), dist downloads, and delete
//! of a version. See docs/formats/composer.md.
//!
//! Catalog mapping: package = `vendor/package` (lower case); version = the
//! normalized version (`1.2.3.0`, `dev-main`), its metadata a
//! [`metadata::Stored`]; the zip is the version's one asset at
//! `dists/{vendor}/{package}/{normalized}.zip`.

mod merge;
pub mod metadata;
pub mod names;
mod proxy;
pub mod upload;

#[cfg(test)]
mod proxy_tests;
#[cfg(test)]
mod tests;

pub use names::{normalize, package as package_name};

use wharf_sdk::types::{Access, Action, PluginInfo};
use wharf_sdk::{
    Format, HttpError, Need, Request, Response, Router, catalog, default_message, need::read_repo,
    register_format,
};

pub struct Composer;

impl Format for Composer {
    fn info() -> PluginInfo {
        PluginInfo {
            format: "composer".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            suggested_grants: vec!["repo.packagist.org:443".into()],
        }
    }

    fn router() -> Router {
        Router::new()
            .get("packages.json", "root", read_repo(), metadata::root)
            .merged("root", merge::root)
            .get("p2/{vendor}/{file}", "p2", P2_READ, metadata::p2)
            .merged("p2", merge::p2)
            .get("dists/{vendor}/{package}/{file}", "dist", READ, dist)
            .put(
                "packages/upload/{vendor}/{package}/{version}",
                "upload",
                WRITE,
                upload::upload,
            )
            .delete(
                "packages/{vendor}/{package}/{version}",
                "delete",
                DELETE,
                upload::delete,
            )
            .delete(
                "packages/upload/{vendor}/{package}/{version}",
                "delete",
                DELETE,
                upload::delete,
            )
    }

    /// Composer prints the `message` of a JSON error body (and the status
    /// line); Packagist-style `{"status":"error","message":…}`.
    fn error(status: u16, message: &str) -> Response {
        let message = default_message(status, message);
        Response::json(
            status,
            &serde_json::json!({ "status": "error", "message": message }),
        )
    }
}

register_format!(Composer);

const READ: Need = Need::Custom(|p| access(Action::Read, p.get("vendor"), p.get("package")));
const WRITE: Need = Need::Custom(|p| access(Action::Write, p.get("vendor"), p.get("package")));
const DELETE: Need = Need::Custom(|p| access(Action::Delete, p.get("vendor"), p.get("package")));
/// `p2/{vendor}/{package}.json` and `~dev.json` read `vendor/package`.
const P2_READ: Need = Need::Custom(|p| {
    let (package, _) = metadata::p2_file(p.get("file"));
    access(Action::Read, p.get("vendor"), package)
});

/// Permissions apply to the lower-case `vendor/package`, whatever spelling
/// the URL uses.
fn access(action: Action, vendor: &str, package: &str) -> Vec<Access> {
    vec![Access {
        action,
        package: Some(format!("{vendor}/{package}").to_ascii_lowercase()),
        repository: None,
    }]
}

/// `GET dists/{vendor}/{package}/{normalized}.zip`: the host streams the zip.
fn dist(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return proxy::dist(req);
    }
    let name = names::package(req.param("vendor"), req.param("package"))?;
    let file = req.param("file");
    if file.contains('/') {
        return Err(HttpError::not_found("no such file"));
    }
    let path = format!("dists/{name}/{file}");
    let asset = catalog::find_asset(&path)?
        .ok_or_else(|| HttpError::not_found(format!("no file {path}")))?;
    Ok(Response::blob(&asset.blake3, "application/zip").cacheable(&[&name], &[]))
}
