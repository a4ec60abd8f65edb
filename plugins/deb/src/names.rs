//! Names in URLs: distributions, components, architectures, `.deb` file
//! names, and the pool paths files are served at.

use wharf_sdk::HttpError;

use crate::version;

/// The architectures each distribution has an index for. `all` packages
/// are listed under every one of them.
pub const ARCHITECTURES: &[&str] = &["amd64", "arm64"];

/// What an upload may be built for.
pub fn is_architecture(arch: &str) -> bool {
    arch == "all" || ARCHITECTURES.contains(&arch)
}

/// A distribution or component: 1 to 64 of `A-Z a-z 0-9 . _ + -`, not
/// starting with a dot (one path segment, as apt writes it into file names).
pub fn is_dist_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
}

/// `dist` and `component` of an upload URL, checked.
pub fn check_suite(dist: &str, component: &str) -> Result<(), HttpError> {
    for (what, name) in [("distribution", dist), ("component", component)] {
        if !is_dist_name(name) {
            return Err(HttpError::bad_request(format!(
                "invalid {what} {name:?}: 1 to 64 of A-Z a-z 0-9 . _ + -"
            )));
        }
    }
    Ok(())
}

/// `{package}_{version}_{arch}.deb`, as `dpkg-name` writes it (the version
/// with or without its epoch): (package, version as written, arch).
pub fn split_file(file: &str) -> Option<(&str, &str, &str)> {
    let stem = file.strip_suffix(".deb")?;
    let (package, rest) = stem.split_once('_')?;
    let (version, arch) = rest.rsplit_once('_')?;
    Some((package, version, arch))
}

/// The package a `.deb` file name is for (the route's access); the whole
/// name when it is not one, which then names no real package.
pub fn package_of_file(file: &str) -> &str {
    split_file(file).map_or(file, |(package, _, _)| package)
}

/// Whether the file name states this version (with or without its epoch).
pub fn file_version_matches(in_name: &str, version: &str) -> bool {
    in_name == version || in_name == version::without_epoch(version)
}

/// The pool directory of a source: `pool/{component}/{prefix}/{source}/`,
/// the prefix the source's first letter, or its first four for a `lib…`.
pub fn pool_dir(component: &str, source: &str) -> String {
    let prefix = match source.starts_with("lib") && source.len() > 3 {
        true => &source[..4],
        false => &source[..1],
    };
    format!("pool/{component}/{prefix}/{source}/")
}

/// Where a `.deb` is served: its pool directory and canonical file name
/// (no epoch, as in Debian's archive).
pub fn pool_path(
    component: &str,
    source: &str,
    package: &str,
    version: &str,
    arch: &str,
) -> String {
    format!(
        "{}{package}_{}_{arch}.deb",
        pool_dir(component, source),
        version::without_epoch(version)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_paths_follow_debian() {
        assert_eq!(
            pool_path("main", "hello", "hello", "1:2.10-3", "amd64"),
            "pool/main/h/hello/hello_2.10-3_amd64.deb"
        );
        assert_eq!(
            pool_path("contrib", "libfoo", "libfoo1", "1.0", "arm64"),
            "pool/contrib/libf/libfoo/libfoo1_1.0_arm64.deb"
        );
        assert_eq!(pool_dir("main", "lib"), "pool/main/l/lib/");
    }

    #[test]
    fn file_names_split_and_match() {
        assert_eq!(
            split_file("hello_1:2.0-1_amd64.deb"),
            Some(("hello", "1:2.0-1", "amd64"))
        );
        assert_eq!(split_file("hello.deb"), None);
        assert_eq!(split_file("hello_1.0_amd64.tar"), None);
        assert!(file_version_matches("2.0-1", "1:2.0-1"));
        assert!(file_version_matches("1:2.0-1", "1:2.0-1"));
        assert!(!file_version_matches("2.0-2", "1:2.0-1"));
        assert!(is_dist_name("bookworm-backports"));
        assert!(!is_dist_name("../x") && !is_dist_name("") && !is_dist_name("a/b"));
        assert!(is_architecture("all") && !is_architecture("i386"));
    }
}
