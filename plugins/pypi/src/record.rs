//! How PyPI releases live in the catalog.
//!
//! A release is a version row: package = the normalized project name,
//! version = the release version, metadata = a [`ReleaseMeta`] (the project
//! metadata of the upload form, README included), written once by the
//! release's first upload. Each distribution file is an asset of that
//! version at `files/<project>/<filename>`, its metadata a [`Dist`] (digests,
//! size, tags); a wheel's core metadata is a second asset at
//! `<path>.metadata` (PEP 658) with no metadata of its own. Yanking sets the
//! row's `yanked`; the optional reasons live in the project's kv entry
//! [`YankReasons`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use wharf_sdk::types::{Asset, VersionRow};
use wharf_sdk::{HttpError, Meta, catalog};

/// The kv key of a project's yank reasons.
pub const YANK_REASONS: &str = "yank-reasons";

/// Release-level metadata, from the release's first upload.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ReleaseMeta {
    /// The project name as uploaded (display form).
    pub name: String,
    pub requires_python: Option<String>,
    /// Project metadata fields of the upload form, for the JSON API.
    pub info: Map<String, Value>,
}

/// One uploaded distribution file: the metadata of its asset.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Dist {
    pub filename: String,
    /// `bdist_wheel` or `sdist`.
    pub packagetype: String,
    /// The `pyversion` field: `py3`, `cp312`, `source`, …
    pub python_version: String,
    pub requires_python: Option<String>,
    pub sha256: String,
    pub md5: String,
    /// Absent on files stored before Wharf computed it.
    #[serde(default)]
    pub blake2_256: Option<String>,
    pub size: u64,
    /// SHA-256 of the wheel's METADATA file, served at `<file>.metadata`.
    pub core_metadata_sha256: Option<String>,
}

/// Repository path a file (and `<path>.metadata`) is served at.
pub fn file_path(project: &str, filename: &str) -> String {
    format!("files/{project}/{filename}")
}

/// The path of a file's PEP 658 core metadata.
pub fn metadata_path(file_path: &str) -> String {
    format!("{file_path}.metadata")
}

/// A stored file.
pub struct File {
    pub dist: Dist,
    /// Unix milliseconds (PEP 700 `upload-time`).
    pub uploaded_at: u64,
}

/// A release and its files, by path.
pub struct Release {
    pub version: String,
    pub yanked: bool,
    pub meta: ReleaseMeta,
    pub files: Vec<File>,
}

/// Every release of a (normalized) project with its files, oldest first.
pub fn releases(project: &str) -> Result<Vec<Release>, HttpError> {
    catalog::all_versions(project)?
        .into_iter()
        .map(|row| with_files(project, row))
        .collect()
}

/// One release of a project, if it exists.
pub fn release(project: &str, version: &str) -> Result<Option<Release>, HttpError> {
    catalog::get_version(project, version)?
        .map(|row| with_files(project, row))
        .transpose()
}

fn with_files(project: &str, row: VersionRow) -> Result<Release, HttpError> {
    let files = catalog::all_assets(project, Some(&row.version))?
        .iter()
        .filter(|a| !a.path.ends_with(".metadata")) // file names end in .whl, .tar.gz or .zip
        .map(file)
        .collect::<Result<_, _>>()?;
    Ok(Release {
        meta: row.meta()?,
        version: row.version,
        yanked: row.yanked,
        files,
    })
}

fn file(asset: &Asset) -> Result<File, HttpError> {
    Ok(File {
        dist: asset.meta()?,
        uploaded_at: asset.added_at,
    })
}

/// Every file of `releases` with its release, in upload order.
pub fn files_by_upload(releases: &[Release]) -> Vec<(&Release, &File)> {
    let mut files: Vec<(&Release, &File)> = releases
        .iter()
        .flat_map(|r| r.files.iter().map(move |f| (r, f)))
        .collect();
    files.sort_by_key(|(_, f)| f.uploaded_at);
    files
}

/// Release versions in ascending PEP 440-ish order (see [`version_key`]).
pub fn versions(releases: &[Release]) -> Vec<&str> {
    let mut versions: Vec<&str> = releases.iter().map(|r| r.version.as_str()).collect();
    versions.sort_by_key(|v| version_key(v));
    versions
}

/// Ordering key: the numeric release segments, then pre-releases (`a`, `b`,
/// `rc`) before the final release and post-releases after; ties keep upload
/// order. Enough to pick "the latest" for the JSON API; pip does its own.
pub fn version_key(v: &str) -> (Vec<u64>, u8, u64) {
    let v = v.to_ascii_lowercase();
    let end = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let release = v[..end].split('.').filter_map(|s| s.parse().ok()).collect();
    let rest = v[end..].trim_start_matches(['-', '_', '.']);
    let number = |s: &str| {
        s.trim_start_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .unwrap_or(0)
    };
    let phase = match rest {
        "" => 3,
        r if r.starts_with("dev") => 0,
        r if r.starts_with('a') || r.starts_with("alpha") => 1,
        r if r.starts_with('b') || r.starts_with('c') || r.starts_with("rc") => 2,
        _ => 4,
    };
    (release, phase, number(rest))
}

/// Whether a version is a pre-release or development release.
pub fn is_prerelease(v: &str) -> bool {
    version_key(v).1 < 3
}

/// Per-project yank reasons: version → reason, in the project's kv entry.
#[derive(Serialize, Deserialize, Default)]
pub struct YankReasons(pub std::collections::BTreeMap<String, String>);

impl YankReasons {
    pub fn load(project: &str) -> Result<YankReasons, HttpError> {
        match catalog::kv_get(Some(project), YANK_REASONS)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| HttpError::new(500, format!("unreadable yank reasons: {e}"))),
            None => Ok(YankReasons::default()),
        }
    }

    pub fn get(&self, version: &str) -> &str {
        self.0.get(version).map(String::as_str).unwrap_or("")
    }

    /// The reason for `release`, if it is yanked with one.
    pub fn of(&self, release: &Release) -> Option<&str> {
        let reason = self.get(&release.version);
        (release.yanked && !reason.is_empty()).then_some(reason)
    }
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` for Unix milliseconds (PEP 700 `upload-time`).
pub fn iso8601(ms: u64) -> String {
    let t = wharf_sdk::time::UtcTime::from_unix_millis(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        t.millis * 1000
    )
}
