//! How PyPI files live in the catalog.
//!
//! A PyPI release has several files (a wheel per platform, an sdist) uploaded
//! by separate requests, while `catalog::publish` creates a version row once.
//! So every *file* is one version row: package = the normalized project name,
//! version = `<version>/<filename>`, metadata = a [`Dist`]. Each upload is one
//! transaction, so a file is visible only once it (and its `.metadata`) is
//! fully stored, and a duplicate file name is refused by the catalog itself.
//! Yanking a release yanks each of its rows; the optional reasons live in the
//! project's key-value entry ([`YankReasons`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use wharf_sdk::types::VersionRow;
use wharf_sdk::{HttpError, catalog};

/// One uploaded distribution file.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Dist {
    /// The project name as uploaded (display form).
    pub name: String,
    pub version: String,
    pub filename: String,
    /// `bdist_wheel` or `sdist`.
    pub packagetype: String,
    /// The `pyversion` field: `py3`, `cp312`, `source`, …
    pub python_version: String,
    pub requires_python: Option<String>,
    pub sha256: String,
    pub md5: String,
    /// Absent on rows stored before Wharf computed it.
    #[serde(default)]
    pub blake2_256: Option<String>,
    pub size: u64,
    /// SHA-256 of the wheel's METADATA file, served at `<file>.metadata`.
    pub core_metadata_sha256: Option<String>,
    /// Project metadata fields of the upload form, for the JSON API.
    pub info: Map<String, Value>,
}

/// The catalog version of a file row.
pub fn row_version(version: &str, filename: &str) -> String {
    format!("{version}/{filename}")
}

/// Repository path a file (and `<path>.metadata`) is served at.
pub fn file_path(project: &str, filename: &str) -> String {
    format!("files/{project}/{filename}")
}

/// A stored file and its catalog state.
pub struct File {
    pub dist: Dist,
    pub row_version: String,
    pub yanked: bool,
    pub published_at: u64,
}

/// Every file of a (normalized) project, oldest first.
pub fn files(project: &str) -> Vec<File> {
    catalog::list_versions(project)
        .into_iter()
        .filter_map(|row: VersionRow| {
            let dist = serde_json::from_str(&row.metadata_json).ok()?;
            Some(File {
                dist,
                row_version: row.version,
                yanked: row.yanked,
                published_at: row.published_at,
            })
        })
        .collect()
}

/// Release versions in ascending PEP 440-ish order (see [`version_key`]).
pub fn versions(files: &[File]) -> Vec<String> {
    let mut versions: Vec<String> = Vec::new();
    for f in files {
        if !versions.contains(&f.dist.version) {
            versions.push(f.dist.version.clone());
        }
    }
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
    pub fn load(project: &str) -> YankReasons {
        catalog::kv_get(project)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, project: &str) -> Result<(), HttpError> {
        catalog::kv_put(project, &serde_json::to_vec(self)?)?;
        Ok(())
    }

    pub fn get(&self, version: &str) -> &str {
        self.0.get(version).map(String::as_str).unwrap_or("")
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
