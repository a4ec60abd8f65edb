//! The PyPI format: twine uploads, the simple repository API pip installs
//! from (PEP 503/691/700/592/658/714), PyPI's JSON API, and yank, unyank and
//! delete endpoints. See docs/formats/pypi.md; the catalog mapping (a
//! release is a version, its files are assets) is described in `record`.
//! A group merges its members' simple pages and JSON API (`merge`).

mod json_api;
mod manage;
mod merge;
mod metadata;
mod names;
mod proxy;
mod record;
mod simple;
mod upload;

#[cfg(test)]
mod tests;

use wharf_sdk::need::{read_repo, write_repo};
use wharf_sdk::types::{Access, Action, PluginInfo};
use wharf_sdk::{
    Format, HttpError, Need, Params, Request, Response, Router, catalog, default_message,
    register_format,
};

pub struct Pypi;

impl Format for Pypi {
    fn info() -> PluginInfo {
        PluginInfo {
            format: "pypi".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            suggested_grants: vec!["pypi.org:443".into(), "files.pythonhosted.org:443".into()],
        }
    }

    fn router() -> Router {
        Router::new()
            // twine posts to the repository root; `legacy/` is PyPI's own path.
            .post("", "upload", write_repo(), upload::upload)
            .post("legacy", "upload", write_repo(), upload::upload)
            .get("simple", "simple-index", read_repo(), simple::index)
            .get("simple/{project}", "simple-project", READ, simple::project)
            .get("files/{project}/{file}", "file", READ, file)
            .get("pypi/{project}/json", "json", READ, json_api::project)
            .get(
                "pypi/{project}/{version}/json",
                "json-version",
                READ,
                json_api::version,
            )
            .post("pypi/{project}/{version}/yank", "yank", WRITE, manage::yank)
            .post(
                "pypi/{project}/{version}/unyank",
                "unyank",
                WRITE,
                manage::unyank,
            )
            .delete("pypi/{project}/{version}", "delete", DELETE, manage::delete)
            .delete(
                "pypi/{project}/{version}/{file}",
                "delete-file",
                DELETE,
                manage::delete_file,
            )
            .merged("simple-index", merge::index)
            .merged("simple-project", merge::project)
            .merged("json", merge::json_api)
    }

    /// PyPI answers errors in plain text and repeats the message as the
    /// reason phrase, which is what twine prints.
    fn error(status: u16, message: &str) -> Response {
        Response::text_error(status, message).reason(default_message(status, message))
    }
}

register_format!(Pypi);

// Permissions apply to the normalized name, whatever spelling the URL uses.
const READ: Need = Need::Custom(|p| project_access(Action::Read, p));
const WRITE: Need = Need::Custom(|p| project_access(Action::Write, p));
const DELETE: Need = Need::Custom(|p| project_access(Action::Delete, p));

fn project_access(action: Action, params: &Params) -> Vec<Access> {
    vec![Access {
        action,
        package: Some(names::normalize(params.get("project"))),
        repository: None,
    }]
}

/// `GET files/{project}/{file}`: a distribution or its `.metadata`, streamed by the host.
fn file(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return proxy::file(req);
    }
    let project = names::normalize(req.param("project"));
    let asset = catalog::find_asset(&record::file_path(&project, req.param("file")))?
        .ok_or_else(|| HttpError::not_found("file not found"))?;
    Ok(Response::blob(&asset.blake3, &asset.content_type).cacheable(&[&project], &[]))
}
