//! OCI, end to end: a conformance-style walk over HTTP (pull, push in every
//! upload mode, content discovery, content management) asserting statuses,
//! headers and bodies; then the real `skopeo` pushing and pulling an image
//! and a multi-arch index, byte for byte.

use serde_json::{Value, json};
use sha2::Digest;
use std::path::Path;
use std::process::Command;
use wharf_tests::{PluginEntry, Reply, Server, basic, run, send, send_with};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const REPO: &str = "org/team/app";

fn start() -> Server {
    Server::start(&[PluginEntry {
        format: "oci",
        extra: "",
    }])
}

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

/// Deterministic pseudo-random bytes.
fn bytes(seed: &str, n: usize) -> Vec<u8> {
    let mut out = vec![0; n];
    blake3::Hasher::new()
        .update(seed.as_bytes())
        .finalize_xof()
        .fill(&mut out);
    out
}

/// An HTTP client for one server, signed in or anonymous.
struct Client<'a> {
    server: &'a Server,
    auth: Option<String>,
}

impl Client<'_> {
    fn req(&self, method: &str, path: &str) -> ureq::Request {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.server.url)
        };
        let r = ureq::request(method, &url).timeout(std::time::Duration::from_secs(30));
        match &self.auth {
            Some(a) => r.set("Authorization", a),
            None => r,
        }
    }
    fn call(&self, method: &str, path: &str) -> Reply {
        send(self.req(method, path))
    }
    fn body(&self, r: ureq::Request, body: &[u8]) -> Reply {
        send_with(r, Some(body))
    }
    fn put_manifest(&self, name: &str, reference: &str, bytes: &[u8]) -> Reply {
        self.body(
            self.req("PUT", &format!("/v2/{name}/manifests/{reference}"))
                .set("Content-Type", OCI_MANIFEST),
            bytes,
        )
    }
    /// Monolithic POST push.
    fn push_blob(&self, name: &str, blob: &[u8]) -> String {
        let d = digest(blob);
        let r = self.body(
            self.req("POST", &format!("/v2/{name}/blobs/uploads/?digest={d}")),
            blob,
        );
        assert_eq!(r.status, 201, "{}", r.text());
        d
    }
}

fn code(r: &Reply) -> String {
    r.json()["errors"][0]["code"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn assert_error(r: &Reply, status: u16, expected: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(code(r), expected, "{}", r.text());
    assert!(r.json()["errors"][0]["message"].is_string());
}

fn image_manifest(config: &str, config_len: usize, layers: &[(&str, usize)]) -> Vec<u8> {
    let layers: Vec<Value> = layers
        .iter()
        .map(|(d, n)| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": n}))
        .collect();
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_len},
        "layers": layers,
    }))
    .unwrap()
}

#[test]
fn conformance_walk_over_http() {
    let server = start();
    let token = server.create_user("pusher", "pusher-password");
    let anon = Client {
        server: &server,
        auth: None,
    };
    let c = Client {
        server: &server,
        auth: Some(basic("pusher", &token)),
    };

    // Base: the 401 challenge teaches clients to send credentials.
    let r = anon.call("GET", "/v2/");
    assert_error(&r, 401, "UNAUTHORIZED");
    assert_eq!(
        r.header("www-authenticate"),
        Some(
            format!(
                "Bearer realm=\"{}/auth/token\",service=\"wharf\"",
                server.url
            )
            .as_str()
        )
    );
    assert_eq!(c.call("GET", "/v2/").status, 200);

    // Monolithic POST with digest.
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let config_digest = digest(&config);
    let r = c.body(
        c.req(
            "POST",
            &format!("/v2/{REPO}/blobs/uploads/?digest={config_digest}"),
        ),
        &config,
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        r.header("location"),
        Some(format!("/v2/{REPO}/blobs/{config_digest}").as_str())
    );
    assert_eq!(
        r.header("docker-content-digest"),
        Some(config_digest.as_str())
    );

    // Bytes that do not hash to the claimed digest.
    let r = c.body(
        c.req(
            "POST",
            &format!("/v2/{REPO}/blobs/uploads/?digest={}", digest(b"x")),
        ),
        b"not x",
    );
    assert_error(&r, 400, "DIGEST_INVALID");

    // POST, then monolithic PUT.
    let layer1 = bytes("layer1", 70_000);
    let r = c.call("POST", &format!("/v2/{REPO}/blobs/uploads/"));
    assert_eq!(r.status, 202);
    let location = r.header("location").unwrap().to_string();
    assert!(location.starts_with(&format!("/v2/{REPO}/blobs/uploads/")));
    let r = c.body(
        c.req("PUT", &format!("{location}?digest={}", digest(&layer1)))
            .set("Content-Type", "application/octet-stream"),
        &layer1,
    );
    assert_eq!(r.status, 201, "{}", r.text());

    // Chunked, with an out-of-order chunk refused.
    let layer2 = bytes("layer2", 50_000);
    let r = c.call("POST", &format!("/v2/{REPO}/blobs/uploads/"));
    let location = r.header("location").unwrap().to_string();
    let patch = |loc: &str, from: usize, to: usize| {
        c.body(
            c.req("PATCH", loc)
                .set("Content-Type", "application/octet-stream")
                .set("Content-Range", &format!("{from}-{}", to - 1)),
            &layer2[from..to],
        )
    };
    let r = patch(&location, 0, 20_000);
    assert_eq!(r.status, 202);
    assert_eq!(r.header("range"), Some("0-19999"));
    let location = r.header("location").unwrap().to_string();
    let r = patch(&location, 30_000, 40_000);
    assert_error(&r, 416, "RANGE_INVALID");
    assert_eq!(r.header("range"), Some("0-19999"));
    let r = patch(&location, 20_000, 40_000);
    assert_eq!(r.status, 202);
    let r = c.call("GET", &location);
    assert_eq!(r.status, 204);
    assert_eq!(r.header("range"), Some("0-39999"));
    assert_eq!(r.header("location"), Some(location.as_str()));
    let r = c.body(
        c.req("PUT", &format!("{location}?digest={}", digest(&layer2)))
            .set("Content-Type", "application/octet-stream")
            .set("Content-Range", "40000-49999"),
        &layer2[40_000..],
    );
    assert_eq!(r.status, 201, "{}", r.text());

    // Streamed PATCH without Content-Range, closed by an empty PUT.
    let layer3 = bytes("layer3", 30_000);
    let r = c.call("POST", &format!("/v2/{REPO}/blobs/uploads/"));
    let location = r.header("location").unwrap().to_string();
    let r = c.body(
        c.req("PATCH", &location)
            .set("Content-Type", "application/octet-stream"),
        &layer3,
    );
    assert_eq!((r.status, r.header("range")), (202, Some("0-29999")));
    let r = c.body(
        c.req("PUT", &format!("{location}?digest={}", digest(&layer3))),
        b"",
    );
    assert_eq!(r.status, 201, "{}", r.text());

    // Cancel.
    let r = c.call("POST", &format!("/v2/{REPO}/blobs/uploads/"));
    let location = r.header("location").unwrap().to_string();
    assert_eq!(c.call("DELETE", &location).status, 204);
    assert_error(&c.call("GET", &location), 404, "BLOB_UPLOAD_UNKNOWN");

    // Cross-repository mount, and the 202 fallback when the source lacks it.
    let r = c.call(
        "POST",
        &format!(
            "/v2/org/other/blobs/uploads/?mount={}&from={REPO}",
            digest(&layer1)
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.header("location"),
        Some(format!("/v2/org/other/blobs/{}", digest(&layer1)).as_str())
    );
    assert_eq!(
        c.call("GET", &format!("/v2/org/other/blobs/{}", digest(&layer1)))
            .body,
        layer1
    );
    let r = c.call(
        "POST",
        &format!(
            "/v2/org/other/blobs/uploads/?mount={}&from={REPO}",
            digest(b"absent")
        ),
    );
    assert_eq!(r.status, 202);

    // Anonymous writes are refused in the spec's shape.
    let r = anon.body(
        anon.req(
            "POST",
            &format!("/v2/{REPO}/blobs/uploads/?digest={}", digest(b"a")),
        ),
        b"a",
    );
    assert_error(&r, 401, "UNAUTHORIZED");

    // Manifests: every referenced blob must exist.
    let layers = [
        (digest(&layer1), layer1.len()),
        (digest(&layer2), layer2.len()),
        (digest(&layer3), layer3.len()),
    ];
    let missing = image_manifest(&config_digest, config.len(), &[(&digest(b"nope"), 4)]);
    assert_error(
        &c.put_manifest(REPO, "v1", &missing),
        400,
        "MANIFEST_BLOB_UNKNOWN",
    );
    assert_error(
        &c.put_manifest(REPO, "v1", b"{\"schemaVersion\":"),
        400,
        "MANIFEST_INVALID",
    );
    let layer_refs: Vec<(&str, usize)> = layers.iter().map(|(d, n)| (d.as_str(), *n)).collect();
    let manifest = image_manifest(&config_digest, config.len(), &layer_refs);
    let manifest_digest = digest(&manifest);
    assert_error(
        &c.put_manifest(REPO, &digest(b"other"), &manifest),
        400,
        "DIGEST_INVALID",
    );
    let r = c.put_manifest(REPO, "v1", &manifest);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.header("docker-content-digest"),
        Some(manifest_digest.as_str())
    );
    assert_eq!(
        r.header("location"),
        Some(format!("/v2/{REPO}/manifests/{manifest_digest}").as_str())
    );

    // Pull: manifests by tag and digest (anonymous reads are allowed).
    for reference in ["v1", manifest_digest.as_str()] {
        let r = send(
            anon.req("GET", &format!("/v2/{REPO}/manifests/{reference}"))
                .set("Accept", &format!("{OCI_MANIFEST}, {OCI_INDEX}")),
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.body, manifest, "the exact bytes pushed");
        assert_eq!(r.header("content-type"), Some(OCI_MANIFEST));
        assert_eq!(
            r.header("docker-content-digest"),
            Some(manifest_digest.as_str())
        );
    }
    let r = anon.call("HEAD", &format!("/v2/{REPO}/manifests/v1"));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-length"),
        Some(manifest.len().to_string().as_str())
    );
    assert_eq!(
        r.header("docker-content-digest"),
        Some(manifest_digest.as_str())
    );
    assert!(r.body.is_empty());
    let r = send(anon.req("GET", &format!("/v2/{REPO}/manifests/v1")).set(
        "Accept",
        "application/vnd.docker.distribution.manifest.v2+json",
    ));
    assert_error(&r, 404, "MANIFEST_UNKNOWN");

    // Pull: blobs, whole, HEAD and Range.
    let blob_url = format!("/v2/{REPO}/blobs/{}", digest(&layer2));
    let r = anon.call("GET", &blob_url);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, layer2);
    assert_eq!(
        r.header("docker-content-digest"),
        Some(digest(&layer2).as_str())
    );
    let r = anon.call("HEAD", &blob_url);
    assert_eq!((r.status, r.header("content-length")), (200, Some("50000")));
    let r = send(anon.req("GET", &blob_url).set("Range", "bytes=100-199"));
    assert_eq!(r.status, 206);
    assert_eq!(r.body, layer2[100..200]);
    assert_eq!(r.header("content-range"), Some("bytes 100-199/50000"));

    // Failures, each with its code.
    assert_error(
        &anon.call("GET", &format!("/v2/{REPO}/blobs/{}", digest(b"zz"))),
        404,
        "BLOB_UNKNOWN",
    );
    assert_error(
        &anon.call("GET", &format!("/v2/{REPO}/manifests/nope")),
        404,
        "MANIFEST_UNKNOWN",
    );
    assert_error(
        &anon.call("GET", "/v2/no/such/manifests/v1"),
        404,
        "NAME_UNKNOWN",
    );
    assert_error(
        &anon.call("GET", "/v2/Bad_Name/manifests/v1"),
        400,
        "NAME_INVALID",
    );
    assert_error(
        &anon.call("GET", &format!("/v2/{REPO}/manifests/-bad")),
        400,
        "TAG_INVALID",
    );
    assert_error(
        &anon.call("GET", &format!("/v2/{REPO}/blobs/sha256:123")),
        400,
        "DIGEST_INVALID",
    );

    // Discovery: tags in lexical order, paged with n/last and Link.
    for tag in ["t3", "t1", "t2", "t4"] {
        assert_eq!(c.put_manifest(REPO, tag, &manifest).status, 201);
    }
    let r = anon.call("GET", &format!("/v2/{REPO}/tags/list?n=2"));
    assert_eq!(r.json(), json!({"name": REPO, "tags": ["t1", "t2"]}));
    let link = r.header("link").unwrap().to_string();
    assert_eq!(
        link,
        format!("</v2/{REPO}/tags/list?last=t2&n=2>; rel=\"next\"")
    );
    let next = link.trim_start_matches('<').split('>').next().unwrap();
    let r = anon.call("GET", next);
    assert_eq!(r.json()["tags"], json!(["t3", "t4"]));
    assert!(r.header("link").is_some(), "v1 is still to come");
    let r = anon.call("GET", &format!("/v2/{REPO}/tags/list?n=2&last=t4"));
    assert_eq!(r.json()["tags"], json!(["v1"]));
    assert!(r.header("link").is_none());
    let r = anon.call("GET", "/v2/_catalog?n=1");
    assert_eq!(r.json(), json!({"repositories": ["org/other"]}));
    assert_eq!(
        r.header("link"),
        Some("</v2/_catalog?last=org/other&n=1>; rel=\"next\"")
    );
    let r = anon.call("GET", "/v2/_catalog?n=5&last=org/other");
    assert_eq!(r.json(), json!({"repositories": [REPO]}));

    // Referrers: artifacts whose subject is the image.
    let empty = c.push_blob(REPO, b"{}");
    let artifact = |artifact_type: &str, note: &str| {
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
            "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": manifest.len()},
            "annotations": {"note": note},
        }))
        .unwrap()
    };
    let sbom = artifact("application/vnd.example.sbom", "sbom");
    let sig = artifact("application/vnd.example.signature", "sig");
    for a in [&sbom, &sig] {
        let r = c.put_manifest(REPO, &digest(a), a);
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.header("oci-subject"), Some(manifest_digest.as_str()));
    }
    let r = anon.call("GET", &format!("/v2/{REPO}/referrers/{manifest_digest}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(OCI_INDEX));
    let index = r.json();
    assert_eq!(index["mediaType"], OCI_INDEX);
    let mut found: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["artifactType"].as_str().unwrap())
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            "application/vnd.example.sbom",
            "application/vnd.example.signature"
        ]
    );
    let r = anon.call(
        "GET",
        &format!(
            "/v2/{REPO}/referrers/{manifest_digest}?artifactType=application/vnd.example.sbom"
        ),
    );
    assert_eq!(r.header("oci-filters-applied"), Some("artifactType"));
    let m = &r.json()["manifests"];
    assert_eq!(m.as_array().unwrap().len(), 1);
    assert_eq!(m[0]["digest"], json!(digest(&sbom)));
    assert_eq!(m[0]["size"], json!(sbom.len()));
    assert_eq!(m[0]["annotations"]["note"], "sbom");
    let r = anon.call("GET", &format!("/v2/{REPO}/referrers/{}", digest(b"none")));
    assert_eq!((r.status, r.json()["manifests"].clone()), (200, json!([])));

    // Content management: deletes need credentials, then take effect.
    assert_error(
        &anon.call("DELETE", &format!("/v2/{REPO}/manifests/t1")),
        401,
        "UNAUTHORIZED",
    );
    assert_eq!(
        c.call("DELETE", &format!("/v2/{REPO}/manifests/t1")).status,
        202
    );
    assert_error(
        &anon.call("GET", &format!("/v2/{REPO}/manifests/t1")),
        404,
        "MANIFEST_UNKNOWN",
    );
    assert_eq!(
        anon.call("GET", &format!("/v2/{REPO}/manifests/t2")).status,
        200
    );
    let r = c.call("DELETE", &format!("/v2/{REPO}/manifests/{}", digest(&sig)));
    assert_eq!(r.status, 202);
    let r = anon.call("GET", &format!("/v2/{REPO}/referrers/{manifest_digest}"));
    assert_eq!(r.json()["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(
        c.call("DELETE", &format!("/v2/{REPO}/manifests/{manifest_digest}"))
            .status,
        202
    );
    assert_error(
        &anon.call("GET", &format!("/v2/{REPO}/manifests/t2")),
        404,
        "MANIFEST_UNKNOWN",
    );
    assert_error(
        &anon.call("GET", &format!("/v2/{REPO}/manifests/{manifest_digest}")),
        404,
        "MANIFEST_UNKNOWN",
    );
    assert_eq!(c.call("DELETE", &blob_url).status, 202);
    assert_error(&anon.call("GET", &blob_url), 404, "BLOB_UNKNOWN");
}

/// Writes a blob into an OCI image layout; returns its descriptor.
fn layout_blob(dir: &Path, media_type: &str, data: &[u8]) -> Value {
    let d = digest(data);
    let path = dir
        .join("blobs/sha256")
        .join(d.trim_start_matches("sha256:"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
    json!({"mediaType": media_type, "digest": d, "size": data.len()})
}

/// An image manifest with `layers` layers in the layout.
fn layout_image(dir: &Path, arch: &str, layers: usize) -> Value {
    let layers: Vec<Value> = (0..layers)
        .map(|i| {
            let data = bytes(&format!("{arch}-{i}"), 4096 + i * 1000);
            layout_blob(dir, "application/vnd.oci.image.layer.v1.tar", &data)
        })
        .collect();
    let config =
        json!({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}});
    let config = layout_blob(
        dir,
        "application/vnd.oci.image.config.v1+json",
        &serde_json::to_vec(&config).unwrap(),
    );
    let manifest =
        json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": layers});
    let mut d = layout_blob(dir, OCI_MANIFEST, &serde_json::to_vec(&manifest).unwrap());
    d["platform"] = json!({"architecture": arch, "os": "linux"});
    d
}

fn write_layout(dir: &Path, top: Value) {
    let mut top = top;
    top["annotations"] = json!({"org.opencontainers.image.ref.name": "v1"});
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [top]})).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

/// Every blob of `a` is in `b` with the same bytes.
fn assert_same_blobs(a: &Path, b: &Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(a.join("blobs/sha256")).unwrap() {
        let entry = entry.unwrap();
        let copy = b.join("blobs/sha256").join(entry.file_name());
        assert_eq!(
            std::fs::read(entry.path()).unwrap(),
            std::fs::read(&copy).unwrap_or_default(),
            "blob {:?} differs after the round trip",
            entry.file_name()
        );
        n += 1;
    }
    n
}

struct Skopeo {
    home: tempfile::TempDir,
}

impl Skopeo {
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        run(Command::new("timeout")
            .arg("120")
            .arg("skopeo")
            .args(["--insecure-policy", "--command-timeout", "90s"])
            .args(args)
            .env("HOME", self.home.path())
            .env("REGISTRY_AUTH_FILE", self.home.path().join("auth.json"))
            .env("XDG_RUNTIME_DIR", self.home.path()))
    }
    fn ok(&self, args: &[&str]) {
        let (ok, out, err) = self.run(args);
        assert!(ok, "skopeo {args:?} failed\nstdout:\n{out}\nstderr:\n{err}");
    }
}

/// Upload sessions are host state: a push interrupted by a server restart
/// resumes where it stopped.
#[test]
fn an_upload_survives_a_restart() {
    let mut server = start();
    let token = server.create_user("rita", "rita-password");
    let layer = bytes("resumed", 80_000);
    let (location, url) = {
        let c = Client {
            server: &server,
            auth: Some(basic("rita", &token)),
        };
        let r = c.call("POST", "/v2/org/resume/blobs/uploads/");
        assert_eq!(r.status, 202, "{}", r.text());
        let location = r.header("location").unwrap().to_string();
        let r = c.body(
            c.req("PATCH", &location)
                .set("Content-Type", "application/octet-stream")
                .set("Content-Range", "0-49999"),
            &layer[..50_000],
        );
        assert_eq!(r.status, 202, "{}", r.text());
        (
            r.header("location").unwrap().to_string(),
            server.url.clone(),
        )
    };

    server.restart();
    assert_eq!(server.url, url);

    let c = Client {
        server: &server,
        auth: Some(basic("rita", &token)),
    };
    let r = c.call("GET", &location);
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(r.header("range"), Some("0-49999"));
    let r = c.body(
        c.req("PUT", &format!("{location}?digest={}", digest(&layer)))
            .set("Content-Type", "application/octet-stream")
            .set("Content-Range", "50000-79999"),
        &layer[50_000..],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let pulled = c.call("GET", &format!("/v2/org/resume/blobs/{}", digest(&layer)));
    assert_eq!(pulled.body, layer);
}

/// Sessions nobody touches any more are reaped (here after two seconds).
#[test]
fn abandoned_uploads_are_reaped() {
    let oci = PluginEntry {
        format: "oci",
        extra: "",
    };
    let server = Server::start_with_env(&[oci], &[("WHARF_UPLOAD_MAX_AGE_SECS", "2")]);
    let token = server.create_user("ursula", "ursula-password");
    let c = Client {
        server: &server,
        auth: Some(basic("ursula", &token)),
    };
    let r = c.call("POST", "/v2/org/stale/blobs/uploads/");
    let location = r.header("location").unwrap().to_string();
    assert_eq!(c.call("GET", &location).status, 204);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let r = c.call("GET", &location);
        if r.status == 404 {
            assert_error(&r, 404, "BLOB_UPLOAD_UNKNOWN");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the session was not reaped"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

/// The Docker token flow: a denied request names the scope it needs, the
/// token endpoint grants what the caller may do, and the token is honoured
/// for exactly those repositories and actions.
#[test]
fn registry_tokens_are_scoped_to_what_the_caller_may_do() {
    let server = start();
    let api_token = server.create_user("tina", "tina-password");
    let anon = Client {
        server: &server,
        auth: None,
    };

    let r = anon.call("POST", "/v2/org/app/blobs/uploads/");
    assert_error(&r, 401, "UNAUTHORIZED");
    let realm = format!("{}/auth/token", server.url);
    assert_eq!(
        r.header("www-authenticate"),
        Some(
            format!(
                "Bearer realm=\"{realm}\",service=\"wharf\",scope=\"repository:org/app:pull,push\""
            )
            .as_str()
        )
    );

    let token_for = |auth: Option<&str>, scope: &str| -> String {
        let mut req = ureq::get(&format!("{realm}?service=wharf&scope={scope}"));
        if let Some(a) = auth {
            req = req.set("Authorization", a);
        }
        let reply = send(req);
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()["token"].as_str().unwrap().to_string()
    };
    let signed_in = basic("tina", &api_token);
    let push = token_for(Some(&signed_in), "repository:org/app:pull,push");
    let with = |token: &str| Client {
        server: &server,
        auth: Some(format!("Bearer {token}")),
    };
    assert_eq!(
        with(&push)
            .call("POST", "/v2/org/app/blobs/uploads/")
            .status,
        202
    );
    // The same token does not reach another repository, nor deletes.
    let r = with(&push).call("POST", "/v2/org/other/blobs/uploads/");
    assert_error(&r, 401, "UNAUTHORIZED");
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .contains("scope=\"repository:org/other:pull,push\"")
    );
    assert_eq!(with(&push).call("DELETE", "/v2/org/app/manifests/sha256:0000000000000000000000000000000000000000000000000000000000000000").status, 401);
    // Anonymous callers get pull only; wrong credentials get nothing.
    let anonymous = token_for(None, "repository:org/app:pull,push");
    assert_eq!(
        with(&anonymous).call("GET", "/v2/org/app/tags/list").status,
        404
    );
    assert_eq!(
        with(&anonymous)
            .call("POST", "/v2/org/app/blobs/uploads/")
            .status,
        401
    );
    let bad = send(
        ureq::get(&format!("{realm}?scope=repository:org/app:pull"))
            .set("Authorization", &basic("tina", "wrong")),
    );
    assert_eq!(bad.status, 401);
    assert_eq!(with("forged.token.value").call("GET", "/v2/").status, 401);
}

#[test]
fn skopeo_copies_an_image_and_an_index_byte_for_byte() {
    assert!(
        run(Command::new("skopeo").arg("--version")).0,
        "skopeo is missing: `cargo xtask test` installs it (Debian package skopeo)"
    );
    let server = start();
    let token = server.create_user("ci", "ci-password");
    let creds = format!("ci:{token}");
    let host = server.url.trim_start_matches("http://").to_string();
    let skopeo = Skopeo {
        home: tempfile::tempdir().unwrap(),
    };
    let work = tempfile::tempdir().unwrap();
    // --preserve-digests: skopeo would otherwise compress the uncompressed
    // layers on the way, and the bytes could not be compared.
    let push = |src: &Path, dest: &str, all: bool| {
        let src = format!("oci:{}:v1", src.display());
        let dest = format!("docker://{host}/{dest}");
        let mut args = vec!["copy", "--preserve-digests", "--dest-tls-verify=false"];
        if all {
            args.push("--all");
        }
        args.extend(["--dest-creds", &creds, &src, &dest]);
        skopeo.ok(&args);
    };
    // Pulls are anonymous: skopeo follows the Bearer challenge to the token
    // endpoint without credentials and gets a pull-only token.
    let pull = |src: &str, dest: &Path, all: bool| {
        let src = format!("docker://{host}/{src}");
        let dest = format!("oci:{}:v1", dest.display());
        let mut args = vec!["copy", "--preserve-digests", "--src-tls-verify=false"];
        if all {
            args.push("--all");
        }
        args.extend(["--src-no-creds", &src, &dest]);
        skopeo.ok(&args);
    };

    // A three-layer image.
    let image = work.path().join("image");
    let top = layout_image(&image, "amd64", 3);
    write_layout(&image, top.clone());
    push(&image, "org/app:v1", false);
    let pulled = work.path().join("pulled");
    pull("org/app:v1", &pulled, false);
    assert_eq!(assert_same_blobs(&image, &pulled), 5);
    let r = send(
        ureq::get(&format!("{}/v2/org/app/manifests/v1", server.url)).set("Accept", OCI_MANIFEST),
    );
    assert_eq!(r.header("docker-content-digest"), top["digest"].as_str());

    // A multi-arch index.
    let multi = work.path().join("multi");
    let manifests = vec![
        layout_image(&multi, "amd64", 2),
        layout_image(&multi, "arm64", 2),
    ];
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    let top = layout_blob(&multi, OCI_INDEX, &serde_json::to_vec(&index).unwrap());
    write_layout(&multi, top.clone());
    push(&multi, "org/multi:v1", true);
    let pulled = work.path().join("pulled-multi");
    pull("org/multi:v1", &pulled, true);
    assert_eq!(assert_same_blobs(&multi, &pulled), 9);
    let r = send(
        ureq::get(&format!("{}/v2/org/multi/manifests/v1", server.url)).set("Accept", OCI_INDEX),
    );
    assert_eq!(r.header("content-type"), Some(OCI_INDEX));
    assert_eq!(r.header("docker-content-digest"), top["digest"].as_str());

    // Docker v2 schema 2: skopeo converts the OCI image on the way.
    let docker_type = "application/vnd.docker.distribution.manifest.v2+json";
    let src = format!("oci:{}:v1", image.display());
    let dest = format!("docker://{host}/org/docker:v1");
    skopeo.ok(&[
        "copy",
        "--format",
        "v2s2",
        "--dest-tls-verify=false",
        "--dest-creds",
        &creds,
        &src,
        &dest,
    ]);
    let served = send(
        ureq::get(&format!("{}/v2/org/docker/manifests/v1", server.url)).set("Accept", docker_type),
    );
    assert_eq!(served.header("content-type"), Some(docker_type));
    let dir = work.path().join("docker-dir");
    let dir_ref = format!("dir:{}", dir.display());
    skopeo.ok(&[
        "copy",
        "--src-tls-verify=false",
        "--src-no-creds",
        &dest,
        &dir_ref,
    ]);
    assert_eq!(
        std::fs::read(dir.join("manifest.json")).unwrap(),
        served.body
    );
    let manifest: Value = serde_json::from_slice(&served.body).unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    for d in layers.iter().chain([&manifest["config"]]) {
        let d = d["digest"].as_str().unwrap();
        let blob = send(ureq::get(&format!(
            "{}/v2/org/docker/blobs/{d}",
            server.url
        )))
        .body;
        assert_eq!(digest(&blob), d);
        assert_eq!(
            std::fs::read(dir.join(d.trim_start_matches("sha256:"))).unwrap(),
            blob
        );
    }

    // Without credentials the push is refused.
    let src = format!("oci:{}:v1", image.display());
    let dest = format!("docker://{host}/org/anonymous:v1");
    let (ok, _, err) = skopeo.run(&["copy", "--dest-tls-verify=false", &src, &dest]);
    assert!(!ok, "an anonymous push must fail");
    assert!(
        err.contains("unauthorized") || err.contains("authentication required"),
        "{err}"
    );
    let r = send(ureq::get(&format!(
        "{}/v2/org/anonymous/tags/list",
        server.url
    )));
    assert_eq!(r.status, 404);
}

/// podman builds an image, pushes it through the token flow with
/// credentials, and pulls it back anonymously into separate storage: the
/// pulled image has the pushed image's ID (the digest of its config).
/// Containers are not run: this machine cannot, and the registry is not
/// involved in running them.
#[test]
fn podman_pushes_and_pulls() {
    let server = start();
    let token = server.create_user("paul", "paul-password");
    let work = tempfile::tempdir().unwrap();
    let podman = |storage: &str, args: &[&str]| {
        let root = work.path().join(storage);
        let mut cmd = Command::new("timeout");
        cmd.args(["120", "podman", "--storage-driver", "vfs"])
            .arg("--root")
            .arg(root.join("storage"))
            .arg("--runroot")
            .arg(root.join("run"))
            .args(args);
        let (ok, out, err) = run(&mut cmd);
        assert!(ok, "podman {args:?} failed:\n{out}\n{err}");
        out.trim().to_string()
    };
    let context = work.path().join("context");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(
        context.join("hello.txt"),
        format!("hello from {}\n", server.url),
    )
    .unwrap();
    std::fs::write(
        context.join("Containerfile"),
        "FROM scratch\nCOPY hello.txt /hello.txt\n",
    )
    .unwrap();
    let built = podman(
        "a",
        &[
            "build",
            "-q",
            "-t",
            "localhost/tiny:1",
            context.to_str().unwrap(),
        ],
    );

    let host = server.url.trim_start_matches("http://");
    let remote = format!("{host}/tiny/app:1");
    let creds = format!("paul:{token}");
    podman(
        "a",
        &[
            "push",
            "--tls-verify=false",
            "--creds",
            &creds,
            "localhost/tiny:1",
            &format!("docker://{remote}"),
        ],
    );
    let pulled = podman("b", &["pull", "-q", "--tls-verify=false", &remote]);
    assert_eq!(pulled, built, "the pulled image is the pushed one");

    let (ok, _, err) = run(Command::new("timeout")
        .args(["120", "podman", "--storage-driver", "vfs"])
        .arg("--root")
        .arg(work.path().join("a/storage"))
        .arg("--runroot")
        .arg(work.path().join("a/run"))
        .args([
            "push",
            "--tls-verify=false",
            "localhost/tiny:1",
            &format!("docker://{host}/tiny/anonymous:1"),
        ]));
    assert!(!ok, "an anonymous push must fail");
    assert!(
        err.contains("unauthorized") || err.contains("authentication required"),
        "{err}"
    );
}

/// A proxy repository at `/v2/oci-proxy/…` of a registry that wants
/// registry tokens (another Wharf, anonymous reads off): skopeo pulls an
/// image and a multi-arch index through it byte for byte, the host doing
/// the upstream's token flow with the repository's credentials, and the
/// manifests it served are in the proxy's catalog as pushed ones would be;
/// with the upstream stopped the same pulls still succeed from the cache,
/// and a pull by digest from the catalog.
#[test]
fn skopeo_pulls_through_a_proxy_of_a_registry_that_wants_tokens() {
    let upstream = Server::start_with_env(
        &[PluginEntry {
            format: "oci",
            extra: "",
        }],
        &[("WHARF_ANONYMOUS_READ", "false")],
    );
    let token = upstream.create_user("ci", "ci-password");
    upstream.create_user("mirror", "mirror-password");
    let up_host = upstream.url.trim_start_matches("http://").to_string();
    let skopeo = Skopeo {
        home: tempfile::tempdir().unwrap(),
    };
    let work = tempfile::tempdir().unwrap();
    let image = work.path().join("image");
    let image_top = layout_image(&image, "amd64", 3);
    write_layout(&image, image_top.clone());
    let multi = work.path().join("multi");
    let manifests = vec![
        layout_image(&multi, "amd64", 1),
        layout_image(&multi, "arm64", 1),
    ];
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    let top = layout_blob(&multi, OCI_INDEX, &serde_json::to_vec(&index).unwrap());
    write_layout(&multi, top.clone());
    for (layout, name) in [(&image, "org/app"), (&multi, "org/multi")] {
        let src = format!("oci:{}:v1", layout.display());
        let dest = format!("docker://{up_host}/{name}:v1");
        let creds = format!("ci:{token}");
        skopeo.ok(&[
            "copy",
            "--all",
            "--preserve-digests",
            "--dest-tls-verify=false",
            "--dest-creds",
            &creds,
            &src,
            &dest,
        ]);
    }

    let proxy = Server::start_proxy(
        "oci",
        &format!("{}/", upstream.url),
        "upstream_username = \"mirror\"\nupstream_password_env = \"MIRROR_PASSWORD\"\n",
        &[("MIRROR_PASSWORD", "mirror-password")],
    );
    let host = proxy.url.trim_start_matches("http://").to_string();
    let pull = |name: &str, into: &str| {
        let dest = work.path().join(into);
        let src = format!("docker://{host}/oci-proxy/{name}:v1");
        let dest_ref = format!("oci:{}:v1", dest.display());
        skopeo.ok(&[
            "copy",
            "--all",
            "--preserve-digests",
            "--src-tls-verify=false",
            "--src-no-creds",
            &src,
            &dest_ref,
        ]);
        dest
    };
    // What the proxy serves goes into its catalog: each manifest a version
    // of its name with the exact bytes, the tag on the top one. The host
    // records a pull once it is stored, just after the client has it.
    let catalog = |name: &str| {
        let rows = proxy.sql(&format!(
            "SELECT v.version, v.metadata, a.blake3, a.path FROM versions v \
             JOIN assets a ON a.repo = v.repo AND a.package = v.package AND a.version = v.version \
             WHERE v.repo = 'oci-proxy' AND v.package = '{name}' ORDER BY v.version"
        ));
        let tags = proxy.sql(&format!(
            "SELECT tag || ' ' || version FROM tags WHERE repo = 'oci-proxy' AND package = '{name}'"
        ));
        (rows, tags)
    };
    let recorded = |name: &str, wanted: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (rows, tags) = catalog(name);
            if rows.lines().count() == wanted && !tags.is_empty() {
                return (rows, tags);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{name} is not recorded: {rows:?} {tags:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let blob_of = |dir: &Path, d: &Value| {
        let hex = d["digest"].as_str().unwrap().trim_start_matches("sha256:");
        std::fs::read(dir.join("blobs/sha256").join(hex)).unwrap()
    };
    // A HEAD for a manifest the proxy has not seen: its size and digest,
    // no body (and the index is recorded from it).
    let url = format!("{}/v2/oci-proxy/org/multi/manifests/v1", proxy.url);
    let head = send(ureq::head(&url).set("Accept", OCI_INDEX));
    assert_eq!(head.status, 200, "{}", head.text());
    assert_eq!(head.header("docker-content-digest"), top["digest"].as_str());
    assert_eq!(head.header("content-type"), Some(OCI_INDEX));
    let length = top["size"].to_string();
    assert_eq!(head.header("content-length"), Some(length.as_str()));
    assert!(head.body.is_empty());
    let (_, tags) = recorded("org/multi", 1);
    assert_eq!(tags, format!("v1 {}", top["digest"].as_str().unwrap()));
    assert_eq!(assert_same_blobs(&image, &pull("org/app", "one")), 5);
    assert_eq!(
        assert_same_blobs(&multi, &pull("org/multi", "multi-one")),
        7
    );
    let manifest = |name: &str| {
        let url = format!("{}/v2/oci-proxy/{name}/manifests/v1", proxy.url);
        send(ureq::get(&url).set("Accept", &format!("{OCI_MANIFEST}, {OCI_INDEX}")))
    };
    let served = manifest("org/multi");
    assert_eq!(served.header("content-type"), Some(OCI_INDEX));
    assert_eq!(
        served.header("docker-content-digest"),
        top["digest"].as_str()
    );
    let tags = proxy.get("/v2/oci-proxy/org/app/tags/list").json();
    assert_eq!(tags["tags"], json!(["v1"]));
    // The image skopeo asked by tag.
    let (rows, tags) = recorded("org/app", 1);
    let app_digest = image_top["digest"].as_str().unwrap();
    assert_eq!(tags, format!("v1 {app_digest}"));
    let row: Vec<&str> = rows.split('|').collect();
    assert_eq!(row[0], app_digest);
    let metadata: Value = serde_json::from_str(row[1]).unwrap();
    assert_eq!(metadata["mediaType"], OCI_MANIFEST);
    assert_eq!(metadata["size"], image_top["size"]);
    assert_eq!(metadata["references"].as_array().unwrap().len(), 4);
    assert_eq!(row[3], format!("v2/org/app/manifests/{app_digest}"));
    let blob = proxy.dir.path().join(format!(
        "data/objects/blobs/{}/{}/{}",
        &row[2][..2],
        &row[2][2..4],
        row[2]
    ));
    assert!(std::fs::read(blob).unwrap() == blob_of(&image, &image_top));
    // The index and both of its images, pulled by digest.
    let (rows, tags) = recorded("org/multi", 3);
    assert_eq!(tags, format!("v1 {}", top["digest"].as_str().unwrap()));
    for d in manifests.iter().chain([&top]) {
        assert!(rows.contains(d["digest"].as_str().unwrap()), "{rows}");
    }
    // The registry's own repository does not see the proxy's images.
    assert_eq!(proxy.get("/v2/org/app/manifests/v1").status, 404);

    // A proxy is read-only, in the registry's error shape.
    let refused = call(
        &proxy,
        "POST",
        "/v2/oci-proxy/org/app/blobs/uploads/",
        &basic("admin", wharf_tests::ADMIN_PASSWORD),
        None,
    );
    assert_eq!(refused.status, 405, "{}", refused.text());
    assert!(refused.json()["errors"][0]["code"].is_string());

    // The upstream goes away: the same pulls work from the cache, the
    // manifests marked stale.
    drop(upstream);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert_eq!(assert_same_blobs(&image, &pull("org/app", "two")), 5);
    assert_eq!(
        assert_same_blobs(&multi, &pull("org/multi", "multi-two")),
        7
    );
    assert!(manifest("org/app").is_stale());
    // The image's manifest was only ever asked by tag: by digest, the
    // catalog has it, fresh.
    let by_digest = format!("{}/v2/oci-proxy/org/app/manifests/{app_digest}", proxy.url);
    let stored = send(ureq::get(&by_digest).set("Accept", OCI_MANIFEST));
    assert_eq!(stored.status, 200, "{}", stored.text());
    assert!(stored.body == blob_of(&image, &image_top));
    assert_eq!(stored.header("content-type"), Some(OCI_MANIFEST));
    assert!(!stored.is_stale());
    let dest = work.path().join("by-digest");
    skopeo.ok(&[
        "copy",
        "--preserve-digests",
        "--src-tls-verify=false",
        "--src-no-creds",
        &format!("docker://{host}/oci-proxy/org/app@{app_digest}"),
        &format!("oci:{}:v1", dest.display()),
    ]);
    assert_eq!(assert_same_blobs(&image, &dest), 5);
}

/// An OCI request to `server` with `Authorization: <auth>`.
fn call(server: &Server, method: &str, path: &str, auth: &str, body: Option<&[u8]>) -> Reply {
    let request = ureq::request(method, &format!("{}{path}", server.url))
        .set("Authorization", auth)
        .set("Content-Type", "application/octet-stream");
    send_with(request, body)
}

/// A proxy of distribution's registry (Debian's `docker-registry`, no
/// authentication): skopeo pulls an image pushed there through the proxy
/// byte for byte; with the registry stopped the pull still succeeds from
/// the cache, the manifest marked stale.
#[test]
fn skopeo_pulls_through_a_proxy_of_the_distribution_registry() {
    let binary = "/usr/bin/docker-registry";
    assert!(
        Path::new(binary).exists(),
        "docker-registry is missing: `cargo xtask test` installs it (Debian package docker-registry)"
    );
    let work = tempfile::tempdir().unwrap();
    let storage = work.path().join("storage");
    let config = work.path().join("config.yml");
    let registry = wharf_tests::third_party::Daemon::start(
        |port| {
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\n\
                     log:\n  level: info\n\
                     storage:\n  filesystem:\n    rootdirectory: {}\n\
                     http:\n  addr: 127.0.0.1:{port}\n",
                    storage.display()
                ),
            )
            .unwrap();
            let mut cmd = Command::new(binary);
            cmd.arg("serve").arg(&config);
            cmd
        },
        "/v2/",
        &work.path().join("registry.log"),
    );
    let skopeo = Skopeo {
        home: tempfile::tempdir().unwrap(),
    };
    let image = work.path().join("image");
    let top = layout_image(&image, "amd64", 3);
    write_layout(&image, top.clone());
    let up_host = registry.url.trim_start_matches("http://").to_string();
    let src = format!("oci:{}:v1", image.display());
    let dest = format!("docker://{up_host}/org/app:v1");
    skopeo.ok(&[
        "copy",
        "--preserve-digests",
        "--dest-tls-verify=false",
        &src,
        &dest,
    ]);

    let proxy = Server::start_proxy("oci", &format!("{}/", registry.url), "", &[]);
    let host = proxy.url.trim_start_matches("http://").to_string();
    let pull = |into: &str| {
        let dest = work.path().join(into);
        let src = format!("docker://{host}/oci-proxy/org/app:v1");
        let dest_ref = format!("oci:{}:v1", dest.display());
        skopeo.ok(&[
            "copy",
            "--preserve-digests",
            "--src-tls-verify=false",
            "--src-no-creds",
            &src,
            &dest_ref,
        ]);
        dest
    };
    assert_eq!(assert_same_blobs(&image, &pull("one")), 5);
    let manifest = || {
        let url = format!("{}/v2/oci-proxy/org/app/manifests/v1", proxy.url);
        send(ureq::get(&url).set("Accept", OCI_MANIFEST))
    };
    let fresh = manifest();
    assert_eq!(fresh.status, 200, "{}", fresh.text());
    assert_eq!(fresh.header("content-type"), Some(OCI_MANIFEST));
    assert_eq!(
        fresh.header("docker-content-digest"),
        top["digest"].as_str()
    );
    assert!(!fresh.is_stale());
    // The OCI manifest is recorded like a pushed one, tag included
    // (distribution sends it by digest only to a client that accepts its
    // type: the pull asks for it). The host records just after serving.
    let digest = top["digest"].as_str().unwrap();
    let tagged = || {
        proxy.sql(
            "SELECT tag || ' ' || version FROM tags WHERE repo = 'oci-proxy' AND package = 'org/app'",
        )
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while tagged().trim() != format!("v1 {digest}") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(tagged().trim(), format!("v1 {digest}"), "{}", proxy.log());

    // The registry goes away: the pull works from the cache.
    drop(registry);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert_eq!(assert_same_blobs(&image, &pull("two")), 5);
    let stale = manifest();
    assert_eq!(stale.status, 200, "{}", stale.text());
    assert!(stale.is_stale());
}
