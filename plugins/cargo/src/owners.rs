//! Crate owners (kept in the crate's kv space) and the owner-only actions:
//! yank, unyank, owner changes.

use serde::Deserialize;
use serde_json::json;
use wharf_sdk::catalog::Write;
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::names;

/// The kv entry of a crate holding its owners, a JSON list of logins.
const OWNERS: &str = "owners";

/// The owners of a crate, first publisher first. A store error is an error:
/// read as "no owners" it would make an existing crate look new.
pub fn list(key: &str) -> Result<Vec<String>, HttpError> {
    match catalog::kv_get(Some(key), OWNERS)? {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| HttpError::new(500, format!("unreadable owners of crate `{key}`: {e}"))),
        None => Ok(Vec::new()),
    }
}

/// The owners of the crate `key`, or `None` when no such crate exists yet.
/// A store error is an error (503): taken for "new crate" it would let a
/// publisher overwrite the owners.
pub fn of_crate(key: &str) -> Result<Option<Vec<String>>, HttpError> {
    if !catalog::has_package(key)? {
        return Ok(None);
    }
    list(key).map(Some)
}

/// The owners of a crate that is new: refused if a concurrent first publish
/// recorded its owners first.
pub fn first(key: &str, owner: &[String]) -> Result<Write, HttpError> {
    Ok(Write::KvInsert((
        Some(key.to_string()),
        OWNERS.into(),
        serde_json::to_vec(owner)?,
    )))
}

/// The write replacing the owners of a crate.
pub fn save(key: &str, owners: &[String]) -> Result<Write, HttpError> {
    Ok(Write::KvPut((
        Some(key.to_string()),
        OWNERS.into(),
        serde_json::to_vec(owners)?,
    )))
}

/// The catalog key of an existing crate, or 404.
fn existing(name: &str) -> Result<String, HttpError> {
    let key = names::key(name);
    if names::validate(name).is_err() || !catalog::has_package(&key)? {
        return Err(HttpError::not_found(format!(
            "crate `{name}` does not exist"
        )));
    }
    Ok(key)
}

/// Refuses callers that do not own the crate.
pub fn require(key: &str, user: Option<&str>) -> Result<(), HttpError> {
    check(key, &list(key)?, user)
}

/// Refuses callers not among `owners` of the crate `key`.
pub fn check(key: &str, owners: &[String], user: Option<&str>) -> Result<(), HttpError> {
    let Some(user) = user else {
        return Err(HttpError::new(401, "authentication required"));
    };
    if owners.iter().any(|o| o == user) {
        Ok(())
    } else {
        Err(HttpError::forbidden(format!(
            "`{user}` is not an owner of crate `{key}`"
        )))
    }
}

/// `GET api/v1/crates/{name}/owners`.
pub fn get(req: &mut Request) -> Result<Response, HttpError> {
    let key = existing(req.param("name"))?;
    let users: Vec<_> = list(&key)?
        .iter()
        .enumerate()
        .map(|(i, login)| json!({ "id": i + 1, "login": login, "name": login }))
        .collect();
    Ok(Response::json(200, &json!({ "users": users })))
}

#[derive(Deserialize)]
struct Change {
    users: Vec<String>,
}

fn change(req: &mut Request, add: bool) -> Result<Response, HttpError> {
    let key = existing(req.param("name"))?;
    require(&key, req.user())?;
    let change: Change = serde_json::from_slice(&req.take_body()?.read_to_end(64 << 10)?)?;
    let mut owners = list(&key)?;
    for user in &change.users {
        if add && !owners.contains(user) {
            owners.push(user.clone());
        } else if !add {
            owners.retain(|o| o != user);
        }
    }
    if owners.is_empty() {
        return Err(HttpError::bad_request("a crate keeps at least one owner"));
    }
    catalog::apply(&[save(&key, &owners)?])?;
    let users = change.users.join(", ");
    let msg = if add {
        format!("user(s) {users} added as owner(s) of crate {key}")
    } else {
        format!("user(s) {users} removed from the owners of crate {key}")
    };
    Ok(Response::json(200, &json!({ "ok": true, "msg": msg })))
}

/// `PUT api/v1/crates/{name}/owners`.
pub fn add(req: &mut Request) -> Result<Response, HttpError> {
    change(req, true)
}

/// `DELETE api/v1/crates/{name}/owners`: cargo sends the logins in the body.
pub fn remove(req: &mut Request) -> Result<Response, HttpError> {
    change(req, false)
}

fn set_yanked(req: &mut Request, yanked: bool) -> Result<Response, HttpError> {
    let key = existing(req.param("name"))?;
    require(&key, req.user())?;
    let version = req.param("version");
    if catalog::get_version(&key, version)?.is_none() {
        return Err(HttpError::not_found(format!(
            "crate `{key}` has no version {version}"
        )));
    }
    catalog::set_yanked(&key, version, yanked)?;
    Ok(Response::json(200, &json!({ "ok": true })))
}

/// `DELETE api/v1/crates/{name}/{version}/yank`.
pub fn yank(req: &mut Request) -> Result<Response, HttpError> {
    set_yanked(req, true)
}

/// `PUT api/v1/crates/{name}/{version}/unyank`.
pub fn unyank(req: &mut Request) -> Result<Response, HttpError> {
    set_yanked(req, false)
}
