//! The JSON API in PyPI's shape: `pypi/<project>/json` (`info` of the latest
//! release, every release's files, `urls` of the latest) and
//! `pypi/<project>/<version>/json` (`info` and `urls` of that release).

use serde_json::{Map, Value, json};
use wharf_sdk::{HttpError, Request, Response};

use crate::names;
use crate::record::{self, Release, YankReasons};

/// `GET pypi/<project>/json`: lists every release, so it loads them all.
pub fn project(req: &mut Request) -> Result<Response, HttpError> {
    let project = names::normalize(req.param("project"));
    let releases = record::releases(&project)?;
    let ordered = ordered(&releases);
    // Like PyPI: the newest final release that is not yanked, else the newest.
    let latest = ordered
        .iter()
        .rev()
        .find(|r| !r.yanked && !record::is_prerelease(&r.version))
        .or_else(|| ordered.iter().rev().find(|r| !r.yanked))
        .or(ordered.last())
        .ok_or_else(|| HttpError::not_found(format!("no project {project}")))?;
    let reasons = YankReasons::load(&project)?;
    let base_url = req.base_url();
    let files: Map<String, Value> = ordered
        .iter()
        .map(|r| {
            (
                r.version.clone(),
                json!(urls(&project, r, &reasons, base_url)),
            )
        })
        .collect();
    let body = json!({
        "info": info(latest, &reasons),
        "releases": files,
        "urls": urls(&project, latest, &reasons, base_url),
        "last_serial": 0,
    });
    Ok(Response::json(200, &body).cacheable(&[&project], &[]))
}

/// `GET pypi/<project>/<version>/json`: that release only.
pub fn version(req: &mut Request) -> Result<Response, HttpError> {
    let project = names::normalize(req.param("project"));
    let version = req.param("version");
    let release = record::release(&project, version)?
        .ok_or_else(|| HttpError::not_found(format!("no release {version} of {project}")))?;
    let reasons = YankReasons::load(&project)?;
    let body = json!({
        "info": info(&release, &reasons),
        "urls": urls(&project, &release, &reasons, req.base_url()),
        "last_serial": 0,
    });
    Ok(Response::json(200, &body).cacheable(&[&project], &[]))
}

/// Releases in version order (see `record::version_key`).
fn ordered(releases: &[Release]) -> Vec<&Release> {
    let mut ordered: Vec<&Release> = releases.iter().collect();
    ordered.sort_by_key(|r| record::version_key(&r.version));
    ordered
}

/// The release's metadata, as its first upload declared it.
fn info(release: &Release, reasons: &YankReasons) -> Value {
    let meta = &release.meta;
    let mut info = meta.info.clone();
    for list in ["classifiers", "requires_dist", "platform"] {
        info.entry(list).or_insert(json!([]));
    }
    // PyPI's `project_urls` is an object; the form sends "Label, URL" lines.
    let urls: Map<String, Value> = info
        .get("project_urls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|line| line.split_once(','))
        .map(|(k, v)| (k.trim().to_string(), json!(v.trim())))
        .collect();
    info.insert("project_urls".into(), Value::Object(urls));
    info.insert("name".into(), json!(meta.name));
    info.insert("version".into(), json!(release.version));
    info.insert("requires_python".into(), json!(meta.requires_python));
    info.insert("yanked".into(), json!(release.yanked));
    info.insert("yanked_reason".into(), json!(reasons.of(release)));
    Value::Object(info)
}

/// The files of a release, in upload order.
fn urls(project: &str, release: &Release, reasons: &YankReasons, base_url: &str) -> Vec<Value> {
    let mut files: Vec<&record::File> = release.files.iter().collect();
    files.sort_by_key(|f| f.uploaded_at);
    files
        .iter()
        .map(|f| {
            let d = &f.dist;
            let time = record::iso8601(f.uploaded_at);
            json!({
                "filename": d.filename,
                "url": format!("{base_url}{}", record::file_path(project, &d.filename)),
                "digests": { "sha256": d.sha256, "md5": d.md5, "blake2b_256": d.blake2_256 },
                "md5_digest": d.md5,
                "size": d.size,
                "packagetype": d.packagetype,
                "python_version": d.python_version,
                "requires_python": d.requires_python,
                "upload_time": time.split('.').next(),
                "upload_time_iso_8601": time,
                "yanked": release.yanked,
                "yanked_reason": reasons.of(release),
            })
        })
        .collect()
}
