//! A proxy repository of a Debian archive (deb.debian.org, a mirror,
//! another Wharf): a pass-through apt cache that verifies what it keeps.
//!
//! The upstream URL is the archive root (where `dists/` and `pool/` are).
//! Files under `dists/` are the upstream's bytes, unchanged (through the
//! host's metadata cache), so the upstream's signature on `InRelease`
//! still verifies: clients trust the upstream's key, not Wharf's. A `.deb`
//! under `pool/` is pulled once, checked against the SHA-256 of its stanza
//! in the upstream's `Packages` (see `upstream_index`), and recorded like
//! an upload, so it is served from the store with the upstream gone.

use serde_json::Value;
use wharf_sdk::types::{Asset, DigestSet, Publication, VersionRow, Write};
use wharf_sdk::upstream::{self, DigestKind, Pull};
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::control;
use crate::names;
use crate::upload::{DEB_TYPE, Stored};
use crate::upstream_index::{self, Found};

/// Segments of a `dists/` or `pool/` path, at most (Debian's deepest is
/// `dists/{suite}/{component}/i18n/by-hash/SHA256/{hex}`: 7).
const MAX_SEGMENTS: usize = 12;
/// Longest path accepted.
const MAX_PATH: usize = 512;
/// Suites searched for a pool file's digest when the repository's
/// `distributions` setting names none.
const DEFAULT_SUITES: &[&str] = &["stable"];

/// `GET dists/…`: whatever apt asks for there (Release, InRelease,
/// Release.gpg, Packages, Translation, Contents, by-hash, …), the
/// upstream's bytes as they are.
pub fn dists(req: &mut Request) -> Result<Response, HttpError> {
    let path = safe_path(&req.head.raw_path)
        .filter(|p| p.starts_with("dists/"))
        .ok_or_else(|| HttpError::not_found("no such file"))?;
    let answer = upstream::fetch(&path, None)?;
    upstream::serve_pulled(answer, content_type(&path), &path)
}

/// `GET pool/…/{package}_{version}_{arch}.deb`: from the store once pulled;
/// the first time, from the upstream (streamed while it is stored), kept
/// only if it is the bytes its index promises.
pub fn pool(req: &mut Request) -> Result<Response, HttpError> {
    let missing = || HttpError::not_found("no such file");
    let path = safe_path(&req.head.raw_path)
        .filter(|p| p.starts_with("pool/"))
        .ok_or_else(missing)?;
    let file = path.rsplit('/').next().unwrap_or("");
    let (package, _, arch) = names::split_file(file).ok_or_else(missing)?;
    if let Some(asset) = catalog::find_asset(&path)? {
        return Ok(Response::blob(&asset.blake3, DEB_TYPE).cacheable(&[package], &[]));
    }
    let found = upstream_index::find(&suites(req), &path, arch)?.ok_or_else(|| {
        HttpError::new(
            502,
            format!(
                "{path} is in no index of the distributions searched ({}); \
                 its digest is unknown, so it is not proxied",
                suites(req).join(", ")
            ),
        )
    })?;
    let listed = Listed::read(&found, package, arch)
        .map_err(|why| HttpError::new(502, format!("the upstream's stanza of {path} {why}")))?;
    let pulled = upstream::pull(Pull {
        url: path.clone(),
        want: DigestSet::MD5 | DigestSet::SHA1 | DigestSet::SHA256,
        expect: vec![(DigestKind::Sha256, listed.stored.sha256.clone())],
        record: vec![Write::Publish(listed.record(&path)?)],
    })?;
    upstream::serve_pulled(pulled, DEB_TYPE, &path)
}

/// A pool file as its upstream stanza describes it.
struct Listed {
    package: String,
    version: String,
    stored: Stored,
}

impl Listed {
    /// The stanza, checked: a valid control paragraph for the package and
    /// architecture the file name says (the route's access is the file
    /// name's package), with a SHA-256.
    fn read(found: &Found, package: &str, arch: &str) -> Result<Listed, String> {
        let control = control::parse(&found.stanza).map_err(|e| format!("is invalid: {e}"))?;
        let field = |name| control.get(name).unwrap_or("").to_ascii_lowercase();
        if control.get("Package") != Some(package) || control.get("Architecture") != Some(arch) {
            return Err("names another package or architecture".into());
        }
        let sha256 = field("SHA256");
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("has no SHA256".into());
        }
        Ok(Listed {
            package: package.to_string(),
            version: control.get("Version").unwrap_or("").to_string(),
            stored: Stored {
                dist: found.dist.clone(),
                component: found.component.clone(),
                architecture: arch.to_string(),
                stanza: control.stanza(),
                size: field("Size").parse().unwrap_or(0),
                md5: field("MD5sum"),
                sha1: field("SHA1"),
                sha256,
            },
        })
    }

    /// The version as an upload records it, with its `.deb`: the pulled blob.
    fn record(&self, path: &str) -> Result<Publication, HttpError> {
        Ok(Publication {
            version: VersionRow {
                package: self.package.clone(),
                version: self.version.clone(),
                metadata_json: "{}".into(),
                yanked: false,
                deprecated: None,
                published_at: 0,
            },
            assets: vec![Asset {
                metadata_json: serde_json::to_string(&self.stored)?,
                ..upstream::pulled_asset(path, DEB_TYPE)
            }],
            tags: Vec::new(),
        })
    }
}

/// The suites searched for pool files: the repository setting
/// `distributions` (a list of names), or `stable`.
fn suites(req: &Request) -> Vec<String> {
    let settings: Value = serde_json::from_str(&req.repo.settings_json).unwrap_or_default();
    let configured: Vec<String> = settings
        .get("distributions")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .filter(|s| names::is_dist_name(s))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    match configured.is_empty() {
        true => DEFAULT_SUITES.iter().map(|s| s.to_string()).collect(),
        false => configured,
    }
}

/// The request path, decoded, if every segment is a plain name: no `..`,
/// no empty or hidden segment, only `A-Z a-z 0-9 . _ + - ~ : @ =`, so it
/// is the same path upstream and can escape nothing.
pub fn safe_path(raw: &str) -> Option<String> {
    if raw.len() > MAX_PATH {
        return None;
    }
    let segments: Vec<String> = raw
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect::<Option<_>>()?;
    let plain = |s: &String| {
        !s.starts_with('.')
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._+-~:@=".contains(&b))
    };
    if segments.len() < 2 || segments.len() > MAX_SEGMENTS || !segments.iter().all(plain) {
        return None;
    }
    Some(segments.join("/"))
}

/// Percent-decoding of one segment (apt escapes `+` and `~` in file names).
fn decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// What a `dists/` file is, by its name (by-hash files have none).
fn content_type(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or("");
    let extension = name.rsplit_once('.').map_or("", |(_, e)| e);
    match extension {
        "gpg" => "application/pgp-signature",
        "gz" => "application/gzip",
        "xz" => "application/x-xz",
        "bz2" => "application/x-bzip2",
        "lzma" => "application/x-lzma",
        "zst" => "application/zstd",
        _ if path.contains("/by-hash/") => "application/octet-stream",
        _ => "text/plain; charset=utf-8",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_plain_names_only() {
        assert_eq!(
            safe_path("pool/main/g/gcc/g%2B%2B-12_12.2.0-14_amd64.deb").as_deref(),
            Some("pool/main/g/gcc/g++-12_12.2.0-14_amd64.deb")
        );
        assert_eq!(
            safe_path("dists//stable/InRelease").as_deref(),
            Some("dists/stable/InRelease")
        );
        for bad in [
            "dists/../x",
            "dists/%2e%2e/x",
            "dists/a%2Fb/c",
            "dists/.hidden/x",
            "dists/a b/c",
            "dists/%zz/c",
            "dists",
        ] {
            assert_eq!(safe_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn content_types_follow_the_name() {
        assert_eq!(
            content_type("dists/stable/Release.gpg"),
            "application/pgp-signature"
        );
        assert_eq!(
            content_type("dists/stable/main/binary-amd64/Packages.xz"),
            "application/x-xz"
        );
        assert_eq!(
            content_type("dists/stable/InRelease"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            content_type("dists/stable/main/binary-amd64/by-hash/SHA256/ab12"),
            "application/octet-stream"
        );
    }
}
