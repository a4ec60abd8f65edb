//! The Cargo format: the sparse registry index and the registry web API
//! (publish, download, yank, owners, search), served from the host's catalog
//! and blob store; in a proxy repository, from the upstream registry
//! (`proxy.rs`). See docs/formats/cargo.md.

mod archive;
mod dl;
mod index;
mod names;
mod owners;
mod proxy;
mod publish;
mod search;

#[cfg(test)]
mod proxy_tests;
#[cfg(test)]
mod tests;

use serde::Deserialize;
use serde_json::json;
use wharf_sdk::need::{read, read_repo, write_repo};
use wharf_sdk::types::{Access, Action, PluginInfo};
use wharf_sdk::{
    Format, HttpError, Need, Params, Request, Response, Router, catalog, default_message,
    register_format,
};

pub struct Cargo;

impl Format for Cargo {
    fn info() -> PluginInfo {
        PluginInfo {
            format: "cargo".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            suggested_grants: vec!["index.crates.io:443".into(), "static.crates.io:443".into()],
        }
    }

    /// The web API comes first: `api/v1/crates` has the shape of an index
    /// path (`{ab}/{cd}/{name}`).
    fn router() -> Router {
        Router::new()
            .get("config.json", "config", read_repo(), config)
            .put("api/v1/crates/new", "publish", write_repo(), publish::put)
            .get("api/v1/crates", "search", read_repo(), search::search)
            .get(
                "api/v1/crates/{name}",
                "crate",
                on_crate(Action::Read),
                search::info,
            )
            .get(
                "api/v1/crates/{name}/{version}/download",
                "download",
                on_crate(Action::Read),
                download,
            )
            .delete(
                "api/v1/crates/{name}/{version}/yank",
                "yank",
                on_crate(Action::Write),
                owners::yank,
            )
            .put(
                "api/v1/crates/{name}/{version}/unyank",
                "unyank",
                on_crate(Action::Write),
                owners::unyank,
            )
            .get(
                "api/v1/crates/{name}/owners",
                "owners",
                on_crate(Action::Read),
                owners::get,
            )
            .put(
                "api/v1/crates/{name}/owners",
                "owners-add",
                on_crate(Action::Write),
                owners::add,
            )
            .delete(
                "api/v1/crates/{name}/owners",
                "owners-remove",
                on_crate(Action::Write),
                owners::remove,
            )
            .get("1/{name}", "index", read("name"), index::file)
            .get("2/{name}", "index", read("name"), index::file)
            .get("3/{c}/{name}", "index", read("name"), index::file)
            .get("{ab}/{cd}/{name}", "index", read("name"), index::file)
    }

    /// cargo prints the `detail` of each error.
    fn error(status: u16, message: &str) -> Response {
        let detail = default_message(status, message);
        Response::json(status, &json!({ "errors": [{ "detail": detail }] }))
    }
}

register_format!(Cargo);

/// Access to the crate named in the path, under its catalog key: cargo sends
/// the name as spelled in Cargo.toml.
fn on_crate(action: Action) -> Need {
    match action {
        Action::Read => Need::Custom(|p| crate_access(Action::Read, p)),
        _ => Need::Custom(|p| crate_access(Action::Write, p)),
    }
}

fn crate_access(action: Action, params: &Params) -> Vec<Access> {
    vec![Access {
        action,
        package: Some(names::key(params.get("name"))),
        repository: None,
    }]
}

/// The repository settings the plugin reads.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Settings {
    auth_required: bool,
}

/// `GET config.json`: where cargo downloads from and sends API calls.
/// A `dl` without markers gets `/{crate}/{version}/download` appended.
/// cargo sends a token for config.json only after an anonymous attempt got a
/// 401, so an authenticated caller here means reads need a token everywhere.
fn config(req: &mut Request) -> Result<Response, HttpError> {
    let base = req.base_url();
    let settings: Settings = req.repo.settings()?;
    let auth_required = settings.auth_required || req.user().is_some();
    Ok(Response::json(
        200,
        &json!({
            "dl": format!("{base}api/v1/crates"),
            "api": base.trim_end_matches('/'),
            "auth-required": auth_required,
        }),
    ))
}

/// `GET api/v1/crates/{name}/{version}/download`: the host streams the `.crate`.
fn download(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return proxy::download(req);
    }
    let (name, version) = (req.param("name"), req.param("version"));
    let missing = || HttpError::not_found(format!("crate `{name}` has no version {version}"));
    names::validate(name).map_err(|_| missing())?;
    let asset = catalog::find_asset(&names::crate_path(name, version))?.ok_or_else(missing)?;
    // The answer for this path changes only with the crate: the host serves
    // it again without entering the plugin.
    Ok(Response::blob(&asset.blake3, "application/gzip").cacheable(&[&names::key(name)], &[]))
}
