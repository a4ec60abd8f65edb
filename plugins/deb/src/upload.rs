//! `PUT upload/{dist}/{component}/{package}_{version}_{arch}.deb` (the
//! `.deb` as the body) and `DELETE packages/{package}/{version}`.
//!
//! The `.deb` streams into the blob store with the three digests Packages
//! lists; its control file is then read inside the sandbox and must agree
//! with the file name. Nothing is visible until the one catalog write that
//! adds the file (with the version, for its first architecture).

use serde::{Deserialize, Serialize};
use wharf_sdk::types::{Asset, DigestSet, Owner, Publication, StoreError, VersionRow, Write};
use wharf_sdk::{HttpError, Request, Response, blobs, catalog};

use crate::control;
use crate::names;

pub const DEB_TYPE: &str = "application/vnd.debian.binary-package";

/// What the catalog keeps of one uploaded `.deb` (its asset's metadata).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Stored {
    pub dist: String,
    pub component: String,
    pub architecture: String,
    /// The control paragraph as its Packages stanza starts.
    pub stanza: String,
    pub size: u64,
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
}

pub fn upload(req: &mut Request) -> Result<Response, HttpError> {
    let (dist, component) = (
        req.param("dist").to_string(),
        req.param("component").to_string(),
    );
    names::check_suite(&dist, &component)?;
    let file = req.param("file").to_string();
    let Some((package, file_version, arch)) = names::split_file(&file) else {
        return Err(HttpError::bad_request(
            "the file name must be {package}_{version}_{architecture}.deb",
        ));
    };
    if !names::is_architecture(arch) {
        return Err(HttpError::bad_request(format!(
            "architecture {arch:?} is not served here (amd64, arm64, all)"
        )));
    }
    let want = DigestSet::MD5 | DigestSet::SHA1 | DigestSet::SHA256;
    let blob = req.take_body()?.ingest(None, want, None)?;
    let control = control::read(blobs::open(&blob.digests.blake3)?)?;
    let field = |name| control.get(name).unwrap_or("");
    let version = field("Version").to_string();
    if field("Package") != package
        || !names::file_version_matches(file_version, &version)
        || field("Architecture") != arch
    {
        return Err(HttpError::bad_request(format!(
            "the control file is for {}_{}_{}, but the file name is {file}",
            field("Package"),
            version,
            field("Architecture")
        )));
    }
    let path = names::pool_path(&component, control.source(), package, &version, arch);
    let digest = |d: &Option<String>| {
        d.clone()
            .ok_or_else(|| HttpError::new(500, "the host computed no digest"))
    };
    let stored = Stored {
        dist,
        component,
        architecture: arch.to_string(),
        stanza: control.stanza(),
        size: blob.size,
        md5: digest(&blob.digests.md5)?,
        sha1: digest(&blob.digests.sha1)?,
        sha256: digest(&blob.digests.sha256)?,
    };
    let asset = Asset {
        path: path.clone(),
        blake3: blob.digests.blake3.clone(),
        content_type: DEB_TYPE.into(),
        metadata_json: serde_json::to_string(&stored)?,
        added_at: 0,
    };
    add(package, &version, asset).map_err(|e| match e {
        StoreError::AlreadyExists => HttpError::conflict(format!(
            "{path} already exists; delete {package} {version} first to replace it"
        )),
        e => e.into(),
    })?;
    Ok(Response::json(
        201,
        &serde_json::json!({
            "package": package,
            "version": version,
            "architecture": arch,
            "distribution": stored.dist,
            "component": stored.component,
            "filename": path,
            "sha256": stored.sha256,
        }),
    ))
}

/// Publishes the version with this file, or adds the file to the version
/// another architecture already made (also when that happened meanwhile).
fn add(package: &str, version: &str, asset: Asset) -> Result<(), StoreError> {
    let owner = Owner {
        package: package.into(),
        version: Some(version.into()),
    };
    if catalog::get_version(package, version)?.is_some() {
        return catalog::put_asset(owner, asset, false);
    }
    let publication = Publication {
        version: VersionRow {
            package: package.into(),
            version: version.into(),
            metadata_json: "{}".into(),
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        assets: vec![asset.clone()],
        tags: vec![],
    };
    match catalog::publish(publication) {
        Err(StoreError::AlreadyExists) if catalog::find_asset(&asset.path)?.is_none() => {
            catalog::put_asset(owner, asset, false)
        }
        other => other,
    }
}

/// The package's kv key holding when a version of it was last deleted
/// (Unix milliseconds, decimal): a Release's `Date` never goes back.
pub const DELETED_AT: &str = "deleted-at";

/// `DELETE packages/{package}/{version}`: the version, every architecture,
/// and the time of the deletion, in one catalog write.
pub fn delete(req: &mut Request) -> Result<Response, HttpError> {
    let (package, version) = (req.param("package"), req.param("version"));
    if catalog::get_version(package, version)?.is_none() {
        return Err(HttpError::not_found(format!(
            "no version {version} of {package}"
        )));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    catalog::apply(&[
        Write::KvPut((
            Some(package.into()),
            DELETED_AT.into(),
            now.to_string().into_bytes(),
        )),
        Write::DeleteVersion((package.into(), version.into())),
    ])?;
    Ok(Response::json(
        200,
        &serde_json::json!({ "deleted": { "package": package, "version": version } }),
    ))
}
