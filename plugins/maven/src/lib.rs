//! The Maven format: a hosted Maven 2 layout repository for `mvn deploy`
//! and dependency resolution. Each directory version is a catalog version
//! and each deployed file an asset of it (see `store`), checksum sidecars
//! are answered from the digests the host computed while storing, and
//! `maven-metadata.xml` is generated from the catalog. A proxy repository
//! reads through to its upstream instead (`proxy`); a group merges its
//! members' `maven-metadata.xml` and the sidecars of it (`merge`). See
//! docs/formats/maven.md.

mod deploy;
mod layout;
mod merge;
mod metadata;
mod proxy;
mod serve;
mod sidecar;
mod store;
mod version;
mod xml;

#[cfg(test)]
mod proxy_tests;
#[cfg(test)]
mod tests;

use wharf_sdk::types::{Access, Action, PluginInfo};
use wharf_sdk::{Format, Need, Params, Request, Response, Router, register_format};

pub struct Maven;

impl Format for Maven {
    fn info() -> PluginInfo {
        PluginInfo {
            format: "maven".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            suggested_grants: vec!["repo.maven.apache.org:443".into()],
        }
    }

    /// Every path is a file, a metadata document or a sidecar of one; the
    /// package (`groupId:artifactId`) the permission is about comes from it.
    /// Metadata and its sidecars have routes of their own, which a group
    /// merges; a file is the first member's that has it.
    fn router() -> Router {
        let metadata = Need::Custom(read_metadata);
        Router::new()
            .get(
                "{dir*}/maven-metadata.xml",
                "metadata",
                metadata,
                serve::get,
            )
            .get(SIDECARS[0], "metadata-sidecar", metadata, serve::get)
            .get(SIDECARS[1], "metadata-sidecar", metadata, serve::get)
            .get(SIDECARS[2], "metadata-sidecar", metadata, serve::get)
            .get(SIDECARS[3], "metadata-sidecar", metadata, serve::get)
            .get("{path*}", "get", Need::Custom(read), serve::get)
            .put("{path*}", "deploy", Need::Custom(write), deploy::put)
            .merged("metadata", merge::metadata)
            .merged("metadata-sidecar", merge::metadata_sidecar)
    }

    /// Maven prints the status line; a plain-text body shows up in its debug
    /// log and in curl. A 401 challenges for Basic: Maven sends credentials
    /// preemptively, but clients that wait for a challenge need one.
    fn error(status: u16, message: &str) -> Response {
        let response = Response::text_error(status, message);
        if status == 401 {
            response.header("www-authenticate", "Basic realm=\"wharf\"")
        } else {
            response
        }
    }
}

register_format!(Maven);

const SIDECARS: [&str; 4] = [
    "{dir*}/maven-metadata.xml.md5",
    "{dir*}/maven-metadata.xml.sha1",
    "{dir*}/maven-metadata.xml.sha256",
    "{dir*}/maven-metadata.xml.sha512",
];

/// The repository path a request names, whichever route it took: the
/// metadata routes match the directory, and their last segment literally.
pub fn request_path(req: &Request) -> String {
    match req.params.try_get("dir") {
        Some(dir) => {
            let name = req.head.raw_path.rsplit('/').find(|s| !s.is_empty());
            format!("{dir}/{}", name.unwrap_or_default())
        }
        None => req.param("path").to_string(),
    }
}

fn read_metadata(params: &Params) -> Vec<Access> {
    let path = format!("{}/{}", params.get("dir"), layout::METADATA);
    access_to(&path, Action::Read)
}

fn read(params: &Params) -> Vec<Access> {
    access(params, Action::Read)
}

fn write(params: &Params) -> Vec<Access> {
    access(params, Action::Write)
}

/// A path outside the layout needs the repository-level access; its handler
/// then answers 404 or 400.
fn access(params: &Params, action: Action) -> Vec<Access> {
    access_to(params.get("path"), action)
}

fn access_to(path: &str, action: Action) -> Vec<Access> {
    let package = layout::parse(path).ok().map(|p| p.package());
    vec![Access {
        action,
        package,
        repository: None,
    }]
}
