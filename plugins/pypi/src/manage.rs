//! Yank, unyank (PEP 592) and delete a release: Wharf endpoints, since PyPI
//! offers these only in its web UI.

use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::names;
use crate::record::{self, File, YankReasons};

/// Longest yank reason accepted.
const REASON_LIMIT: usize = 1024;

/// The files of `pypi/{project}/{version}`, or 404.
fn release(req: &Request) -> Result<(String, String, Vec<File>), HttpError> {
    let project = names::normalize(req.param("project"));
    let version = req.param("version").to_string();
    let files: Vec<File> = record::files(&project)
        .into_iter()
        .filter(|f| f.dist.version == version)
        .collect();
    if files.is_empty() {
        return Err(HttpError::not_found(format!(
            "no release {version} of {project}"
        )));
    }
    Ok((project, version, files))
}

/// `POST pypi/{project}/{version}/yank`, the reason in `?reason=` or as the
/// plain-text body.
pub fn yank(req: &mut Request) -> Result<Response, HttpError> {
    let (project, version, files) = release(req)?;
    let reason = match req.query("reason") {
        Some(r) => r,
        None => String::from_utf8(req.take_body()?.read_to_end(REASON_LIMIT)?)
            .map_err(|_| HttpError::bad_request("the reason is not UTF-8"))?,
    };
    let mut reasons = YankReasons::load(&project);
    match reason.trim() {
        "" => reasons.0.remove(&version),
        r => reasons.0.insert(version.clone(), r.to_string()),
    };
    // The reason first: the yank itself is what invalidates cached pages.
    reasons.save(&project)?;
    set_yanked(&project, &files, true)
}

/// `POST pypi/{project}/{version}/unyank`.
pub fn unyank(req: &mut Request) -> Result<Response, HttpError> {
    let (project, _, files) = release(req)?;
    set_yanked(&project, &files, false)
}

fn set_yanked(project: &str, files: &[File], yanked: bool) -> Result<Response, HttpError> {
    for f in files {
        catalog::set_yanked(project, &f.row_version, yanked)?;
    }
    Ok(ok())
}

/// `DELETE pypi/{project}/{version}`: every file of the release.
pub fn delete(req: &mut Request) -> Result<Response, HttpError> {
    let (project, _, files) = release(req)?;
    for f in &files {
        catalog::delete_version(&project, &f.row_version)?;
    }
    Ok(ok())
}

fn ok() -> Response {
    Response::bytes(200, "text/plain; charset=utf-8", b"OK\n".to_vec())
}
