//! How each format's client uploads: the requests of one upload and what
//! each makes visible once committed, for `uploads::upload`.

use super::uploads::{Check, Expect, Step, Upload, bytes, listed, request};
use sha2::{Digest, Sha256};
use wharf_tests::publish;

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
    let file = publish::pypi_wheel_name(&name, "1.0");
    let wheel = publish::pypi_wheel(&name, "1.0", &data);
    let (content_type, body) = publish::pypi_upload(&name, "1.0", &wheel);
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

/// A `.crate` the plugin accepts, framed as cargo publishes it.
pub fn cargo(k: usize, data: Vec<u8>) -> Upload {
    let name = format!("crash-cargo-{k:02}");
    let krate = publish::cargo_crate(&name, "1.0.0", &data);
    let body = publish::cargo_publish_body(&name, "1.0.0", &krate);
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
