//! A registry's `dl` template (config.json), expanded as cargo expands it
//! for one version.

const MARKERS: [&str; 5] = [
    "{crate}",
    "{version}",
    "{prefix}",
    "{lowerprefix}",
    "{sha256-checksum}",
];

/// The download URL of `name` `version`: the markers replaced, or cargo's
/// `/{crate}/{version}/download` appended to a template without any.
pub fn url(template: &str, name: &str, version: &str, cksum: &str) -> String {
    if !MARKERS.iter().any(|m| template.contains(m)) {
        return format!("{template}/{name}/{version}/download");
    }
    let prefix = prefix(name);
    template
        .replace("{crate}", name)
        .replace("{version}", version)
        .replace("{prefix}", &prefix)
        .replace("{lowerprefix}", &prefix.to_ascii_lowercase())
        .replace("{sha256-checksum}", cksum)
}

/// The index directory of a name, in its own case (cargo's
/// `make_dep_prefix`).
fn prefix(name: &str) -> String {
    match name.len() {
        1 => "1".into(),
        2 => "2".into(),
        3 => format!("3/{}", &name[..1]),
        _ => format!("{}/{}", &name[..2], &name[2..4]),
    }
}

#[cfg(test)]
mod tests {
    use super::url;

    #[test]
    fn templates_expand_as_cargo_expands_them() {
        assert_eq!(
            url("https://static.crates.io/crates", "Serde", "1.0.0", "ab"),
            "https://static.crates.io/crates/Serde/1.0.0/download"
        );
        assert_eq!(
            url(
                "https://dl.test/{prefix}/{lowerprefix}/{crate}-{version}.crate?h={sha256-checksum}",
                "Serde",
                "1.0.0",
                "ab"
            ),
            "https://dl.test/Se/rd/se/rd/Serde-1.0.0.crate?h=ab"
        );
        assert_eq!(url("x/{prefix}/{crate}", "abc", "1.0.0", ""), "x/3/a/abc");
        assert_eq!(url("x/{prefix}", "a", "1.0.0", ""), "x/1");
    }
}
