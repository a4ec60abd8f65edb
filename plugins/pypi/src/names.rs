//! Project names (normalization spec) and distribution file names (PEP 427
//! wheels, PEP 625 sdists).

use wharf_sdk::HttpError;

/// `[-_.]+` → `-`, lower case: the catalog key of a project.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// A valid project name: ASCII letters and digits, with `-_.` inside.
pub fn validate(name: &str) -> Result<(), HttpError> {
    let bytes = name.as_bytes();
    let edge_ok = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    let ok = edge_ok(bytes.first())
        && edge_ok(bytes.last())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    match ok {
        true => Ok(()),
        false => Err(HttpError::bad_request(format!(
            "invalid project name {name:?}"
        ))),
    }
}

/// Versions as they appear in file names (wheels write `-` as `_`).
fn same_version(a: &str, b: &str) -> bool {
    let key = |v: &str| v.to_ascii_lowercase().replace('_', "-");
    key(a) == key(b)
}

#[derive(Debug, PartialEq)]
pub enum Kind {
    Wheel,
    Sdist,
}

impl Kind {
    /// The `filetype` of the upload form and `packagetype` of the JSON API.
    pub fn filetype(&self) -> &'static str {
        match self {
            Kind::Wheel => "bdist_wheel",
            Kind::Sdist => "sdist",
        }
    }
}

/// Checks that `filename` is a distribution of `project` at `version`.
pub fn check_filename(filename: &str, project: &str, version: &str) -> Result<Kind, HttpError> {
    let bad = |why: &str| HttpError::bad_request(format!("invalid filename {filename:?}: {why}"));
    if filename.contains(['/', '\\']) || filename.starts_with('.') {
        return Err(bad("not a plain file name"));
    }
    let project = normalize(project);
    if let Some(stem) = filename.strip_suffix(".whl") {
        // {name}-{ver}(-{build})?-{py}-{abi}-{plat}.whl
        let parts: Vec<&str> = stem.split('-').collect();
        if parts.len() != 5 && parts.len() != 6 {
            return Err(bad("a wheel name has 5 or 6 dash-separated parts"));
        }
        if parts.len() == 6 && !parts[2].starts_with(|c: char| c.is_ascii_digit()) {
            return Err(bad("a build tag starts with a digit"));
        }
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad("empty part"));
        }
        if normalize(parts[0]) != project {
            return Err(bad("the name does not match the project"));
        }
        if !same_version(parts[1], version) {
            return Err(bad("the version does not match the upload"));
        }
        return Ok(Kind::Wheel);
    }
    // {name}-{ver}.tar.gz (PEP 625); legacy .zip sdists are still accepted.
    let stem = filename
        .strip_suffix(".tar.gz")
        .or_else(|| filename.strip_suffix(".zip"))
        .ok_or_else(|| bad("only .whl, .tar.gz and .zip files are accepted"))?;
    let (name, file_version) = stem
        .rsplit_once('-')
        .ok_or_else(|| bad("no version in the name"))?;
    if normalize(name) != project {
        return Err(bad("the name does not match the project"));
    }
    if !same_version(file_version, version) {
        return Err(bad("the version does not match the upload"));
    }
    Ok(Kind::Sdist)
}
