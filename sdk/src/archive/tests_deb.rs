//! Tar over xz and zstd, and `ar`: what a `.deb` is made of.

use super::*;
use std::io::{self, Cursor, Read, Write};

const MIB: u64 = 1 << 20;

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = ::tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = ::tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, name, *data).unwrap();
    }
    tar.into_inner().unwrap()
}

fn xz(bytes: &[u8]) -> Vec<u8> {
    let options = lzma_rust2::XzOptions::with_preset(6);
    let mut writer = lzma_rust2::XzWriter::new(Vec::new(), options).unwrap();
    writer.write_all(bytes).unwrap();
    writer.finish().unwrap()
}

fn zst(bytes: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(bytes, ruzstd::encoding::CompressionLevel::Fastest)
}

fn walk(mut tar: Tar) -> Result<Vec<(String, Vec<u8>)>, ArchiveError> {
    let mut seen = Vec::new();
    for entry in tar.entries()? {
        let mut entry = entry?;
        let bytes = entry.read_to_vec(u64::MAX)?;
        seen.push((entry.name().to_string(), bytes));
    }
    Ok(seen)
}

const CONTROL: &[u8] = b"Package: hello\nVersion: 1.0\n";

#[test]
fn tar_over_xz_and_zstd_is_read_whole() {
    let tar = tar_of(&[("./control", CONTROL), ("./md5sums", b"")]);
    let want = vec![
        ("control".to_string(), CONTROL.to_vec()),
        ("md5sums".to_string(), Vec::new()),
    ];
    let packed = xz(&tar);
    let read = walk(Tar::xz(&packed[..], packed.len() as u64, Limits::default()));
    assert_eq!(read.unwrap(), want);
    let packed = zst(&tar);
    let tar = Tar::zst(&packed[..], packed.len() as u64, Limits::default()).unwrap();
    assert_eq!(walk(tar).unwrap(), want);
}

#[test]
fn xz_and_zstd_bombs_are_refused_by_their_ratio() {
    let zeros = vec![0u8; 64 * MIB as usize];
    let tar = tar_of(&[("zeros", &zeros)]);
    let limits = Limits::default();
    let packed = xz(&tar);
    assert!(packed.len() < 64 << 10, "xz packs zeros densely");
    let refused = walk(Tar::xz(&packed[..], packed.len() as u64, limits));
    assert_eq!(
        refused.unwrap_err(),
        ArchiveError::too_large(Limit::Ratio, 100)
    );
    let packed = zst(&tar);
    let tar = Tar::zst(&packed[..], packed.len() as u64, limits).unwrap();
    assert_eq!(
        walk(tar).unwrap_err(),
        ArchiveError::too_large(Limit::Ratio, 100)
    );
}

#[test]
fn xz_and_zstd_garbage_is_malformed() {
    let garbage = b"this is not compressed at all".repeat(10);
    let tar = Tar::xz(&garbage[..], garbage.len() as u64, Limits::default());
    assert!(matches!(walk(tar), Err(ArchiveError::Malformed(_))));
    let refused = Tar::zst(&garbage[..], garbage.len() as u64, Limits::default());
    assert!(matches!(refused, Err(ArchiveError::Malformed(_))));
    // A real stream cut in the middle.
    let packed = xz(&tar_of(&[("./control", &[7u8; 100_000])]));
    let cut = &packed[..packed.len() / 2];
    let tar = Tar::xz(cut, cut.len() as u64, Limits::default());
    assert!(matches!(walk(tar), Err(ArchiveError::Malformed(_))));
}

#[test]
fn an_xz_stream_asking_for_a_huge_dictionary_is_refused() {
    let mut options = lzma_rust2::XzOptions::with_preset(6);
    options.lzma_options.dict_size = 256 << 20;
    let mut writer = lzma_rust2::XzWriter::new(Vec::new(), options).unwrap();
    writer
        .write_all(&tar_of(&[("./control", CONTROL)]))
        .unwrap();
    let packed = writer.finish().unwrap();
    let tar = Tar::xz(&packed[..], packed.len() as u64, Limits::default());
    assert!(matches!(walk(tar), Err(ArchiveError::Malformed(_))));
}

/// An ar archive of `(name, bytes)`, as `dpkg-deb` lays it out.
fn ar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, data) in members {
        let header = format!(
            "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            name,
            0,
            0,
            0,
            100644,
            data.len()
        );
        assert_eq!(header.len(), 60);
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

#[test]
fn an_ar_archive_is_listed_and_its_members_read() {
    let bytes = ar_of(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.xz/", b"odd"),
        ("data.tar.xz", b"data"),
    ]);
    let mut ar = Ar::open(Cursor::new(&bytes), Limits::default()).unwrap();
    let names: Vec<&str> = ar.members().iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["debian-binary", "control.tar.xz", "data.tar.xz"]);
    assert_eq!(ar.read("control.tar.xz", 10).unwrap().unwrap(), b"odd");
    assert_eq!(ar.read("data.tar.xz", 10).unwrap().unwrap(), b"data");
    assert_eq!(ar.read("debian-binary", 10).unwrap().unwrap(), b"2.0\n");
    assert_eq!(ar.read("missing", 10).unwrap(), None);
    assert_eq!(
        ar.read("data.tar.xz", 3).unwrap_err(),
        ArchiveError::too_large(Limit::EntryBytes, 3)
    );
}

#[test]
fn ar_archives_that_lie_or_flood_are_refused() {
    let malformed = |bytes: &[u8]| {
        matches!(
            Ar::open(Cursor::new(bytes), Limits::default()),
            Err(ArchiveError::Malformed(_))
        )
    };
    assert!(malformed(b"not an archive"));
    assert!(malformed(b"!<arch>\nshort header"));
    // A size beyond the archive's end.
    let mut liar = ar_of(&[("control.tar.xz", b"abcd")]);
    liar[8 + 48..8 + 58].copy_from_slice(b"999999999 ");
    assert!(malformed(&liar));
    // A size that is not a number.
    let mut liar = ar_of(&[("control.tar.xz", b"abcd")]);
    liar[8 + 48..8 + 58].copy_from_slice(b"-4        ");
    assert!(malformed(&liar));
    assert!(malformed(&ar_of(&[("../escape", b"x")])));
    assert!(malformed(&ar_of(&[("//", b"x")])));
    assert!(malformed(&ar_of(&[("a", b"1"), ("a", b"2")])));
    let many: Vec<(String, Vec<u8>)> = (0..11).map(|i| (format!("m{i}"), vec![])).collect();
    let many: Vec<(&str, &[u8])> = many.iter().map(|(n, d)| (n.as_str(), &d[..])).collect();
    let limits = Limits {
        max_entries: 10,
        ..Limits::DEFAULT
    };
    let refused = Ar::open(Cursor::new(ar_of(&many)), limits).err();
    assert_eq!(refused, Some(ArchiveError::too_large(Limit::Entries, 10)));
    let limits = Limits {
        max_entry_bytes: 3,
        ..Limits::DEFAULT
    };
    let refused = Ar::open(Cursor::new(ar_of(&[("big", b"abcd")])), limits).err();
    assert_eq!(refused, Some(ArchiveError::too_large(Limit::EntryBytes, 3)));
}

#[test]
fn an_ar_store_failure_keeps_its_status() {
    struct Down;
    impl Read for Down {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other(crate::HttpError::new(503, "store down")))
        }
    }
    impl io::Seek for Down {
        fn seek(&mut self, _: io::SeekFrom) -> io::Result<u64> {
            Ok(100)
        }
    }
    let refused = Ar::open(Down, Limits::default()).err().unwrap();
    assert_eq!(refused.status(), 503);
}
