//! The module zip rules of `golang.org/x/mod/zip` (`CheckZip`, as the go
//! command applies them to every zip it downloads), over the entry names and
//! declared sizes of a zip the SDK's bounded reader already opened; and the
//! `module` directive of `go.mod`.

use std::collections::HashMap;

use crate::module;

/// `zip.MaxZipFile`: the zip, and all its files unpacked, at most 500 MiB.
pub const MAX_ZIP_FILE: u64 = 500 << 20;
/// `zip.MaxGoMod`: go.mod at most 16 MiB.
pub const MAX_GO_MOD: u64 = 16 << 20;
/// `zip.MaxLICENSE`: LICENSE at most 16 MiB.
pub const MAX_LICENSE: u64 = 16 << 20;
/// Violations reported in one answer; the rest are counted.
const REPORTED: usize = 8;

/// One entry of the zip: its full name and declared unpacked size.
pub struct Entry<'a> {
    pub name: &'a str,
    pub size: u64,
}

/// Checks every entry of the zip of `module@version`; the error lists the
/// violations, one per line.
/// A `+incompatible` version has no go.mod: `require_go_mod` is false then.
pub fn check(
    module: &str,
    version: &str,
    entries: &[Entry],
    require_go_mod: bool,
) -> Result<(), String> {
    let prefix = format!("{module}@{version}/");
    let mut errors: Vec<String> = Vec::new();
    let mut collisions = Collisions::default();
    let mut total: u64 = 0;
    let mut has_go_mod = false;
    for entry in entries {
        let mut bad = |why: String| errors.push(format!("{}: {why}", entry.name));
        let Some(name) = entry.name.strip_prefix(&prefix) else {
            bad(format!("path does not have prefix {prefix:?}"));
            continue;
        };
        if name.is_empty() {
            continue;
        }
        let (name, is_dir) = match name.strip_suffix('/') {
            Some(dir) => (dir, true),
            None => (name, false),
        };
        if !is_clean(name) {
            bad("file path is not clean".into());
            continue;
        }
        if let Err(e) = module::check_file_path(name) {
            bad(format!("malformed file path {name:?}: {e}"));
            continue;
        }
        if let Err(e) = collisions.check(name, is_dir) {
            bad(e);
            continue;
        }
        if is_dir {
            continue;
        }
        let base = name.rsplit('/').next().unwrap_or(name);
        if base.eq_ignore_ascii_case("go.mod") {
            if base != name {
                bad("go.mod file not in module root directory (a nested module is a module of its own)".into());
                continue;
            }
            if name != "go.mod" {
                bad("go.mod files must have lowercase names".into());
                continue;
            }
            has_go_mod = true;
        }
        if is_vendored_package(name) {
            bad("file is in a vendor directory: module zips never carry vendored packages".into());
            continue;
        }
        total = total.saturating_add(entry.size);
        if name == "go.mod" && entry.size > MAX_GO_MOD {
            bad(format!(
                "go.mod file too large (max size is {MAX_GO_MOD} bytes)"
            ));
            continue;
        }
        if name == "LICENSE" && entry.size > MAX_LICENSE {
            bad(format!(
                "LICENSE file too large (max size is {MAX_LICENSE} bytes)"
            ));
            continue;
        }
    }
    if total > MAX_ZIP_FILE {
        errors.push(format!(
            "total uncompressed size of module contents too large (max size is {MAX_ZIP_FILE} bytes)"
        ));
    }
    if require_go_mod && !has_go_mod && errors.is_empty() {
        errors.push(format!(
            "{prefix}go.mod: missing: the zip must have a go.mod at its root"
        ));
    }
    if errors.is_empty() {
        return Ok(());
    }
    let more = errors.len().saturating_sub(REPORTED);
    errors.truncate(REPORTED);
    if more > 0 {
        errors.push(format!("… and {more} more"));
    }
    Err(errors.join("\n"))
}

/// `path.Clean(name) == name`, for a name without a trailing slash.
fn is_clean(name: &str) -> bool {
    !name.starts_with('/')
        && name
            .split('/')
            .all(|e| !e.is_empty() && e != "." && e != "..")
}

/// `zip.isVendoredPackage`, offset quirk included (golang/go#31562): a file
/// below a `vendor/` directory, other than the files directly in it.
fn is_vendored_package(name: &str) -> bool {
    let bytes = name.as_bytes();
    let from = if name.starts_with("vendor/") {
        "vendor/".len()
    } else if name.contains("/vendor/") {
        "/vendor/".len()
    } else {
        return false;
    };
    bytes.get(from..).is_some_and(|rest| rest.contains(&b'/'))
}

/// `zip.collisionChecker`: no two paths equal under case folding, and no
/// path both a file and a directory.
#[derive(Default)]
struct Collisions {
    seen: HashMap<String, (String, bool)>,
}

impl Collisions {
    fn check(&mut self, path: &str, is_dir: bool) -> Result<(), String> {
        let fold = path.to_lowercase();
        if let Some((prev, prev_dir)) = self.seen.get(&fold) {
            if prev != path {
                return Err(format!(
                    "case-insensitive file name collision: {prev:?} and {path:?}"
                ));
            }
            if *prev_dir != is_dir {
                return Err(format!("entry {path:?} is both a file and a directory"));
            }
            if !is_dir {
                return Err(format!("multiple entries for file {path:?}"));
            }
            // A directory seen again: its parents are registered already.
            return Ok(());
        }
        self.seen.insert(fold, (path.to_string(), is_dir));
        match path.rsplit_once('/') {
            Some((parent, _)) => self.check(parent, true),
            None => Ok(()),
        }
    }
}

/// The module path the `module` directive of `go.mod` declares.
pub fn go_mod_module(go_mod: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(go_mod).map_err(|_| "go.mod is not UTF-8".to_string())?;
    let mut in_block = false;
    for line in text.lines() {
        let line = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        }
        .trim();
        if line.is_empty() {
            continue;
        }
        let arg = if in_block {
            if line == ")" {
                in_block = false;
                continue;
            }
            line
        } else {
            let Some(rest) = line.strip_prefix("module") else {
                continue;
            };
            if !rest.starts_with([' ', '\t', '(', '"', '`']) {
                continue;
            }
            let rest = rest.trim();
            if rest == "(" {
                in_block = true;
                continue;
            }
            rest
        };
        return unquote(arg);
    }
    Err("go.mod has no module directive".into())
}

/// A module path as written in go.mod: bare, "quoted" or `raw`.
fn unquote(arg: &str) -> Result<String, String> {
    let bad = || format!("go.mod has a malformed module directive {arg:?}");
    let path = if let Some(q) = arg.strip_prefix('"') {
        let inner = q.strip_suffix('"').ok_or_else(bad)?;
        if inner.contains(['\\', '"']) {
            return Err(bad());
        }
        inner
    } else if let Some(q) = arg.strip_prefix('`') {
        let inner = q.strip_suffix('`').ok_or_else(bad)?;
        if inner.contains('`') {
            return Err(bad());
        }
        inner
    } else {
        if arg.contains(char::is_whitespace) {
            return Err(bad());
        }
        arg
    };
    Ok(path.to_string())
}
