//! Module paths and versions as `golang.org/x/mod/module` and
//! `golang.org/x/mod/semver` define them: `CheckPath`, `CheckFilePath`,
//! `SplitPathVersion`, `CheckPathMajor`, the `!` case-encoding of
//! `EscapePath`/`UnescapePath`, canonical versions and pseudo-versions.

use std::cmp::Ordering;

/// Names Windows reserves, refused as path elements (module.badWindowsNames).
const BAD_WINDOWS_NAMES: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Longest module path accepted: far above real ones, and it bounds every
/// key the catalog stores.
pub const MAX_PATH: usize = 1024;
/// Longest version accepted.
pub const MAX_VERSION: usize = 256;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Module,
    File,
}

fn module_char_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

fn file_char_ok(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || "!#$%&()+,-.=@[]^_{}~ ".contains(c)
    } else {
        c.is_alphabetic()
    }
}

fn check_elem(elem: &str, kind: Kind) -> Result<(), String> {
    if elem.is_empty() {
        return Err("empty path element".into());
    }
    if elem.chars().all(|c| c == '.') {
        return Err(format!("invalid path element {elem:?}"));
    }
    if kind == Kind::Module && elem.starts_with('.') {
        return Err(format!("leading dot in path element {elem:?}"));
    }
    if elem.ends_with('.') {
        return Err(format!("trailing dot in path element {elem:?}"));
    }
    let ok = match kind {
        Kind::Module => module_char_ok,
        Kind::File => file_char_ok,
    };
    if let Some(c) = elem.chars().find(|&c| !ok(c)) {
        return Err(format!("invalid char {c:?} in path element {elem:?}"));
    }
    let short = elem.split('.').next().unwrap_or(elem);
    if BAD_WINDOWS_NAMES
        .iter()
        .any(|bad| bad.eq_ignore_ascii_case(short))
    {
        return Err(format!(
            "{short:?} is not allowed as a path element on Windows"
        ));
    }
    if kind == Kind::Module
        && let Some(tilde) = short.rfind('~')
        && tilde < short.len() - 1
        && short[tilde + 1..].bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!(
            "trailing tilde and digits in path element {elem:?}"
        ));
    }
    Ok(())
}

fn check_any_path(path: &str, kind: Kind) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty path".into());
    }
    if kind == Kind::Module && path.starts_with('-') {
        return Err("leading dash".into());
    }
    if path.contains("//") {
        return Err("double slash".into());
    }
    if path.ends_with('/') {
        return Err("trailing slash".into());
    }
    if path.starts_with('/') {
        return Err("leading slash".into());
    }
    path.split('/').try_for_each(|e| check_elem(e, kind))
}

/// `module.CheckPath`: a module path a go command accepts, with its major
/// version suffix if any. `gopkg.in` paths (`.v2` suffixes) are refused:
/// they are served from their own host by convention.
pub fn check_path(path: &str) -> Result<(), String> {
    check_elements(path)?;
    if path.split('/').next() == Some("gopkg.in") {
        return Err("gopkg.in paths are not served here".into());
    }
    split_path_version(path).map(|_| ())
}

/// `module.CheckPath` as a checksum database applies it: `gopkg.in` paths
/// too (Wharf serves none, but a proxy passes their checksums on), their
/// `.vN` suffixes unchecked.
pub fn check_sumdb_path(path: &str) -> Result<(), String> {
    check_elements(path)?;
    if path.split('/').next() == Some("gopkg.in") {
        return Ok(());
    }
    split_path_version(path).map(|_| ())
}

/// The length, the elements and the first element's rules of a module path.
fn check_elements(path: &str) -> Result<(), String> {
    if path.len() > MAX_PATH {
        return Err(format!("longer than {MAX_PATH} bytes"));
    }
    check_any_path(path, Kind::Module)?;
    let first = path.split('/').next().unwrap_or("");
    if !first.contains('.') {
        return Err(format!("missing dot in first path element {first:?}"));
    }
    if let Some(c) = first
        .chars()
        .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'))
    {
        return Err(format!("invalid char {c:?} in first path element"));
    }
    Ok(())
}

/// `module.CheckFilePath`: a file name inside a module zip.
pub fn check_file_path(path: &str) -> Result<(), String> {
    check_any_path(path, Kind::File)
}

/// `module.SplitPathVersion`: the path without its `/vN` suffix, and the
/// suffix (`""` for v0/v1 modules). `/v0`, `/v1`, `/v02` and `/v2.1` are
/// invalid suffixes.
pub fn split_path_version(path: &str) -> Result<(&str, &str), String> {
    let bytes = path.as_bytes();
    let mut i = bytes.len();
    let mut dot = false;
    while i > 0 && (bytes[i - 1].is_ascii_digit() || bytes[i - 1] == b'.') {
        dot |= bytes[i - 1] == b'.';
        i -= 1;
    }
    if i <= 1 || i == bytes.len() || bytes[i - 1] != b'v' || bytes[i - 2] != b'/' {
        return Ok((path, ""));
    }
    let (prefix, major) = (&path[..i - 2], &path[i - 2..]);
    if dot || major.len() <= 2 || major.as_bytes()[2] == b'0' || major == "/v1" {
        return Err(format!("invalid major version suffix {major:?}"));
    }
    Ok((prefix, major))
}

/// `EscapePath`/`EscapeVersion`: every upper-case letter becomes `!` and
/// its lower case, so paths survive case-insensitive file systems.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The inverse of [`escape`]: refuses upper case (it is never escaped
/// output) and a `!` not followed by a lower-case letter.
pub fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut bang = false;
    for c in s.chars() {
        if bang {
            if !c.is_ascii_lowercase() {
                return Err(format!("invalid escaped path {s:?}: '!' before {c:?}"));
            }
            out.push(c.to_ascii_uppercase());
            bang = false;
        } else if c == '!' {
            bang = true;
        } else if c.is_ascii_uppercase() {
            return Err(format!(
                "invalid escaped path {s:?}: upper case must be '!'-escaped"
            ));
        } else {
            out.push(c);
        }
    }
    if bang {
        return Err(format!("invalid escaped path {s:?}: trailing '!'"));
    }
    Ok(out)
}

/// The module path of a URL's escaped form, checked.
pub fn unescape_path(escaped: &str) -> Result<String, String> {
    if escaped.len() > MAX_PATH * 2 {
        return Err(format!("longer than {MAX_PATH} bytes"));
    }
    let path = unescape(escaped)?;
    check_path(&path).map_err(|e| format!("malformed module path {path:?}: {e}"))?;
    Ok(path)
}

/// A canonical semantic version as the go command writes it:
/// `vMAJOR.MINOR.PATCH[-pre][+incompatible]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub semver: semver::Version,
    pub incompatible: bool,
}

impl Version {
    /// Parses a canonical version; shorthands (`v1.2`), leading zeros and
    /// build metadata other than `+incompatible` are refused, as
    /// `module.CanonicalVersion(v) != v` refuses them.
    pub fn parse(s: &str) -> Result<Version, String> {
        let bad = |why: &str| format!("version {s:?} is not a canonical semantic version: {why}");
        if s.len() > MAX_VERSION {
            return Err(bad("too long"));
        }
        let rest = s.strip_prefix('v').ok_or_else(|| bad("no leading v"))?;
        let (core, incompatible) = match rest.split_once('+') {
            Some((core, "incompatible")) => (core, true),
            Some(_) => return Err(bad("build metadata other than +incompatible")),
            None => (rest, false),
        };
        let semver = semver::Version::parse(core).map_err(|e| bad(&e.to_string()))?;
        if incompatible && semver.major < 2 {
            return Err(bad("+incompatible needs a major version of 2 or more"));
        }
        Ok(Version {
            semver,
            incompatible,
        })
    }

    pub fn major(&self) -> u64 {
        self.semver.major
    }

    pub fn is_prerelease(&self) -> bool {
        !self.semver.pre.is_empty()
    }

    /// `module.IsPseudoVersion`: `vX.0.0-yyyymmddhhmmss-abcdef123456`,
    /// `vX.Y.Z-pre.0.yyyymmddhhmmss-…` or `vX.Y.Z-0.yyyymmddhhmmss-…`.
    pub fn is_pseudo(&self) -> bool {
        let pre = self.semver.pre.as_str();
        let Some((before, rev)) = pre.rsplit_once('-') else {
            return false;
        };
        if rev.is_empty() || !rev.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return false;
        }
        let stamp_ok = |t: &str| t.len() == 14 && t.bytes().all(|b| b.is_ascii_digit());
        if stamp_ok(before) {
            // vX.0.0-yyyymmddhhmmss-rev
            return self.semver.minor == 0 && self.semver.patch == 0;
        }
        match before.rsplit_once('.') {
            Some((base, stamp)) if stamp_ok(stamp) => base == "0" || base.ends_with(".0"),
            _ => false,
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}", self.semver)?;
        if self.incompatible {
            f.write_str("+incompatible")?;
        }
        Ok(())
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        // semver ignores build metadata when ordering (semver.Compare).
        self.semver
            .cmp_precedence(&other.semver)
            .then(self.incompatible.cmp(&other.incompatible))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The version of a URL's escaped form, checked and canonical.
pub fn unescape_version(escaped: &str) -> Result<Version, String> {
    if escaped.len() > MAX_VERSION * 2 {
        return Err("version too long".into());
    }
    let v = unescape(escaped)?;
    let version = Version::parse(&v)?;
    if version.to_string() != v {
        return Err(format!("version {v:?} is not canonical"));
    }
    Ok(version)
}

/// `module.Check` beyond the path: the version's major must match the
/// path's `/vN` suffix; `+incompatible` only without a suffix.
pub fn check_path_major(path: &str, version: &Version) -> Result<(), String> {
    let (_, major) = split_path_version(path)?;
    let want = format!("v{}", version.major());
    if major.is_empty() {
        if version.major() >= 2 && !version.incompatible {
            return Err(format!(
                "version {version} has major version {want}, but module path {path:?} has no /{want} suffix \
                 (use {path}/{want}, or +incompatible for a module without go.mod)"
            ));
        }
        return Ok(());
    }
    if version.incompatible {
        return Err(format!(
            "version {version} is +incompatible, but module path {path:?} has a major version suffix"
        ));
    }
    if major[1..] != want {
        return Err(format!(
            "version {version} does not match the major version suffix {major} of module path {path:?}"
        ));
    }
    Ok(())
}
