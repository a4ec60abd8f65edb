//! The package-level fields (readme, description, …) that a publish moving
//! `latest` replaces, kept in the package's own kv space. (`maintainers` are
//! the host's owners, `owners.rs`; documents stored before keep a list that
//! is no longer read.)

use serde_json::{Map, Value};
use wharf_sdk::types::Write;
use wharf_sdk::{HttpError, catalog};

/// The kv key, in the package's space (the host migrated `package:<name>`).
const KEY: &str = "package";

/// Package-level fields taken from the latest publish.
pub const FIELDS: &[&str] = &[
    "description",
    "readme",
    "readmeFilename",
    "license",
    "keywords",
    "repository",
    "homepage",
    "bugs",
    "author",
];

/// The stored fields (empty when none). An empty value is what unpublish
/// left before kv entries could be deleted: it means "no document".
pub fn load(name: &str) -> Result<Map<String, Value>, HttpError> {
    match catalog::kv_get(Some(name), KEY)? {
        Some(bytes) if !bytes.is_empty() => serde_json::from_slice(&bytes)
            .map_err(|e| HttpError::new(500, format!("unreadable package document: {e}"))),
        _ => Ok(Map::new()),
    }
}

/// The write that stores `doc` as the package's fields.
pub fn put(name: &str, doc: &Map<String, Value>) -> Write {
    let bytes = serde_json::to_vec(doc).expect("JSON value");
    Write::KvPut((Some(name.to_string()), KEY.into(), bytes))
}

/// The write that forgets the package's fields (its last version is gone).
pub fn delete(name: &str) -> Write {
    Write::KvDelete((Some(name.to_string()), KEY.into()))
}

#[cfg(test)]
pub fn stored(name: &str) -> Option<Vec<u8>> {
    wharf_sdk::mock::with(|h| {
        h.catalog
            .kv
            .get(&(Some(name.to_string()), KEY.to_string()))
            .cloned()
    })
}
