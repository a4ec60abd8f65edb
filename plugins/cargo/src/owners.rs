//! `cargo owner --list | --add | --remove` over the host's owners, and the
//! owner-only yank and unyank (the host refuses others' writes).
//!
//! A user's login is their user name; a team's is `team:<name>` (what
//! `cargo owner --add team:<name>` sends), shown with `kind: "team"` as
//! crates.io shows its GitHub teams.

use serde::Deserialize;
use serde_json::{Value, json};
use wharf_sdk::owners::{self, Principal};
use wharf_sdk::types::StoreError;
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::names;

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

/// An owner as crates.io lists it.
fn listed(id: usize, owner: &Principal) -> Value {
    let (login, kind) = match owner {
        Principal::User(name) => (name.clone(), "user"),
        Principal::Team(_) => (owner.to_string(), "team"),
    };
    json!({ "id": id, "login": login, "name": owner.name(), "kind": kind })
}

/// A login as cargo sends it: `team:<name>` is a team, anything else
/// without a `:` a user (crates.io's `github:org:team` has no meaning here).
fn principal(login: &str) -> Result<Principal, HttpError> {
    match Principal::parse(login) {
        Some(Principal::Team(name)) => Ok(Principal::Team(name)),
        _ if !login.is_empty() && !login.contains(':') => Ok(Principal::User(login.into())),
        _ => Err(HttpError::bad_request(format!(
            "`{login}` is neither a user nor a team (team:<name>)"
        ))),
    }
}

/// `GET api/v1/crates/{name}/owners`.
pub fn get(req: &mut Request) -> Result<Response, HttpError> {
    let key = existing(req.param("name"))?;
    let users: Vec<Value> = owners::list(&key)?
        .iter()
        .enumerate()
        .map(|(i, owner)| listed(i + 1, owner))
        .collect();
    Ok(Response::json(200, &json!({ "users": users })))
}

#[derive(Deserialize)]
struct Change {
    users: Vec<String>,
}

fn change(req: &mut Request, add: bool) -> Result<Response, HttpError> {
    let key = existing(req.param("name"))?;
    let change: Change = serde_json::from_slice(&req.take_body()?.read_to_end(64 << 10)?)?;
    if change.users.is_empty() {
        return Err(HttpError::bad_request("no owners named"));
    }
    let named = change
        .users
        .iter()
        .map(|login| principal(login))
        .collect::<Result<Vec<_>, _>>()?;
    let (added, removed) = match add {
        true => (named.as_slice(), &[][..]),
        false => (&[][..], named.as_slice()),
    };
    owners::change(&key, added, removed).map_err(|e| match e {
        StoreError::NotFound => HttpError::not_found(format!("crate `{key}` does not exist")),
        e => e.into(),
    })?;
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

/// The host refuses a non-owner's yank (403, with who is refused and why).
fn set_yanked(req: &mut Request, yanked: bool) -> Result<Response, HttpError> {
    let key = existing(req.param("name"))?;
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
