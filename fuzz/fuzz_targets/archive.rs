//! The SDK's bounded archive readers: whatever the bytes, reading stays
//! within the limits, and no entry name climbs out of its directory.
//! The first byte picks the reader: 0 tar.gz, 1 tar, 2 zip, 3 ar, 4 tar.xz,
//! 5 tar.zst.
#![no_main]

use std::io::Cursor;
use wharf_sdk::archive::{Ar, Limits, Tar, Zip};

const LIMITS: Limits = Limits {
    max_unpacked_bytes: 1 << 20,
    max_entries: 64,
    max_entry_bytes: 256 << 10,
    max_ratio: 100,
};

fn safe(name: &str) -> bool {
    !name.starts_with('/') && !name.split('/').any(|s| s == "..")
}

libfuzzer_sys::fuzz_target!(
    init: wharf_fuzz::seeds::write_if_asked("archive"),
    |data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    match kind % 6 {
        3 => {
            let Ok(mut ar) = Ar::open(Cursor::new(bytes), LIMITS) else {
                return;
            };
            let members = ar.members().to_vec();
            assert!(members.len() as u64 <= LIMITS.max_entries);
            for member in members {
                assert!(safe(&member.name), "{:?}", member.name);
                assert!(member.offset + member.size <= bytes.len() as u64);
                if let Ok(Some(content)) = ar.read(&member.name, LIMITS.max_entry_bytes) {
                    assert_eq!(content.len() as u64, member.size);
                }
            }
        }
        2 => {
            let Ok(zip) = Zip::open(Cursor::new(bytes), LIMITS) else {
                return;
            };
            let names: Vec<String> = zip.names().map(str::to_string).collect();
            assert!(names.len() as u64 <= LIMITS.max_entries);
            for name in names {
                assert!(safe(&name), "{name:?}");
                if let Ok(Some(content)) = zip.read(&name, LIMITS.max_entry_bytes) {
                    assert!(content.len() as u64 <= LIMITS.max_entry_bytes);
                }
            }
        }
        gz => {
            let packed = bytes.len() as u64;
            let mut tar = match gz {
                0 => Tar::gz(bytes, packed, LIMITS),
                4 => Tar::xz(bytes, packed, LIMITS),
                5 => match Tar::zst(bytes, packed, LIMITS) {
                    Ok(tar) => tar,
                    Err(_) => return,
                },
                _ => Tar::plain(bytes, LIMITS),
            };
            let Ok(entries) = tar.entries() else {
                return;
            };
            let (mut count, mut unpacked) = (0u64, 0u64);
            for entry in entries {
                let Ok(mut entry) = entry else {
                    break;
                };
                count += 1;
                assert!(count <= LIMITS.max_entries);
                assert!(safe(entry.name()), "{:?}", entry.name());
                if entry.is_file()
                    && let Ok(content) = entry.read_to_vec(LIMITS.max_entry_bytes)
                {
                    unpacked += content.len() as u64;
                }
            }
            assert!(unpacked <= LIMITS.max_unpacked_bytes);
        }
    }
});
