//! Reading archives a client uploaded, with limits: a `.crate` or `.tgz`
//! ([`Tar::gz`]), tar over xz or zstd ([`Tar::xz`], [`Tar::zst`]), a plain
//! tar ([`Tar::plain`]), a wheel or any zip ([`Zip`]), an `ar` archive such
//! as a `.deb` ([`Ar`]).
//!
//! An upload is hostile until read: a few MiB of gzip can inflate to GiBs
//! (CPU here, disk on every consumer), a zip can list a million entries or
//! claim sizes it does not have, and names can climb out of the directory
//! they are unpacked into. Every reader here enforces the same [`Limits`]:
//!
//! - tar: every inflated byte is counted as it is read (headers, padding and
//!   skipped entries included), never taken from the headers' word;
//! - zip: the sizes the central directory declares are checked before
//!   anything is inflated, and an entry that is read must inflate to exactly
//!   its declared size, from exactly its declared compressed size, with its
//!   CRC; entries are counted while the directory is iterated, before any
//!   memory is spent on them;
//! - ar: members are stored, not compressed: their count and sizes are
//!   checked against the archive's real size when it is opened;
//! - all: entry names must be UTF-8 relative paths without `..`.
//!
//! A refusal is an [`ArchiveError`]: a limit (413) or a malformed archive
//! (400); `HttpError::from` renders it in the plugin's error shape.
//!
//! ```ignore
//! let blob = blobs::open(&blake3)?;
//! let size = blob.size();
//! let mut tar = archive::Tar::gz(blob, size, archive::Limits::default());
//! for entry in tar.entries()? {
//!     let mut entry = entry?;
//!     if entry.name() == "pkg/manifest.toml" {
//!         let text = entry.read_to_string(1 << 20)?;
//!     }
//! }
//! ```

mod ar;
mod error;
mod tar;
mod zip;

pub use self::ar::{Ar, ArMember};
pub use self::tar::{Tar, TarEntries, TarEntry, XZ_MAX_DICTIONARY_KIB, ZSTD_MAX_WINDOW};
pub use self::zip::Zip;
pub use error::{ArchiveError, Limit};

/// What an archive may unpack to. `Limits::default()` suits source packages;
/// a format sets its own fields where its packages are known to differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes all entries unpack to (a tar counts its whole inflated stream).
    /// Default 512 MiB: what crates.io accepts and cargo itself will unpack.
    pub max_unpacked_bytes: u64,
    /// Entries, directories included. Default 100,000: far above real
    /// packages (a large crate or wheel has a few thousand files), low enough
    /// that walking them is cheap.
    pub max_entries: u64,
    /// Bytes one entry unpacks to. Default: the whole budget; lower it for
    /// formats whose files are small.
    pub max_entry_bytes: u64,
    /// Unpacked bytes per packed byte of the whole archive, once more than
    /// [`RATIO_GRACE`] is unpacked. Default 100: source and binaries pack
    /// 2–20×, while a bomb is near deflate's best, 1032×.
    pub max_ratio: u64,
}

/// Unpacked bytes always allowed whatever the ratio: a small archive cannot
/// be a bomb worth refusing, and tar's padding makes tiny ones look dense.
pub const RATIO_GRACE: u64 = 1 << 20;

impl Limits {
    /// The defaults, for `const` limits built with `..Limits::DEFAULT`.
    pub const DEFAULT: Limits = Limits {
        max_unpacked_bytes: 512 << 20,
        max_entries: 100_000,
        max_entry_bytes: 512 << 20,
        max_ratio: 100,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// The unpacked-size budget of one archive: total and ratio.
#[derive(Debug)]
struct Budget {
    limits: Limits,
    /// Packed size of the archive; `None` for an uncompressed tar.
    packed: Option<u64>,
    unpacked: u64,
}

impl Budget {
    fn new(limits: Limits, packed: Option<u64>) -> Self {
        Budget {
            limits,
            packed,
            unpacked: 0,
        }
    }

    /// Counts `bytes` more unpacked bytes; an error names the limit passed.
    fn charge(&mut self, bytes: u64) -> Result<(), ArchiveError> {
        self.unpacked = self.unpacked.saturating_add(bytes);
        let limits = &self.limits;
        if self.unpacked > limits.max_unpacked_bytes {
            return Err(ArchiveError::too_large(
                Limit::UnpackedBytes,
                limits.max_unpacked_bytes,
            ));
        }
        if let Some(packed) = self.packed {
            let allowed = packed.saturating_mul(limits.max_ratio).max(RATIO_GRACE);
            if self.unpacked > allowed {
                return Err(ArchiveError::too_large(Limit::Ratio, limits.max_ratio));
            }
        }
        Ok(())
    }
}

/// Refuses names that would land outside the directory they are unpacked
/// into (absolute, `..`, a drive, backslashes) or that no file system takes.
fn check_name(name: &str) -> Result<(), ArchiveError> {
    let first = name.split('/').next().unwrap_or("");
    let drive = first.len() == 2 && first.ends_with(':');
    let escapes = name.starts_with('/') || drive || name.split('/').any(|c| c == "..");
    if name.is_empty() || escapes || name.contains(['\\', '\0']) {
        return Err(ArchiveError::Malformed(format!(
            "the archive has an unsafe entry name {name:?}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_deb;
