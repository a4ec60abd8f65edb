//! The npm format: the registry API the npm CLI speaks (packuments, publish,
//! dist-tags, unpublish, deprecate, search, login, owners, tokens, logout),
//! served from the host's catalog, blob store, owners and API tokens; in a
//! proxy repository, from the upstream registry (`proxy.rs`). See
//! docs/formats/npm.md.

mod deprecate;
mod merge;
mod names;
mod owners;
mod package_doc;
mod packument;
mod proxy;
mod publish;
mod revision;
mod search;
mod tags;
mod tokens;
mod unpublish;
mod user;

#[cfg(test)]
mod owner_tests;
#[cfg(test)]
mod proxy_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod token_tests;

use serde_json::json;
use wharf_sdk::need::{anyone, delete, read, read_repo, write, write_repo};
use wharf_sdk::types::{Access, Action, PluginInfo};
use wharf_sdk::{
    Format, HttpError, Need, Params, Request, Response, Router, catalog, default_message,
    register_format,
};

/// Largest JSON document read into the plugin (a pruned packument on unpublish).
pub(crate) const DOCUMENT_LIMIT: usize = 64 << 20;
/// Largest small request body (login, a dist-tag's version).
pub(crate) const SMALL_LIMIT: usize = 64 << 10;

pub struct Npm;

impl Format for Npm {
    fn info() -> PluginInfo {
        PluginInfo {
            format: "npm".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            suggested_grants: vec!["registry.npmjs.org:443".into()],
        }
    }

    /// First match wins: the literal `-/…` routes come before `{pkg}` ones,
    /// and longer package routes before the bare `{pkg}`.
    fn router() -> Router {
        Router::new()
            .normalize(names::normalize)
            .get("-/ping", "ping", read_repo(), ping)
            .get("-/whoami", "whoami", read_repo(), user::whoami)
            // Logging in needs no access: when anonymous callers may not
            // read, this is how a user gets the token to read with.
            .put("-/user/{id}", "login", anyone(), user::login)
            // `npm owner add|rm` looks the user up first (signed-in only).
            .get("-/user/{id}", "user", read_repo(), user::get)
            // Any token may log itself out, a read-only one too.
            .delete("-/user/token/{token}", "logout", anyone(), tokens::logout)
            .post("-/v1/login", "web-login", anyone(), user::web_login)
            // Tokens are account state: listing reads, making and revoking
            // write (so a read-only token does neither).
            .get("-/npm/v1/tokens", "tokens", read_repo(), tokens::list)
            .post(
                "-/npm/v1/tokens",
                "token-create",
                write_repo(),
                tokens::create,
            )
            .delete(
                "-/npm/v1/tokens/token/{key}",
                "token-revoke",
                write_repo(),
                tokens::revoke,
            )
            .get("-/v1/search", "search", read_repo(), search::search)
            .post(
                "-/npm/v1/security/advisories/bulk",
                "advisories",
                read_repo(),
                advisories,
            )
            .get(
                "-/package/{pkg}/dist-tags",
                "dist-tags",
                read("pkg"),
                tags::list,
            )
            .put(
                "-/package/{pkg}/dist-tags/{tag}",
                "dist-tag-set",
                write("pkg"),
                tags::set,
            )
            .post(
                "-/package/{pkg}/dist-tags/{tag}",
                "dist-tag-set",
                write("pkg"),
                tags::set,
            )
            .delete(
                "-/package/{pkg}/dist-tags/{tag}",
                "dist-tag-remove",
                write("pkg"),
                tags::remove,
            )
            .get("{pkg}/-/{file}", "tarball", read("pkg"), tarball)
            .delete(
                "{pkg}/-/{file}/-rev/{rev}",
                "unpublish-tarball",
                UNPUBLISH_VERSION,
                unpublish::tarball,
            )
            // A pruned document (unpublish) or a maintainers list (owner
            // change): the route covers both, the host checks each call.
            .put(
                "{pkg}/-rev/{rev}",
                "revision",
                UNPUBLISH_VERSION,
                revision::put,
            )
            .delete(
                "{pkg}/-rev/{rev}",
                "unpublish-package",
                delete("pkg"),
                unpublish::package,
            )
            .get(
                "{pkg}/{version}",
                "version",
                read("pkg"),
                packument::get_version,
            )
            .get("{pkg}", "packument", read("pkg"), packument::get)
            .put("{pkg}", "publish", write("pkg"), publish::put)
            .merged("packument", merge::packuments)
            .merged("dist-tags", merge::dist_tags)
    }

    /// npm clients print the `error` member of a failed response.
    fn error(status: u16, message: &str) -> Response {
        Response::json(
            status,
            &json!({ "error": default_message(status, message) }),
        )
    }
}

register_format!(Npm);

/// Unpublishing a version deletes it and may move `latest`, forget the
/// package document or apply deprecations: delete and write on the package.
const UNPUBLISH_VERSION: Need = Need::Custom(|params: &Params| {
    let on = |action| Access {
        action,
        package: Some(params.get("pkg").to_string()),
        repository: None,
    };
    vec![on(Action::Delete), on(Action::Write)]
});

/// The body npm accepts for any write.
pub(crate) fn ok() -> Response {
    Response::json(200, &json!({ "ok": true }))
}

/// `npm ping`.
fn ping(_: &mut Request) -> Result<Response, HttpError> {
    Ok(Response::json(200, &json!({})))
}

/// The audit step of `npm install`: no advisories are known here, so the
/// audit is clean instead of failing with a warning.
fn advisories(_: &mut Request) -> Result<Response, HttpError> {
    Ok(Response::json(200, &json!({})))
}

/// `GET {pkg}/-/{file}`: the host streams the stored tarball.
fn tarball(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return proxy::tarball(req);
    }
    let name = req.param("pkg");
    names::validate(name)?;
    let asset = catalog::find_asset(&names::tarball_path(name, req.param("file")))?
        .ok_or_else(|| HttpError::not_found("tarball not found"))?;
    // The answer for this path changes only with the package: the host
    // serves it again without entering the plugin.
    Ok(Response::blob(&asset.blake3, "application/octet-stream").cacheable(&[name], &[]))
}
