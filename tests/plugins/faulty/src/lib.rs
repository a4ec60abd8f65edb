//! A misbehaving format used by the runtime tests: every way a plugin can
//! fail must fail only its own request.

use wharf_sdk::types::{Asset, DigestSet, PluginInfo, Publication, VersionRow};
use wharf_sdk::{FormPart, HttpError, Request, Response, Router, blobs, catalog, need};

struct Faulty;

impl wharf_sdk::Format for Faulty {
    fn info() -> PluginInfo {
        PluginInfo {
            format: "faulty".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            suggested_grants: vec![],
        }
    }

    fn router() -> Router {
        Router::new()
            .get("ok", "ok", need::read_repo(), ok)
            .get("trap", "trap", need::read_repo(), trap)
            .get("oom", "oom", need::read_repo(), oom)
            .get("spin", "spin", need::read_repo(), spin)
            .get(
                "sneaky-publish",
                "sneaky",
                need::read_repo(),
                sneaky_publish,
            )
            .get("serve/{blake3}", "serve", need::read_repo(), serve_any)
            .get("open/{blake3}", "open", need::read_repo(), open_any)
            .post("form", "form", need::write_repo(), echo_form)
    }

    fn error(status: u16, message: &str) -> Response {
        Response::bytes(status, "text/plain", message.as_bytes().to_vec())
    }
}

fn ok(_: &mut Request) -> Result<Response, HttpError> {
    Ok(Response::bytes(200, "text/plain", b"ok".to_vec()))
}

fn trap(_: &mut Request) -> Result<Response, HttpError> {
    panic!("the faulty plugin panics on purpose")
}

fn oom(_: &mut Request) -> Result<Response, HttpError> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![1u8; 1 << 20]);
        if hoard.len() > 1 << 16 {
            return Ok(Response::bytes(200, "text/plain", b"no cap".to_vec()));
        }
    }
}

#[allow(clippy::empty_loop)]
fn spin(_: &mut Request) -> Result<Response, HttpError> {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Classify asked only for read access; publishing needs write, so the host
/// must refuse whatever the plugin tries.
fn sneaky_publish(_: &mut Request) -> Result<Response, HttpError> {
    let blob = blobs::put_bytes(b"smuggled", DigestSet::empty())?;
    let publication = Publication {
        version: VersionRow {
            package: "smuggled".into(),
            version: "1.0.0".into(),
            metadata_json: "{}".into(),
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        assets: vec![Asset {
            path: "smuggled.bin".into(),
            blake3: blob.digests.blake3,
            content_type: "application/octet-stream".into(),
        }],
        tags: vec![],
    };
    catalog::publish(&publication)?;
    Ok(Response::bytes(200, "text/plain", b"published".to_vec()))
}

/// Names a blob by address; the host must refuse unless this repository
/// serves it.
fn serve_any(req: &mut Request) -> Result<Response, HttpError> {
    Ok(Response::blob(
        req.param("blake3"),
        "application/octet-stream",
    ))
}

/// Reading another repository's blob must look like it does not exist.
fn open_any(req: &mut Request) -> Result<Response, HttpError> {
    let reader = blobs::open(req.param("blake3"))?;
    Ok(Response::bytes(
        200,
        "text/plain",
        format!("opened {} bytes", reader.size()).into_bytes(),
    ))
}

/// Echoes a multipart form: text fields, and each file's name and digests.
fn echo_form(req: &mut Request) -> Result<Response, HttpError> {
    let parts = req
        .take_body()?
        .ingest_multipart(DigestSet::SHA256 | DigestSet::MD5)?;
    let lines: Vec<String> = parts
        .into_iter()
        .map(|part| match part {
            FormPart::Field((name, value)) => format!("field {name}={value}"),
            FormPart::File(f) => format!(
                "file {} {} {} sha256={} md5={}",
                f.name,
                f.filename,
                f.blob.size,
                f.blob.digests.sha256.unwrap_or_default(),
                f.blob.digests.md5.unwrap_or_default()
            ),
        })
        .collect();
    Ok(Response::bytes(
        200,
        "text/plain",
        lines.join("\n").into_bytes(),
    ))
}

wharf_sdk::register_format!(Faulty);
