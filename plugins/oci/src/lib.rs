//! The OCI format: the OCI distribution spec v1.1 (and the Docker registry v2
//! API it grew from) at `/v2/`: pull, push (monolithic, chunked, streamed,
//! mount), content discovery (tags, catalog, referrers) and deletes.
//! How blobs, manifests and tags map onto the catalog: see `store`.
//! See docs/formats/oci.md.

mod blob;
mod discovery;
mod error;
mod manifest;
mod names;
mod proxy;
mod store;
mod upload;

#[cfg(test)]
mod proxy_tests;
#[cfg(test)]
mod tests;

use wharf_sdk::need::{delete, read, read_repo, write};
use wharf_sdk::types::{Access, Action, PluginInfo, RequestHead};
use wharf_sdk::{
    Format, HttpError, Need, Params, Request, Response, Router, query_pairs, register_format,
};

pub struct Oci;

impl Format for Oci {
    fn info() -> PluginInfo {
        PluginInfo {
            format: "oci".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            suggested_grants: vec![],
        }
    }

    /// Upload routes come before `blobs/{digest}`; `{name*}` backs off so
    /// nested names (`org/team/app`) match.
    fn router() -> Router {
        Router::new()
            .get("v2", "base", read_repo(), base)
            .get(
                "v2/_catalog",
                "catalog",
                read_repo(),
                discovery::repositories,
            )
            .post(
                "v2/{name*}/blobs/uploads",
                "upload-start",
                Need::Head(upload_start),
                upload::start,
            )
            .patch(
                "v2/{name*}/blobs/uploads/{id}",
                "upload-chunk",
                write("name"),
                upload::patch,
            )
            .put(
                "v2/{name*}/blobs/uploads/{id}",
                "upload-finish",
                write("name"),
                upload::finish,
            )
            .get(
                "v2/{name*}/blobs/uploads/{id}",
                "upload-status",
                write("name"),
                upload::status,
            )
            .delete(
                "v2/{name*}/blobs/uploads/{id}",
                "upload-cancel",
                write("name"),
                upload::cancel,
            )
            .get("v2/{name*}/blobs/{digest}", "blob", read("name"), blob::get)
            .delete(
                "v2/{name*}/blobs/{digest}",
                "blob-delete",
                delete("name"),
                blob::delete,
            )
            .get(
                "v2/{name*}/manifests/{reference}",
                "manifest",
                read("name"),
                manifest::get,
            )
            .put(
                "v2/{name*}/manifests/{reference}",
                "manifest-put",
                write("name"),
                manifest::put,
            )
            .delete(
                "v2/{name*}/manifests/{reference}",
                "manifest-delete",
                Need::Custom(manifest_delete),
                manifest::delete,
            )
            .get(
                "v2/{name*}/tags/list",
                "tags",
                read("name"),
                discovery::tags,
            )
            .get(
                "v2/{name*}/referrers/{digest}",
                "referrers",
                read("name"),
                discovery::referrers,
            )
    }

    fn error(status: u16, message: &str) -> Response {
        error::render(status, message)
    }
}

register_format!(Oci);

/// `POST /v2/<name>/blobs/uploads/` writes `name`; a cross-repository mount
/// (`?mount=<digest>&from=<source>`) also reads its source, which the host
/// then checks before the handler runs.
fn upload_start(params: &Params, head: &RequestHead) -> Vec<Access> {
    let name = params.get("name").to_string();
    let mut accesses = vec![Access {
        action: Action::Write,
        package: Some(name),
        repository: None,
    }];
    let query = head.raw_query.as_deref().unwrap_or("");
    let has = |key: &str| query_pairs(query).find(|(k, _)| k == key).map(|(_, v)| v);
    if let (Some(_), Some(from)) = (has("mount"), has("from")) {
        accesses.push(Access {
            action: Action::Read,
            package: Some(from),
            repository: None,
        });
    }
    accesses
}

/// `GET /v2/`: 200 for a signed-in caller. Anonymous callers get the 401
/// challenge, which is how Docker-style clients learn to send credentials.
fn base(req: &mut Request) -> Result<Response, HttpError> {
    let response = match req.user() {
        Some(_) => Response::json(200, &serde_json::json!({})),
        None => error::render(401, "UNAUTHORIZED: authentication required"),
    };
    Ok(response.header("docker-distribution-api-version", "registry/2.0"))
}

/// `DELETE /v2/<name>/manifests/<reference>` needs delete, as the spec says.
/// A tag reference only removes the tag, a catalog write the host checks as
/// write: that route needs both.
fn manifest_delete(p: &Params) -> Vec<Access> {
    let access = |action| Access {
        action,
        package: Some(p.get("name").to_string()),
        repository: None,
    };
    let mut needs = vec![access(Action::Delete)];
    if !p.get("reference").contains(':') {
        needs.push(access(Action::Write));
    }
    needs
}
