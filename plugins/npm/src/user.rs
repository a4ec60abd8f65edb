//! `npm whoami`, `npm login` / `npm adduser`, and the user lookup of
//! `npm owner add|rm`.
//!
//! Accounts are created by an administrator of the registry, never by the
//! client: the couch-style "create user" PUT only logs an existing account in
//! (the host checks the password and issues an API token).

use serde_json::{Map, Value, json};
use wharf_sdk::owners::Principal;
use wharf_sdk::{HttpError, Request, Response, auth};

use crate::{SMALL_LIMIT, owners};

const USER_PREFIX: &str = "org.couchdb.user:";

/// `GET -/whoami`.
pub fn whoami(req: &mut Request) -> Result<Response, HttpError> {
    match req.user() {
        Some(user) => Ok(Response::json(200, &json!({ "username": user }))),
        None => Err(HttpError::new(401, "authentication required")),
    }
}

/// `GET -/user/org.couchdb.user:{name}`: whether the user (or, for
/// `team:<name>`, the team) exists, for signed-in callers only. npm takes
/// the `name` it answers for the maintainer to add or remove.
pub fn get(req: &mut Request) -> Result<Response, HttpError> {
    let id = req.param("id").to_string();
    let name = id
        .strip_prefix(USER_PREFIX)
        .ok_or_else(|| HttpError::not_found("not found"))?;
    if req.user().is_none() {
        return Err(HttpError::new(401, "authentication required"));
    }
    let owner = owners::principal(name)?;
    if !wharf_sdk::owners::exists(&owner)? {
        return Err(HttpError::not_found(format!("no such user: {name}")));
    }
    let kind = match owner {
        Principal::User(_) => "user",
        Principal::Team(_) => "team",
    };
    Ok(Response::json(
        200,
        &json!({
            "_id": format!("{USER_PREFIX}{name}"),
            "name": owners::npm_name(&owner),
            "type": kind,
            "roles": [],
            "email": "",
        }),
    ))
}

/// `PUT -/user/org.couchdb.user:{name}` with `{"name", "password", …}`.
pub fn login(req: &mut Request) -> Result<Response, HttpError> {
    let id = req.param("id").to_string();
    let url_name = id
        .strip_prefix(USER_PREFIX)
        .ok_or_else(|| HttpError::not_found("not found"))?;
    let doc: Map<String, Value> =
        serde_json::from_slice(&req.take_body()?.read_to_end(SMALL_LIMIT)?)?;
    let name = doc.get("name").and_then(Value::as_str).unwrap_or(url_name);
    if name != url_name {
        return Err(HttpError::bad_request(
            "the user name in the document does not match the URL",
        ));
    }
    let password = doc
        .get("password")
        .and_then(Value::as_str)
        .ok_or_else(|| HttpError::bad_request("a password is required"))?;
    match auth::login(name, password) {
        Ok(token) => Ok(Response::json(
            201,
            &json!({
                "ok": true,
                "id": format!("{USER_PREFIX}{name}"),
                "rev": "_we_dont_use_revs_any_more",
                "token": token,
            }),
        )),
        Err(message) => Err(HttpError::new(401, message)),
    }
}

/// `POST -/v1/login`: web login is not offered. npm-profile treats any 4xx
/// here as "not supported" and falls back to the couch-style PUT above.
pub fn web_login(_: &mut Request) -> Result<Response, HttpError> {
    Err(HttpError::not_found(
        "web login is not supported by this registry; use the legacy login",
    ))
}
