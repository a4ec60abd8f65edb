//! Deployed files in the catalog: one version row per file.
//!
//! Maven deploys a version file by file in separate `PUT`s (pom, jar,
//! sources, signatures…), while a catalog version is published once with
//! all its assets. So every file is its own row of package
//! `groupId:artifactId`, keyed `{directory version}#{file name}`
//! (`1.0#demo-1.0.jar`, `1.0-SNAPSHOT#demo-1.0-20240101.120000-1.jar`), whose
//! single asset is the file's path. A file becomes visible only when its
//! bytes are stored and its row is committed; the Maven versions and the
//! metadata documents are derived from these rows.

use serde::{Deserialize, Serialize};
use wharf_sdk::catalog;
use wharf_sdk::types::BlobInfo;

use crate::layout::{Algo, Build, File};

/// The `metadata_json` of a file row.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Stored {
    /// The directory version.
    pub version: String,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classifier: Option<String>,
    pub extension: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(rename = "buildNumber", skip_serializing_if = "Option::is_none")]
    pub build_number: Option<u32>,
    pub size: u64,
    pub blake3: String,
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
    pub sha512: String,
    /// Set from the catalog row when read; not part of the stored JSON.
    #[serde(skip)]
    pub published_at: u64,
}

impl Stored {
    pub fn new(file: &File, blob: &BlobInfo) -> Stored {
        let d = &blob.digests;
        let hex = |v: &Option<String>| v.clone().unwrap_or_default();
        Stored {
            version: file.version.clone(),
            file: file.name.clone(),
            classifier: file.classifier.clone(),
            extension: file.extension.clone(),
            timestamp: file.build.as_ref().map(|b| b.timestamp.clone()),
            build_number: file.build.as_ref().map(|b| b.number),
            size: blob.size,
            blake3: d.blake3.clone(),
            md5: hex(&d.md5),
            sha1: hex(&d.sha1),
            sha256: hex(&d.sha256),
            sha512: hex(&d.sha512),
            published_at: 0,
        }
    }

    pub fn digest(&self, algo: Algo) -> &str {
        match algo {
            Algo::Md5 => &self.md5,
            Algo::Sha1 => &self.sha1,
            Algo::Sha256 => &self.sha256,
            Algo::Sha512 => &self.sha512,
        }
    }

    pub fn build(&self) -> Option<Build> {
        Some(Build {
            timestamp: self.timestamp.clone()?,
            number: self.build_number?,
        })
    }
}

/// The catalog version key of a file.
pub fn key(file: &File) -> String {
    format!("{}#{}", file.version, file.name)
}

fn parse(row: catalog::VersionRow) -> Option<Stored> {
    let mut stored: Stored = serde_json::from_str(&row.metadata_json).ok()?;
    stored.published_at = row.published_at;
    Some(stored)
}

pub fn get(package: &str, file: &File) -> Option<Stored> {
    catalog::get_version(package, &key(file)).and_then(parse)
}

/// Every file of the package, in deploy order.
pub fn files(package: &str) -> Vec<Stored> {
    catalog::list_versions(package)
        .into_iter()
        .filter_map(parse)
        .collect()
}
