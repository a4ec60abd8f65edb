//! Deprecations: `npm deprecate` and `npm undeprecate` send the whole
//! packument back (`PUT {pkg}` without attachments), and so does the pruned
//! document of an unpublish. Only the `deprecated` members are applied: a
//! non-empty message deprecates, an empty or missing one undeprecates; other
//! edits to published versions are ignored (they are immutable).

use serde_json::{Map, Value};
use wharf_sdk::types::{VersionRow, Write};
use wharf_sdk::{HttpError, catalog};

/// `PUT {pkg}` without attachments: every change in one transaction.
pub fn update(name: &str, doc: &Map<String, Value>) -> Result<(), HttpError> {
    if !catalog::has_package(name)? {
        return Err(HttpError::not_found("not found"));
    }
    // Only the versions the document names are looked at, one by one.
    let mut rows = Vec::new();
    for version in sent_versions(doc).into_iter().flat_map(Map::keys) {
        rows.extend(catalog::get_version(name, version)?);
    }
    let writes = writes(name, doc, &rows);
    if !writes.is_empty() {
        catalog::apply(&writes)?;
    }
    Ok(())
}

/// The writes that give each of `rows` the deprecation `doc` sends for it
/// (rows the document does not name are left alone).
pub fn writes(name: &str, doc: &Map<String, Value>, rows: &[VersionRow]) -> Vec<Write> {
    let Some(sent) = sent_versions(doc) else {
        return Vec::new();
    };
    rows.iter()
        .filter_map(|row| {
            let wanted = sent
                .get(&row.version)?
                .get("deprecated")
                .and_then(Value::as_str)
                .filter(|m| !m.is_empty());
            (wanted != row.deprecated.as_deref()).then(|| {
                Write::SetDeprecated((
                    name.to_string(),
                    row.version.clone(),
                    wanted.map(str::to_string),
                ))
            })
        })
        .collect()
}

fn sent_versions(doc: &Map<String, Value>) -> Option<&Map<String, Value>> {
    doc.get("versions").and_then(Value::as_object)
}
