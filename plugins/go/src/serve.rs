//! The GOPROXY reads (https://go.dev/ref/mod#goproxy-protocol) and the
//! management endpoints (delete, yank, unyank).
//!
//! Not found is a 404 with a plain-text body, also for a path or version
//! that cannot exist: the go command then falls through to the next
//! `GOPROXY` entry (`,` separator) or reports the body.

use wharf_sdk::time::UtcTime;
use wharf_sdk::types::VersionRow;
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::asset_path;
use crate::module::{self, Version};

/// The module of a read route, or 404 (what proxy.golang.org answers for a
/// malformed path).
pub(crate) fn read_module(req: &Request) -> Result<String, HttpError> {
    module::unescape_path(req.param("module"))
        .map_err(|e| HttpError::not_found(format!("not found: {e}")))
}

/// The module of a write route, or 400.
pub(crate) fn write_module(req: &Request) -> Result<String, HttpError> {
    module::unescape_path(req.param("module")).map_err(HttpError::bad_request)
}

/// Versions that `list` and `latest` show: not yanked, parsed.
fn visible(rows: Vec<VersionRow>) -> Vec<Version> {
    rows.into_iter()
        .filter(|r| !r.yanked)
        .filter_map(|r| Version::parse(&r.version).ok())
        .collect()
}

/// `GET {module}/@v/list`: the release and pre-release versions, one a line
/// (pseudo-versions are left out, as the protocol asks). A module without
/// any version is 404; one whose versions are all yanked or pseudo lists
/// nothing, so `@latest` is asked next.
pub fn list(req: &mut Request) -> Result<Response, HttpError> {
    let module = read_module(req)?;
    let rows = catalog::all_versions(&module)?;
    if rows.is_empty() {
        return Err(HttpError::not_found(format!(
            "not found: module {module} has no versions here"
        )));
    }
    let mut versions: Vec<Version> = visible(rows)
        .into_iter()
        .filter(|v| !v.is_pseudo())
        .collect();
    versions.sort();
    let mut body = String::new();
    for v in versions {
        body.push_str(&v.to_string());
        body.push('\n');
    }
    Ok(Response::text(200, body).cacheable(&[&module], &[]))
}

/// `GET {module}/@latest`: the highest release, else the highest
/// pre-release, else the highest pseudo-version, as the go command picks
/// from a list; yanked versions are never picked.
pub fn latest(req: &mut Request) -> Result<Response, HttpError> {
    let module = read_module(req)?;
    let rows = catalog::all_versions(&module)?;
    let times: Vec<(String, u64)> = rows
        .iter()
        .map(|r| (r.version.clone(), r.published_at))
        .collect();
    let versions = visible(rows);
    let rank = |v: &Version| match (v.is_pseudo(), v.is_prerelease()) {
        (true, _) => 0,
        (false, true) => 1,
        (false, false) => 2,
    };
    let best = versions
        .iter()
        .max_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)))
        .ok_or_else(|| {
            HttpError::not_found(format!("not found: module {module} has no versions here"))
        })?;
    let name = best.to_string();
    let at = times
        .iter()
        .find(|(v, _)| *v == name)
        .map_or(0, |(_, t)| *t);
    Ok(info(&name, at).cacheable(&[&module], &[]))
}

/// `{"Version": …, "Time": …}`; the time is the upload's, RFC 3339 in UTC.
fn info(version: &str, published_at: u64) -> Response {
    Response::json(
        200,
        &serde_json::json!({ "Version": version, "Time": rfc3339(published_at) }),
    )
}

pub(crate) fn rfc3339(unix_millis: u64) -> String {
    let t = UtcTime::from_unix_millis(unix_millis);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// `GET {module}/@v/{version}.info|.mod|.zip`. Yanked versions are still
/// served: builds that already depend on them keep working.
pub fn file(req: &mut Request) -> Result<Response, HttpError> {
    let module = read_module(req)?;
    let (version, ext) = file_name(req.param("file"))?;
    let version = version.to_string();
    let missing = || HttpError::not_found(format!("not found: {module}@{version}"));
    let row = catalog::get_version(&module, &version)?.ok_or_else(missing)?;
    let response = match ext {
        "info" => info(&version, row.published_at),
        _ => {
            let asset =
                catalog::find_asset(&asset_path(&module, &version, ext))?.ok_or_else(missing)?;
            Response::blob(&asset.blake3, &asset.content_type)
        }
    };
    Ok(response.cacheable(&[&module], &[]))
}

/// The version and extension (`info`, `mod` or `zip`) of a file name.
pub(crate) fn file_name(file: &str) -> Result<(Version, &str), HttpError> {
    let not_found = || HttpError::not_found(format!("not found: {file}"));
    let Some((escaped, ext)) = file.rsplit_once('.') else {
        return Err(not_found());
    };
    if !matches!(ext, "info" | "mod" | "zip") {
        return Err(not_found());
    }
    let version = module::unescape_version(escaped)
        .map_err(|e| HttpError::not_found(format!("not found: {e}")))?;
    Ok((version, ext))
}

/// The module and version of a management route; 404 when not stored.
fn stored(req: &Request) -> Result<(String, String), HttpError> {
    let module = write_module(req)?;
    let version = module::unescape_version(req.param("version"))
        .map_err(HttpError::bad_request)?
        .to_string();
    if catalog::get_version(&module, &version)?.is_none() {
        return Err(HttpError::not_found(format!(
            "not found: {module}@{version}"
        )));
    }
    Ok((module, version))
}

/// `DELETE {module}/@v/{version}`: the version, its zip and go.mod are
/// gone (a client whose go.sum names it can no longer download it).
pub fn delete(req: &mut Request) -> Result<Response, HttpError> {
    let (module, version) = stored(req)?;
    catalog::delete_version(&module, &version)?;
    Ok(ok(&format!("deleted {module}@{version}")))
}

/// `POST {module}/@v/{version}/yank`: hidden from `@v/list` and `@latest`,
/// still downloadable by exact version.
pub fn yank(req: &mut Request) -> Result<Response, HttpError> {
    let (module, version) = stored(req)?;
    catalog::set_yanked(&module, &version, true)?;
    Ok(ok(&format!("yanked {module}@{version}")))
}

/// `POST {module}/@v/{version}/unyank`.
pub fn unyank(req: &mut Request) -> Result<Response, HttpError> {
    let (module, version) = stored(req)?;
    catalog::set_yanked(&module, &version, false)?;
    Ok(ok(&format!("unyanked {module}@{version}")))
}

fn ok(message: &str) -> Response {
    Response::text(200, format!("{message}\n"))
}
