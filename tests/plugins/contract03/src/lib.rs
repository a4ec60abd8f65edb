//! A format frozen on contract 0.3.0 (`wit/v0.3`), built without the SDK so it
//! stays what a 0.3 plugin was once the SDK tracks a newer contract. The
//! host must load it beside newer plugins, serve it, and hold it to the same
//! rules. It has no native build.
#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({
    path: "../../../wit/v0.3",
    world: "format-plugin",
    generate_all,
});

use exports::wharf::plugin::handler::{
    CacheHint, Denial, Guest, PluginInfo, RequestContext, Response, ResponseBody,
};
use wharf::plugin::blobs::IncomingBody;
use wharf::plugin::catalog::{self, Asset, Publication, VersionRow, Write};
use wharf::plugin::types::{
    Access, Action, BodyMode, ClassifyError, DigestSet, Method, RepoInfo, RequestHead, Route,
    StoreError,
};

struct Contract03;

fn route(id: &str, action: Action, package: Option<&str>, body: BodyMode) -> Route {
    Route {
        id: id.into(),
        access: vec![Access {
            action,
            package: package.map(str::to_string),
            repository: None,
        }],
        body,
        vary: Vec::new(),
    }
}

fn text(status: u16, body: &str) -> Response {
    Response {
        status,
        reason: None,
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
        StoreError::Unavailable(m) => text(503, &m),
        other => text(400, &format!("{other:?}")),
    }
}

/// `PUT files/{name}`: the body becomes version 1.0 of package `name`.
fn upload(name: &str, body: IncomingBody) -> Result<Response, StoreError> {
    let blob = body.ingest(None, DigestSet::SHA256, None)?;
    catalog::apply(&[Write::Publish(Publication {
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
            metadata_json: String::new(),
            added_at: 0,
        }],
        tags: vec!["latest".into()],
    })])?;
    let mut r = text(201, &blob.digests.sha256.unwrap_or_default());
    r.reason = Some("Stored by 0.3".into());
    Ok(r)
}

/// `GET files/{name}`: the host streams the stored bytes, and may serve
/// the answer again until the package changes.
fn download(path: &str, name: &str) -> Result<Response, StoreError> {
    let Some(asset) = catalog::find_asset(path)? else {
        return Ok(text(404, "no such file"));
    };
    Ok(Response {
        status: 200,
        reason: None,
        headers: vec![("content-type".into(), asset.content_type)],
        body: ResponseBody::Blob(asset.blake3),
        cache: Some(CacheHint {
            tags: vec![name.into()],
            vary: Vec::new(),
        }),
    })
}

/// `GET versions/{name}`: one page of the versions, the 0.3 way.
fn versions(name: &str) -> Result<Response, StoreError> {
    let rows = catalog::list_versions(name, None, 10)?;
    let listed: Vec<String> = rows.into_iter().map(|r| r.version).collect();
    Ok(text(200, &listed.join("\n")))
}

impl Guest for Contract03 {
    fn describe() -> PluginInfo {
        PluginInfo {
            format: "contract03".into(),
            version: "0.3.0-frozen".into(),
            suggested_grants: vec![],
        }
    }

    fn classify(_repo: RepoInfo, head: RequestHead) -> Result<Route, ClassifyError> {
        let path = head.raw_path.as_str();
        let under = |prefix: &str| path.strip_prefix(prefix).filter(|n| !n.contains('/'));
        match (head.method, path, under("files/"), under("versions/")) {
            (Method::Get, "ok", _, _) => Ok(route("ok", Action::Read, None, BodyMode::None)),
            (Method::Get, "sneaky", _, _) => {
                Ok(route("sneaky", Action::Read, None, BodyMode::None))
            }
            (Method::Put, _, Some(name), _) => {
                Ok(route("upload", Action::Write, Some(name), BodyMode::Stream))
            }
            (Method::Get | Method::Head, _, Some(name), _) => {
                Ok(route("download", Action::Read, Some(name), BodyMode::None))
            }
            (Method::Get, _, _, Some(name)) => {
                Ok(route("versions", Action::Read, Some(name), BodyMode::None))
            }
            _ => Err(ClassifyError::NotFound),
        }
    }

    fn handle(ctx: RequestContext, body: Option<IncomingBody>) -> Response {
        let path = ctx.head.raw_path.as_str();
        let name = path.rsplit('/').next().unwrap_or_default();
        let answer = match (ctx.route_id.as_str(), body) {
            ("ok", _) => Ok(text(200, "ok from contract 0.3.0")),
            // A read route: the host must refuse the write, whoever calls.
            ("sneaky", _) => catalog::apply(&[Write::SetTag((
                "anything".into(),
                "latest".into(),
                "1.0".into(),
            ))])
            .map(|()| text(200, "tag moved")),
            ("upload", Some(body)) => upload(name, body),
            ("download", _) => download(path, name),
            ("versions", _) => versions(name),
            _ => Ok(text(400, "unexpected request")),
        };
        answer.unwrap_or_else(failed)
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
        text(status, &format!("contract03: {message}"))
    }
}

export!(Contract03);
