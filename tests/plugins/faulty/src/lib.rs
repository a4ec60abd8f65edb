//! A misbehaving format used by the runtime tests: every way a plugin can
//! fail must fail only its own request.
// Only the wasm build exports the plugin; natively its handlers go unused.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use wharf_sdk::types::{Asset, DigestSet, MemberAnswer, PluginInfo, Publication, VersionRow};
use wharf_sdk::{FormPart, HttpError, Request, Response, Router, blobs, catalog, group, need};

/// 64 KiB wasm pages in one MiB.
const PAGES_PER_MIB: usize = 16;

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
            .get("grow/{mib}", "grow", need::read_repo(), grow)
            .get("has/{pkg}", "has", need::read("pkg"), has)
            .get("bad-reply", "bad-reply", need::read_repo(), bad_reply)
            .get(
                "sneaky-publish",
                "sneaky",
                need::read_repo(),
                sneaky_publish,
            )
            .get(
                "sneaky-store",
                "sneaky-store",
                need::read_repo(),
                sneaky_store,
            )
            .post(
                "publish/{pkg}/as/{other}",
                "publish-as",
                need::write("pkg"),
                publish_as,
            )
            .post(
                "publish/{pkg}/with/{blake3}",
                "publish-with",
                need::write("pkg"),
                publish_with,
            )
            .get("serve/{blake3}", "serve", need::read_repo(), serve_any)
            .get(
                "serve-badly/{blake3}",
                "serve-badly",
                need::read_repo(),
                serve_badly,
            )
            .get("open/{blake3}", "open", need::read_repo(), open_any)
            .post("form", "form", need::write_repo(), echo_form)
            // Merges that read their group beyond its bounds.
            .get("nest/{n}", "nest", need::read_repo(), ok)
            .get("fan-out", "fan-out", need::read_repo(), ok)
            .get("read-a-write", "read-a-write", need::read_repo(), ok)
            .get("writes/{pkg}", "writes", need::write("pkg"), ok)
            .merged("nest", nest)
            .merged("fan-out", fan_out)
            .merged("read-a-write", read_a_write)
            // A handler is not a merge: it cannot read its group.
            .get(
                "read-outside",
                "read-outside",
                need::read_repo(),
                read_outside,
            )
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

/// Whether the catalog holds `pkg`: "yes" or "no".
fn has(req: &mut Request) -> Result<Response, HttpError> {
    let answer = match catalog::has_package(req.param("pkg"))? {
        true => "yes",
        false => "no",
    };
    Ok(Response::bytes(
        200,
        "text/plain",
        answer.as_bytes().to_vec(),
    ))
}

/// A status no HTTP response has, a header that would break the framing,
/// and one that is not HTTP: the host must not trust any of them.
fn bad_reply(_: &mut Request) -> Result<Response, HttpError> {
    let mut response = Response::bytes(200, "text/plain", b"x".to_vec())
        .header("content-length", "999999")
        .header("bad name", "v")
        .header("x-bad-value", "split\r\nx-injected: yes")
        .header("x-fine", "kept");
    response.status = 99;
    Ok(response)
}

/// Grows linear memory to `mib` MiB in all: the configured cap decides.
fn grow(req: &mut Request) -> Result<Response, HttpError> {
    let mib: usize = req
        .param("mib")
        .parse()
        .map_err(|_| HttpError::bad_request("mib"))?;
    #[cfg(target_arch = "wasm32")]
    {
        let have = core::arch::wasm32::memory_size(0);
        let want = mib * PAGES_PER_MIB;
        if want > have {
            core::arch::wasm32::memory_grow(0, want - have);
        }
    }
    Ok(Response::bytes(
        200,
        "text/plain",
        format!("grew to {mib} MiB").into_bytes(),
    ))
}

#[allow(clippy::empty_loop)]
fn spin(_: &mut Request) -> Result<Response, HttpError> {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn asset(path: &str, blake3: &str) -> Asset {
    Asset {
        path: path.into(),
        blake3: blake3.into(),
        content_type: "application/octet-stream".into(),
        metadata_json: String::new(),
        added_at: 0,
    }
}

fn publication(package: &str, assets: Vec<Asset>) -> Publication {
    Publication {
        version: VersionRow {
            package: package.into(),
            version: "1.0.0".into(),
            metadata_json: "{}".into(),
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        assets,
        tags: vec![],
    }
}

/// Classify asked only for read access; publishing needs write, so the host
/// must refuse whatever the plugin tries, whoever calls.
fn sneaky_publish(_: &mut Request) -> Result<Response, HttpError> {
    let blake3 = blake3::hash(b"smuggled").to_hex().to_string();
    catalog::publish(publication(
        "smuggled",
        vec![asset("smuggled.bin", &blake3)],
    ))?;
    Ok(Response::bytes(200, "text/plain", b"published".to_vec()))
}

/// Storing bytes is part of a write: a read route may not.
fn sneaky_store(_: &mut Request) -> Result<Response, HttpError> {
    blobs::put_bytes(b"smuggled", DigestSet::empty())?;
    Ok(Response::bytes(200, "text/plain", b"stored".to_vec()))
}

/// The route names `pkg`; writing `other` must be refused.
fn publish_as(req: &mut Request) -> Result<Response, HttpError> {
    let blob = blobs::put_bytes(req.param("pkg").as_bytes(), DigestSet::empty())?;
    let path = format!("{}.bin", req.param("other"));
    let p = publication(req.param("other"), vec![asset(&path, &blob.digests.blake3)]);
    catalog::publish(p)?;
    Ok(Response::bytes(200, "text/plain", b"published".to_vec()))
}

/// Publishes `pkg` with a stored file first and the blob `blake3` second:
/// every asset is checked, not only the first.
fn publish_with(req: &mut Request) -> Result<Response, HttpError> {
    let pkg = req.param("pkg").to_string();
    let own = blobs::put_bytes(pkg.as_bytes(), DigestSet::empty())?;
    let assets = vec![
        asset(&format!("{pkg}/own.bin"), &own.digests.blake3),
        asset(&format!("{pkg}/other.bin"), req.param("blake3")),
    ];
    catalog::publish(publication(&pkg, assets))?;
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

/// A blob answer with headers that are not valid HTTP: the host drops them
/// and serves the rest.
fn serve_badly(req: &mut Request) -> Result<Response, HttpError> {
    Ok(
        Response::blob(req.param("blake3"), "application/octet-stream")
            .header("x-bad-value", "split\r\nx-injected: yes")
            .header("etag", "\"del\u{7f}\"")
            .header("x-fine", "kept"),
    )
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

/// `nest/{n}` in a group reads `nest/{n+1}`, as deep as the host allows:
/// "0 > 1 > 2: <why the third read was refused>".
fn nest(req: &Request, _: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let n: u32 = req
        .param("n")
        .parse()
        .map_err(|_| HttpError::bad_request("n"))?;
    let text = match group::read(&format!("nest/{}", n + 1)) {
        Ok(deeper) => format!("{n} > {}", String::from_utf8_lossy(&deeper.body)),
        Err(why) => format!("{n}: {why}"),
    };
    Ok(Response::text(200, text))
}

/// Reads `ok` 100 times: "<reads answered>: <the first refusal>".
fn fan_out(_: &Request, _: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let mut answered = 0;
    for _ in 0..100 {
        match group::read("ok") {
            Ok(answer) if answer.body == b"ok" => answered += 1,
            Ok(answer) => return Err(HttpError::new(500, format!("read {}", answer.status))),
            Err(why) => return Ok(Response::text(200, format!("{answered}: {why}"))),
        }
    }
    Ok(Response::text(200, format!("{answered}")))
}

/// Reads a route that needs write: refused whoever the caller.
fn read_a_write(_: &Request, _: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let text = match group::read("writes/x") {
        Ok(answer) => format!("read {}", answer.status),
        Err(why) => why,
    };
    Ok(Response::text(200, text))
}

fn read_outside(_: &mut Request) -> Result<Response, HttpError> {
    let text = match group::read("ok") {
        Ok(answer) => format!("read {}", answer.status),
        Err(why) => why,
    };
    Ok(Response::text(200, text))
}
