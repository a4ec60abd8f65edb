//! A binary package's `control` file, read from the `.deb` inside the
//! sandbox: the `ar` archive's `control.tar.{gz,xz,zst}` (or plain
//! `control.tar`), its `./control` member, a deb822 paragraph.

use std::io::{Read, Seek};
use wharf_sdk::HttpError;
use wharf_sdk::archive::{Ar, ArchiveError, Limits, Tar};

use crate::version;

/// Largest `control` file read (real ones are a few KiB; long descriptions
/// and dependency lists stay far below).
pub const CONTROL_LIMIT: u64 = 1 << 20;

/// A `.deb` has three members; a few more are tolerated (signatures made
/// by `debsig`), never a flood.
const AR_LIMITS: Limits = Limits {
    max_entries: 16,
    ..Limits::DEFAULT
};

/// `control.tar`: the control file, maintainer scripts and md5sums (a few
/// MiB for packages with very many files).
const CONTROL_TAR_LIMITS: Limits = Limits {
    max_unpacked_bytes: 64 << 20,
    max_entries: 1_000,
    max_entry_bytes: 64 << 20,
    ..Limits::DEFAULT
};

/// Fields the repository computes; a control file's own are dropped.
const COMPUTED: &[&str] = &["Filename", "Size", "MD5sum", "SHA1", "SHA256", "SHA512"];

/// A parsed control paragraph: fields in their order, values as written
/// (continuation lines kept, joined by `\n`).
#[derive(Debug, Clone, PartialEq)]
pub struct Control {
    pub fields: Vec<(String, String)>,
}

impl Control {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The source package: `Source: name (version)`, or the package itself.
    pub fn source(&self) -> &str {
        self.get("Source")
            .and_then(|s| s.split_whitespace().next())
            .or_else(|| self.get("Package"))
            .unwrap_or("")
    }

    /// The paragraph as a Packages stanza starts: `Package` first, then the
    /// other fields as uploaded, without the ones the repository computes.
    pub fn stanza(&self) -> String {
        let mut out = String::new();
        let package = self.fields.iter().filter(|(k, _)| k == "Package");
        let rest = self.fields.iter().filter(|(k, _)| k != "Package");
        for (name, value) in package.chain(rest) {
            if COMPUTED.iter().any(|c| c.eq_ignore_ascii_case(name)) {
                continue;
            }
            out.push_str(name);
            out.push(':');
            if !value.starts_with('\n') {
                out.push(' ');
            }
            out.push_str(value);
            out.push('\n');
        }
        out
    }
}

/// Parses one deb822 paragraph (policy 5.1): `Name: value` lines,
/// continuation lines starting with a space or tab, `#` comments; no blank
/// line inside, no field twice.
pub fn parse(text: &str) -> Result<Control, HttpError> {
    let bad = |why: String| HttpError::bad_request(format!("the control file {why}"));
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.trim_end_matches(['\n', '\r']).lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            return Err(bad("has more than one paragraph".into()));
        }
        if line.starts_with([' ', '\t']) {
            let Some((_, value)) = fields.last_mut() else {
                return Err(bad("starts with a continuation line".into()));
            };
            value.push('\n');
            value.push_str(line);
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad(format!("has a line without a field name: {line:?}")));
        };
        let name_ok = !name.is_empty()
            && !name.starts_with(['#', '-'])
            && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if !name_ok {
            return Err(bad(format!("has an invalid field name {name:?}")));
        }
        if fields.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)) {
            return Err(bad(format!("has the field {name} twice")));
        }
        fields.push((name.to_string(), value.trim().to_string()));
    }
    let control = Control { fields };
    for required in ["Package", "Version", "Architecture"] {
        if control.get(required).is_none_or(str::is_empty) {
            return Err(bad(format!("has no {required} field")));
        }
    }
    let package = control.get("Package").unwrap_or("");
    if !is_package_name(package) {
        return Err(bad(format!("names an invalid package {package:?}")));
    }
    let version = control.get("Version").unwrap_or("");
    if !version::is_valid(version) {
        return Err(bad(format!("has an invalid version {version:?}")));
    }
    if !is_package_name(control.source()) {
        return Err(bad(format!(
            "names an invalid source {:?}",
            control.source()
        )));
    }
    Ok(control)
}

/// Policy 5.6.1: lower case letters, digits, `+ - .`, at least two
/// characters, starting with a letter or digit.
pub fn is_package_name(name: &str) -> bool {
    let b = name.as_bytes();
    (2..=128).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"+-.".contains(c))
}

/// The control file of a `.deb`.
pub fn read(deb: impl Read + Seek) -> Result<Control, HttpError> {
    let mut ar = Ar::open(deb, AR_LIMITS).map_err(refused)?;
    let first = ar.members().first().map(|m| m.name.clone());
    if first.as_deref() != Some("debian-binary") {
        return Err(HttpError::bad_request(
            "the upload is not a .deb: its first member must be debian-binary",
        ));
    }
    let format = ar
        .read("debian-binary", 16)
        .map_err(refused)?
        .unwrap_or_default();
    if !format.starts_with(b"2.") {
        return Err(HttpError::bad_request(
            "the .deb is not in format 2.x (debian-binary)",
        ));
    }
    let Some(member) = ar
        .members()
        .iter()
        .find(|m| m.name == "control.tar" || m.name.starts_with("control.tar."))
        .cloned()
    else {
        return Err(HttpError::bad_request("the .deb has no control.tar member"));
    };
    let reader = ar
        .member(&member.name)
        .map_err(refused)?
        .expect("a listed member");
    let limits = CONTROL_TAR_LIMITS;
    let mut tar = match member.name.as_str() {
        "control.tar" => Tar::plain(reader, limits),
        "control.tar.gz" => Tar::gz(reader, member.size, limits),
        "control.tar.xz" => Tar::xz(reader, member.size, limits),
        "control.tar.zst" => Tar::zst(reader, member.size, limits).map_err(refused)?,
        other => {
            return Err(HttpError::bad_request(format!(
                "the .deb's {other} is compressed in a way this repository does not read \
                 (gzip, xz and zstd are)"
            )));
        }
    };
    for entry in tar.entries().map_err(refused)? {
        let mut entry = entry.map_err(refused)?;
        if matches!(entry.name(), "./control" | "control") && entry.is_file() {
            let text = entry.read_to_string(CONTROL_LIMIT).map_err(refused)?;
            return parse(&text);
        }
    }
    Err(HttpError::bad_request(
        "the .deb's control.tar has no control file",
    ))
}

/// A limit (413), a broken archive (400), or a store failure, said of the .deb.
fn refused(e: ArchiveError) -> HttpError {
    match e {
        ArchiveError::Malformed(why) => {
            HttpError::bad_request(format!("the upload is not a valid .deb: {why}"))
        }
        ArchiveError::TooLarge { .. } => HttpError::new(413, format!(".deb refused: {e}")),
        e => e.into(),
    }
}
