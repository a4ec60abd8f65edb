//! `PUT api/v1/crates/new`: `cargo publish`. The body is framed: u32 LE
//! length + JSON metadata, u32 LE length + the `.crate` (a .tar.gz).

use serde_json::json;
use wharf_sdk::catalog::{Asset, Publication, VersionRow, Write};
use wharf_sdk::types::{Access, Action, DigestSet, StoreError};
use wharf_sdk::{HttpError, Request, Response, auth, catalog};

use crate::index::{self, NewCrate};
use crate::{archive, names};

/// Largest metadata document accepted (crates.io allows much less).
const METADATA_LIMIT: u32 = 1 << 20;

fn length(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(bytes.try_into().expect("four bytes"))
}

pub fn put(req: &mut Request) -> Result<Response, HttpError> {
    let user = req.user().map(str::to_string);
    let body = req.take_body()?;
    let json_len = length(&body.read_exact(4)?);
    if json_len > METADATA_LIMIT {
        return Err(HttpError::new(
            413,
            format!("the publish metadata is larger than {METADATA_LIMIT} bytes"),
        ));
    }
    let meta: NewCrate = serde_json::from_slice(&body.read_exact(json_len as usize)?)?;
    let crate_len = length(&body.read_exact(4)?);

    names::validate(&meta.name)?;
    let version = semver::Version::parse(&meta.vers)
        .map_err(|e| HttpError::bad_request(format!("invalid version `{}`: {e}", meta.vers)))?;
    let key = names::key(&meta.name);
    if let Some(other) = names::claimed_by(&meta.name)?
        && other != meta.name
    {
        return Err(HttpError::conflict(format!(
            "crate `{}` conflicts with the existing crate `{other}` \
             (names differing only in case or `-`/`_` are the same crate)",
            meta.name
        )));
    }
    // Others' crates are refused before their bytes are stored; the host
    // checks the publish again (and claims a new crate for its publisher).
    let exists = catalog::has_package(&key)?;
    if !auth::may(&Access {
        action: Action::Write,
        package: Some(key.clone()),
        repository: None,
    }) {
        return Err(HttpError::forbidden(format!(
            "`{}` is not an owner of crate `{}`",
            user.as_deref().unwrap_or("anonymous"),
            meta.name
        )));
    }
    if exists && has_same_version(&key, &version)? {
        return Err(republished(&meta));
    }

    let blob = body.ingest(Some(crate_len.into()), DigestSet::SHA256, None)?;
    archive::check(&blob.digests.blake3, &meta.name, &meta.vers)?;
    let cksum = blob
        .digests
        .sha256
        .ok_or_else(|| HttpError::new(500, "the host computed no sha256 digest"))?;
    let line = index::line(&meta, &cksum)?;
    let metadata = json!({
        "index": line,
        "description": meta.description,
        "license": meta.license,
        "repository": meta.repository,
        "homepage": meta.homepage,
        "documentation": meta.documentation,
        "keywords": meta.keywords,
        "publisher": user,
    });
    let publication = Publication {
        version: VersionRow {
            package: key.clone(),
            version: meta.vers.clone(),
            metadata_json: metadata.to_string(),
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        assets: vec![Asset {
            path: names::crate_path(&key, &meta.vers),
            blake3: blob.digests.blake3.clone(),
            content_type: "application/gzip".into(),
            metadata_json: String::new(),
            added_at: 0,
        }],
        tags: vec![],
    };
    // The version, and for a new crate its name claim, in one transaction
    // (the host makes the publisher the owner of a new crate).
    let mut writes = vec![Write::Publish(publication)];
    if !exists {
        writes.push(names::claim(&meta.name));
    }
    catalog::apply(&writes).map_err(|e| match e {
        StoreError::AlreadyExists => republished(&meta),
        e => e.into(),
    })?;
    Ok(Response::json(
        200,
        &json!({ "warnings": { "invalid_categories": [], "invalid_badges": [], "other": [] } }),
    ))
}

/// Whether the crate has a version equal to `version` up to build metadata
/// (`1.0.0+a` is a republish of `1.0.0`). The catalog has no key for that, so
/// this pages through the versions, stopping at the first match.
fn has_same_version(key: &str, version: &semver::Version) -> Result<bool, HttpError> {
    let same = |row: &VersionRow| {
        semver::Version::parse(&row.version).is_ok_and(|v| {
            (&v.major, &v.minor, &v.patch, &v.pre)
                == (&version.major, &version.minor, &version.patch, &version.pre)
        })
    };
    let mut after = None;
    loop {
        let page = catalog::list_versions(key, after.as_deref(), catalog::PAGE)?;
        if page.iter().any(same) {
            return Ok(true);
        }
        match page.last() {
            Some(last) if page.len() == catalog::PAGE as usize => {
                after = Some(last.version.clone())
            }
            _ => return Ok(false),
        }
    }
}

fn republished(meta: &NewCrate) -> HttpError {
    HttpError::conflict(format!(
        "crate version `{}@{}` is already uploaded",
        meta.name, meta.vers
    ))
}
