//! The SDK router: any path classifies in time linear in its segments
//! (libFuzzer's per-input timeout catches worse), and a match's parameters
//! put back together are the path it matched.
#![no_main]

use wharf_sdk::mock::TestRequest;
use wharf_sdk::need::read;
use wharf_sdk::types::{Method, PluginInfo};
use wharf_sdk::{Format, HttpError, Request, Response, Router};

struct Routes;

impl Format for Routes {
    fn info() -> PluginInfo {
        PluginInfo {
            format: "router".into(),
            version: "0".into(),
            suggested_grants: Vec::new(),
        }
    }

    fn router() -> Router {
        Router::new()
            .get(
                "v2/{name*}/manifests/{reference}",
                "manifest",
                read("name"),
                manifest,
            )
            .get("{ab}/{cd}/{name}", "index", read("name"), index)
            .get("{path*}", "any", read("path"), any)
    }

    fn error(status: u16, message: &str) -> Response {
        Response::bytes(status, "text/plain", message.as_bytes().to_vec())
    }
}

/// Parameters are percent-decoded: the path is compared when it has no `%`,
/// without the empty segments the router skips.
fn same(req: &Request, rebuilt: String) -> Result<Response, HttpError> {
    let path = &req.head.raw_path;
    if !path.contains('%') {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        assert_eq!(rebuilt, segments.join("/"));
    }
    Ok(Response::empty(200))
}

fn manifest(req: &mut Request) -> Result<Response, HttpError> {
    let rebuilt = format!(
        "v2/{}/manifests/{}",
        req.param("name"),
        req.param("reference")
    );
    same(req, rebuilt)
}

fn index(req: &mut Request) -> Result<Response, HttpError> {
    let rebuilt = format!(
        "{}/{}/{}",
        req.param("ab"),
        req.param("cd"),
        req.param("name")
    );
    same(req, rebuilt)
}

fn any(req: &mut Request) -> Result<Response, HttpError> {
    let rebuilt = req.param("path").to_string();
    same(req, rebuilt)
}

libfuzzer_sys::fuzz_target!(
    init: wharf_fuzz::seeds::write_if_asked("router"),
    |data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    if path.starts_with('/') || path.contains('?') {
        return;
    }
    let _ = TestRequest::new(Method::Get, path).send::<Routes>();
});
