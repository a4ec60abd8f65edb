//! Zip archives (wheels, jars, Composer and Go module zips). The central
//! directory is checked whole when the archive is opened, one record at a
//! time, before anything is inflated; an entry is inflated only when read,
//! and must then match what the directory declared.

use super::{ArchiveError, Budget, Limit, Limits, check_name};
use flate2::bufread::DeflateDecoder;
use rawzip::{CompressionMethod, ReaderAt, ZipArchive, ZipArchiveEntryWayfinder, ZipLocator};
use std::cell::RefCell;
use std::io::{self, BufReader, Read, Seek, SeekFrom};

/// Positioned reads over a seekable reader, as rawzip reads.
struct At<R>(RefCell<R>);

impl<R: Read + Seek> ReaderAt for At<R> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut reader = self.0.borrow_mut();
        reader.seek(SeekFrom::Start(offset))?;
        reader.read(buf)
    }
}

struct Item {
    name: String,
    at: ZipArchiveEntryWayfinder,
    method: CompressionMethod,
}

/// An opened zip whose directory passed the limits.
pub struct Zip<R> {
    archive: ZipArchive<At<R>>,
    items: Vec<Item>,
}

impl<R: Read + Seek> Zip<R> {
    /// Opens a zip and checks its central directory: entry count, names,
    /// and the declared sizes against every limit. No duplicate names.
    pub fn open(mut reader: R, limits: Limits) -> Result<Self, ArchiveError> {
        let size = reader.seek(SeekFrom::End(0))?;
        // Large enough for any directory record, so none is "too long".
        let mut buffer = vec![0; rawzip::MAX_CENTRAL_DIRECTORY_RECORD_SIZE];
        let archive = ZipLocator::new()
            .locate_in_reader(At(RefCell::new(reader)), &mut buffer, size)
            .map_err(|(_, e)| ArchiveError::from(e))?;
        let too_many = || ArchiveError::too_large(Limit::Entries, limits.max_entries);
        if archive.entries_hint() > limits.max_entries {
            return Err(too_many());
        }
        let mut budget = Budget::new(limits, Some(size));
        let mut items = Vec::new();
        let mut records = archive.entries(&mut buffer);
        // The end record's count may lie: the records are counted too.
        while let Some(record) = records.next_entry()? {
            if items.len() as u64 >= limits.max_entries {
                return Err(too_many());
            }
            let name = std::str::from_utf8(record.file_path().as_bytes())
                .map_err(|_| ArchiveError::malformed("an entry name is not UTF-8"))?;
            check_name(name)?;
            let unpacked = record.uncompressed_size_hint();
            if unpacked > limits.max_entry_bytes {
                return Err(ArchiveError::too_large(
                    Limit::EntryBytes,
                    limits.max_entry_bytes,
                ));
            }
            budget.charge(unpacked)?;
            items.push(Item {
                name: name.to_string(),
                at: record.wayfinder(),
                method: record.compression_method(),
            });
        }
        // Two entries of one name are read differently by different tools.
        let mut names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
        names.sort_unstable();
        if let Some(twice) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(ArchiveError::malformed(format!(
                "{:?} is in the archive twice",
                twice[0]
            )));
        }
        Ok(Zip { archive, items })
    }

    /// Entry names, in the central directory's order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|i| i.name.as_str())
    }

    /// The unpacked size `name` declares (reading it holds it to that).
    pub fn size(&self, name: &str) -> Option<u64> {
        self.find(name).map(|i| i.at.uncompressed_size_hint())
    }

    /// The content of `name`, refused if it declares more than `max` bytes;
    /// `None` when there is no such entry.
    pub fn read(&self, name: &str, max: u64) -> Result<Option<Vec<u8>>, ArchiveError> {
        let Some(item) = self.find(name) else {
            return Ok(None);
        };
        let size = item.at.uncompressed_size_hint();
        if size > max {
            return Err(ArchiveError::too_large(Limit::EntryBytes, max));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        self.open_item(item)?.read_to_end(&mut bytes)?;
        Ok(Some(bytes))
    }

    /// A streaming reader of `name`, for entries too large to hold: it fails
    /// (`ArchiveError::from` its error) as soon as the content departs from
    /// the declared size, compressed size or CRC.
    pub fn reader(&self, name: &str) -> Result<Option<impl Read + '_>, ArchiveError> {
        self.find(name).map(|item| self.open_item(item)).transpose()
    }

    fn find(&self, name: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.name == name)
    }

    fn open_item(&self, item: &Item) -> Result<Box<dyn Read + '_>, ArchiveError> {
        let entry = self.archive.get_entry(item.at)?;
        let packed = item.at.compressed_size_hint();
        let unpacked = item.at.uncompressed_size_hint();
        let mismatch = || {
            ArchiveError::malformed(format!(
                "{:?} is not the size its directory record says",
                item.name
            ))
        };
        // The verifier checks the unpacked size and CRC as bytes come out.
        match item.method {
            CompressionMethod::STORE if packed == unpacked => {
                Ok(Box::new(entry.verifying_reader(entry.reader())))
            }
            CompressionMethod::STORE => Err(mismatch()),
            CompressionMethod::DEFLATE => {
                let inflate = DeflateDecoder::new(BufReader::new(entry.reader()));
                Ok(Box::new(entry.verifying_reader(WholePacked {
                    inflate,
                    packed,
                    mismatch: mismatch(),
                })))
            }
            other => Err(ArchiveError::malformed(format!(
                "{:?} uses compression method {}, not stored or deflate",
                item.name,
                other.as_u16()
            ))),
        }
    }
}

/// Refuses a deflate stream that ends before its declared compressed size.
struct WholePacked<R: io::BufRead> {
    inflate: DeflateDecoder<R>,
    packed: u64,
    mismatch: ArchiveError,
}

impl<R: io::BufRead> Read for WholePacked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inflate.read(buf)?;
        if n == 0 && !buf.is_empty() && self.inflate.total_in() != self.packed {
            return Err(self.mismatch.clone().into_io());
        }
        Ok(n)
    }
}
