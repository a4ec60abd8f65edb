//! Repository names, tags and digests, validated by the spec's grammar:
//! name  `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`
//! tag   `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`
//! digest `algorithm:encoded`; only sha256 (64 lower-case hex) is stored here.

use crate::error::{DIGEST_INVALID, NAME_INVALID, TAG_INVALID, UNSUPPORTED, oci};
use wharf_sdk::HttpError;

/// Longest repository name accepted (distribution's limit).
const NAME_MAX: usize = 255;

pub fn name(name: &str) -> Result<(), HttpError> {
    if name.len() <= NAME_MAX && name.split('/').all(component) {
        Ok(())
    } else {
        Err(oci(
            400,
            NAME_INVALID,
            format!("invalid repository name {name:?}"),
        ))
    }
}

/// Alphanumeric runs joined by `.`, `_`, `__` or a run of `-`.
fn component(c: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = c.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        let sep = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let ok = match &c[sep..i] {
            "." | "_" | "__" => true,
            s => s.bytes().all(|b| b == b'-'),
        };
        if !ok {
            return false;
        }
    }
}

pub fn tag(tag: &str) -> Result<(), HttpError> {
    let b = tag.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(oci(400, TAG_INVALID, format!("invalid tag {tag:?}")))
    }
}

/// A `sha256:<hex>` digest; returns the hex. Other well-formed algorithms are
/// UNSUPPORTED, anything else DIGEST_INVALID.
pub fn digest(digest: &str) -> Result<&str, HttpError> {
    let invalid = || oci(400, DIGEST_INVALID, format!("invalid digest {digest:?}"));
    let (algorithm, hex) = digest.split_once(':').ok_or_else(invalid)?;
    let algorithm_ok = !algorithm.is_empty()
        && algorithm
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
    let hex_ok = !hex.is_empty()
        && hex
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b));
    if !algorithm_ok || !hex_ok {
        return Err(invalid());
    }
    if algorithm != "sha256" {
        return Err(oci(
            400,
            UNSUPPORTED,
            format!("digest algorithm {algorithm} is not supported"),
        ));
    }
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(invalid());
    }
    Ok(hex)
}

/// What a manifest reference names.
#[derive(Debug, PartialEq)]
pub enum Reference<'a> {
    Tag(&'a str),
    Digest(&'a str),
}

pub fn reference(r: &str) -> Result<Reference<'_>, HttpError> {
    if r.contains(':') {
        digest(r)?;
        Ok(Reference::Digest(r))
    } else {
        tag(r)?;
        Ok(Reference::Tag(r))
    }
}
