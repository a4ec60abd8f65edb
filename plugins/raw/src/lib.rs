//! Raw: a generic file repository (build outputs, installers). `PUT` any
//! path, `GET`/`HEAD` it (Range, ETag by the host), `DELETE` it, and list a
//! directory (`GET dir/`: JSON, or HTML for browsers). The package of a path,
//! which owners and permissions apply to, is its first segment: `PUT
//! releases/1.0/app.tgz` writes the package `releases`. See docs/formats/raw.md.

mod proxy;
use serde_json::json;
use wharf_sdk::catalog::{self, Asset, Owner};
use wharf_sdk::types::{DigestSet, PluginInfo, StoreError};
use wharf_sdk::{HttpError, Request, Response, Router, default_message, escape, need};

pub struct Raw;

/// Entries of one listing page, and the most a client may ask for.
const PAGE: u32 = 1_000;

impl wharf_sdk::Format for Raw {
    fn info() -> PluginInfo {
        let version = env!("CARGO_PKG_VERSION").into();
        PluginInfo {
            format: "raw".into(),
            version,
            suggested_grants: vec![],
        }
    }

    fn router() -> Router {
        Router::new()
            .get("", "list-root", need::read_repo(), list)
            .get("{top}", "get", need::read("top"), get)
            .get("{top}/{rest*}", "get", need::read("top"), get)
            .put("{top}", "put", need::write("top"), put)
            .put("{top}/{rest*}", "put", need::write("top"), put)
            .delete("{top}", "delete", need::delete("top"), delete)
            .delete("{top}/{rest*}", "delete", need::delete("top"), delete)
    }

    fn error(status: u16, message: &str) -> Response {
        let error = json!({ "error": default_message(status, message) });
        Response::json(status, &error)
    }
}

wharf_sdk::register_format!(Raw);

/// The package (first segment) and the decoded path, checked: no empty, `.`
/// or `..` segment (a `%2F` decodes into the path too, so the package may not
/// hold one), no backslash or control character, bounded length.
fn checked(req: &Request) -> Result<(String, String), HttpError> {
    let top = req.param("top");
    let path = match req.params.try_get("rest") {
        Some(rest) => format!("{top}/{rest}"),
        None => top.to_string(),
    };
    let bad = path.len() > 1024
        || top.contains('/')
        || path.split('/').count() > 32
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        || path.chars().any(|c| c == '\\' || c.is_control());
    if bad {
        return Err(HttpError::bad_request(format!("invalid path {path:?}")));
    }
    Ok((top.to_string(), path))
}

/// `GET path`: the file, streamed by the host; `GET dir/`: a listing.
fn get(req: &mut Request) -> Result<Response, HttpError> {
    let (package, path) = checked(req)?;
    if req.head.raw_path.ends_with('/') {
        return list(req);
    }
    let Some(asset) = catalog::find_asset(&path)? else {
        return proxy::missing(req, package, path);
    };
    Ok(Response::blob(&asset.blake3, &asset.content_type).cacheable(&[&package], &[]))
}

/// `PUT path`: the body streams into the store; overwriting needs the
/// repository setting `allow_overwrite`.
fn put(req: &mut Request) -> Result<Response, HttpError> {
    let (package, path) = checked(req)?;
    #[derive(serde::Deserialize, Default)]
    struct Settings {
        #[serde(default)]
        allow_overwrite: bool,
    }
    let overwrite = req.repo.settings::<Settings>()?.allow_overwrite;
    if !overwrite && catalog::find_asset(&path)?.is_some() {
        return Err(HttpError::conflict(format!(
            "{path} exists and overwrite is off"
        )));
    }
    let blob = req.take_body()?.ingest(None, DigestSet::SHA256, None)?;
    let sha256 = blob.digests.sha256.unwrap_or_default();
    let meta = json!({ "size": blob.size, "sha256": sha256 }).to_string();
    let content_type = content_type(&path).into();
    let (blake3, added_at) = (blob.digests.blake3, 0);
    let asset = Asset {
        path: path.clone(),
        blake3,
        content_type,
        metadata_json: meta,
        added_at,
    };
    let owner = Owner {
        package,
        version: None,
    };
    catalog::put_asset(owner, asset, overwrite).map_err(|e| match e {
        StoreError::AlreadyExists => HttpError::conflict(format!("{path} exists")),
        e => e.into(),
    })?;
    Ok(Response::json(
        201,
        &json!({ "path": path, "size": blob.size, "sha256": sha256 }),
    ))
}

/// `DELETE path`.
fn delete(req: &mut Request) -> Result<Response, HttpError> {
    let (package, path) = checked(req)?;
    catalog::remove_asset(&package, &path).map_err(|e| match e {
        StoreError::NotFound => HttpError::not_found(format!("no file {path}")),
        e => e.into(),
    })?;
    Ok(Response::empty(204))
}

/// A directory: its files and subdirectories, one page of at most [`PAGE`]
/// stored files (`?after=` the `next` of the page before).
fn list(req: &mut Request) -> Result<Response, HttpError> {
    let after = req.query("after");
    let dir = match req.params.try_get("top") {
        None => String::new(),
        Some(_) => format!("{}/", checked(req)?.1),
    };
    let mut entries: Vec<(String, Option<u64>)> = Vec::new();
    let next = if dir.is_empty() {
        let names = catalog::list_packages(None, after.as_deref(), PAGE)?;
        entries.extend(names.iter().map(|n| (format!("{n}/"), None)));
        names
            .last()
            .filter(|_| names.len() == PAGE as usize)
            .cloned()
    } else {
        let package = dir.split('/').next().unwrap_or("").to_string();
        let owner = Owner {
            package,
            version: None,
        };
        let page = catalog::list_assets(&owner, Some(&dir), after.as_deref(), PAGE)?;
        for asset in &page {
            let name = match asset.path[dir.len()..].split_once('/') {
                Some((sub, _)) => format!("{sub}/"),
                None => asset.path[dir.len()..].to_string(),
            };
            if entries.last().is_none_or(|(last, _)| *last != name) {
                entries.push((name, proxy::listed_size(asset)?));
            }
        }
        page.last()
            .filter(|_| page.len() == PAGE as usize)
            .map(|a| a.path.clone())
    };
    let tag = dir
        .split('/')
        .next()
        .filter(|t| !t.is_empty())
        .unwrap_or("*");
    if entries.is_empty() && after.is_none() && !dir.is_empty() {
        return Err(HttpError::not_found(format!("no directory {dir}")));
    }
    if req
        .header("accept")
        .is_some_and(|a| a.contains("text/html"))
    {
        let mut html = format!(
            "<!DOCTYPE html><html><body><h1>/{}</h1><ul>",
            escape::markup(&dir)
        );
        for (name, _) in &entries {
            let link = escape::markup(&escape::url_path(name));
            html += &format!("<li><a href=\"{link}\">{}</a></li>", escape::markup(name));
        }
        html += "</ul>";
        if let Some(next) = &next {
            let after = escape::url_query_value(next);
            html += &format!("<a href=\"?after={after}\">next</a>");
        }
        let html = (html + "</body></html>").into_bytes();
        let page = Response::bytes(200, "text/html; charset=utf-8", html);
        return Ok(page.cacheable(&[tag], &["accept"]));
    }
    let entries: Vec<_> = entries
        .iter()
        .map(|(n, s)| json!({ "name": n, "size": s }))
        .collect();
    let page = Response::json(
        200,
        &json!({ "path": dir, "entries": entries, "next": next }),
    );
    Ok(page.cacheable(&[tag], &["accept"]))
}

/// The content type of a file, from its extension.
fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" | "md" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "zip" | "jar" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::Raw;
    use wharf_sdk::mock::{self, TestRequest};
    use wharf_sdk::types::{Action, Method};

    fn send(method: Method, path: &str, body: &[u8]) -> (u16, serde_json::Value) {
        let req = TestRequest::new(method, path).header("accept", "application/json");
        let (_, res) = req.body(body.to_vec()).send::<Raw>().unwrap();
        let json = serde_json::from_slice(res.body_bytes()).unwrap_or_default();
        (res.status, json)
    }

    #[test]
    fn put_get_list_delete() {
        mock::reset();
        mock::login_as(Some("alice"));
        let put = TestRequest::new(Method::Put, "/builds/1.0/app.tar.gz");
        let (route, res) = put.body(b"bytes".to_vec()).send::<Raw>().unwrap();
        assert_eq!(route.access[0].package.as_deref(), Some("builds"));
        assert_eq!((route.access[0].action, res.status), (Action::Write, 201));
        assert_eq!(send(Method::Put, "/builds/1.0/notes.txt", b"hi").0, 201);
        let (_, res) = TestRequest::new(Method::Get, "/builds/1.0/app.tar.gz")
            .send::<Raw>()
            .unwrap();
        assert_eq!(res.status, 200);
        assert_eq!(res.header_value("content-type"), Some("application/gzip"));
        let (status, list) = send(Method::Get, "/builds/", b"");
        assert_eq!(
            (status, list["entries"][0]["name"].as_str()),
            (200, Some("1.0/"))
        );
        let (_, list) = send(Method::Get, "/builds/1.0/", b"");
        assert_eq!(
            list["entries"][0],
            serde_json::json!({"name": "app.tar.gz", "size": 5})
        );
        assert_eq!(
            send(Method::Get, "/", b"").1["entries"][0]["name"],
            "builds/"
        );
        assert_eq!(send(Method::Delete, "/builds/1.0/notes.txt", b"").0, 204);
        assert_eq!(send(Method::Get, "/builds/1.0/notes.txt", b"").0, 404);
        assert_eq!(send(Method::Delete, "/builds/1.0/notes.txt", b"").0, 404);
    }

    #[test]
    fn overwrite_needs_the_setting() {
        mock::reset();
        mock::login_as(Some("alice"));
        assert_eq!(send(Method::Put, "/a/f.bin", b"one").0, 201);
        let (status, body) = send(Method::Put, "/a/f.bin", b"two");
        assert_eq!(status, 409);
        assert!(body["error"].as_str().unwrap().contains("overwrite"));
        mock::with(|h| h.settings_json = r#"{"allow_overwrite": true}"#.into());
        assert_eq!(send(Method::Put, "/a/f.bin", b"two").0, 201);
    }

    #[test]
    fn refuses_traversal_and_bad_paths() {
        mock::reset();
        mock::login_as(Some("alice"));
        for path in ["/a/%2e%2e/b", "/a%2F..%2Fb/c", "/a/./b", "/a\\b", "/a/%00"] {
            let (status, body) = send(Method::Put, path, b"x");
            assert_eq!((status, body["error"].is_string()), (400, true), "{path}");
        }
        assert!(mock::with(|h| h.catalog.assets.is_empty()));
        assert_eq!(send(Method::Get, "/nothing/", b"").0, 404);
    }
}
