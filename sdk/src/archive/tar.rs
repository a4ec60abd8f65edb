//! Tar archives, plain or compressed (gzip, xz, zstd), read as one stream:
//! every byte the decoder produces is charged to the budget as it is read.

use super::{ArchiveError, Budget, Limit, Limits, check_name};
use flate2::read::GzDecoder;
use lzma_rust2::XzReader;
use ruzstd::decoding::StreamingDecoder;
use std::io::{self, Read};

/// Dictionary an xz stream may make the decoder allocate: 64 MiB, what
/// `xz -9` (and `dpkg-deb -z9`) uses; Debian's default is 8 MiB.
pub const XZ_MAX_DICTIONARY_KIB: u32 = 64 << 10;

/// Window a zstd frame may make the decoder allocate: 64 MiB, above
/// `zstd -19`'s 8 MiB and below a plugin's memory.
pub const ZSTD_MAX_WINDOW: u64 = 64 << 20;

/// Charges what the stream yields; past a limit reading fails with it.
struct Counted<R> {
    inner: R,
    budget: Budget,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.budget
            .charge(n as u64)
            .map_err(ArchiveError::into_io)?;
        Ok(n)
    }
}

type Stream<'a> = Box<dyn Read + 'a>;

/// A tar archive, read front to back once with [`Tar::entries`].
pub struct Tar<'a> {
    archive: tar::Archive<Stream<'a>>,
    limits: Limits,
}

impl<'a> Tar<'a> {
    /// A gzip-compressed tar (`.tar.gz`, `.tgz`, a `.crate`) of
    /// `packed_size` bytes (the ratio limit is taken against it).
    pub fn gz(reader: impl Read + 'a, packed_size: u64, limits: Limits) -> Self {
        Self::new(GzDecoder::new(reader), Some(packed_size), limits)
    }

    /// An xz-compressed tar (a `.deb`'s `control.tar.xz`); a stream that
    /// asks for a dictionary above [`XZ_MAX_DICTIONARY_KIB`] is refused.
    pub fn xz(reader: impl Read + 'a, packed_size: u64, limits: Limits) -> Self {
        let decoder = XzReader::new_mem_limit(reader, false, XZ_MAX_DICTIONARY_KIB);
        Self::new(decoder, Some(packed_size), limits)
    }

    /// A zstd-compressed tar; its frame header is read here, and a window
    /// above [`ZSTD_MAX_WINDOW`] is refused.
    pub fn zst(
        reader: impl Read + 'a,
        packed_size: u64,
        limits: Limits,
    ) -> Result<Self, ArchiveError> {
        let decoder = StreamingDecoder::new_with_max_window_size(reader, ZSTD_MAX_WINDOW)
            .map_err(|e| ArchiveError::malformed(format!("not a zstd stream: {e}")))?;
        Ok(Self::new(decoder, Some(packed_size), limits))
    }

    /// An uncompressed tar (a `.gem`'s outer archive): no ratio to check.
    pub fn plain(reader: impl Read + 'a, limits: Limits) -> Self {
        Self::new(reader, None, limits)
    }

    fn new(stream: impl Read + 'a, packed: Option<u64>, limits: Limits) -> Self {
        let counted = Counted {
            inner: stream,
            budget: Budget::new(limits, packed),
        };
        Tar {
            archive: tar::Archive::new(Box::new(counted)),
            limits,
        }
    }

    /// The entries, in archive order. Each is checked (count, name, size)
    /// before it is yielded; the first error ends the iteration.
    pub fn entries(&mut self) -> Result<TarEntries<'_, 'a>, ArchiveError> {
        Ok(TarEntries {
            inner: self.archive.entries()?,
            limits: self.limits,
            count: 0,
            done: false,
        })
    }
}

pub struct TarEntries<'t, 'a> {
    inner: tar::Entries<'t, Stream<'a>>,
    limits: Limits,
    count: u64,
    done: bool,
}

impl<'t, 'a> TarEntries<'t, 'a> {
    fn check(
        &mut self,
        entry: tar::Entry<'t, Stream<'a>>,
    ) -> Result<TarEntry<'t, 'a>, ArchiveError> {
        let limits = &self.limits;
        self.count += 1;
        if self.count > limits.max_entries {
            return Err(ArchiveError::too_large(Limit::Entries, limits.max_entries));
        }
        let name = String::from_utf8(entry.path_bytes().into_owned())
            .map_err(|_| ArchiveError::malformed("an entry name is not UTF-8"))?;
        check_name(&name)?;
        // A sparse entry unpacks to more than it stores; packages have none.
        if entry.header().entry_type() == tar::EntryType::GNUSparse {
            return Err(ArchiveError::malformed(format!(
                "{name:?} is a sparse file"
            )));
        }
        if entry.size() > limits.max_entry_bytes {
            return Err(ArchiveError::too_large(
                Limit::EntryBytes,
                limits.max_entry_bytes,
            ));
        }
        Ok(TarEntry { inner: entry, name })
    }
}

impl<'t, 'a> Iterator for TarEntries<'t, 'a> {
    type Item = Result<TarEntry<'t, 'a>, ArchiveError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = match self.inner.next() {
            Some(next) => next.map_err(ArchiveError::from),
            None => return None,
        };
        let checked = next.and_then(|entry| self.check(entry));
        self.done = checked.is_err();
        Some(checked)
    }
}

/// One entry; reading it reads the archive's stream (still counted).
pub struct TarEntry<'t, 'a> {
    inner: tar::Entry<'t, Stream<'a>>,
    name: String,
}

impl TarEntry<'_, '_> {
    /// The path as stored (long names resolved), checked to be relative
    /// and without `..`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes of content.
    pub fn size(&self) -> u64 {
        self.inner.size()
    }

    pub fn is_file(&self) -> bool {
        self.inner.header().entry_type().is_file()
    }

    pub fn is_dir(&self) -> bool {
        self.inner.header().entry_type().is_dir()
    }

    /// The whole content, refused if larger than `max` bytes.
    pub fn read_to_vec(&mut self, max: u64) -> Result<Vec<u8>, ArchiveError> {
        if self.size() > max {
            return Err(ArchiveError::too_large(Limit::EntryBytes, max));
        }
        let mut bytes = Vec::with_capacity(self.size() as usize);
        self.inner.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// The whole content as UTF-8 text, refused if larger than `max` bytes.
    pub fn read_to_string(&mut self, max: u64) -> Result<String, ArchiveError> {
        String::from_utf8(self.read_to_vec(max)?)
            .map_err(|_| ArchiveError::malformed(format!("{:?} is not UTF-8", self.name)))
    }
}

impl Read for TarEntry<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}
