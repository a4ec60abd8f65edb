//! How each format's client uploads: the requests of one upload and what
//! each makes visible once committed, for `uploads::upload`.

use super::uploads::{Check, Expect, Step, Upload, bytes, listed, request};
use sha2::{Digest, Sha256};
use std::io::Write;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

pub fn npm(k: usize, tarball: Vec<u8>) -> Upload {
    let name = format!("crash-npm-{k:02}");
    let body = wharf_tests::npm_publish_body(&name, "1.0.0", &tarball, &tarball);
    let put = request("PUT", format!("/npm/{name}"), "application/json", body);
    let shows = vec![
        bytes(format!("/npm/{name}/-/{name}-1.0.0.tgz"), tarball),
        listed(format!("/npm/{name}"), "\"1.0.0\""),
    ];
    // Published versions are immutable: npm's 403.
    let step = Step {
        request: put,
        exists: Some(403),
        shows,
    };
    Upload {
        label: format!("npm {name}"),
        steps: vec![step],
        big: 0,
    }
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// A config blob, a layer, then the manifest naming both; blob and manifest
/// pushes are idempotent, so every retry succeeds.
pub fn oci(k: usize, layer: Vec<u8>) -> Upload {
    let repo = format!("crash/oci-{k:02}");
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": { "Labels": { "crash": k.to_string() } }
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha256(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": sha256(&layer), "size": layer.len()}],
    }))
    .unwrap();
    let blob = |data: Vec<u8>| {
        let digest = sha256(&data);
        let post = format!("/v2/{repo}/blobs/uploads/?digest={digest}");
        Step {
            request: request("POST", post, "application/octet-stream", data.clone()),
            exists: None,
            shows: vec![bytes(format!("/v2/{repo}/blobs/{digest}"), data)],
        }
    };
    let push = Step {
        request: request(
            "PUT",
            format!("/v2/{repo}/manifests/v1"),
            OCI_MANIFEST,
            manifest.clone(),
        ),
        exists: None,
        shows: vec![Check {
            path: format!("/v2/{repo}/manifests/v1"),
            accept: Some(OCI_MANIFEST),
            expect: Expect::Bytes(manifest),
        }],
    };
    Upload {
        label: format!("oci {repo}"),
        steps: vec![blob(config), blob(layer), push],
        big: 1,
    }
}

/// A wheel (the plugin reads its METADATA), posted as twine does.
pub fn pypi(k: usize, data: Vec<u8>) -> Upload {
    let name = format!("crashpypi{k:02}");
    let file = format!("{name}-1.0-py3-none-any.whl");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let metadata = format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n");
    zip.start_file(format!("{name}-1.0.dist-info/METADATA"), stored)
        .unwrap();
    zip.write_all(metadata.as_bytes()).unwrap();
    zip.start_file(format!("{name}/data.bin"), stored).unwrap();
    zip.write_all(&data).unwrap();
    let wheel = zip.finish().unwrap().into_inner();

    let boundary = "crash-test-boundary";
    let mut body = Vec::new();
    let digest = hex::encode(Sha256::digest(&wheel));
    for (field, value) in [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("name", &name),
        ("version", "1.0"),
        ("filetype", "bdist_wheel"),
        ("pyversion", "py3"),
        ("metadata_version", "2.1"),
        ("sha256_digest", &digest),
    ] {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"{file}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend(&wheel);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let shows = vec![
        bytes(format!("/pypi/files/{name}/{file}"), wheel),
        listed(format!("/pypi/simple/{name}/"), &file),
    ];
    // PyPI's "400 File already exists".
    let step = Step {
        request: request("POST", "/pypi/legacy/".into(), &content_type, body),
        exists: Some(400),
        shows,
    };
    Upload {
        label: format!("pypi {name}"),
        steps: vec![step],
        big: 0,
    }
}

/// A `.crate` the plugin accepts (a tar.gz whose Cargo.toml names it),
/// framed as cargo publishes it.
pub fn cargo(k: usize, data: Vec<u8>) -> Upload {
    let name = format!("crash-cargo-{k:02}");
    let root = format!("{name}-1.0.0");
    // Random bytes do not compress: store them, and spare the CPU.
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    let mut tar = tar::Builder::new(gz);
    let manifest = format!("[package]\nname = \"{name}\"\nversion = \"1.0.0\"\n");
    for (file, content) in [("Cargo.toml", manifest.as_bytes()), ("data.bin", &data)] {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("{root}/{file}"), content)
            .unwrap();
    }
    let krate = tar.into_inner().unwrap().finish().unwrap();
    let meta = serde_json::json!({ "name": name, "vers": "1.0.0", "deps": [], "features": {} })
        .to_string();
    let mut body = (meta.len() as u32).to_le_bytes().to_vec();
    body.extend_from_slice(meta.as_bytes());
    body.extend_from_slice(&(krate.len() as u32).to_le_bytes());
    body.extend_from_slice(&krate);
    let shows = vec![
        bytes(format!("/cargo/api/v1/crates/{name}/1.0.0/download"), krate),
        listed(format!("/cargo/cr/as/{name}"), "\"vers\":\"1.0.0\""),
    ];
    // crates.io's 409 for a version uploaded already.
    let step = Step {
        request: request(
            "PUT",
            "/cargo/api/v1/crates/new".into(),
            "application/octet-stream",
            body,
        ),
        exists: Some(409),
        shows,
    };
    Upload {
        label: format!("cargo {name}"),
        steps: vec![step],
        big: 0,
    }
}

/// What `mvn deploy` sends: the jar, its sha1, the pom, its sha1. The
/// sidecars are verified, not stored: re-sending one succeeds again.
pub fn maven(k: usize, jar: Vec<u8>) -> Upload {
    let artifact = format!("crash-maven-{k:02}");
    let dir = format!("/maven/org/wharf/crash/{artifact}/1.0");
    let pom = format!(
        "<project><modelVersion>4.0.0</modelVersion><groupId>org.wharf.crash</groupId>\
         <artifactId>{artifact}</artifactId><version>1.0</version></project>\n"
    )
    .into_bytes();
    let file = |ext: &str, data: Vec<u8>| {
        let path = format!("{dir}/{artifact}-1.0.{ext}");
        let sha1 = hex::encode(sha1::Sha1::digest(&data)).into_bytes();
        let put = Step {
            request: request(
                "PUT",
                path.clone(),
                "application/octet-stream",
                data.clone(),
            ),
            // A release file deploys once: 409.
            exists: Some(409),
            shows: vec![
                bytes(path.clone(), data),
                bytes(format!("{path}.sha1"), sha1.clone()),
            ],
        };
        let sidecar = Step {
            request: request("PUT", format!("{path}.sha1"), "text/plain", sha1),
            exists: None,
            shows: Vec::new(),
        };
        [put, sidecar]
    };
    let mut steps: Vec<Step> = file("jar", jar)
        .into_iter()
        .chain(file("pom", pom))
        .collect();
    // The version is listed from its first file on.
    let metadata = format!("/maven/org/wharf/crash/{artifact}/maven-metadata.xml");
    steps[0]
        .shows
        .push(listed(metadata, "<version>1.0</version>"));
    Upload {
        label: format!("maven {artifact}"),
        steps,
        big: 0,
    }
}
