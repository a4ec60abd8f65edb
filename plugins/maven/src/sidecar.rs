//! The upstream's checksum sidecars (`demo-1.0.jar.sha1`): a Maven
//! repository has no index, so they are all it promises about a file.

use wharf_sdk::HttpError;
use wharf_sdk::upstream::{self, DigestKind};

use crate::layout::Algo;

/// A sidecar is one digest, perhaps followed by a file name.
const SIDECAR_LIMIT: usize = 4 * 1024;

/// The upstream's `algo` digest of the file at `file_url`, lower-case hex;
/// `None` when it publishes none (404, 410) or one that is no digest.
pub fn fetch(file_url: &str, algo: Algo) -> Result<Option<String>, HttpError> {
    let url = format!("{file_url}.{}", algo.name());
    let sidecar = upstream::document(&url, None, SIDECAR_LIMIT, &url)?;
    Ok(sidecar.and_then(|s| parse(&s.body, algo)))
}

/// The first word that is a digest of the right length: `sha1sum` style
/// files carry the file name after it, old ones `SHA1(file)= digest`.
pub fn parse(body: &[u8], algo: Algo) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split(|c: char| c.is_whitespace() || c == '=')
        .find(|w| w.len() == algo.hex_len() && w.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
}

/// Every SHA digest the upstream publishes for the file at `url`, which the
/// host then holds the pulled bytes to.
pub fn promises(url: &str) -> Result<Vec<(Algo, String)>, HttpError> {
    let mut found = Vec::new();
    for algo in [Algo::Sha1, Algo::Sha256, Algo::Sha512] {
        if let Some(hex) = fetch(url, algo)? {
            found.push((algo, hex));
        }
    }
    Ok(found)
}

/// The host's name of a digest it can check (it does not check MD5).
pub fn kind(algo: Algo) -> Option<DigestKind> {
    match algo {
        Algo::Md5 => None,
        Algo::Sha1 => Some(DigestKind::Sha1),
        Algo::Sha256 => Some(DigestKind::Sha256),
        Algo::Sha512 => Some(DigestKind::Sha512),
    }
}
