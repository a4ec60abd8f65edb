//! The module zip rules of `golang.org/x/mod/zip` (`CheckZip`, as the go
//! command applies them to every zip it downloads), over the entry names and
//! declared sizes of a zip the SDK's bounded reader already opened; and the
//! `module` directive of `go.mod`.

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
    // At most REPORTED messages are kept, whatever a zip of 100,000 bad
    // entries sends; the rest are counted.
    let mut errors: Vec<String> = Vec::new();
    let mut more = 0usize;
    let mut paths: Vec<(&str, bool)> = Vec::with_capacity(entries.len());
    let mut total: u64 = 0;
    let mut has_go_mod = false;
    for entry in entries {
        let mut bad = |why: String| match errors.len() < REPORTED {
            true => errors.push(format!("{}: {why}", entry.name)),
            false => more += 1,
        };
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
        paths.push((name, is_dir));
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
    if let Err(e) = check_collisions(&paths) {
        errors.push(e);
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
    more += errors.len().saturating_sub(REPORTED);
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

/// Unicode case folding, closer to Go's `strToFold` than lower case alone:
/// `ſ` and `s`, `K` (Kelvin) and `k` fold together.
fn fold(element: &str) -> String {
    element
        .chars()
        .flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
        .collect()
}

/// `zip.collisionChecker`, over all paths at once: no two paths (or parent
/// directories) equal under case folding but spelled differently, no path
/// both a file and a directory, no file twice.
///
/// Go registers every parent of every path in a map; a zip of deep paths
/// would make that quadratic in time and memory. Here the paths are sorted
/// by their folded form with `/` as the lowest byte, which puts every path
/// right before the paths below it: comparing neighbours finds every
/// collision (two paths that share folded leading elements share them with
/// every path sorted between them), in time and memory linear in the names.
fn check_collisions(paths: &[(&str, bool)]) -> Result<(), String> {
    let keys: Vec<String> = paths
        .iter()
        .map(|(p, _)| fold(p).replace('/', "\0"))
        .collect();
    let mut order: Vec<usize> = (0..paths.len()).collect();
    order.sort_unstable_by(|&a, &b| keys[a].cmp(&keys[b]));
    for pair in order.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let ((path_a, dir_a), (path_b, dir_b)) = (paths[a], paths[b]);
        let mut at = 0;
        for (ea, eb) in path_a.split('/').zip(path_b.split('/')) {
            if ea != eb {
                if fold(ea) != fold(eb) {
                    break;
                }
                return Err(format!(
                    "case-insensitive file name collision: {:?} and {:?}",
                    &path_a[..at + ea.len()],
                    &path_b[..at + eb.len()]
                ));
            }
            at += ea.len() + 1;
        }
        if keys[a] == keys[b] {
            if dir_a != dir_b {
                return Err(format!("entry {path_a:?} is both a file and a directory"));
            }
            if !dir_a {
                return Err(format!("multiple entries for file {path_a:?}"));
            }
        } else if !dir_a
            && keys[b].starts_with(keys[a].as_str())
            && keys[b].as_bytes().get(keys[a].len()) == Some(&0)
        {
            return Err(format!("entry {path_a:?} is both a file and a directory"));
        }
    }
    Ok(())
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
