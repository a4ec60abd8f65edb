//! `gem push`, `gem yank` and `gem owner`, answered in rubygems.org's words
//! (gem prints the body of the answer).

use serde_json::json;
use wharf_sdk::catalog::{Asset, Publication, VersionRow};
use wharf_sdk::owners::{self, Principal};
use wharf_sdk::types::{Access, Action, DigestSet, StoreError};
use wharf_sdk::{HttpError, Request, Response, auth, catalog, query_pairs};

use crate::gem::{self, Spec};

fn text(status: u16, message: String) -> Response {
    Response::bytes(
        status,
        "text/plain; charset=utf-8",
        format!("{message}\n").into_bytes(),
    )
}

fn may_write(name: &str) -> bool {
    auth::may(&Access {
        action: Action::Write,
        package: Some(name.to_string()),
        repository: None,
    })
}

fn not_owner(req: &Request, name: &str, verb: &str) -> HttpError {
    let user = req.user().unwrap_or("anonymous");
    HttpError::forbidden(format!(
        "You do not have permission to {verb} this gem ({user} is not an owner of {name}). \
         Ask an owner to add you with: gem owner {name} --add {user}"
    ))
}

/// `POST api/v1/gems`: the raw .gem.
pub fn push(req: &mut Request) -> Result<Response, HttpError> {
    let body = req.take_body()?;
    let blob = body.ingest(None, DigestSet::SHA256, None)?;
    let spec = gem::read_blob(&blob.digests.blake3)?;
    check_name(&spec)?;
    // The host checks the write again (and claims a new gem for its pusher);
    // asking first gives gem the answer rubygems.org gives.
    if !may_write(&spec.name) {
        return Err(not_owner(req, &spec.name, "push to"));
    }
    let full = spec.full_version();
    if catalog::get_version(&spec.name, &full)?.is_some() {
        return Err(republished(&spec));
    }
    let sha256 = blob
        .digests
        .sha256
        .ok_or_else(|| HttpError::new(500, "the host computed no sha256 digest"))?;
    let metadata = json!({
        "spec": spec.to_json(),
        "sha256": sha256,
        "pushed_by": req.user(),
    });
    catalog::publish(Publication {
        version: VersionRow {
            package: spec.name.clone(),
            version: full.clone(),
            metadata_json: metadata.to_string(),
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        assets: vec![Asset {
            path: format!("gems/{}", spec.file_name()),
            blake3: blob.digests.blake3.clone(),
            content_type: "application/octet-stream".into(),
            metadata_json: String::new(),
            added_at: 0,
        }],
        tags: vec![],
    })
    .map_err(|e| match e {
        StoreError::AlreadyExists => republished(&spec),
        StoreError::Forbidden(_) => not_owner(req, &spec.name, "push to"),
        e => e.into(),
    })?;
    Ok(text(
        200,
        format!("Successfully registered gem: {} ({full})", spec.name),
    ))
}

/// A `-` followed by a digit would make `{name}-{version}.gem` ambiguous:
/// the file routes name their gem by that split.
fn check_name(spec: &Spec) -> Result<(), HttpError> {
    let bytes = spec.name.as_bytes();
    if bytes
        .windows(2)
        .any(|w| w[0] == b'-' && w[1].is_ascii_digit())
    {
        return Err(HttpError::bad_request(format!(
            "`{}`: a gem name here may not have a `-` followed by a digit \
             (its file names would be ambiguous)",
            spec.name
        )));
    }
    Ok(())
}

fn republished(spec: &Spec) -> HttpError {
    HttpError::conflict(format!(
        "Repushing of gem versions is not allowed.\n\
         Please use `gem yank` to remove bad gem releases. ({} {} exists)",
        spec.name,
        spec.full_version()
    ))
}

/// `DELETE api/v1/gems/yank`: `gem_name`, `version`, `platform` as a form
/// (in the body, as gem sends them, or in the query).
pub fn yank(req: &mut Request) -> Result<Response, HttpError> {
    let raw = req.take_body()?.read_to_end(64 << 10)?;
    let form =
        String::from_utf8(raw).map_err(|_| HttpError::bad_request("the form is not UTF-8"))?;
    let query = req.head.raw_query.clone().unwrap_or_default();
    let field = |key: &str| {
        query_pairs(&form)
            .chain(query_pairs(&query))
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .filter(|v| !v.is_empty())
    };
    let name = field("gem_name").ok_or_else(|| HttpError::bad_request("no gem_name given"))?;
    let version = field("version").ok_or_else(|| HttpError::bad_request("no version given"))?;
    let full = match field("platform").filter(|p| p != "ruby") {
        Some(p) => format!("{version}-{p}"),
        None => version.clone(),
    };
    let missing = || HttpError::not_found(format!("The version {full} of {name} does not exist."));
    if !gem::valid_name(&name) {
        return Err(missing());
    }
    if !may_write(&name) {
        return Err(not_owner(req, &name, "delete"));
    }
    let row = catalog::get_version(&name, &full)?.ok_or_else(missing)?;
    if row.yanked {
        return Err(HttpError::new(
            422,
            format!("The version {full} of {name} has already been yanked."),
        ));
    }
    catalog::set_yanked(&name, &full, true).map_err(|e| match e {
        StoreError::Forbidden(_) => not_owner(req, &name, "delete"),
        e => e.into(),
    })?;
    Ok(text(
        200,
        format!("Successfully deleted gem: {name} ({full})"),
    ))
}

/// An existing gem, or 404.
fn existing(name: &str) -> Result<(), HttpError> {
    if !gem::valid_name(name) || !catalog::has_package(name)? {
        return Err(HttpError::not_found(format!(
            "This gem could not be found: {name}"
        )));
    }
    Ok(())
}

fn handle(owner: &Principal) -> String {
    match owner {
        Principal::User(name) => name.clone(),
        Principal::Team(_) => owner.to_string(),
    }
}

fn owner_list(req: &Request) -> Result<Vec<Principal>, HttpError> {
    let name = req.param("gem");
    existing(name)?;
    Ok(owners::list(name)?)
}

/// `GET api/v1/gems/{gem}/owners[.json]`.
pub fn owners(req: &mut Request) -> Result<Response, HttpError> {
    let list: Vec<_> = owner_list(req)?
        .iter()
        .enumerate()
        .map(|(i, o)| json!({ "id": i + 1, "handle": handle(o) }))
        .collect();
    Ok(Response::json(200, &list))
}

/// `GET api/v1/gems/{gem}/owners.yaml`: what `gem owner {gem}` reads.
pub fn owners_yaml(req: &mut Request) -> Result<Response, HttpError> {
    let mut body = String::from("---\n");
    for (i, o) in owner_list(req)?.iter().enumerate() {
        // Handles are user names or `team:<name>`: quoted, always.
        let handle = serde_json::to_string(&handle(o)).unwrap_or_default();
        body.push_str(&format!("- id: {}\n  handle: {handle}\n", i + 1));
    }
    Ok(Response::bytes(
        200,
        "text/yaml; charset=utf-8",
        body.into_bytes(),
    ))
}

/// The owner a form names: `email` (what gem sends) or `handle`; a user's
/// name, or `team:<name>`.
fn named(req: &mut Request) -> Result<Principal, HttpError> {
    let raw = req.take_body()?.read_to_end(64 << 10)?;
    let form = String::from_utf8(raw).unwrap_or_default();
    let query = req.head.raw_query.clone().unwrap_or_default();
    let login = query_pairs(&form)
        .chain(query_pairs(&query))
        .find(|(k, _)| k == "email" || k == "handle")
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| HttpError::bad_request("no owner named (email=<user>)"))?;
    match Principal::parse(&login) {
        Some(Principal::Team(t)) => Ok(Principal::Team(t)),
        _ if !login.contains(':') => Ok(Principal::User(login)),
        _ => Err(HttpError::bad_request(format!(
            "`{login}` is neither a user nor a team (team:<name>)"
        ))),
    }
}

fn change(req: &mut Request, add: bool) -> Result<Response, HttpError> {
    let name = req.param("gem").to_string();
    existing(&name)?;
    let who = named(req)?;
    let (added, removed) = match add {
        true => (std::slice::from_ref(&who), &[][..]),
        false => (&[][..], std::slice::from_ref(&who)),
    };
    owners::change(&name, added, removed).map_err(|e| match e {
        StoreError::NotFound => HttpError::not_found(format!("Owner could not be found: {who}")),
        StoreError::Invalid(m) => HttpError::bad_request(m),
        e => e.into(),
    })?;
    let message = match add {
        true => format!("Owner added successfully: {who} owns {name}"),
        false => format!("Owner removed successfully: {who} no longer owns {name}"),
    };
    Ok(text(200, message))
}

/// `POST api/v1/gems/{gem}/owners`.
pub fn owner_add(req: &mut Request) -> Result<Response, HttpError> {
    change(req, true)
}

/// `DELETE api/v1/gems/{gem}/owners`.
pub fn owner_remove(req: &mut Request) -> Result<Response, HttpError> {
    change(req, false)
}
