//! `npm token list|create|revoke` (`-/npm/v1/tokens`) and `npm logout`
//! (`DELETE -/user/token/<token>`), over the caller's host API tokens.
//!
//! A token is listed with its public id as `key`, which is what npm shortens
//! into the id it shows and matches what you type against. The registry
//! keeps no part of a secret, so `token` (which npm prints followed by `…`)
//! is the prefix every secret shares: `npm token revoke <secret>` passes
//! npm's check and sends the secret, which the host revokes too.

use serde::Deserialize;
use serde_json::{Value, json};
use wharf_sdk::tokens::{self, CreateError, TokenInfo, TokenSpec};
use wharf_sdk::types::StoreError;
use wharf_sdk::{HttpError, Request, Response};

use crate::SMALL_LIMIT;
use crate::packument::iso_time;

/// What every host token starts with (`wharf_…`).
const SECRET_PREFIX: &str = "wharf_";
const DAY_MS: u64 = 86_400_000;

fn signed_in(req: &Request) -> Result<(), HttpError> {
    match req.user() {
        Some(_) => Ok(()),
        None => Err(HttpError::new(401, "authentication required")),
    }
}

/// A token as npm lists it (npm-profile's `listTokens`, npm's `token list`).
fn listed(t: &TokenInfo) -> Value {
    json!({
        "key": t.id,
        "token": SECRET_PREFIX,
        "name": t.name,
        "readonly": t.read_only,
        "automation": false,
        "cidr_whitelist": null,
        "created": iso_time(t.created_at),
        "updated": iso_time(t.last_used_at.unwrap_or(t.created_at)),
        "expires": t.expires_at.map(iso_time),
    })
}

/// `GET -/npm/v1/tokens[?page=&perPage=]`: `{objects, total, urls: {next}}`;
/// npm follows `urls.next` until there is none.
pub fn list(req: &mut Request) -> Result<Response, HttpError> {
    signed_in(req)?;
    let number = |key: &str| req.query(key).and_then(|v| v.trim().parse::<u32>().ok());
    let per_page = number("perPage")
        .unwrap_or(tokens::PAGE)
        .clamp(1, tokens::PAGE);
    let page = number("page").unwrap_or(0);
    let offset = page.saturating_mul(per_page);
    let (total, page_tokens) = tokens::list(offset, per_page)?;
    let mut urls = json!({});
    if u64::from(offset) + (page_tokens.len() as u64) < total && !page_tokens.is_empty() {
        let next = format!("/-/npm/v1/tokens?page={}&perPage={per_page}", page + 1);
        urls["next"] = json!(next);
    }
    let objects: Vec<Value> = page_tokens.iter().map(listed).collect();
    Ok(Response::json(
        200,
        &json!({ "objects": objects, "total": total, "urls": urls }),
    ))
}

/// A list npm sends as one string when it has one value.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// `POST -/npm/v1/tokens`: npm ≤ 10 sends `{password, readonly,
/// cidr_whitelist}`, npm ≥ 11 `{name, password, expires, packages, scopes,
/// packages_and_scopes_permission, …}`. An option this registry cannot honor
/// is refused rather than ignored (the token would be wider than asked), and
/// so is a field it does not know.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    password: Option<String>,
    readonly: Option<bool>,
    cidr_whitelist: Option<OneOrMany>,
    name: Option<String>,
    /// A note for the user's eyes: the name is what listings show.
    #[allow(dead_code)]
    description: Option<String>,
    packages: Option<OneOrMany>,
    packages_all: Option<bool>,
    scopes: Option<OneOrMany>,
    orgs: Option<OneOrMany>,
    packages_and_scopes_permission: Option<String>,
    /// Only means something with `orgs`, which are refused.
    #[allow(dead_code)]
    orgs_permission: Option<String>,
    /// Days.
    expires: Option<u32>,
    /// There is no second factor here to bypass.
    #[allow(dead_code)]
    bypass_2fa: Option<bool>,
}

fn given(list: Option<OneOrMany>) -> Vec<String> {
    let list = list.map(OneOrMany::into_vec).unwrap_or_default();
    list.into_iter().filter(|s| !s.trim().is_empty()).collect()
}

/// The password and the token the request asks for, at `now` (Unix ms).
fn spec(request: CreateRequest, now: u64) -> Result<(String, TokenSpec), HttpError> {
    let refuse = |m: &str| Err(HttpError::bad_request(m));
    let Some(password) = request.password.filter(|p| !p.is_empty()) else {
        return refuse("a password is required");
    };
    if !given(request.cidr_whitelist).is_empty() {
        return refuse("this registry cannot restrict tokens to IP addresses (cidr_whitelist)");
    }
    if !given(request.orgs).is_empty() {
        return refuse("this registry has no organizations to restrict tokens to");
    }
    let read_only = match request.packages_and_scopes_permission.as_deref() {
        None => request.readonly.unwrap_or(false),
        Some("read-only") => true,
        Some("read-write") => request.readonly.unwrap_or(false),
        Some(other) => {
            return Err(HttpError::bad_request(format!(
                "packages_and_scopes_permission {other:?} is not supported: use read-only or read-write"
            )));
        }
    };
    let mut patterns = given(request.packages);
    for scope in given(request.scopes) {
        patterns.push(format!("@{}/*", scope.trim_start_matches('@')));
    }
    if request.packages_all == Some(true) && !patterns.is_empty() {
        return refuse("packages_all and packages or scopes contradict each other");
    }
    let expires_at = match request.expires {
        Some(0) => return refuse("expires is a number of days, at least 1"),
        Some(days) => Some(now + u64::from(days) * DAY_MS),
        None => None,
    };
    Ok((
        password,
        TokenSpec {
            name: request.name.unwrap_or_else(|| "npm token".into()),
            read_only,
            expires_at,
            packages: (!patterns.is_empty()).then_some(patterns),
        },
    ))
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn create(req: &mut Request) -> Result<Response, HttpError> {
    signed_in(req)?;
    let body = req.take_body()?.read_to_end(SMALL_LIMIT)?;
    let request: CreateRequest = serde_json::from_slice(&body)
        .map_err(|e| HttpError::bad_request(format!("invalid token request: {e}")))?;
    let (password, spec) = spec(request, now_millis())?;
    let made = tokens::create(&password, &spec).map_err(|e| match e {
        // 403, not 401: a 401 would make npm blame the token it sent.
        CreateError::WrongPassword => HttpError::forbidden("incorrect password"),
        CreateError::Refused(e) => e.into(),
    })?;
    let mut answer = listed(&made.info);
    answer["token"] = json!(made.secret);
    Ok(Response::json(201, &answer))
}

/// `DELETE -/npm/v1/tokens/token/{key}`: `key` is a listed key, or a
/// token's secret when that is what the user typed.
pub fn revoke(req: &mut Request) -> Result<Response, HttpError> {
    signed_in(req)?;
    let key = req.param("key").to_string();
    tokens::revoke(&key).map_err(|e| match e {
        StoreError::NotFound => HttpError::not_found(format!("you have no token {key}")),
        e => e.into(),
    })?;
    Ok(Response::empty(204))
}

/// `DELETE -/user/token/{token}`: `npm logout`. npm names the token it
/// authenticates the request with; what the host revokes is that
/// credential, never a token only named in the URL.
pub fn logout(req: &mut Request) -> Result<Response, HttpError> {
    signed_in(req)?;
    tokens::revoke_current()?;
    Ok(crate::ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: Value) -> CreateRequest {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn both_npm_shapes_become_a_spec() {
        let now = 1_000 * DAY_MS;
        // npm 10 (npm-profile createToken).
        let old = request(json!({ "password": "pw", "readonly": true, "cidr_whitelist": [] }));
        let (password, s) = spec(old, now).unwrap();
        assert_eq!(password, "pw");
        assert!(s.read_only && s.packages.is_none() && s.expires_at.is_none());
        assert_eq!(s.name, "npm token");
        // npm 11, with what its flags send.
        let new = request(json!({
            "name": "ci", "password": "pw", "expires": 30,
            "packages": "left-pad", "scopes": ["acme", "@tools"],
            "packages_and_scopes_permission": "read-only",
        }));
        let (_, s) = spec(new, now).unwrap();
        assert_eq!(s.name, "ci");
        assert!(s.read_only);
        assert_eq!(s.expires_at, Some(now + 30 * DAY_MS));
        assert_eq!(s.packages.unwrap(), vec!["left-pad", "@acme/*", "@tools/*"]);
        let (_, s) = spec(request(json!({ "name": null, "password": "pw" })), now).unwrap();
        assert!(!s.read_only);
    }

    #[test]
    fn what_cannot_be_honored_is_refused() {
        for refused in [
            json!({ "readonly": true }),
            json!({ "password": "" }),
            json!({ "password": "pw", "cidr_whitelist": ["10.0.0.0/8"] }),
            json!({ "password": "pw", "orgs": ["acme"] }),
            json!({ "password": "pw", "packages_and_scopes_permission": "no-access" }),
            json!({ "password": "pw", "expires": 0 }),
            json!({ "password": "pw", "packages_all": true, "scopes": ["acme"] }),
        ] {
            assert!(spec(request(refused.clone()), 0).is_err(), "{refused}");
        }
        let unknown =
            serde_json::from_value::<CreateRequest>(json!({ "password": "pw", "ip_ranges": [] }));
        assert!(unknown.is_err());
    }
}
