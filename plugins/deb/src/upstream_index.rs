//! Finding a pool file's stanza in the upstream's indices, for a proxy:
//! the digest a `.deb` is checked against before it is kept.
//!
//! A pool path names no distribution, so the proxy searches the suites of
//! the repository setting `distributions` (default `stable`): for each, the
//! upstream's `Release` says which components, architectures and index
//! files exist and their SHA-256; the index of the file's architecture is
//! read (by hash when the Release offers it, so it is the one the Release
//! lists), checked against that SHA-256, decompressed as a stream and
//! scanned stanza by stanza for `Filename: {path}`.

use flate2::read::MultiGzDecoder;
use lzma_rust2::XzReader;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read};
use wharf_sdk::archive::XZ_MAX_DICTIONARY_KIB;
use wharf_sdk::upstream;
use wharf_sdk::{HttpError, hex};

use crate::names;

/// Largest `Release` or `InRelease` read (Debian's are ~200 KiB).
pub const RELEASE_LIMIT: usize = 8 << 20;
/// Largest index file read as fetched: compressed ones of Debian `main`
/// are ~10 MiB (xz), Ubuntu's `universe` ~20 MiB; an uncompressed
/// `Packages`, read only when no compressed one is listed, ~50 MiB. Held
/// once in the plugin's memory (128 MiB by default).
pub const INDEX_LIMIT: usize = 64 << 20;
/// Largest decompressed index text scanned (streamed, never held whole).
pub const TEXT_LIMIT: u64 = 512 << 20;
/// Largest stanza kept while scanning (real ones are a few KiB).
pub const STANZA_LIMIT: usize = 1 << 20;
/// Index files read for one lookup, at most.
pub const MAX_INDICES: usize = 8;
/// Suites searched, at most.
pub const MAX_SUITES: usize = 16;

/// The stanza of a pool file and the suite and component it was found in.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub dist: String,
    pub component: String,
    pub stanza: String,
}

/// What a `Release` says of its indices.
#[derive(Debug, Default, PartialEq)]
pub struct Release {
    pub components: Vec<String>,
    pub architectures: Vec<String>,
    pub by_hash: bool,
    /// `SHA256:` lines: (path below the suite, hex).
    pub sha256: Vec<(String, String)>,
}

impl Release {
    /// Reads the fields of a `Release`, or of the signed text of an
    /// `InRelease` (the armor lines are not fields and are passed over).
    pub fn parse(text: &str) -> Release {
        let mut release = Release::default();
        let mut in_sha256 = false;
        for line in text.lines() {
            if let Some(entry) = line.strip_prefix(' ') {
                if in_sha256 {
                    let parts: Vec<&str> = entry.split_whitespace().collect();
                    // The digest may go into a by-hash URL: hex only.
                    let hex = |d: &str| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit());
                    if let [digest, _size, path] = parts[..]
                        && hex(digest)
                    {
                        release
                            .sha256
                            .push((path.to_string(), digest.to_ascii_lowercase()));
                    }
                }
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                in_sha256 = false;
                continue;
            };
            let words = || value.split_whitespace().map(str::to_string).collect();
            in_sha256 = name == "SHA256";
            match name {
                "Components" => release.components = words(),
                "Architectures" => release.architectures = words(),
                "Acquire-By-Hash" => release.by_hash = value.trim() == "yes",
                _ => {}
            }
        }
        release
    }

    fn sha256_of(&self, path: &str) -> Option<&str> {
        self.sha256
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, d)| d.as_str())
    }

    /// The index files of `component`'s architecture `arch`, best first:
    /// compressed before plain (less to fetch), only those listed when the
    /// Release lists any.
    fn indices(&self, component: &str, arch: &str) -> Vec<String> {
        let dir = format!("{component}/binary-{arch}/Packages");
        ["xz", "gz", ""]
            .iter()
            .map(|ext| match ext.is_empty() {
                true => dir.clone(),
                false => format!("{dir}.{ext}"),
            })
            .filter(|p| self.sha256.is_empty() || self.sha256_of(p).is_some())
            .collect()
    }
}

/// The stanza whose `Filename` is `path`, searched in `suites`; `None`
/// when no index read lists it.
pub fn find(suites: &[String], path: &str, arch: &str) -> Result<Option<Found>, HttpError> {
    let mut budget = MAX_INDICES;
    for dist in suites.iter().take(MAX_SUITES) {
        let Some(release) = release(dist)? else {
            continue;
        };
        // The pool's first directories are the component in most archives
        // (`pool/main/…`, Debian security's `pool/updates/main/…`).
        let mut components: Vec<&String> = release.components.iter().collect();
        components.sort_by_key(|c| !path.starts_with(&format!("pool/{c}/")));
        for component in components.into_iter().filter(|c| safe_component(c)) {
            for index_arch in index_architectures(&release, arch) {
                if budget == 0 {
                    return Ok(None);
                }
                budget -= 1;
                if let Some(stanza) = search_index(dist, &release, component, &index_arch, path)? {
                    return Ok(Some(Found {
                        dist: dist.clone(),
                        component: component.clone(),
                        stanza,
                    }));
                }
            }
        }
    }
    Ok(None)
}

/// Where a file of `arch` is listed: its own index; for `all`, `binary-all`
/// if the Release has one, else the first architecture's (Debian lists
/// `all` packages under every architecture).
fn index_architectures(release: &Release, arch: &str) -> Vec<String> {
    if arch != "all" {
        return vec![arch.to_string()];
    }
    let listed = |a: &str| release.architectures.iter().any(|r| r == a);
    match listed("all") {
        true => vec!["all".into()],
        false => release
            .architectures
            .iter()
            .find(|a| safe_name(a))
            .cloned()
            .into_iter()
            .collect(),
    }
}

/// The suite's `Release` (or the text of its `InRelease`); `None` when the
/// upstream has neither.
fn release(dist: &str) -> Result<Option<Release>, HttpError> {
    for file in ["Release", "InRelease"] {
        if let Some(body) = fetch(&format!("dists/{dist}/{file}"), RELEASE_LIMIT)? {
            return Ok(Some(Release::parse(&String::from_utf8_lossy(&body))));
        }
    }
    Ok(None)
}

/// Reads one index of the suite (the first of its names that the upstream
/// has and whose bytes are the ones the Release lists) and scans it.
fn search_index(
    dist: &str,
    release: &Release,
    component: &str,
    arch: &str,
    path: &str,
) -> Result<Option<String>, HttpError> {
    for index in release.indices(component, arch) {
        let promised = release.sha256_of(&index);
        let url = match (promised, release.by_hash) {
            (Some(digest), true) => {
                let dir = index.rsplit_once('/').map_or("", |(d, _)| d);
                format!("dists/{dist}/{dir}/by-hash/SHA256/{digest}")
            }
            _ => format!("dists/{dist}/{index}"),
        };
        let Some(body) = fetch(&url, INDEX_LIMIT)? else {
            continue;
        };
        if promised.is_some_and(|d| hex(Sha256::digest(&body)) != d) {
            // Fetched between two generations of the Release: not trusted.
            continue;
        }
        let text: Box<dyn Read + '_> = match index.rsplit('.').next() {
            Some("xz") => Box::new(XzReader::new_mem_limit(
                &body[..],
                false,
                XZ_MAX_DICTIONARY_KIB,
            )),
            Some("gz") => Box::new(MultiGzDecoder::new(&body[..])),
            _ => Box::new(&body[..]),
        };
        return scan(BufReader::new(text.take(TEXT_LIMIT)), path)
            .map_err(|e| unreadable(&url, &e.to_string()));
    }
    Ok(None)
}

/// The stanza (as written) with `Filename: {path}`, read stanza by stanza.
pub fn scan(mut reader: impl BufRead, path: &str) -> std::io::Result<Option<String>> {
    let wanted = format!("Filename: {path}");
    let mut stanza = String::new();
    let mut matched = false;
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        let end = n == 0 || line.trim().is_empty();
        if end {
            if matched {
                return Ok(Some(stanza));
            }
            stanza.clear();
            if n == 0 {
                return Ok(None);
            }
            continue;
        }
        matched |= line.trim_end() == wanted;
        if stanza.len() + line.len() > STANZA_LIMIT {
            return Err(std::io::Error::other("a stanza is larger than 1 MiB"));
        }
        stanza.push_str(&line);
    }
}

/// The upstream's body at `url`, bounded; `None` for a 404 or 410.
fn fetch(url: &str, limit: usize) -> Result<Option<Vec<u8>>, HttpError> {
    Ok(upstream::document(url, None, limit, url)?.map(|d| d.body))
}

/// A name from a Release that goes into an upstream URL: one safe segment.
fn safe_name(name: &str) -> bool {
    names::is_dist_name(name)
}

/// A component: one or two safe segments (`main`, `updates/main`).
fn safe_component(name: &str) -> bool {
    name.split('/').count() <= 2 && name.split('/').all(safe_name)
}

fn unreadable(url: &str, why: &str) -> HttpError {
    HttpError::new(502, format!("the upstream's {url} is unreadable: {why}"))
}
