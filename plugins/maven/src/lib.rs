//! The Maven format: a hosted Maven 2 layout repository for `mvn deploy`
//! and dependency resolution. Each directory version is a catalog version
//! and each deployed file an asset of it (see `store`), checksum sidecars
//! are answered from the digests the host computed while storing, and
//! `maven-metadata.xml` is generated from the catalog. A proxy repository
//! reads through to its upstream instead (`proxy`). See
//! docs/formats/maven.md.

mod deploy;
mod layout;
mod metadata;
mod proxy;
mod serve;
mod sidecar;
mod store;

#[cfg(test)]
mod proxy_tests;
#[cfg(test)]
mod tests;

use wharf_sdk::types::{Access, Action, PluginInfo};
use wharf_sdk::{Format, Need, Params, Response, Router, register_format};

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
    fn router() -> Router {
        Router::new()
            .get("{path*}", "get", Need::Custom(read), serve::get)
            .put("{path*}", "deploy", Need::Custom(write), deploy::put)
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

fn read(params: &Params) -> Vec<Access> {
    access(params, Action::Read)
}

fn write(params: &Params) -> Vec<Access> {
    access(params, Action::Write)
}

/// A path outside the layout needs the repository-level access; its handler
/// then answers 404 or 400.
fn access(params: &Params, action: Action) -> Vec<Access> {
    let package = layout::parse(params.get("path")).ok().map(|p| p.package());
    vec![Access {
        action,
        package,
        repository: None,
    }]
}
