//! Yank, unyank (PEP 592) and delete a release or one file of it: Wharf
//! endpoints, since PyPI offers these only in its web UI. Each request is one
//! catalog transaction.

use wharf_sdk::types::{Owner, Write};
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::names;
use crate::record::{self, YANK_REASONS, YankReasons};

/// Longest yank reason accepted.
const REASON_LIMIT: usize = 1024;

/// The project and version of `pypi/{project}/{version}`, or 404.
fn release(req: &Request) -> Result<(String, String), HttpError> {
    let project = names::normalize(req.param("project"));
    let version = req.param("version").to_string();
    if catalog::get_version(&project, &version)?.is_none() {
        return Err(HttpError::not_found(format!(
            "no release {version} of {project}"
        )));
    }
    Ok((project, version))
}

/// `POST pypi/{project}/{version}/yank`, the reason in `?reason=` or as the
/// plain-text body.
pub fn yank(req: &mut Request) -> Result<Response, HttpError> {
    let (project, version) = release(req)?;
    let reason = match req.query("reason") {
        Some(r) => r,
        None => String::from_utf8(req.take_body()?.read_to_end(REASON_LIMIT)?)
            .map_err(|_| HttpError::bad_request("the reason is not UTF-8"))?,
    };
    let mut reasons = YankReasons::load(&project)?;
    match reason.trim() {
        "" => reasons.0.remove(&version),
        r => reasons.0.insert(version.clone(), r.to_string()),
    };
    catalog::apply(&[
        Write::KvPut((
            Some(project.clone()),
            YANK_REASONS.into(),
            serde_json::to_vec(&reasons)?,
        )),
        Write::SetYanked((project, version, true)),
    ])?;
    Ok(ok())
}

/// `POST pypi/{project}/{version}/unyank`.
pub fn unyank(req: &mut Request) -> Result<Response, HttpError> {
    let (project, version) = release(req)?;
    catalog::set_yanked(&project, &version, false)?;
    Ok(ok())
}

/// `DELETE pypi/{project}/{version}`: the release and every file of it.
pub fn delete(req: &mut Request) -> Result<Response, HttpError> {
    let (project, version) = release(req)?;
    catalog::delete_version(&project, &version)?;
    Ok(ok())
}

/// `DELETE pypi/{project}/{version}/{file}`: one file (and its core
/// metadata); the release goes with its last file.
pub fn delete_file(req: &mut Request) -> Result<Response, HttpError> {
    let (project, version) = release(req)?;
    let path = record::file_path(&project, req.param("file"));
    let owner = Owner {
        package: project.clone(),
        version: Some(version.clone()),
    };
    let metadata = record::metadata_path(&path);
    let mine: Vec<String> = catalog::list_assets(&owner, Some(&path), None, 2)?
        .into_iter()
        .map(|a| a.path)
        .filter(|p| *p == path || *p == metadata)
        .collect();
    if !mine.contains(&path) {
        return Err(HttpError::not_found(format!(
            "no file {} in release {version} of {project}",
            req.param("file")
        )));
    }
    // A file has at most two assets: among the release's first three, one
    // not of this file means another file is left.
    let last = catalog::list_assets(&owner, None, None, 3)?
        .iter()
        .all(|a| mine.contains(&a.path));
    let writes: Vec<Write> = match last {
        true => vec![Write::DeleteVersion((project, version))],
        false => mine
            .into_iter()
            .map(|p| Write::RemoveAsset((project.clone(), p)))
            .collect(),
    };
    catalog::apply(&writes)?;
    Ok(ok())
}

fn ok() -> Response {
    Response::text(200, "OK\n")
}
