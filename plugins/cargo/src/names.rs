//! Crate names: validation, the crates.io notion of "the same name", and the
//! sparse index layout.

use wharf_sdk::catalog::Write;
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

/// The kv entry, under the canonical name, saying which spelling holds it.
const CLAIM: &str = "canonical";

/// The spelling of the existing crate `name` is the same crate as under
/// crates.io's rules, if any. A claim whose crate has no versions (left by
/// a publish that failed before publishes were one transaction) is free.
pub fn claimed_by(name: &str) -> Result<Option<String>, HttpError> {
    let Some(owner) = catalog::kv_get(Some(&canonical(name)), CLAIM)? else {
        return Ok(None);
    };
    let owner = String::from_utf8(owner)
        .map_err(|_| HttpError::new(500, format!("unreadable name claim of `{name}`")))?;
    Ok(catalog::has_package(&key(&owner))?.then_some(owner))
}

/// The write recording that `name`, spelled this way, holds its canonical name.
pub fn claim(name: &str) -> Write {
    Write::KvPut((
        Some(canonical(name)),
        CLAIM.into(),
        name.as_bytes().to_vec(),
    ))
}
