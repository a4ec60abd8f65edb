//! PEP 658: a wheel's core metadata (`{name}-{ver}.dist-info/METADATA`), read
//! inside the sandbox from the stored wheel and served beside it.

use std::io::{Read, Seek};
use wharf_sdk::HttpError;

use crate::names;

/// Larger METADATA files are refused (a README is seldom above a few hundred KiB).
const METADATA_LIMIT: u64 = 8 << 20;

/// The METADATA bytes of a wheel: the one file named
/// `<something>.dist-info/METADATA` at the top of the archive.
pub fn from_wheel(wheel: impl Read + Seek) -> Result<Vec<u8>, HttpError> {
    let bad = |why: String| HttpError::bad_request(format!("invalid wheel: {why}"));
    let mut archive = zip::ZipArchive::new(wheel).map_err(|e| bad(e.to_string()))?;
    let names: Vec<String> = archive
        .file_names()
        .filter(|n| {
            n.split_once('/')
                .is_some_and(|(dir, file)| dir.ends_with(".dist-info") && file == "METADATA")
        })
        .map(str::to_string)
        .collect();
    let [name] = names.as_slice() else {
        return Err(bad(format!(
            "expected one .dist-info/METADATA, found {}",
            names.len()
        )));
    };
    let entry = archive.by_name(name).map_err(|e| bad(e.to_string()))?;
    if entry.size() > METADATA_LIMIT {
        return Err(bad("METADATA is too large".into()));
    }
    let mut bytes = Vec::new();
    entry
        .take(METADATA_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(e.to_string()))?;
    if bytes.len() as u64 > METADATA_LIMIT {
        return Err(bad("METADATA is too large".into()));
    }
    Ok(bytes)
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
