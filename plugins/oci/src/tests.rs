use crate::Oci;
use crate::discovery::page;
use crate::manifest::{self, OCI_INDEX, OCI_MANIFEST};
use crate::names;
use serde_json::json;
use sha2::Digest;
use wharf_sdk::Response;
use wharf_sdk::mock::{self, TestRequest};
use wharf_sdk::types::{Action, Method, Route};

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", wharf_sdk::hex(sha2::Sha256::digest(bytes)))
}

fn send(req: TestRequest) -> (Route, Response) {
    req.send::<Oci>().expect("the path routes")
}

fn code(r: &Response) -> String {
    r.body_json()["errors"][0]["code"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn setup() {
    mock::reset();
    mock::login_as(Some("alice"));
}

fn push_blob(name: &str, bytes: &[u8]) -> String {
    let d = digest(bytes);
    let (_, r) = send(
        TestRequest::new(
            Method::Post,
            &format!("/v2/{name}/blobs/uploads/?digest={d}"),
        )
        .body(bytes.to_vec()),
    );
    assert_eq!(r.status, 201, "{:?}", r.body_json());
    d
}

fn image(config: &str, layers: &[&str]) -> Vec<u8> {
    let layers: Vec<_> = layers
        .iter()
        .map(|d| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": 5}))
        .collect();
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
        "layers": layers,
    }))
    .unwrap()
}

fn put_manifest(name: &str, reference: &str, bytes: &[u8], media_type: &str) -> Response {
    send(
        TestRequest::new(Method::Put, &format!("/v2/{name}/manifests/{reference}"))
            .header("content-type", media_type)
            .body(bytes.to_vec()),
    )
    .1
}

#[test]
fn names_tags_and_digests_follow_the_spec_grammar() {
    for ok in ["a", "org/team/app", "a.b", "a_b", "a__b", "a---b", "0/1"] {
        assert!(names::name(ok).is_ok(), "{ok}");
    }
    for bad in [
        "", "A", "a/", "/a", "a..b", "a___b", "-a", "a-", "a//b", "a_.b",
    ] {
        assert!(names::name(bad).is_err(), "{bad}");
    }
    assert!(names::tag("v1.0_rc-1").is_ok());
    assert!(names::tag("_x").is_ok());
    assert!(names::tag(".x").is_err());
    assert!(names::tag(&"x".repeat(129)).is_err());
    let hex = "a".repeat(64);
    assert_eq!(names::digest(&format!("sha256:{hex}")).unwrap(), hex);
    let e = names::digest("sha512:abcd").unwrap_err();
    assert!(e.message.starts_with("UNSUPPORTED"));
    assert!(
        names::digest("sha256:ABC")
            .unwrap_err()
            .message
            .starts_with("DIGEST_INVALID")
    );
    assert!(names::digest("nocolon").is_err());
}

#[test]
fn routes_need_read_write_delete_on_the_nested_name() {
    setup();
    let (route, _) = send(TestRequest::new(
        Method::Get,
        "/v2/org/team/app/manifests/v1",
    ));
    assert_eq!(route.access[0].package.as_deref(), Some("org/team/app"));
    assert_eq!(route.access[0].action, Action::Read);
    let (route, _) = send(TestRequest::new(Method::Post, "/v2/org/app/blobs/uploads/"));
    assert_eq!(route.id, "upload-start");
    assert_eq!(route.access[0].action, Action::Write);
    let (route, _) = send(TestRequest::new(Method::Delete, "/v2/a/manifests/v1"));
    assert_eq!(route.access[0].action, Action::Delete);
    let (route, _) = send(TestRequest::new(Method::Get, "/v2/a/blobs/uploads/xyz"));
    assert_eq!(route.id, "upload-status");
}

#[test]
fn errors_take_the_spec_shape() {
    setup();
    let (_, r) = send(TestRequest::new(Method::Get, "/v2/Bad/manifests/v1"));
    assert_eq!((r.status, code(&r).as_str()), (400, "NAME_INVALID"));
    let (_, r) = send(TestRequest::new(Method::Get, "/v2/a/manifests/v1"));
    assert_eq!((r.status, code(&r).as_str()), (404, "NAME_UNKNOWN"));
    let (_, r) = send(TestRequest::new(Method::Get, "/v2/a/manifests/bad!tag"));
    assert_eq!((r.status, code(&r).as_str()), (400, "TAG_INVALID"));
    let (_, r) = send(TestRequest::new(
        Method::Get,
        &format!("/v2/a/blobs/{}", digest(b"x")),
    ));
    assert_eq!((r.status, code(&r).as_str()), (404, "BLOB_UNKNOWN"));
    let r = crate::error::render(401, "authentication required");
    assert_eq!(code(&r), "UNAUTHORIZED");
    let body = r.body_json();
    assert_eq!(body["errors"][0]["message"], "authentication required");
    assert!(
        body["errors"][0]
            .as_object()
            .unwrap()
            .contains_key("detail")
    );
    assert_eq!(code(&crate::error::render(403, "no")), "DENIED");
}

#[test]
fn a_blob_must_hash_to_its_digest() {
    setup();
    let wrong = digest(b"other");
    let (_, r) = send(
        TestRequest::new(
            Method::Post,
            &format!("/v2/a/blobs/uploads/?digest={wrong}"),
        )
        .body(b"bytes".to_vec()),
    );
    assert_eq!((r.status, code(&r).as_str()), (400, "DIGEST_INVALID"));
    let d = push_blob("a", b"bytes");
    let (_, r) = send(TestRequest::new(Method::Get, &format!("/v2/a/blobs/{d}")));
    assert_eq!(r.status, 200);
    assert_eq!(r.header_value("docker-content-digest"), Some(d.as_str()));
}

#[test]
fn chunked_upload_refuses_out_of_order_chunks_and_verifies() {
    setup();
    let (_, r) = send(TestRequest::new(Method::Post, "/v2/a/blobs/uploads/"));
    assert_eq!(r.status, 202);
    let location = r.header_value("location").unwrap().to_string();
    assert!(location.starts_with("/v2/a/blobs/uploads/"));
    let chunk = |range: &str, bytes: &[u8]| {
        send(
            TestRequest::new(Method::Patch, &location)
                .header("content-range", range)
                .header("content-length", &bytes.len().to_string())
                .body(bytes.to_vec()),
        )
        .1
    };
    let r = chunk("0-4", b"hello");
    assert_eq!((r.status, r.header_value("range")), (202, Some("0-4")));
    let r = chunk("7-9", b"xyz");
    assert_eq!((r.status, code(&r).as_str()), (416, "RANGE_INVALID"));
    assert_eq!(r.header_value("range"), Some("0-4"));
    let r = chunk("5-10", b" world");
    assert_eq!(r.status, 202);
    let (_, r) = send(TestRequest::new(Method::Get, &location));
    assert_eq!((r.status, r.header_value("range")), (204, Some("0-10")));
    let d = digest(b"hello world");
    let (_, r) = send(TestRequest::new(
        Method::Put,
        &format!("{location}?digest={d}"),
    ));
    assert_eq!(r.status, 201);
    assert_eq!(
        r.header_value("location"),
        Some(format!("/v2/a/blobs/{d}").as_str())
    );
    let (_, r) = send(TestRequest::new(Method::Get, &location));
    assert_eq!((r.status, code(&r).as_str()), (404, "BLOB_UPLOAD_UNKNOWN"));
    // Streamed, then finished with a digest the bytes do not have.
    let (_, r) = send(TestRequest::new(Method::Post, "/v2/a/blobs/uploads/"));
    let location = r.header_value("location").unwrap().to_string();
    let (_, r) = send(TestRequest::new(Method::Patch, &location).body(b"streamed".to_vec()));
    assert_eq!((r.status, r.header_value("range")), (202, Some("0-7")));
    let (_, r) = send(TestRequest::new(
        Method::Put,
        &format!("{location}?digest={}", digest(b"nope")),
    ));
    assert_eq!((r.status, code(&r).as_str()), (400, "DIGEST_INVALID"));
}

#[test]
fn manifests_need_their_blobs_and_keep_their_bytes() {
    setup();
    let config = push_blob("org/app", b"{}");
    let layer = push_blob("org/app", b"layer");
    let missing = digest(b"missing");
    let r = put_manifest("org/app", "v1", &image(&config, &[&missing]), OCI_MANIFEST);
    assert_eq!(
        (r.status, code(&r).as_str()),
        (400, "MANIFEST_BLOB_UNKNOWN")
    );
    let bytes = image(&config, &[&layer]);
    let r = put_manifest("org/app", &digest(b"other"), &bytes, OCI_MANIFEST);
    assert_eq!((r.status, code(&r).as_str()), (400, "DIGEST_INVALID"));
    let r = put_manifest("org/app", "v1", b"{not json", OCI_MANIFEST);
    assert_eq!((r.status, code(&r).as_str()), (400, "MANIFEST_INVALID"));
    let r = put_manifest("org/app", "v1", &bytes, OCI_MANIFEST);
    assert_eq!(r.status, 201);
    let d = digest(&bytes);
    assert_eq!(r.header_value("docker-content-digest"), Some(d.as_str()));
    let (_, r) = send(TestRequest::new(Method::Get, "/v2/org/app/manifests/v1"));
    assert_eq!(r.header_value("docker-content-digest"), Some(d.as_str()));
    assert_eq!(r.header_value("content-type"), Some(OCI_MANIFEST));
    let blake3 = match &r.body {
        wharf_sdk::types::ResponseBody::Blob(b) => b.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(mock::with(|h| h.blob(&blake3).unwrap().to_vec()), bytes);
    let (_, r) = send(
        TestRequest::new(Method::Get, "/v2/org/app/manifests/v1").header(
            "accept",
            "application/vnd.docker.distribution.manifest.v2+json",
        ),
    );
    assert_eq!((r.status, code(&r).as_str()), (404, "MANIFEST_UNKNOWN"));
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": digest(b"absent"), "size": 1}],
    }))
    .unwrap();
    let r = put_manifest("org/app", "multi", &index, OCI_INDEX);
    assert_eq!(
        (r.status, code(&r).as_str()),
        (400, "MANIFEST_BLOB_UNKNOWN")
    );
}

#[test]
fn parse_reads_artifact_type_subject_and_references() {
    let subject = digest(b"s");
    let bytes = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.sbom",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": digest(b"{}"), "size": 2},
        "layers": [{"mediaType": "text/plain", "digest": digest(b"l"), "size": 1}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 9},
    }))
    .unwrap();
    let p = manifest::parse(&bytes, Some(OCI_MANIFEST)).unwrap();
    assert_eq!(
        p.artifact_type.as_deref(),
        Some("application/vnd.example.sbom")
    );
    assert_eq!(p.subject.as_deref(), Some(subject.as_str()));
    assert_eq!(p.blobs.len(), 2);
    let e = manifest::parse(&bytes, Some(OCI_INDEX)).unwrap_err();
    assert!(e.message.starts_with("MANIFEST_INVALID"));
    assert!(manifest::accepts(None, OCI_MANIFEST));
    assert!(manifest::accepts(Some("*/*"), OCI_MANIFEST));
    assert!(!manifest::accepts(Some(OCI_INDEX), OCI_MANIFEST));
}

#[test]
fn tag_pages_follow_last_and_n() {
    let tags: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
    assert_eq!(page(&tags, None, 2), (vec!["a".into(), "b".into()], true));
    assert_eq!(
        page(&tags, Some("b"), 2),
        (vec!["c".into(), "d".into()], false)
    );
    assert_eq!(page(&tags, Some("d"), 2), (vec![], false));
    assert_eq!(page(&tags, None, 0), (vec![], true));
}

#[test]
fn tags_list_pages_with_a_link_and_deletes_work() {
    setup();
    let config = push_blob("a", b"{}");
    let bytes = image(&config, &[]);
    for tag in ["v3", "v1", "v2"] {
        assert_eq!(put_manifest("a", tag, &bytes, OCI_MANIFEST).status, 201);
    }
    let (_, r) = send(TestRequest::new(Method::Get, "/v2/a/tags/list?n=2"));
    assert_eq!(r.body_json()["tags"], json!(["v1", "v2"]));
    assert_eq!(
        r.header_value("link"),
        Some("</v2/a/tags/list?last=v2&n=2>; rel=\"next\"")
    );
    let (_, r) = send(TestRequest::new(Method::Delete, "/v2/a/manifests/v1"));
    assert_eq!(r.status, 202);
    let (_, r) = send(TestRequest::new(Method::Get, "/v2/a/tags/list"));
    assert_eq!(r.body_json()["tags"], json!(["v2", "v3"]));
    let d = digest(&bytes);
    let (_, r) = send(TestRequest::new(
        Method::Delete,
        &format!("/v2/a/manifests/{d}"),
    ));
    assert_eq!(r.status, 202);
    let (_, r) = send(TestRequest::new(Method::Get, "/v2/a/manifests/v2"));
    assert_eq!((r.status, code(&r).as_str()), (404, "MANIFEST_UNKNOWN"));
}

#[test]
fn mount_publishes_the_source_blob_or_falls_back_to_an_upload() {
    setup();
    let d = push_blob("src", b"shared");
    let (_, r) = send(TestRequest::new(
        Method::Post,
        &format!("/v2/dst/blobs/uploads/?mount={d}&from=src"),
    ));
    assert_eq!(r.status, 201);
    let (_, r) = send(TestRequest::new(Method::Get, &format!("/v2/dst/blobs/{d}")));
    assert_eq!(r.status, 200);
    let (_, r) = send(TestRequest::new(
        Method::Post,
        &format!("/v2/dst/blobs/uploads/?mount={}&from=src", digest(b"none")),
    ));
    assert_eq!(r.status, 202);
}

#[test]
fn referrers_list_manifests_by_subject_and_filter_by_artifact_type() {
    setup();
    let empty = push_blob("a", b"{}");
    let base = image(&empty, &[]);
    put_manifest("a", "v1", &base, OCI_MANIFEST);
    let subject = digest(&base);
    let artifact = |t: &str| {
        serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": t,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
            "layers": [],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": base.len()},
            "annotations": {"k": "v"},
        }))
        .unwrap()
    };
    let sbom = artifact("application/sbom");
    let r = put_manifest("a", &digest(&sbom), &sbom, OCI_MANIFEST);
    assert_eq!(r.header_value("oci-subject"), Some(subject.as_str()));
    let sig = artifact("application/sig");
    put_manifest("a", &digest(&sig), &sig, OCI_MANIFEST);
    let (_, r) = send(TestRequest::new(
        Method::Get,
        &format!("/v2/a/referrers/{subject}"),
    ));
    assert_eq!(r.header_value("content-type"), Some(OCI_INDEX));
    assert_eq!(r.body_json()["manifests"].as_array().unwrap().len(), 2);
    let (_, r) = send(TestRequest::new(
        Method::Get,
        &format!("/v2/a/referrers/{subject}?artifactType=application/sig"),
    ));
    let list = r.body_json()["manifests"].clone();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["digest"], json!(digest(&sig)));
    assert_eq!(list[0]["annotations"]["k"], "v");
    assert_eq!(r.header_value("oci-filters-applied"), Some("artifactType"));
}

#[test]
fn docker_schema_2_and_manifest_lists_are_accepted() {
    setup();
    let config = push_blob("d", b"{}");
    let layer = push_blob("d", b"layer");
    let m = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": manifest::DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config, "size": 2},
        "layers": [
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer, "size": 5},
            {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "digest": digest(b"elsewhere"), "size": 9, "urls": ["https://example.com/l"]},
        ],
    }))
    .unwrap();
    let r = put_manifest("d", "v1", &m, manifest::DOCKER_MANIFEST);
    assert_eq!(r.status, 201, "{:?}", r.body_json());
    let list = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": manifest::DOCKER_LIST,
        "manifests": [{"mediaType": manifest::DOCKER_MANIFEST, "digest": digest(&m), "size": m.len(),
                       "platform": {"architecture": "amd64", "os": "linux"}}],
    }))
    .unwrap();
    let r = put_manifest("d", "multi", &list, manifest::DOCKER_LIST);
    assert_eq!(r.status, 201, "{:?}", r.body_json());
    let (_, r) = send(
        TestRequest::new(Method::Get, "/v2/d/manifests/multi")
            .header("accept", manifest::DOCKER_LIST),
    );
    assert_eq!(r.header_value("content-type"), Some(manifest::DOCKER_LIST));
    let schema1 = br#"{"schemaVersion":1,"name":"d","tag":"v0","fsLayers":[]}"#;
    let r = put_manifest(
        "d",
        "v0",
        schema1,
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    );
    assert_eq!((r.status, code(&r).as_str()), (400, "MANIFEST_INVALID"));
    // The blob route serves manifests too.
    let (_, r) = send(TestRequest::new(
        Method::Get,
        &format!("/v2/d/blobs/{}", digest(&m)),
    ));
    assert_eq!(r.status, 200);
}

#[test]
fn a_mount_needs_read_on_its_source() {
    setup();
    let d = push_blob("src", b"private");
    mock::login_as(None);
    let (_, r) = send(TestRequest::new(
        Method::Post,
        &format!("/v2/dst/blobs/uploads/?mount={d}&from=src"),
    ));
    assert_eq!(r.status, 202, "no read on the source: upload instead");
    let (_, r) = send(TestRequest::new(Method::Get, &format!("/v2/dst/blobs/{d}")));
    assert_eq!(r.status, 404);
}
