//! PEP 658: a wheel's core metadata (`{name}-{ver}.dist-info/METADATA`), read
//! inside the sandbox from the stored wheel and served beside it.

use std::io::{Read, Seek};
use wharf_sdk::HttpError;
use wharf_sdk::archive::{ArchiveError, Limits, Zip};

use crate::names;

/// Larger METADATA files are refused (a README is seldom above a few hundred KiB).
const METADATA_LIMIT: u64 = 8 << 20;

/// What a wheel may unpack to: the SDK's defaults but for size, since the
/// largest wheels (CUDA builds) unpack to a few GiB. Only the directory and
/// METADATA are read here; the limits protect every installer.
const WHEEL_LIMITS: Limits = Limits {
    max_unpacked_bytes: 4 << 30,
    max_entry_bytes: 4 << 30,
    ..Limits::DEFAULT
};

/// The METADATA bytes of a wheel: the one file named
/// `<something>.dist-info/METADATA` at the top of the archive.
pub fn from_wheel(wheel: impl Read + Seek) -> Result<Vec<u8>, HttpError> {
    let archive = Zip::open(wheel, WHEEL_LIMITS).map_err(refused)?;
    let names: Vec<&str> = archive
        .names()
        .filter(|n| {
            n.split_once('/')
                .is_some_and(|(dir, file)| dir.ends_with(".dist-info") && file == "METADATA")
        })
        .collect();
    let [name] = names.as_slice() else {
        return Err(HttpError::bad_request(format!(
            "invalid wheel: expected one .dist-info/METADATA, found {}",
            names.len()
        )));
    };
    let bytes = archive.read(name, METADATA_LIMIT).map_err(refused)?;
    Ok(bytes.expect("a listed entry"))
}

/// A limit (413), a broken archive (400) or a store failure, said of the wheel.
fn refused(e: ArchiveError) -> HttpError {
    match e {
        ArchiveError::Malformed(why) => HttpError::bad_request(format!("invalid wheel: {why}")),
        ArchiveError::TooLarge { .. } => HttpError::new(413, format!("wheel refused: {e}")),
        e => e.into(),
    }
}

/// The served metadata must describe the upload: the same project and version.
pub fn check(metadata: &[u8], project: &str, version: &str) -> Result<(), HttpError> {
    let text = String::from_utf8_lossy(metadata);
    let name = field(&text, "Name").unwrap_or("");
    let declared = field(&text, "Version").unwrap_or("");
    if names::normalize(name) != names::normalize(project) || declared != version {
        return Err(HttpError::bad_request(format!(
            "the wheel's METADATA describes {name:?} {declared:?}, not {project} {version}"
        )));
    }
    Ok(())
}

/// A header of an RFC 822 style METADATA file (the headers end at the first blank line).
fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines()
        .take_while(|l| !l.trim().is_empty())
        .find_map(|l| {
            let (key, value) = l.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
}
