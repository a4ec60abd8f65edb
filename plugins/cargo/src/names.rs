//! Crate names: validation, the crates.io notion of "the same name", and the
//! sparse index layout.

use wharf_sdk::{HttpError, catalog};

/// crates.io's rules: ASCII letters, digits, `-` and `_`, starting with a
/// letter, at most 64 characters.
pub fn validate(name: &str) -> Result<(), HttpError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(HttpError::bad_request(format!(
            "invalid crate name `{name}`: use ASCII letters, digits, `-` or `_`, \
             start with a letter, at most 64 characters"
        )))
    }
}

/// The catalog key of a crate: its lower-cased name (the index path uses it too).
pub fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// Names crates.io treats as the same crate agree on this.
pub fn canonical(name: &str) -> String {
    key(name).replace('_', "-")
}

/// The index file of a crate, relative to the index root.
pub fn index_path(name: &str) -> String {
    let name = key(name);
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

/// Where the `.crate` of a version is stored as an asset.
pub fn crate_path(name: &str, version: &str) -> String {
    let name = key(name);
    format!("crates/{name}/{name}-{version}.crate")
}

fn canonical_entry(name: &str) -> String {
    format!("canonical:{}", canonical(name))
}

/// The spelling of the existing crate `name` is the same crate as under
/// crates.io's rules, if any. An entry whose crate has no versions (a publish that failed after
/// claiming the name) is free again.
pub fn claimed_by(name: &str) -> Option<String> {
    let owner = catalog::kv_get(&canonical_entry(name))?;
    let owner = String::from_utf8(owner).ok()?;
    (!catalog::list_versions(&key(&owner)).is_empty()).then_some(owner)
}

/// Records that `name`, spelled this way, now holds its canonical name.
pub fn claim(name: &str) -> Result<(), HttpError> {
    catalog::kv_put(&canonical_entry(name), name.as_bytes())?;
    Ok(())
}
