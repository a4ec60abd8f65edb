//! Package names: the path normalizer that makes every spelling of a scoped
//! name one route segment, npm's naming rules, and tarball file names.

use wharf_sdk::HttpError;

/// Rewrites a raw (still percent-encoded) path so that a package name is
/// always one segment, spelled `@scope%2fname`.
///
/// The npm CLI sends `@scope%2fname`; other clients send `%40scope%2fname`,
/// `@scope%2Fname` or `@scope/name` (tarball URLs always use the slash form).
/// The name sits at the start of the path, or after `-/package/` for the
/// dist-tag API. Behind a package, `-/@scope/name-1.0.0.tgz` (the tarball URL
/// npm writes into a publish body) is reduced to `-/name-1.0.0.tgz`.
pub fn normalize(raw: &str) -> String {
    let segments: Vec<&str> = raw.split('/').collect();
    let mut out: Vec<String> = Vec::with_capacity(segments.len());
    let start = match segments.as_slice() {
        ["-", "package", ..] => 2,
        ["-", ..] => return raw.to_string(),
        _ => 0,
    };
    out.extend(segments[..start].iter().map(|s| s.to_string()));
    let Some(first) = segments.get(start) else {
        return raw.to_string();
    };
    let (name, mut next) = join_name(first, segments.get(start + 1).copied());
    next += start;
    let scoped = name.starts_with('@');
    out.push(name);

    // A tarball named with its scope: `-/@scope/name-1.0.0.tgz` or `-/@scope%2fname-1.0.0.tgz`.
    if scoped
        && start == 0
        && segments.get(next) == Some(&"-")
        && let Some(file) = segments.get(next + 1)
    {
        let (file, used) = join_name(file, segments.get(next + 2).copied());
        if let Some((_, base)) = file.split_once("%2f").filter(|_| file.starts_with('@')) {
            out.push("-".into());
            out.push(base.to_string());
            next += 1 + used;
        }
    }
    out.extend(segments[next..].iter().map(|s| s.to_string()));
    out.join("/")
}

/// Joins `@scope` + `name` (or decodes `%40scope%2Fname`) into `@scope%2fname`;
/// returns the segment and how many raw segments it used.
fn join_name(first: &str, second: Option<&str>) -> (String, usize) {
    let first = match first.get(..3) {
        Some(p) if p.eq_ignore_ascii_case("%40") => format!("@{}", &first[3..]),
        _ => first.to_string(),
    };
    if !first.starts_with('@') {
        return (first, 1);
    }
    if let Some(at) = find_ci(&first, "%2f") {
        return (format!("{}%2f{}", &first[..at], &first[at + 3..]), 1);
    }
    match second {
        Some(second) if !second.is_empty() && second != "-" => (format!("{first}%2f{second}"), 2),
        _ => (first, 1),
    }
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack.to_ascii_lowercase().find(needle)
}

/// `@scope/name` → (`Some("scope")`, `"name"`); `name` → (`None`, `"name"`).
pub fn split(name: &str) -> (Option<&str>, &str) {
    match name.strip_prefix('@').and_then(|rest| rest.split_once('/')) {
        Some((scope, base)) => (Some(scope), base),
        None => (None, name),
    }
}

/// The tarball file name npm uses: the unscoped name, then the version.
pub fn tarball_file(package: &str, version: &str) -> String {
    format!("{}-{}.tgz", split(package).1, version)
}

/// The file name at the end of a tarball URL (or of a bare file name).
pub fn basename(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// The repository path a tarball is stored and served at.
pub fn tarball_path(package: &str, file: &str) -> String {
    format!("{package}/-/{file}")
}

/// npm's rules for any name that can be addressed (validate-npm-package-name,
/// the parts that are errors rather than warnings).
pub fn validate(name: &str) -> Result<(), HttpError> {
    let bad = |why: &str| {
        Err(HttpError::bad_request(format!(
            "invalid package name \"{name}\": {why}"
        )))
    };
    if name.is_empty() {
        return bad("name length must be greater than zero");
    }
    if name.len() > 214 {
        return bad("name can no longer contain more than 214 characters");
    }
    if name.trim() != name {
        return bad("name cannot contain leading or trailing spaces");
    }
    if name == "node_modules" || name == "favicon.ico" {
        return bad("name is not allowed");
    }
    let parts: Vec<&str> = match name.strip_prefix('@') {
        Some(rest) => match rest.split_once('/') {
            Some((scope, base)) => vec![scope, base],
            None => return bad("a scoped name must look like @scope/name"),
        },
        None => vec![name],
    };
    for part in parts {
        if part.is_empty() || part.contains('/') {
            return bad("a scoped name must look like @scope/name");
        }
        if part.starts_with('.') {
            return bad("name cannot start with a period");
        }
        if part.starts_with('_') {
            return bad("name cannot start with an underscore");
        }
        // What encodeURIComponent leaves alone.
        if !part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c))
        {
            return bad("name can only contain URL-friendly characters");
        }
    }
    Ok(())
}

/// The stricter rules for a name that is published for the first time.
pub fn validate_new(name: &str) -> Result<(), HttpError> {
    validate(name)?;
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(HttpError::bad_request(format!(
            "invalid package name \"{name}\": name can no longer contain capital letters"
        )));
    }
    if name.chars().any(|c| "~'!()*".contains(c)) {
        return Err(HttpError::bad_request(format!(
            "invalid package name \"{name}\": name can no longer contain special characters (\"~'!()*\")"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_scoped_name_becomes_one_segment() {
        for raw in [
            "@scope%2fname",
            "@scope%2Fname",
            "%40scope%2fname",
            "%40scope%2Fname",
            "@scope/name",
            "%40scope/name",
        ] {
            assert_eq!(normalize(raw), "@scope%2fname", "{raw}");
        }
        assert_eq!(
            normalize("@scope/name/-/name-1.0.0.tgz"),
            "@scope%2fname/-/name-1.0.0.tgz"
        );
        assert_eq!(
            normalize("%40scope%2Fname/-/name-1.0.0.tgz"),
            "@scope%2fname/-/name-1.0.0.tgz"
        );
        assert_eq!(
            normalize("@scope/name/-/@scope/name-1.0.0.tgz"),
            "@scope%2fname/-/name-1.0.0.tgz"
        );
        assert_eq!(
            normalize("@scope%2fname/-/@scope%2fname-1.0.0.tgz"),
            "@scope%2fname/-/name-1.0.0.tgz"
        );
        assert_eq!(
            normalize("@scope/name/-/name-1.0.0.tgz/-rev/3-abc"),
            "@scope%2fname/-/name-1.0.0.tgz/-rev/3-abc"
        );
        assert_eq!(
            normalize("@scope/name/-rev/3-abc"),
            "@scope%2fname/-rev/3-abc"
        );
        assert_eq!(
            normalize("-/package/@scope/name/dist-tags"),
            "-/package/@scope%2fname/dist-tags"
        );
        assert_eq!(
            normalize("-/package/%40scope%2fname/dist-tags/beta"),
            "-/package/@scope%2fname/dist-tags/beta"
        );
        assert_eq!(
            normalize("-/package/@scope%2Fname/dist-tags/beta"),
            "-/package/@scope%2fname/dist-tags/beta"
        );
    }

    #[test]
    fn unscoped_and_special_paths_are_left_alone() {
        for raw in [
            "left-pad",
            "left-pad/-/left-pad-1.0.0.tgz",
            "left-pad/-rev/1-x",
            "-/v1/search",
            "-/user/org.couchdb.user:alice",
            "-/package/left-pad/dist-tags",
            "-/whoami",
            "@scope",
        ] {
            assert_eq!(normalize(raw), raw);
        }
    }

    #[test]
    fn names_follow_npm_rules() {
        for ok in ["left-pad", "@scope/name", "a.b_c-d", "x"] {
            assert!(validate_new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".hidden",
            "_private",
            "@scope/.x",
            "@scope",
            "@/x",
            "a/b",
            "@a/b/c",
            "with space",
            " lead",
            "node_modules",
            "é",
        ] {
            assert_eq!(validate(bad).unwrap_err().status, 400, "{bad}");
        }
        assert!(validate(&"a".repeat(214)).is_ok());
        assert!(validate(&"a".repeat(215)).is_err());
        assert!(validate("Upper").is_ok());
        assert!(validate_new("Upper").is_err());
        assert!(validate_new("@Scope/x").is_err());
        assert!(validate_new("bang!").is_err());
    }

    #[test]
    fn tarball_names_drop_the_scope() {
        assert_eq!(tarball_file("@scope/name", "1.0.0"), "name-1.0.0.tgz");
        assert_eq!(tarball_file("left-pad", "1.0.0"), "left-pad-1.0.0.tgz");
        assert_eq!(
            tarball_path("@scope/name", "name-1.0.0.tgz"),
            "@scope/name/-/name-1.0.0.tgz"
        );
    }
}
