//! Hostile archives built in memory: bombs, floods, liars and climbers.

use super::*;
use crate::HttpError;
use std::io::{self, Cursor, Read, Write};

const MIB: u64 = 1 << 20;

fn tar_header(size: u64) -> ::tar::Header {
    let mut header = ::tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    header
}

/// A tar of `(name, content)`; names are written raw (unchecked).
fn tar_of(files: Vec<(&str, Box<dyn Read>)>, sizes: &[u64]) -> Vec<u8> {
    let mut tar = ::tar::Builder::new(Vec::new());
    for ((name, data), size) in files.into_iter().zip(sizes) {
        let mut header = tar_header(*size);
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        tar.append(&header, data).unwrap();
    }
    tar.into_inner().unwrap()
}

/// Best compression: a bomb's ratio must not depend on which deflate
/// backend a build unifies flate2 onto (zlib-rs' fast level packs zeros
/// only ~100 to 1).
fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// A file's content and its size.
type Content = (Box<dyn Read>, u64);

fn text(s: &'static str) -> Content {
    (Box::new(s.as_bytes()), s.len() as u64)
}

fn zeros(n: u64) -> Content {
    (Box::new(io::repeat(0).take(n)), n)
}

fn tgz(files: Vec<(&str, Content)>) -> Vec<u8> {
    let sizes: Vec<u64> = files.iter().map(|(_, (_, s))| *s).collect();
    let files = files.into_iter().map(|(n, (r, _))| (n, r)).collect();
    gzip(&tar_of(files, &sizes))
}

/// Reads every entry to the end; the names and contents, or the refusal.
fn walk(mut tar: Tar) -> Result<Vec<(String, Vec<u8>)>, ArchiveError> {
    let mut seen = Vec::new();
    for entry in tar.entries()? {
        let mut entry = entry?;
        let bytes = entry.read_to_vec(u64::MAX)?;
        seen.push((entry.name().to_string(), bytes));
    }
    Ok(seen)
}

fn open_tgz(bytes: &[u8], limits: Limits) -> Tar<'_> {
    Tar::gz(bytes, bytes.len() as u64, limits)
}

fn too_large(limit: Limit, max: u64) -> ArchiveError {
    ArchiveError::TooLarge { limit, max }
}

#[test]
fn a_normal_tar_gz_is_read_whole() {
    let bytes = tgz(vec![
        ("pkg/Cargo.toml", text("[package]\n")),
        ("./pkg/src/lib.rs", text("pub fn f() {}\n")),
    ]);
    let seen = walk(open_tgz(&bytes, Limits::default())).unwrap();
    assert_eq!(
        seen,
        vec![
            ("pkg/Cargo.toml".to_string(), b"[package]\n".to_vec()),
            ("./pkg/src/lib.rs".to_string(), b"pub fn f() {}\n".to_vec()),
        ]
    );
}

#[test]
fn a_gzip_bomb_is_refused_by_its_ratio_without_reading_entries() {
    // 16 MiB of zeros pack to ~16 KiB: past 100× (and the 1 MiB grace).
    let bomb = tgz(vec![("pkg/zeros", zeros(16 * MIB))]);
    assert!(bomb.len() < 100 * 1024, "{}", bomb.len());
    let mut tar = open_tgz(&bomb, Limits::default());
    // The entry is never read: skipping over it still inflates, and counts.
    let refused = tar.entries().unwrap().find_map(Result::err);
    assert_eq!(refused, Some(too_large(Limit::Ratio, 100)));
    assert_eq!(refused.unwrap().status(), 413);
}

#[test]
fn the_unpacked_total_counts_the_stream_not_the_headers() {
    let limits = Limits {
        max_unpacked_bytes: 64 * 1024,
        ..Limits::default()
    };
    // An uncompressed tar has no ratio; its 100 KiB stream is still counted.
    let bytes = tar_of(vec![("big", zeros(100 * 1024).0)], &[100 * 1024]);
    assert_eq!(
        walk(Tar::plain(&bytes[..], limits)).unwrap_err(),
        too_large(Limit::UnpackedBytes, 64 * 1024)
    );
    // Two small files that fit, but whose headers and padding do not.
    let limits = Limits {
        max_unpacked_bytes: 3000,
        ..Limits::default()
    };
    let bytes = tgz(vec![("a", text("a")), ("b", text("b")), ("c", text("c"))]);
    assert_eq!(
        walk(open_tgz(&bytes, limits)).unwrap_err(),
        too_large(Limit::UnpackedBytes, 3000)
    );
}

#[test]
fn too_many_entries_and_too_large_ones_are_refused() {
    let files = |n: usize| {
        let names: Vec<String> = (0..n).map(|i| format!("f{i}")).collect();
        tgz(names
            .iter()
            .map(|n| (n.as_str(), text("")))
            .collect::<Vec<_>>())
    };
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    assert_eq!(walk(open_tgz(&files(10), limits)).unwrap().len(), 10);
    assert_eq!(
        walk(open_tgz(&files(11), limits)).unwrap_err(),
        too_large(Limit::Entries, 10)
    );

    let limits = Limits {
        max_entry_bytes: 1000,
        ..Limits::default()
    };
    let bytes = tgz(vec![("small", zeros(1000)), ("large", zeros(1001))]);
    assert_eq!(
        walk(open_tgz(&bytes, limits)).unwrap_err(),
        too_large(Limit::EntryBytes, 1000)
    );
    // A read's own maximum.
    let mut tar = open_tgz(&bytes, Limits::default());
    let mut first = tar.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(
        first.read_to_vec(999).unwrap_err(),
        too_large(Limit::EntryBytes, 999)
    );
}

#[test]
fn names_that_climb_out_are_refused() {
    for name in [
        "../evil",
        "pkg/../../evil",
        "/etc/passwd",
        "C:/x",
        "a\\..\\b",
    ] {
        let bytes = tgz(vec![("ok", text("")), (name, text("x"))]);
        let err = walk(open_tgz(&bytes, Limits::default())).unwrap_err();
        assert!(
            matches!(&err, ArchiveError::Malformed(m) if m.contains("unsafe entry name")),
            "{name}: {err:?}"
        );
        assert_eq!(err.status(), 400);
    }
}

#[test]
fn garbage_is_malformed_and_a_store_failure_keeps_its_status() {
    let err = walk(open_tgz(b"not gzip at all", Limits::default())).unwrap_err();
    assert!(matches!(err, ArchiveError::Malformed(_)), "{err:?}");

    struct Down;
    impl Read for Down {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other(HttpError::new(503, "blob store down")))
        }
    }
    let err = walk(Tar::gz(Down, 100, Limits::default())).unwrap_err();
    assert_eq!(
        err,
        ArchiveError::Unreadable(HttpError::new(503, "blob store down"))
    );
    assert_eq!(HttpError::from(err).status, 503);
}

// ---- zip ----

fn zip_of(files: &[(&str, u64)], method: ::zip::CompressionMethod) -> Vec<u8> {
    let mut zip = ::zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = ::zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, zero_bytes) in files {
        zip.start_file(*name, options).unwrap();
        if *zero_bytes == 0 {
            zip.write_all(name.as_bytes()).unwrap();
        } else {
            io::copy(&mut io::repeat(0).take(*zero_bytes), &mut zip).unwrap();
        }
    }
    zip.finish().unwrap().into_inner()
}

fn deflated(files: &[(&str, u64)]) -> Vec<u8> {
    zip_of(files, ::zip::CompressionMethod::Deflated)
}

fn open_zip(bytes: &[u8], limits: Limits) -> Result<Zip<Cursor<&[u8]>>, ArchiveError> {
    Zip::open(Cursor::new(bytes), limits)
}

/// Rewrites a little-endian u32 field of every record with `signature`
/// whose name is `name` (`size_at`: the field's offset in the record).
fn patch(bytes: &mut [u8], signature: &[u8; 4], name: &str, field_at: usize, value: u32) {
    let (name_len_at, fixed) = if signature == b"PK\x01\x02" {
        (28, 46)
    } else {
        (26, 30)
    };
    let mut patched = 0;
    for at in 0..bytes.len() - fixed {
        if &bytes[at..at + 4] != signature {
            continue;
        }
        let len = u16::from_le_bytes([bytes[at + name_len_at], bytes[at + name_len_at + 1]]);
        if &bytes[at + fixed..at + fixed + len as usize] == name.as_bytes() {
            bytes[at + field_at..at + field_at + 4].copy_from_slice(&value.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 1, "{name}");
}

#[test]
fn a_normal_zip_is_listed_and_read() {
    let bytes = deflated(&[("pkg/__init__.py", 0), ("pkg-1.0.dist-info/METADATA", 0)]);
    let zip = open_zip(&bytes, Limits::default()).unwrap();
    assert_eq!(
        zip.names().collect::<Vec<_>>(),
        ["pkg/__init__.py", "pkg-1.0.dist-info/METADATA"]
    );
    let read = zip.read("pkg-1.0.dist-info/METADATA", 100).unwrap();
    assert_eq!(read.as_deref(), Some(&b"pkg-1.0.dist-info/METADATA"[..]));
    assert_eq!(zip.read("absent", 100).unwrap(), None);
    assert_eq!(
        zip.read("pkg/__init__.py", 3).unwrap_err(),
        too_large(Limit::EntryBytes, 3)
    );
    let stored = zip_of(&[("a.txt", 0)], ::zip::CompressionMethod::Stored);
    let stored = open_zip(&stored, Limits::default()).unwrap();
    let mut streamed = Vec::new();
    stored
        .reader("a.txt")
        .unwrap()
        .unwrap()
        .read_to_end(&mut streamed)
        .unwrap();
    assert_eq!(streamed, b"a.txt");
}

#[test]
fn a_zip_bomb_is_refused_when_opened() {
    let bomb = deflated(&[("pkg/__init__.py", 0), ("pkg/zeros", 16 * MIB)]);
    assert!(bomb.len() < 100 * 1024, "{}", bomb.len());
    let err = open_zip(&bomb, Limits::default()).err().unwrap();
    assert_eq!(err, too_large(Limit::Ratio, 100));
    // Without the ratio, the declared total.
    let limits = Limits {
        max_ratio: u64::MAX,
        max_unpacked_bytes: 8 * MIB,
        ..Limits::default()
    };
    let err = open_zip(&bomb, limits).err().unwrap();
    assert_eq!(err, too_large(Limit::UnpackedBytes, 8 * MIB));
}

#[test]
fn a_zip_with_too_many_entries_is_refused_before_its_directory_is_read() {
    let names: Vec<String> = (0..11).map(|i| format!("f{i}")).collect();
    let files: Vec<(&str, u64)> = names.iter().map(|n| (n.as_str(), 0)).collect();
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    assert!(open_zip(&deflated(&files[..10]), limits).is_ok());
    let mut bytes = deflated(&files);
    assert_eq!(
        open_zip(&bytes, limits).err().unwrap(),
        too_large(Limit::Entries, 10)
    );
    // An end record that under-counts is caught by counting the records.
    let end = bytes.len() - 22;
    assert_eq!(&bytes[end..end + 4], b"PK\x05\x06");
    bytes[end + 8..end + 12].copy_from_slice(&[10, 0, 10, 0]);
    assert_eq!(
        open_zip(&bytes, limits).err().unwrap(),
        too_large(Limit::Entries, 10)
    );
}

#[test]
fn entries_that_lie_about_their_sizes_are_refused_when_read() {
    let honest = deflated(&[("a.txt", 0), ("zeros", 4096)]);
    // The directory claims less than the entry inflates to...
    let mut short = honest.clone();
    patch(&mut short, b"PK\x01\x02", "zeros", 24, 100);
    let zip = open_zip(&short, Limits::default()).unwrap();
    let err = zip.read("zeros", u64::MAX).unwrap_err();
    assert!(matches!(err, ArchiveError::Malformed(_)), "{err:?}");
    // ...or more.
    let mut long = honest.clone();
    patch(&mut long, b"PK\x01\x02", "a.txt", 24, 6);
    let err = open_zip(&long, Limits::default())
        .unwrap()
        .read("a.txt", u64::MAX)
        .unwrap_err();
    assert!(matches!(err, ArchiveError::Malformed(_)), "{err:?}");
    // A compressed size beyond where the deflate stream ends.
    let mut padded = honest.clone();
    let packed = ::zip::ZipArchive::new(Cursor::new(&honest))
        .unwrap()
        .by_name("a.txt")
        .unwrap()
        .compressed_size();
    patch(&mut padded, b"PK\x01\x02", "a.txt", 20, packed as u32 + 4);
    let err = open_zip(&padded, Limits::default())
        .unwrap()
        .read("a.txt", u64::MAX)
        .unwrap_err();
    assert!(
        matches!(&err, ArchiveError::Malformed(m) if m.contains("not the size")),
        "{err:?}"
    );
    // The honest archive reads.
    let zip = open_zip(&honest, Limits::default()).unwrap();
    assert_eq!(zip.read("zeros", 4096).unwrap().unwrap(), vec![0; 4096]);
}

#[test]
fn zip_names_must_be_safe_and_unique() {
    for name in ["../evil", "/abs", "a/../../b"] {
        let bytes = deflated(&[("ok", 0), (name, 0)]);
        let err = open_zip(&bytes, Limits::default()).err().unwrap();
        assert!(
            matches!(&err, ArchiveError::Malformed(m) if m.contains("unsafe entry name")),
            "{name}: {err:?}"
        );
    }
    let mut twice = deflated(&[("a.txt", 0), ("b.txt", 0)]);
    for at in 0..twice.len() - 5 {
        if &twice[at..at + 5] == b"b.txt" {
            twice[at] = b'a';
        }
    }
    let err = open_zip(&twice, Limits::default()).err().unwrap();
    assert!(
        matches!(&err, ArchiveError::Malformed(m) if m.contains("twice")),
        "{err:?}"
    );
    let err = open_zip(b"not a zip", Limits::default()).err().unwrap();
    assert_eq!(err.status(), 400);
}
