//! The indices of a distribution, rendered from the catalog: one
//! `Packages` per component and architecture (`all` packages under every
//! architecture), compressed as `.gz` and `.xz`, and the `Release` that
//! lists each by size, MD5, SHA-1 and SHA-256. Everything here is a pure
//! function of the catalog, so `InRelease` and `Release.gpg` sign the same
//! bytes whenever they are rendered, and `by-hash` finds what `Release`
//! listed.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::io::Write;
use wharf_sdk::time::UtcTime;
use wharf_sdk::{HttpError, catalog};

use crate::names::ARCHITECTURES;
use crate::upload::Stored;
use crate::version;

/// One `.deb` of the distribution.
#[derive(Debug, Clone)]
pub struct Entry {
    pub package: String,
    pub version: String,
    pub filename: String,
    pub stored: Stored,
    /// Unix milliseconds.
    pub added_at: u64,
}

/// A distribution as the catalog has it now.
pub struct Dist {
    /// Every `.deb` of it, by package, then version (oldest first).
    pub entries: Vec<Entry>,
    /// The last upload to it or deletion in the repository (Unix
    /// milliseconds): the Release's `Date`, which apt wants to move forward
    /// only (it ignores an older Release and keeps its lists).
    pub changed_at: u64,
}

/// Every `.deb` uploaded to `dist`, and when it last changed.
pub fn dist(dist: &str) -> Result<Dist, HttpError> {
    let mut out = Vec::new();
    let mut deleted_at = 0u64;
    let mut after: Option<String> = None;
    loop {
        let page = catalog::list_packages(None, after.as_deref(), catalog::PAGE)?;
        for package in &page {
            if let Some(at) = catalog::kv_get(Some(package), crate::upload::DELETED_AT)? {
                let at = std::str::from_utf8(&at).ok().and_then(|a| a.parse().ok());
                deleted_at = deleted_at.max(at.unwrap_or(0));
            }
            for row in catalog::all_versions(package)? {
                for asset in catalog::all_assets(package, Some(&row.version))? {
                    let stored: Stored = serde_json::from_str(&asset.metadata_json)
                        .map_err(|e| HttpError::new(500, format!("stored {}: {e}", asset.path)))?;
                    if stored.dist == dist {
                        out.push(Entry {
                            package: package.clone(),
                            version: row.version.clone(),
                            filename: asset.path,
                            stored,
                            added_at: asset.added_at,
                        });
                    }
                }
            }
        }
        if page.len() < catalog::PAGE as usize {
            break;
        }
        after = page.last().cloned();
    }
    out.sort_by(|a, b| {
        a.package
            .cmp(&b.package)
            .then_with(|| version::compare(&a.version, &b.version))
            .then_with(|| a.filename.cmp(&b.filename))
    });
    let uploaded_at = out.iter().map(|e| e.added_at).max().unwrap_or(0);
    Ok(Dist {
        changed_at: uploaded_at.max(deleted_at),
        entries: out,
    })
}

/// The components that have packages, sorted.
pub fn components(entries: &[Entry]) -> Vec<&str> {
    let mut components: Vec<&str> = entries
        .iter()
        .map(|e| e.stored.component.as_str())
        .collect();
    components.sort_unstable();
    components.dedup();
    components
}

/// The `Packages` index of one component and architecture.
pub fn packages(entries: &[Entry], component: &str, arch: &str) -> String {
    let mut out = String::new();
    let listed = entries.iter().filter(|e| {
        e.stored.component == component
            && (e.stored.architecture == arch || e.stored.architecture == "all")
    });
    for entry in listed {
        if !out.is_empty() {
            out.push('\n');
        }
        let s = &entry.stored;
        out.push_str(&s.stanza);
        out.push_str(&format!(
            "Filename: {}\nSize: {}\nMD5sum: {}\nSHA1: {}\nSHA256: {}\n",
            entry.filename, s.size, s.md5, s.sha1, s.sha256
        ));
    }
    out
}

/// How an index is compressed: its file name's suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Xz,
}

impl Compression {
    pub const ALL: [Compression; 3] = [Compression::None, Compression::Gzip, Compression::Xz];

    pub fn file_name(self) -> &'static str {
        match self {
            Compression::None => "Packages",
            Compression::Gzip => "Packages.gz",
            Compression::Xz => "Packages.xz",
        }
    }

    pub fn from_file_name(name: &str) -> Option<Self> {
        Compression::ALL.into_iter().find(|c| c.file_name() == name)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Compression::None => "text/plain; charset=utf-8",
            Compression::Gzip => "application/gzip",
            Compression::Xz => "application/x-xz",
        }
    }

    /// Deterministic output: the same text always gives the same bytes.
    pub fn apply(self, text: &str) -> Vec<u8> {
        self.apply_bytes(text.as_bytes())
    }

    pub fn apply_bytes(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            Compression::None => bytes.to_vec(),
            Compression::Gzip => {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                gz.write_all(bytes).expect("writing to memory");
                gz.finish().expect("writing to memory")
            }
            Compression::Xz => {
                let options = lzma_rust2::XzOptions::with_preset(6);
                let mut xz = lzma_rust2::XzWriter::new(Vec::new(), options).expect("xz options");
                xz.write_all(bytes).expect("writing to memory");
                xz.finish().expect("writing to memory")
            }
        }
    }
}

/// The hash lists of Release, and the `by-hash/` directory names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    Md5,
    Sha1,
    Sha256,
}

impl HashKind {
    pub const ALL: [HashKind; 3] = [HashKind::Md5, HashKind::Sha1, HashKind::Sha256];

    /// The Release field, also the by-hash directory.
    pub fn name(self) -> &'static str {
        match self {
            HashKind::Md5 => "MD5Sum",
            HashKind::Sha1 => "SHA1",
            HashKind::Sha256 => "SHA256",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        HashKind::ALL.into_iter().find(|h| h.name() == name)
    }

    pub fn hex(self, bytes: &[u8]) -> String {
        match self {
            HashKind::Md5 => wharf_sdk::hex(Md5::digest(bytes)),
            HashKind::Sha1 => wharf_sdk::hex(Sha1::digest(bytes)),
            HashKind::Sha256 => wharf_sdk::hex(Sha256::digest(bytes)),
        }
    }
}

/// One index file of a distribution: its path below `dists/{dist}/` and bytes.
pub struct IndexFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// The three files of one component and architecture.
pub fn index_files(entries: &[Entry], component: &str, arch: &str) -> Vec<IndexFile> {
    let text = packages(entries, component, arch);
    Compression::ALL
        .into_iter()
        .map(|c| IndexFile {
            path: format!("{component}/binary-{arch}/{}", c.file_name()),
            bytes: c.apply(&text),
        })
        .collect()
}

/// Fields of Release the operator may set (repository settings).
pub struct Labels {
    pub origin: String,
    pub label: String,
}

/// The `Release` of a distribution with at least one package.
pub fn release(name: &str, dist: &Dist, labels: &Labels) -> String {
    let entries = &dist.entries;
    let components = components(entries);
    let files: Vec<IndexFile> = components
        .iter()
        .flat_map(|c| ARCHITECTURES.iter().map(move |a| (c, a)))
        .flat_map(|(c, a)| index_files(entries, c, a))
        .collect();
    let mut out = format!(
        "Origin: {}\nLabel: {}\nSuite: {name}\nCodename: {name}\nDate: {}\n\
         Architectures: {}\nComponents: {}\nNo-Support-for-Architecture-all: Packages\n\
         Acquire-By-Hash: yes\n",
        labels.origin,
        labels.label,
        rfc2822(dist.changed_at),
        ARCHITECTURES.join(" "),
        components.join(" "),
    );
    for kind in HashKind::ALL {
        out.push_str(kind.name());
        out.push_str(":\n");
        for file in &files {
            out.push_str(&format!(
                " {} {:>16} {}\n",
                kind.hex(&file.bytes),
                file.bytes.len(),
                file.path
            ));
        }
    }
    out
}

/// `Sun, 06 Dec 2026 10:39:16 UTC`, the form Debian's Release files use.
pub fn rfc2822(ms: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = UtcTime::from_unix_millis(ms);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} UTC",
        DAYS[(ms / 86_400_000 % 7) as usize],
        t.day,
        MONTHS[t.month as usize - 1],
        t.year,
        t.hour,
        t.minute,
        t.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc2822_utc() {
        assert_eq!(rfc2822(0), "Thu, 01 Jan 1970 00:00:00 UTC");
        assert_eq!(rfc2822(1_796_553_556_000), "Sun, 06 Dec 2026 10:39:16 UTC");
    }
}
