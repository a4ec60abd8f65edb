//! OCI helpers shared by the access tests: small images pushed over HTTP,
//! and the real `skopeo` with a private home.

use crate::{Reply, Server, run, send_with};
use serde_json::json;
use sha2::Digest;
use std::path::Path;
use std::process::Command;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

/// An OCI request with `Authorization: <auth>` (none when empty).
pub fn call(server: &Server, method: &str, path: &str, auth: &str, body: Option<&[u8]>) -> Reply {
    let mut request = ureq::request(method, &format!("{}{path}", server.url))
        .set("Accept", OCI_MANIFEST)
        .set("Content-Type", "application/octet-stream");
    if !auth.is_empty() {
        request = request.set("Authorization", auth);
    }
    send_with(request, body)
}

/// A monolithic blob push.
pub fn push_blob(server: &Server, auth: &str, name: &str, blob: &[u8]) -> Reply {
    let d = digest(blob);
    let path = format!("/v2/{name}/blobs/uploads/?digest={d}");
    call(server, "POST", &path, auth, Some(blob))
}

pub fn put_manifest(server: &Server, auth: &str, name: &str, tag: &str, manifest: &[u8]) -> Reply {
    let request = ureq::put(&format!("{}/v2/{name}/manifests/{tag}", server.url))
        .set("Content-Type", OCI_MANIFEST)
        .set("Authorization", auth);
    send_with(request, Some(manifest))
}

/// A one-layer image whose bytes depend on `seed`: config, layer, manifest.
pub fn image(seed: &str) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let config =
        serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux", "seed": seed})).unwrap();
    let layer = format!("layer of {seed}").repeat(100).into_bytes();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": digest(&layer), "size": layer.len()}],
    }))
    .unwrap();
    (config, layer, manifest)
}

/// Pushes `name:tag`; returns the manifest's digest.
pub fn push_image(server: &Server, auth: &str, name: &str, tag: &str) -> String {
    let (config, layer, manifest) = image(&format!("{name}:{tag}"));
    for blob in [&config, &layer] {
        let r = push_blob(server, auth, name, blob);
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let r = put_manifest(server, auth, name, tag, &manifest);
    assert_eq!(r.status, 201, "{}", r.text());
    digest(&manifest)
}

/// What an anonymous reader sees of `name:reference`.
pub fn manifest_status(server: &Server, name: &str, reference: &str) -> u16 {
    let path = format!("/v2/{name}/manifests/{reference}");
    call(server, "GET", &path, "", None).status
}

/// Runs skopeo with `home` as its home, bounded in time.
pub fn skopeo(home: &Path, args: &[&str]) -> (bool, String, String) {
    assert!(
        run(Command::new("skopeo").arg("--version")).0,
        "skopeo is missing: `cargo xtask test` installs it (Debian package skopeo)"
    );
    run(Command::new("timeout")
        .arg("120")
        .arg("skopeo")
        .args(["--insecure-policy", "--command-timeout", "90s"])
        .args(args)
        .env("HOME", home)
        .env("REGISTRY_AUTH_FILE", home.join("auth.json"))
        .env("XDG_RUNTIME_DIR", home))
}
