//! The Debian format: `.deb` uploads at
//! `upload/{dist}/{component}/{package}_{version}_{arch}.deb`, a signed APT
//! repository per distribution (`dists/{dist}/InRelease`, `Release`,
//! `Release.gpg`, `{component}/binary-{arch}/Packages{,.gz,.xz}` and their
//! `by-hash/` copies), the files under `pool/`, the public key at `key.asc`,
//! and delete of a version. See docs/formats/deb.md.
//!
//! A proxy repository passes `dists/` through from its upstream and pulls
//! `.deb` files once, checked against the upstream's index (`proxy`). A
//! group merges its members' suites and signs them (`merge`).
//!
//! Catalog mapping: package = the binary package name; version = the Debian
//! version, its assets the `.deb` of each architecture at its pool path,
//! each with an [`upload::Stored`] (distribution, component, control stanza,
//! digests) as metadata. Indices are rendered from those and cached by the
//! host until the next write.

pub mod control;
pub mod index;
pub mod merge;
pub mod names;
pub mod proxy;
pub mod serve;
pub mod upload;
pub mod upstream_index;
pub mod version;

#[cfg(test)]
mod proxy_tests;
#[cfg(test)]
mod tests;

use wharf_sdk::types::{Access, Action, PluginInfo};
use wharf_sdk::{
    Format, Need, Response, Router, default_message, need::read_repo, register_format,
};

/// The host key InRelease and Release.gpg are signed with (granted in
/// `plugin-registry.toml`: `signing_keys = ["deb"]`).
pub const KEY_ID: &str = "deb";

pub struct Deb;

impl Format for Deb {
    fn info() -> PluginInfo {
        PluginInfo {
            format: "deb".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            suggested_grants: vec![],
        }
    }

    fn router() -> Router {
        Router::new()
            .get("key.asc", "key", read_repo(), serve::key)
            .get(
                "dists/{dist}/{file}",
                "release",
                read_repo(),
                serve::release,
            )
            .get(
                "dists/{dist}/{component}/{binary}/{file}",
                "packages",
                read_repo(),
                serve::packages,
            )
            .get(
                "dists/{dist}/{component}/{binary}/by-hash/{hash}/{digest}",
                "by-hash",
                read_repo(),
                serve::by_hash,
            )
            // Anything else under dists/ (Translation, Contents, …): a
            // proxy's upstream may have it; a hosted repository does not.
            .get("dists/{path*}", "dists", read_repo(), serve::other_dists)
            .get("pool/{path*}", "pool", POOL_READ, serve::pool)
            .put(
                "upload/{dist}/{component}/{file}",
                "upload",
                UPLOAD,
                upload::upload,
            )
            .delete(
                "packages/{package}/{version}",
                "delete",
                DELETE,
                upload::delete,
            )
            // A group's suites are one signed suite over its members'.
            .merged("release", merge::release)
            .merged("packages", merge::packages)
    }

    /// apt prints the status line; the body says why, in plain text, for
    /// people and scripts (curl).
    fn error(status: u16, message: &str) -> Response {
        let message = default_message(status, message);
        Response::bytes(
            status,
            "text/plain; charset=utf-8",
            format!("{message}\n").into_bytes(),
        )
    }
}

register_format!(Deb);

/// A pool file is read as its package: the file name's first field.
const POOL_READ: Need = Need::Custom(|p| {
    let file = p.get("path").rsplit('/').next().unwrap_or("");
    access(Action::Read, names::package_of_file(file))
});
/// An upload writes the package its file name names.
const UPLOAD: Need = Need::Custom(|p| access(Action::Write, names::package_of_file(p.get("file"))));

/// A delete also records when it happened (the package's kv: a write).
const DELETE: Need = Need::Custom(|p| {
    let package = p.get("package");
    [
        access(Action::Delete, package),
        access(Action::Write, package),
    ]
    .concat()
});

fn access(action: Action, package: &str) -> Vec<Access> {
    vec![Access {
        action,
        package: Some(package.to_string()),
        repository: None,
    }]
}
