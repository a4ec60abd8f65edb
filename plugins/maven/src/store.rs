//! Deployed files in the catalog.
//!
//! A directory version (`1.0`, `1.0-SNAPSHOT`) is a version row of package
//! `groupId:artifactId`; every file deployed below it (pom, jar, sources,
//! signatures, each timestamped SNAPSHOT build) is an asset of that version
//! at its layout path, whose `metadata_json` holds the file's facts
//! ([`Stored`]). Maven deploys a version file by file in separate `PUT`s, so
//! the first file publishes the version and later ones are added to it. A
//! proxy records a pulled file the same way, before its bytes are stored:
//! its facts hold the digests the upstream promised, and size and the rest
//! are read from the blob when needed ([`Stored::completed`]).

use serde::{Deserialize, Serialize};
use wharf_sdk::catalog::{self, Asset, Owner, Publication, VersionRow};
use wharf_sdk::types::{BlobInfo, StoreError, Write};
use wharf_sdk::{HttpError, Meta, blobs};

use crate::layout::{Algo, Build, File};

/// The `metadata_json` of a file's asset.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Stored {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classifier: Option<String>,
    pub extension: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(rename = "buildNumber", skip_serializing_if = "Option::is_none")]
    pub build_number: Option<u32>,
    pub size: u64,
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
    pub sha512: String,
    /// The asset's blob; not part of the stored JSON.
    #[serde(skip)]
    pub blake3: String,
    /// When the asset was added; not part of the stored JSON.
    #[serde(skip)]
    pub added_at: u64,
}

impl Stored {
    pub fn new(file: &File, blob: &BlobInfo) -> Stored {
        let d = &blob.digests;
        let hex = |v: &Option<String>| v.clone().unwrap_or_default();
        Stored {
            size: blob.size,
            md5: hex(&d.md5),
            sha1: hex(&d.sha1),
            sha256: hex(&d.sha256),
            sha512: hex(&d.sha512),
            blake3: d.blake3.clone(),
            ..Stored::facts(file)
        }
    }

    /// What the path says about a file; no bytes yet.
    fn facts(file: &File) -> Stored {
        Stored {
            file: file.name.clone(),
            classifier: file.classifier.clone(),
            extension: file.extension.clone(),
            timestamp: file.build.as_ref().map(|b| b.timestamp.clone()),
            build_number: file.build.as_ref().map(|b| b.number),
            size: 0,
            md5: String::new(),
            sha1: String::new(),
            sha256: String::new(),
            sha512: String::new(),
            blake3: String::new(),
            added_at: 0,
        }
    }

    /// A file a proxy is about to pull: the digests the upstream promised
    /// (the host checks them before recording), the rest unknown until the
    /// blob is stored ([`Stored::completed`]).
    pub fn promised(file: &File, promises: &[(Algo, String)]) -> Stored {
        let mut stored = Stored::facts(file);
        for (algo, hex) in promises {
            *stored.digest_mut(*algo) = hex.clone();
        }
        stored
    }

    /// With what a proxy's record left out (size, md5, and any SHA the
    /// upstream did not publish) taken from the stored blob's digests.
    pub fn completed(mut self) -> Result<Stored, HttpError> {
        let missing = self.size == 0 || Algo::EVERY.iter().any(|a| self.digest(*a).is_empty());
        if !missing {
            return Ok(self);
        }
        let Some(blob) = blobs::stat(&self.blake3)? else {
            return Ok(self);
        };
        self.size = blob.size;
        let d = blob.digests;
        for (algo, known) in [
            (Algo::Md5, d.md5),
            (Algo::Sha1, d.sha1),
            (Algo::Sha256, d.sha256),
            (Algo::Sha512, d.sha512),
        ] {
            if let Some(hex) = known.filter(|_| self.digest(algo).is_empty()) {
                *self.digest_mut(algo) = hex;
            }
        }
        Ok(self)
    }

    fn digest_mut(&mut self, algo: Algo) -> &mut String {
        match algo {
            Algo::Md5 => &mut self.md5,
            Algo::Sha1 => &mut self.sha1,
            Algo::Sha256 => &mut self.sha256,
            Algo::Sha512 => &mut self.sha512,
        }
    }

    fn read(asset: &Asset) -> Result<Stored, HttpError> {
        let mut stored: Stored = asset.meta()?;
        stored.blake3 = asset.blake3.clone();
        stored.added_at = asset.added_at;
        Ok(stored)
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

/// The file stored at a layout path.
pub fn get(path: &str) -> Result<Option<Stored>, HttpError> {
    catalog::find_asset(path)?
        .as_ref()
        .map(Stored::read)
        .transpose()
}

/// Every file of one directory version, by path.
pub fn files(package: &str, version: &str) -> Result<Vec<Stored>, HttpError> {
    catalog::all_assets(package, Some(version))?
        .iter()
        .map(Stored::read)
        .collect()
}

/// Stores `stored` at `path` as a file of its directory version: publishes
/// the version with it if the version is new, adds it otherwise. With
/// `replace`, a file already at `path` is swapped in the same write; without,
/// it is `AlreadyExists`.
pub fn save(
    package: &str,
    file: &File,
    path: &str,
    stored: &Stored,
    replace: bool,
) -> Result<(), StoreError> {
    let asset = asset(file, path, stored);
    if catalog::get_version(package, &file.version)?.is_none() {
        match catalog::publish(publication(package, file, asset.clone())) {
            // Another deploy published the version (or this very path)
            // meanwhile: add to it like any later file.
            Err(StoreError::AlreadyExists) => {}
            done => return done,
        }
    }
    catalog::put_asset(owner(package, file), asset, replace)
}

/// The write that records a file the way [`save`] stores it, for a proxy's
/// pull (applied by the host later, so it cannot retry as `save` does).
pub fn record(
    package: &str,
    file: &File,
    path: &str,
    stored: &Stored,
) -> Result<Write, StoreError> {
    let asset = asset(file, path, stored);
    Ok(match catalog::get_version(package, &file.version)? {
        None => Write::Publish(publication(package, file, asset)),
        Some(_) => Write::PutAsset((owner(package, file), asset, false)),
    })
}

fn asset(file: &File, path: &str, stored: &Stored) -> Asset {
    Asset {
        path: path.to_string(),
        blake3: stored.blake3.clone(),
        content_type: content_type(&file.extension).into(),
        metadata_json: serde_json::to_string(stored).expect("serializable metadata"),
        added_at: 0,
    }
}

fn publication(package: &str, file: &File, asset: Asset) -> Publication {
    Publication {
        version: VersionRow {
            package: package.to_string(),
            version: file.version.clone(),
            // Nothing is release-wide: Maven's facts are per file.
            metadata_json: "{}".into(),
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        assets: vec![asset],
        tags: Vec::new(),
    }
}

fn owner(package: &str, file: &File) -> Owner {
    Owner {
        package: package.to_string(),
        version: Some(file.version.clone()),
    }
}

/// What a file is served as.
pub fn content_type(extension: &str) -> &'static str {
    match extension.rsplit('.').next().unwrap_or(extension) {
        "jar" | "war" | "ear" => "application/java-archive",
        "pom" | "xml" => "application/xml",
        "asc" => "application/pgp-signature",
        "module" | "json" => "application/json",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}
