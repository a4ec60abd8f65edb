//! The smallest useful format: upload a file as a version of a package, list
//! the versions, download a version's file.

use wharf_sdk::catalog::{self, Asset, Publication, VersionRow};
use wharf_sdk::types::{DigestSet, PluginInfo};
use wharf_sdk::{HttpError, Request, Response, Router, default_message, need};

pub struct MyFormat;

impl wharf_sdk::Format for MyFormat {
    fn info() -> PluginInfo {
        PluginInfo {
            format: "guide".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            suggested_grants: vec![],
        }
    }

    fn router() -> Router {
        Router::new()
            .get("packages/{name}", "versions", need::read("name"), versions)
            .get(
                "packages/{name}/{version}",
                "file",
                need::read("name"),
                file,
            )
            .put(
                "packages/{name}/{version}",
                "publish",
                need::write("name"),
                publish,
            )
    }

    /// Every error, including the host's 401/403/404/503, takes this shape.
    fn error(status: u16, message: &str) -> Response {
        let message = default_message(status, message);
        Response::json(status, &serde_json::json!({ "error": message }))
    }
}

fn path(name: &str, version: &str) -> String {
    format!("packages/{name}/{version}")
}

/// `GET packages/{name}`: every version, oldest first.
fn versions(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("name");
    // `?`: a store error is a 503, never "no such package".
    let rows = catalog::all_versions(name)?;
    if rows.is_empty() {
        return Err(HttpError::not_found(format!("no package {name}")));
    }
    let list: Vec<&str> = rows.iter().map(|v| v.version.as_str()).collect();
    // Cacheable: the host answers again without entering the plugin until a
    // catalog write touches `name`.
    Ok(Response::json(200, &list).cacheable(&[name], &[]))
}

/// `GET packages/{name}/{version}`: the host streams the stored bytes. The
/// answer is cacheable too: warm downloads never enter the plugin.
fn file(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("name");
    let asset = catalog::find_asset(&path(name, req.param("version")))?
        .ok_or_else(|| HttpError::not_found("no such version"))?;
    Ok(Response::blob(&asset.blake3, &asset.content_type).cacheable(&[name], &[]))
}

/// `PUT packages/{name}/{version}`: the body streams into the blob store; one
/// publish makes the version and its file visible together, or nothing.
fn publish(req: &mut Request) -> Result<Response, HttpError> {
    let (name, version) = (
        req.param("name").to_string(),
        req.param("version").to_string(),
    );
    let blob = req.take_body()?.ingest(None, DigestSet::SHA256, None)?;
    let sha256 = blob.digests.sha256.unwrap_or_default();
    catalog::publish(Publication {
        version: VersionRow {
            package: name.clone(),
            version: version.clone(),
            metadata_json: serde_json::json!({ "sha256": sha256 }).to_string(),
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        assets: vec![Asset {
            path: path(&name, &version),
            blake3: blob.digests.blake3,
            content_type: "application/octet-stream".into(),
            metadata_json: String::new(),
            added_at: 0,
        }],
        tags: vec![],
    })
    .map_err(|e| match e {
        wharf_sdk::types::StoreError::AlreadyExists => {
            HttpError::conflict(format!("{name} {version} exists"))
        }
        other => other.into(),
    })?;
    Ok(Response::json(
        201,
        &serde_json::json!({ "sha256": sha256 }),
    ))
}

wharf_sdk::register_format!(MyFormat);

#[cfg(test)]
mod tests {
    use super::MyFormat;
    use wharf_sdk::mock::{self, TestRequest};
    use wharf_sdk::types::Method;

    #[test]
    fn publish_then_list() {
        mock::reset();
        mock::login_as(Some("alice"));
        let put = TestRequest::new(Method::Put, "/packages/demo/1.0.0").body(b"bytes".to_vec());
        let (route, response) = put.send::<MyFormat>().unwrap();
        assert_eq!(route.access[0].package.as_deref(), Some("demo"));
        assert_eq!(response.status, 201);
        let list = TestRequest::new(Method::Get, "/packages/demo");
        let (_, response) = list.send::<MyFormat>().unwrap();
        assert_eq!(response.body_json(), serde_json::json!(["1.0.0"]));
    }

    #[test]
    fn a_store_outage_is_a_503() {
        mock::reset();
        mock::with(|h| h.store_down = true);
        let (_, response) = TestRequest::new(Method::Get, "/packages/demo")
            .send::<MyFormat>()
            .unwrap();
        assert_eq!(response.status, 503);
        assert_eq!(response.body_json()["error"], "the catalog is down (mock)");
    }
}
