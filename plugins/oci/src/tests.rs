use crate::discovery::page;
use crate::manifest::{self, OCI_INDEX, OCI_MANIFEST};
use crate::names;
use serde_json::{Value, json};
use sha2::Digest;
use wharf_sdk::Response;
use wharf_sdk::mock::{self, TestRequest};
use wharf_sdk::types::{Access, Action, Method, ResponseBody, Route};

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", wharf_sdk::hex(sha2::Sha256::digest(bytes)))
}

/// Both phases through the mock, which refuses writes beyond the route.
fn send(req: TestRequest) -> (Route, Response) {
    req.send::<crate::Oci>().expect("the path routes")
}

fn blob_body(r: &Response) -> String {
    match &r.body {
        ResponseBody::Blob(b) => b.clone(),
        other => panic!("{other:?}"),
    }
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
    assert_eq!(
        accesses(&route),
        [(Action::Delete, "a"), (Action::Write, "a")],
        "untagging is a tag write"
    );
    let (route, _) = send(TestRequest::new(
        Method::Delete,
        &format!("/v2/a/manifests/{}", digest(b"m")),
    ));
    assert_eq!(accesses(&route), [(Action::Delete, "a")]);
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
    let blake3 = blob_body(&r);
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

/// `page` over a sorted list, recording the host limits it asked for.
fn paged(list: &[String], n: usize, last: Option<&str>) -> (Vec<String>, bool, Vec<u32>) {
    let mut asked = Vec::new();
    let (names, more) = page(n, last.map(str::to_string), |after, limit| {
        asked.push(limit);
        let rest = list.iter().filter(|t| after.is_none_or(|a| t.as_str() > a));
        Ok(rest.take(limit as usize).cloned().collect())
    })
    .unwrap();
    (names, more, asked)
}

#[test]
fn tag_pages_follow_last_and_n() {
    let tags: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
    let page = |last, n| {
        let (names, more, _) = paged(&tags, n, last);
        (names, more)
    };
    assert_eq!(page(None, 2), (vec!["a".into(), "b".into()], true));
    assert_eq!(page(Some("b"), 2), (vec!["c".into(), "d".into()], false));
    assert_eq!(page(Some("d"), 2), (vec![], false));
    assert_eq!(page(None, 0), (vec![], true));
    // A client page larger than the host's spans host pages of at most PAGE.
    let many: Vec<String> = (0..2500).map(|i| format!("t{i:05}")).collect();
    let (names, more, asked) = paged(&many, 2000, None);
    assert_eq!((names.len(), more), (2000, true));
    assert_eq!(names.last().map(String::as_str), Some("t01999"));
    assert_eq!(asked, vec![1000, 1000, 1]);
    let (names, more, _) = paged(&many, 2000, Some("t00999"));
    assert_eq!((names.len(), more), (1500, false));
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
fn the_catalog_pages_with_n_last_and_a_link() {
    setup();
    for name in ["c", "a", "b"] {
        let config = push_blob(name, b"{}");
        let r = put_manifest(name, "v1", &image(&config, &[]), OCI_MANIFEST);
        assert_eq!(r.status, 201);
    }
    let (_, r) = send(TestRequest::new(Method::Get, "/v2/_catalog?n=2"));
    assert_eq!(r.body_json(), json!({"repositories": ["a", "b"]}));
    assert_eq!(
        r.header_value("link"),
        Some("</v2/_catalog?last=b&n=2>; rel=\"next\"")
    );
    let (_, r) = send(TestRequest::new(Method::Get, "/v2/_catalog?n=2&last=b"));
    assert_eq!(r.body_json(), json!({"repositories": ["c"]}));
    assert_eq!(r.header_value("link"), None);
    let (_, r) = send(TestRequest::new(Method::Get, "/v2/_catalog?n=x"));
    assert_eq!((r.status, code(&r).as_str()), (400, "UNSUPPORTED"));
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

/// (action, package) of each access of a route in this repository.
fn accesses(route: &Route) -> Vec<(Action, &str)> {
    route
        .access
        .iter()
        .map(|a: &Access| {
            assert!(a.repository.is_none());
            (a.action, a.package.as_deref().unwrap_or("*"))
        })
        .collect()
}

#[test]
fn a_mount_declares_read_on_its_source() {
    setup();
    let d = push_blob("src", b"private");
    let (route, r) = send(TestRequest::new(
        Method::Post,
        &format!("/v2/dst/blobs/uploads/?mount={d}&from=src"),
    ));
    assert_eq!(
        accesses(&route),
        [(Action::Write, "dst"), (Action::Read, "src")],
        "the host checks the read on the source before handle"
    );
    assert_eq!(r.status, 201);
    let (route, _) = send(TestRequest::new(Method::Post, "/v2/dst/blobs/uploads/"));
    assert_eq!(accesses(&route), [(Action::Write, "dst")]);
    let (_, r) = send(TestRequest::new(
        Method::Post,
        &format!("/v2/dst/blobs/uploads/?mount={d}&from=Bad"),
    ));
    assert_eq!((r.status, code(&r).as_str()), (400, "NAME_INVALID"));
}

#[test]
fn blobs_are_assets_of_the_package_and_deleted_as_such() {
    setup();
    let d = push_blob("a", b"layer");
    // Pushing it again is a success, not a conflict.
    assert_eq!(push_blob("a", b"layer"), d);
    let path = format!("v2/a/blobs/{d}");
    mock::with(|h| {
        assert!(h.catalog.versions.is_empty(), "no version per blob");
        let (asset, owner) = &h.catalog.assets[&path];
        assert_eq!(
            (owner.package.as_str(), owner.version.as_deref()),
            ("a", None)
        );
        assert_eq!(asset.metadata_json, r#"{"size":5}"#);
        assert_eq!(h.blob(&asset.blake3), Some(&b"layer"[..]));
    });
    let (_, r) = send(TestRequest::new(Method::Get, &format!("/v2/a/blobs/{d}")));
    assert_eq!(r.status, 200);
    let (route, r) = send(TestRequest::new(
        Method::Delete,
        &format!("/v2/a/blobs/{d}"),
    ));
    assert_eq!(route.access[0].action, Action::Delete);
    assert_eq!(r.status, 202);
    assert!(mock::with(|h| h.catalog.assets.is_empty()));
    let (_, r) = send(TestRequest::new(
        Method::Delete,
        &format!("/v2/a/blobs/{d}"),
    ));
    assert_eq!((r.status, code(&r).as_str()), (404, "BLOB_UNKNOWN"));
    let (_, r) = send(TestRequest::new(Method::Get, &format!("/v2/a/blobs/{d}")));
    assert_eq!((r.status, code(&r).as_str()), (404, "BLOB_UNKNOWN"));
}

#[test]
fn a_repository_with_only_blobs_exists() {
    setup();
    push_blob("a", b"{}");
    let (_, r) = send(TestRequest::new(Method::Get, "/v2/a/manifests/v1"));
    assert_eq!((r.status, code(&r).as_str()), (404, "MANIFEST_UNKNOWN"));
    let (_, r) = send(TestRequest::new(Method::Get, "/v2/a/tags/list"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body_json(), json!({"name": "a", "tags": []}));
    let (_, r) = send(TestRequest::new(Method::Get, "/v2/b/tags/list"));
    assert_eq!((r.status, code(&r).as_str()), (404, "NAME_UNKNOWN"));
}

#[test]
fn a_referrer_is_an_entry_under_its_subject_removed_with_it() {
    setup();
    let empty = push_blob("a", b"{}");
    let subject = digest(b"not pushed yet");
    let sbom = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/sbom",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 9},
        "annotations": {"k": "v"},
    }))
    .unwrap();
    let d = digest(&sbom);
    assert_eq!(put_manifest("a", "sbom", &sbom, OCI_MANIFEST).status, 201);
    let entry = format!("v2/a/referrers/{subject}/{d}");
    mock::with(|h| {
        let (asset, owner) = &h.catalog.assets[&entry];
        assert_eq!(
            (owner.package.as_str(), owner.version.as_deref()),
            ("a", None)
        );
        let bytes = &h.catalog.assets[&format!("v2/a/manifests/{d}")].0;
        assert_eq!(asset.blake3, bytes.blake3);
        let descriptor: Value = serde_json::from_str(&asset.metadata_json).unwrap();
        assert_eq!(
            descriptor,
            json!({"mediaType": OCI_MANIFEST, "digest": d, "size": sbom.len(),
                   "artifactType": "application/sbom", "annotations": {"k": "v"}})
        );
    });
    // Pushing it again (another tag) keeps one entry.
    assert_eq!(put_manifest("a", "again", &sbom, OCI_MANIFEST).status, 201);
    let (_, r) = send(TestRequest::new(
        Method::Get,
        &format!("/v2/a/referrers/{subject}"),
    ));
    assert_eq!(r.body_json()["manifests"].as_array().unwrap().len(), 1);
    assert!(r.cache.as_ref().is_some_and(|c| c.tags == ["a"]));
    let (_, r) = send(TestRequest::new(
        Method::Delete,
        &format!("/v2/a/manifests/{d}"),
    ));
    assert_eq!(r.status, 202);
    mock::with(|h| {
        assert!(!h.catalog.assets.contains_key(&entry));
        assert!(h.catalog.versions.get("a").is_none_or(|v| v.is_empty()));
        assert!(h.catalog.tags.get("a").is_none_or(|t| t.is_empty()));
    });
    let (_, r) = send(TestRequest::new(
        Method::Get,
        &format!("/v2/a/referrers/{subject}"),
    ));
    assert_eq!(
        (r.status, r.body_json()["manifests"].clone()),
        (200, json!([]))
    );
}

#[test]
fn a_store_outage_is_a_503_never_absent() {
    setup();
    let config = push_blob("a", b"{}");
    let bytes = image(&config, &[]);
    assert_eq!(put_manifest("a", "v1", &bytes, OCI_MANIFEST).status, 201);
    let before = mock::with(|h| {
        h.store_down = true;
        (
            h.catalog.versions.clone(),
            h.catalog.assets.len(),
            h.catalog.tags.clone(),
        )
    });
    let d = digest(&bytes);
    for path in [
        "/v2/a/manifests/v1".to_string(),
        format!("/v2/a/manifests/{d}"),
        "/v2/b/manifests/v1".to_string(),
        format!("/v2/a/blobs/{config}"),
        "/v2/a/tags/list".to_string(),
        format!("/v2/a/referrers/{d}"),
        "/v2/_catalog".to_string(),
    ] {
        let (_, r) = send(TestRequest::new(Method::Get, &path));
        assert_eq!(
            (r.status, code(&r).as_str()),
            (503, "UNAVAILABLE"),
            "{path}"
        );
        assert!(r.cache.is_none(), "{path}");
    }
    let writes = [
        put_manifest("a", "v2", &bytes, OCI_MANIFEST),
        put_manifest("a", "v1", &image(&config, &[&config]), OCI_MANIFEST),
        send(TestRequest::new(Method::Delete, "/v2/a/manifests/v1")).1,
        send(TestRequest::new(
            Method::Delete,
            &format!("/v2/a/manifests/{d}"),
        ))
        .1,
        send(TestRequest::new(
            Method::Delete,
            &format!("/v2/a/blobs/{config}"),
        ))
        .1,
        send(
            TestRequest::new(
                Method::Post,
                &format!("/v2/a/blobs/uploads/?digest={}", digest(b"x")),
            )
            .body(b"x".to_vec()),
        )
        .1,
        send(TestRequest::new(
            Method::Post,
            &format!("/v2/b/blobs/uploads/?mount={config}&from=a"),
        ))
        .1,
    ];
    for r in &writes {
        assert_eq!((r.status, code(r).as_str()), (503, "UNAVAILABLE"));
    }
    let after = mock::with(|h| {
        h.store_down = false;
        (
            h.catalog.versions.clone(),
            h.catalog.assets.len(),
            h.catalog.tags.clone(),
        )
    });
    assert_eq!(before.0.len(), after.0.len());
    assert_eq!(before.0["a"].len(), after.0["a"].len());
    assert_eq!((before.1, &before.2), (after.1, &after.2));
}

#[test]
fn host_denials_take_the_spec_shape_with_default_messages() {
    let r = crate::error::render(503, "");
    assert_eq!((r.status, code(&r).as_str()), (503, "UNAVAILABLE"));
    assert_eq!(
        r.body_json()["errors"][0]["message"],
        "temporarily unavailable"
    );
    let r = crate::error::render(401, "");
    assert_eq!(
        r.body_json()["errors"][0]["message"],
        "authentication required"
    );
    assert_eq!(r.header_value("www-authenticate"), Some("Bearer"));
}
