//! Archive bombs: a `.crate` and a wheel that weigh a few MiB and unpack to a
//! GiB are refused quickly, in their format's error shape, and publish
//! nothing; an ordinary package is still accepted beside them.

use sha2::{Digest, Sha256};
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};
use wharf_tests::{PluginEntry, Reply, Server, send, send_with};

/// What each bomb unpacks to: the 8 GiB one of the report took 5.6 s of CPU
/// to accept; this one is smaller to build, and refused after a fraction.
const BOMB_BYTES: u64 = 1 << 30;
/// How long a refusal may take, upload included.
const QUICK: Duration = Duration::from_secs(2);

fn start() -> (Server, String) {
    let server = Server::start(&[
        PluginEntry {
            format: "cargo",
            extra: "",
        },
        PluginEntry {
            format: "pypi",
            extra: "",
        },
    ]);
    let token = server.create_user("mallory", "mallory-password");
    (server, token)
}

/// A .crate of `name` 1.0.0: a Cargo.toml and `bomb_files` files sharing
/// the bomb's zeros.
fn krate(name: &str, bomb_files: u64) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut tar = tar::Builder::new(gz);
    let mut add = |path: String, size: u64, data: &mut dyn Read| {
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, path, data).unwrap();
    };
    let manifest = format!("[package]\nname = \"{name}\"\nversion = \"1.0.0\"\n");
    let root = format!("{name}-1.0.0");
    add(
        format!("{root}/Cargo.toml"),
        manifest.len() as u64,
        &mut manifest.as_bytes(),
    );
    for i in 0..bomb_files {
        let size = BOMB_BYTES / bomb_files;
        add(
            format!("{root}/zeros{i}"),
            size,
            &mut io::repeat(0).take(size),
        );
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// cargo's publish body: u32 LE length + JSON, u32 LE length + .crate.
fn publish_crate(server: &Server, token: &str, name: &str, krate: &[u8]) -> Reply {
    let meta = serde_json::json!({ "name": name, "vers": "1.0.0", "deps": [], "features": {} })
        .to_string();
    let mut body = (meta.len() as u32).to_le_bytes().to_vec();
    body.extend_from_slice(meta.as_bytes());
    body.extend_from_slice(&(krate.len() as u32).to_le_bytes());
    body.extend_from_slice(krate);
    send_with(
        ureq::put(&format!("{}/cargo/api/v1/crates/new", server.url)).set("Authorization", token),
        Some(&body),
    )
}

/// A wheel of `name` 1.0 with its METADATA and, optionally, the bomb.
fn wheel(name: &str, bomb: bool) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(format!("{name}-1.0.dist-info/METADATA"), deflated)
        .unwrap();
    let metadata = format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n");
    zip.write_all(metadata.as_bytes()).unwrap();
    if bomb {
        zip.start_file(format!("{name}/zeros"), deflated).unwrap();
        io::copy(&mut io::repeat(0).take(BOMB_BYTES), &mut zip).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// twine's upload form, with the file's SHA-256.
fn upload_wheel(server: &Server, token: &str, name: &str, wheel: &[u8]) -> Reply {
    let boundary = "hostile-archives-boundary";
    let sha256 = hex::encode(Sha256::digest(wheel));
    let mut body = Vec::new();
    for (field, value) in [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("name", name),
        ("version", "1.0"),
        ("filetype", "bdist_wheel"),
        ("pyversion", "py3"),
        ("metadata_version", "2.1"),
        ("sha256_digest", &sha256),
    ] {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; \
             filename=\"{name}-1.0-py3-none-any.whl\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend(wheel);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    send_with(
        ureq::post(&format!("{}/pypi/legacy/", server.url))
            .set(
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            )
            .set("Authorization", &format!("Bearer {token}")),
        Some(&body),
    )
}

/// Sends a bomb and times the refusal.
fn refused_quickly(send: impl FnOnce() -> Reply) -> Reply {
    let start = Instant::now();
    let reply = send();
    let took = start.elapsed();
    assert!(took < QUICK, "the refusal took {took:?}");
    reply
}

#[test]
fn a_crate_bomb_is_refused_quickly_and_publishes_nothing() {
    let (server, token) = start();
    // Files under the per-file limit: refused on the bytes inflated so far,
    // which pass 100 times the crate's size long before the GiB.
    for (files, why) in [
        (8, "more than 100 times its size (a compression bomb?)"),
        (1, "an entry larger than 536870912 bytes"),
    ] {
        let bomb = krate("bomb", files);
        assert!(bomb.len() < 8 << 20, "{} bytes", bomb.len());
        let reply = refused_quickly(|| publish_crate(&server, &token, "bomb", &bomb));
        assert_eq!(reply.status, 413, "{}", reply.text());
        let detail = &reply.json()["errors"][0]["detail"];
        assert!(
            detail.as_str().unwrap_or("").contains(why),
            "{}",
            reply.text()
        );
        assert_eq!(server.get("/cargo/bo/mb/bomb").status, 404);
        let download = server.get("/cargo/api/v1/crates/bomb/1.0.0/download");
        assert_eq!(download.status, 404);
    }

    let fine = publish_crate(&server, &token, "fine", &krate("fine", 0));
    assert_eq!(fine.status, 200, "{}", fine.text());
    assert!(
        server
            .get("/cargo/fi/ne/fine")
            .text()
            .contains("\"vers\":\"1.0.0\"")
    );
}

#[test]
fn a_wheel_bomb_is_refused_quickly_and_publishes_nothing() {
    let (server, token) = start();
    let bomb = wheel("bomb", true);
    assert!(bomb.len() < 8 << 20, "{} bytes", bomb.len());
    let reply = refused_quickly(|| upload_wheel(&server, &token, "bomb", &bomb));
    assert_eq!(reply.status, 413, "{}", reply.text());
    // PyPI's shape: plain text, repeated in the reason phrase twine prints.
    assert!(
        reply.text().contains("compression bomb"),
        "{}",
        reply.text()
    );
    assert!(
        reply.reason.contains("compression bomb"),
        "{}",
        reply.reason
    );
    assert_eq!(server.get("/pypi/simple/bomb/").status, 404);
    let file = server.get("/pypi/files/bomb/bomb-1.0-py3-none-any.whl");
    assert_eq!(file.status, 404);

    let fine = upload_wheel(&server, &token, "fine", &wheel("fine", false));
    assert_eq!(fine.status, 200, "{}", fine.text());
    let page = send(ureq::get(&format!("{}/pypi/simple/fine/", server.url)));
    assert!(
        page.text().contains("fine-1.0-py3-none-any.whl"),
        "{}",
        page.text()
    );
}
