//! A format frozen on contract 0.1 (`wit/v0.1`), built without the SDK so it
//! stays what a 0.1 plugin was. The host must load it beside 0.2 plugins,
//! serve it, and hold it to the same rules. It has no native build.
#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({
    path: "../../../wit/v0.1",
    world: "format-plugin",
    generate_all,
});

use exports::wharf::plugin::handler::{
    Denial, Guest, PluginInfo, RequestContext, Response, ResponseBody,
};
use wharf::plugin::blobs::IncomingBody;
use wharf::plugin::catalog::{self, Asset, Publication, VersionRow};
use wharf::plugin::types::{
    Access, Action, BodyMode, ClassifyError, DigestSet, Method, RepoInfo, RequestHead, Route,
    StoreError,
};

struct Legacy;

fn route(id: &str, action: Action, package: Option<&str>, body: BodyMode) -> Route {
    Route {
        id: id.into(),
        access: vec![Access {
            action,
            package: package.map(str::to_string),
            repository: None,
        }],
        body,
    }
}

fn text(status: u16, body: &str) -> Response {
    Response {
        status,
        headers: vec![("content-type".into(), "text/plain".into())],
        body: ResponseBody::Bytes(body.as_bytes().to_vec()),
        cache: None,
    }
}

fn failed(e: StoreError) -> Response {
    match e {
        StoreError::Forbidden(m) => text(403, &m),
        StoreError::NotFound => text(404, "not found"),
        StoreError::AlreadyExists => text(409, "already exists"),
        other => text(500, &format!("{other:?}")),
    }
}

/// `PUT files/{name}`: the body becomes version 1.0 of package `name`.
fn upload(name: &str, body: IncomingBody) -> Result<Response, StoreError> {
    let blob = body.ingest(None, DigestSet::SHA256, None)?;
    catalog::publish(&Publication {
        version: VersionRow {
            package: name.into(),
            version: "1.0".into(),
            metadata_json: "{}".into(),
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        assets: vec![Asset {
            path: format!("files/{name}"),
            blake3: blob.digests.blake3,
            content_type: "application/octet-stream".into(),
        }],
        tags: vec!["latest".into()],
    })?;
    let mut r = text(201, &blob.digests.sha256.unwrap_or_default());
    // 0.1 set the status line's reason phrase with this header entry.
    r.headers
        .push(("wharf-reason".into(), "Stored by 0.1".into()));
    Ok(r)
}

impl Guest for Legacy {
    fn describe() -> PluginInfo {
        PluginInfo {
            format: "legacy".into(),
            version: "0.1.0-frozen".into(),
            suggested_grants: vec![],
        }
    }

    fn classify(_repo: RepoInfo, head: RequestHead) -> Result<Route, ClassifyError> {
        let path = head.raw_path.as_str();
        let file = path.strip_prefix("files/").filter(|n| !n.contains('/'));
        match (head.method, path, file) {
            (Method::Get, "ok", _) => Ok(route("ok", Action::Read, None, BodyMode::None)),
            (Method::Get, "sneaky", _) => Ok(route("sneaky", Action::Read, None, BodyMode::None)),
            (Method::Put, _, Some(name)) => {
                Ok(route("upload", Action::Write, Some(name), BodyMode::Stream))
            }
            (Method::Get | Method::Head, _, Some(name)) => {
                Ok(route("download", Action::Read, Some(name), BodyMode::None))
            }
            _ => Err(ClassifyError::NotFound),
        }
    }

    fn handle(ctx: RequestContext, body: Option<IncomingBody>) -> Response {
        let path = ctx.head.raw_path.as_str();
        match (ctx.route_id.as_str(), body) {
            ("ok", _) => text(200, "ok from contract 0.1"),
            // A read route: the host must refuse the write, whoever calls.
            ("sneaky", _) => match catalog::set_tag("anything", "latest", "1.0") {
                Ok(()) => text(200, "tag moved"),
                Err(e) => failed(e),
            },
            ("upload", Some(body)) => {
                upload(path.trim_start_matches("files/"), body).unwrap_or_else(failed)
            }
            ("download", _) => match catalog::find_asset(path) {
                Some(asset) => Response {
                    status: 200,
                    headers: vec![("content-type".into(), asset.content_type)],
                    body: ResponseBody::Blob(asset.blake3),
                    cache: None,
                },
                None => text(404, "no such file"),
            },
            _ => text(400, "unexpected request"),
        }
    }

    fn render_error(_: RepoInfo, _: RequestHead, denial: Denial, message: String) -> Response {
        let status = match denial {
            Denial::BadRequest => 400,
            Denial::Unauthenticated => 401,
            Denial::Forbidden => 403,
            Denial::NotFound => 404,
            Denial::MethodNotAllowed => 405,
            Denial::TooLarge => 413,
            Denial::Unavailable => 503,
            Denial::Internal => 500,
        };
        text(status, &message)
    }
}

export!(Legacy);
