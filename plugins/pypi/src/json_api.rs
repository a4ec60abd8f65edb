//! The JSON API in PyPI's shape: `pypi/<project>/json` (`info` of the latest
//! release, every release's files, `urls` of the latest) and
//! `pypi/<project>/<version>/json` (`info` and `urls` of that release).

use serde_json::{Map, Value, json};
use wharf_sdk::{HttpError, Request, Response};

use crate::names;
use crate::record::{self, File, YankReasons};

pub fn project(req: &mut Request) -> Result<Response, HttpError> {
    let project = names::normalize(req.param("project"));
    let files = record::files(&project);
    let versions = record::versions(&files);
    // Like PyPI: the newest final release that is not yanked, else the newest.
    let live = |v: &&String| files.iter().any(|f| &f.dist.version == *v && !f.yanked);
    let latest = versions
        .iter()
        .rev()
        .find(|v| live(v) && !record::is_prerelease(v))
        .or_else(|| versions.iter().rev().find(live))
        .or(versions.last())
        .ok_or_else(|| HttpError::not_found(format!("no project {project}")))?;
    let reasons = YankReasons::load(&project);
    let releases: Map<String, Value> = versions
        .iter()
        .map(|v| {
            (
                v.clone(),
                json!(release(&files, v, &reasons, req.base_url())),
            )
        })
        .collect();
    let body = json!({
        "info": info(&files, latest, &reasons),
        "releases": releases,
        "urls": release(&files, latest, &reasons, req.base_url()),
        "last_serial": 0,
    });
    Ok(Response::json(200, &body).cacheable(&[&project], &[]))
}

pub fn version(req: &mut Request) -> Result<Response, HttpError> {
    let project = names::normalize(req.param("project"));
    let version = req.param("version");
    let files = record::files(&project);
    if !files.iter().any(|f| f.dist.version == version) {
        return Err(HttpError::not_found(format!(
            "no release {version} of {project}"
        )));
    }
    let reasons = YankReasons::load(&project);
    let body = json!({
        "info": info(&files, version, &reasons),
        "urls": release(&files, version, &reasons, req.base_url()),
        "last_serial": 0,
    });
    Ok(Response::json(200, &body).cacheable(&[&project], &[]))
}

/// The release's metadata, from its most recent upload.
fn info(files: &[File], version: &str, reasons: &YankReasons) -> Value {
    let file = files
        .iter()
        .rev()
        .find(|f| f.dist.version == version)
        .expect("the release has files");
    let d = &file.dist;
    let mut info = d.info.clone();
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
    info.insert("name".into(), json!(d.name));
    info.insert("version".into(), json!(d.version));
    info.insert("requires_python".into(), json!(d.requires_python));
    info.insert("yanked".into(), json!(file.yanked));
    let reason = reasons.get(version);
    info.insert(
        "yanked_reason".into(),
        json!((file.yanked && !reason.is_empty()).then_some(reason)),
    );
    Value::Object(info)
}

fn release(files: &[File], version: &str, reasons: &YankReasons, base_url: &str) -> Vec<Value> {
    files
        .iter()
        .filter(|f| f.dist.version == version)
        .map(|f| {
            let d = &f.dist;
            let project = names::normalize(&d.name);
            let reason = reasons.get(version);
            let time = record::iso8601(f.published_at);
            json!({
                "filename": d.filename,
                "url": format!("{base_url}{}", record::file_path(&project, &d.filename)),
                "digests": { "sha256": d.sha256, "md5": d.md5, "blake2b_256": d.blake2_256 },
                "md5_digest": d.md5,
                "size": d.size,
                "packagetype": d.packagetype,
                "python_version": d.python_version,
                "requires_python": d.requires_python,
                "upload_time": time.split('.').next(),
                "upload_time_iso_8601": time,
                "yanked": f.yanked,
                "yanked_reason": (f.yanked && !reason.is_empty()).then_some(reason),
            })
        })
        .collect()
}
