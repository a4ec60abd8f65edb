//! `npm owner ls|add|rm`: a package's `maintainers` are the host's owners.
//!
//! npm reads them from the full packument, and changes them by sending the
//! whole list back (`PUT <pkg>/-rev/<rev>` with `{_id, _rev, maintainers}`);
//! the difference with the host's list becomes one `owners.change`. A user
//! is shown by name, a team as `team:<name>` (the name `npm owner add
//! team:<name>` looks up, so teams round-trip). Accounts carry no e-mail:
//! it is empty, which npm prints as `alice <>`.

use serde_json::{Map, Value, json};
use wharf_sdk::owners::{self, Principal};
use wharf_sdk::types::StoreError;
use wharf_sdk::{HttpError, catalog};

/// How npm names an owner.
pub fn npm_name(owner: &Principal) -> String {
    match owner {
        Principal::User(name) => name.clone(),
        Principal::Team(_) => owner.to_string(),
    }
}

/// The owner an npm name stands for: `team:<name>` a team, anything else
/// (`user:<name>` too) a user.
pub fn principal(name: &str) -> Result<Principal, HttpError> {
    let owner = match Principal::parse(name) {
        Some(owner) => owner,
        None if !name.is_empty() && !name.contains(':') => Principal::User(name.to_string()),
        None => {
            return Err(HttpError::bad_request(format!(
                "{name:?} names neither a user nor a team (team:<name>)"
            )));
        }
    };
    Ok(owner)
}

/// The packument's `maintainers`.
pub fn maintainers(owners: &[Principal]) -> Value {
    let listed = owners
        .iter()
        .map(|o| json!({ "name": npm_name(o), "email": "" }));
    Value::Array(listed.collect())
}

/// `PUT <pkg>/-rev/<rev>` carrying `maintainers` and no `versions`.
pub fn update(name: &str, doc: &Map<String, Value>) -> Result<(), HttpError> {
    let sent = doc
        .get("maintainers")
        .and_then(Value::as_array)
        .ok_or_else(|| HttpError::bad_request("maintainers must be a list"))?;
    let mut wanted: Vec<Principal> = Vec::new();
    for entry in sent {
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| HttpError::bad_request("every maintainer needs a name"))?;
        let owner = principal(name)?;
        if !wanted.contains(&owner) {
            wanted.push(owner);
        }
    }
    if !catalog::has_package(name)? {
        return Err(HttpError::not_found("not found"));
    }
    let current = owners::list(name)?;
    let add: Vec<Principal> = wanted
        .iter()
        .filter(|o| !current.contains(o))
        .cloned()
        .collect();
    let remove: Vec<Principal> = current
        .iter()
        .filter(|o| !wanted.contains(o))
        .cloned()
        .collect();
    if add.is_empty() && remove.is_empty() {
        return Ok(());
    }
    owners::change(name, &add, &remove).map_err(|e| match e {
        StoreError::NotFound => HttpError::not_found("not found"),
        e => e.into(),
    })
}
