//! Package names and versions as Composer spells and normalizes them.

use wharf_sdk::HttpError;

/// Longest `vendor/package` accepted (Packagist's own limit is far lower in practice).
const NAME_LIMIT: usize = 200;
/// Longest version string accepted.
const VERSION_LIMIT: usize = 100;

/// `vendor/package`, lower-cased, if both parts follow Composer's naming
/// rule `^[a-z0-9]([_.-]?[a-z0-9]+)*/[a-z0-9](([_.]|-{1,2})?[a-z0-9]+)*$`.
pub fn package(vendor: &str, package: &str) -> Result<String, HttpError> {
    let name = format!("{vendor}/{package}").to_ascii_lowercase();
    if name.len() > NAME_LIMIT
        || !part(&name[..vendor.len()], false)
        || !part(&name[vendor.len() + 1..], true)
    {
        return Err(HttpError::bad_request(format!(
            "invalid package name {:?}: expected vendor/package in lower case letters, digits and single separators",
            format!("{vendor}/{package}")
        )));
    }
    Ok(name)
}

/// One part of a name: alphanumeric runs joined by one separator (`-` may be
/// doubled in the package part).
fn part(s: &str, package: bool) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut run = 0usize; // separators in a row
    let mut last = b'a';
    for &c in b {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            run = 0;
        } else if matches!(c, b'_' | b'.' | b'-') {
            run += 1;
            let double_dash = package && run == 2 && c == b'-' && last == b'-';
            if run > 1 && !double_dash {
                return false;
            }
        } else {
            return false;
        }
        last = c;
    }
    true
}

/// Composer's `VersionParser::normalize` for the versions a package upload
/// names: `1.2` → `1.2.0.0`, `v1.2.3` → `1.2.3.0`, `1.0.0-beta2` →
/// `1.0.0.0-beta2`, `1.0-RC1` → `1.0.0.0-RC1`, `2.0.0-dev` → `2.0.0.0-dev`,
/// `dev-main` → `dev-main`, `1.x-dev` → `1.9999999.9999999.9999999-dev`.
pub fn normalize(version: &str) -> Result<String, HttpError> {
    let bad = |why: &str| HttpError::bad_request(format!("invalid version {version:?}: {why}"));
    if version.is_empty() || version.len() > VERSION_LIMIT {
        return Err(bad("empty or too long"));
    }
    if !version
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'+'))
    {
        return Err(bad(
            "only letters, digits, '.', '-', '_' and '+' are allowed",
        ));
    }
    if let Some(branch) = version.strip_prefix("dev-") {
        if branch.is_empty() {
            return Err(bad("a dev- version needs a branch name"));
        }
        return Ok(version.to_string());
    }
    // Build metadata is ignored, as Composer does.
    let v = version.split('+').next().unwrap_or("");
    let v = v.strip_prefix(['v', 'V']).unwrap_or(v);
    // A numeric branch: `1.x-dev`, `1.0.x-dev`.
    if let Some(branch) = v.strip_suffix("-dev").or_else(|| v.strip_suffix(".x-dev"))
        && branch.split('.').any(|p| p == "x" || p == "*")
    {
        let mut parts: Vec<String> = Vec::new();
        for p in branch.split('.') {
            match p {
                "x" | "*" => break,
                n if is_number(n) => parts.push(n.to_string()),
                _ => return Err(bad("not a numeric branch")),
            }
        }
        if parts.is_empty() || parts.len() > 4 {
            return Err(bad("not a numeric branch"));
        }
        while parts.len() < 4 {
            parts.push("9999999".into());
        }
        return Ok(format!("{}-dev", parts.join(".")));
    }
    // Numeric part: up to four dot-separated numbers.
    let end = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let numbers = v[..end].trim_end_matches('.');
    let rest = &v[numbers.len()..];
    let parts: Vec<&str> = numbers.split('.').collect();
    if numbers.is_empty() || parts.len() > 4 || !parts.iter().all(|p| is_number(p)) {
        return Err(bad(
            "expected major[.minor[.patch[.build]]] with an optional suffix",
        ));
    }
    let mut out: Vec<String> = parts.iter().map(|p| strip_zeros(p)).collect();
    while out.len() < 4 {
        out.push("0".into());
    }
    let mut normalized = out.join(".");
    let suffix = rest.trim_start_matches(['-', '_', '.']);
    if suffix.is_empty() {
        return Ok(normalized);
    }
    let lower = suffix.to_ascii_lowercase();
    let (modifier, tail) = match lower
        .strip_suffix("dev")
        .map(|s| s.trim_end_matches(['-', '.', '_']))
    {
        Some("") => return Ok(format!("{normalized}-dev")),
        Some(stability) => (stability.to_string(), true),
        None => (lower.clone(), false),
    };
    let letters_end = modifier
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(modifier.len());
    let (word, number) = modifier.split_at(letters_end);
    let number = number.trim_start_matches(['.', '-']);
    if !number.is_empty() && !number.split(['.', '-']).all(is_number) {
        return Err(bad("unrecognized suffix"));
    }
    let stability = match word {
        "stable" => "",
        "beta" | "b" => "beta",
        "alpha" | "a" => "alpha",
        "rc" => "RC",
        "patch" | "pl" | "p" => "patch",
        _ => {
            return Err(bad(
                "the suffix must be alpha, beta, RC, patch, stable or dev",
            ));
        }
    };
    if !stability.is_empty() {
        normalized = format!("{normalized}-{stability}{number}");
    }
    if tail {
        normalized.push_str("-dev");
    }
    Ok(normalized)
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.len() <= 9 && s.bytes().all(|c| c.is_ascii_digit())
}

fn strip_zeros(s: &str) -> String {
    let t = s.trim_start_matches('0');
    if t.is_empty() { "0".into() } else { t.into() }
}

/// Whether a normalized version is a development version (served from `~dev.json`).
pub fn is_dev(normalized: &str) -> bool {
    normalized.starts_with("dev-") || normalized.ends_with("-dev")
}

/// Orders normalized versions newest first, as Packagist lists them:
/// numerically, then a release before its pre-releases.
pub fn newest_first(a: &str, b: &str) -> std::cmp::Ordering {
    key(b).cmp(&key(a))
}

/// A sortable key: four numbers, then the stability rank and its number.
fn key(v: &str) -> (Vec<u64>, u8, Vec<u64>, String) {
    if let Some(branch) = v.strip_prefix("dev-") {
        return (vec![], 0, vec![], branch.to_string());
    }
    let (numbers, suffix) = v.split_once('-').unwrap_or((v, ""));
    let nums = numbers.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    let letters: String = suffix
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    let rank = match letters.as_str() {
        "dev" => 1,
        "alpha" => 2,
        "beta" => 3,
        "RC" => 4,
        "" => 5,
        _ => 6, // patch
    };
    let rest = suffix[letters.len()..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    (nums, rank, rest, String::new())
}
