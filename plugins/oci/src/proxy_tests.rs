//! A proxy repository against the mock host's upstream: a manifest it
//! serves is recorded in the catalog as a push of it would be, and is
//! served from there by digest with the upstream gone.

use serde_json::{Value, json};
use sha2::Digest;
use wharf_sdk::Response;
use wharf_sdk::catalog::{Asset, VersionRow};
use wharf_sdk::mock::{self, TestRequest};
use wharf_sdk::types::{Method, ResponseBody};

use crate::manifest::OCI_MANIFEST;

const NAME: &str = "org/app";
const CONFIG: &[u8] = b"{}";

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", wharf_sdk::hex(sha2::Sha256::digest(bytes)))
}

fn send(method: Method, path: &str) -> Response {
    TestRequest::new(method, path)
        .send::<crate::Oci>()
        .expect("the path routes")
        .1
}

fn get(path: &str) -> Response {
    send(Method::Get, path)
}

/// An image manifest of `CONFIG` and one layer, with an annotation that
/// makes each `version` another manifest.
fn image(version: &str) -> Vec<u8> {
    let layer = digest(version.as_bytes());
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(CONFIG), "size": CONFIG.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": version.len()}],
        "annotations": {"version": version},
    }))
    .unwrap()
}

/// The upstream has `manifest` under `tag` and under its digest.
fn upstream_has(tag: &str, manifest: &[u8]) {
    mock::serve_upstream(&format!("v2/{NAME}/manifests/{tag}"), 200, manifest);
    let by_digest = format!("v2/{NAME}/manifests/{}", digest(manifest));
    mock::serve_upstream(&by_digest, 200, manifest);
}

fn asked() -> usize {
    mock::with(|h| h.upstream.as_ref().map_or(0, |u| u.asked.len()))
}

/// What the catalog holds of manifest `digest`: its row, its asset and
/// that asset's bytes, the tags on it.
fn recorded(digest: &str) -> Option<(VersionRow, Asset, Vec<u8>, Vec<String>)> {
    mock::with(|h| {
        let row = h.catalog.version(NAME, digest)?.clone();
        let path = format!("v2/{NAME}/manifests/{digest}");
        let asset = h.catalog.assets.get(&path)?.0.clone();
        let bytes = h.blob(&asset.blake3)?.to_vec();
        let tags = (h.catalog.tags.get(NAME).into_iter().flatten())
            .filter(|(_, d)| *d == digest)
            .map(|(t, _)| t.clone())
            .collect();
        Some((row, asset, bytes, tags))
    })
}

/// What pushing `manifest` as `tag` to a hosted repository records.
fn pushed(manifest: &[u8], tag: &str, layer: &[u8]) -> (VersionRow, Asset, Vec<u8>, Vec<String>) {
    mock::reset();
    mock::login_as(Some("alice"));
    for blob in [CONFIG, layer] {
        let d = digest(blob);
        let r = TestRequest::new(
            Method::Post,
            &format!("/v2/{NAME}/blobs/uploads/?digest={d}"),
        )
        .body(blob.to_vec())
        .send::<crate::Oci>()
        .unwrap()
        .1;
        assert_eq!(r.status, 201);
    }
    let r = TestRequest::new(Method::Put, &format!("/v2/{NAME}/manifests/{tag}"))
        .header("content-type", OCI_MANIFEST)
        .body(manifest.to_vec())
        .send::<crate::Oci>()
        .unwrap()
        .1;
    assert_eq!(r.status, 201);
    recorded(&digest(manifest)).expect("a push records")
}

#[test]
fn a_proxied_manifest_is_recorded_as_a_push_records_it() {
    let manifest = image("1");
    let d = digest(&manifest);
    let (push_row, push_asset, push_bytes, push_tags) = pushed(&manifest, "v1", b"1");

    mock::reset();
    upstream_has("v1", &manifest);
    let served = get(&format!("/v2/{NAME}/manifests/v1"));
    assert_eq!((served.status, served.body_bytes()), (200, &manifest[..]));
    assert_eq!(
        served.header_value("docker-content-digest"),
        Some(d.as_str())
    );
    let (row, asset, bytes, tags) = recorded(&d).expect("the manifest is recorded");
    assert_eq!(bytes, manifest, "the exact bytes");
    assert_eq!(bytes, push_bytes);
    let meta: Value = serde_json::from_str(&row.metadata_json).unwrap();
    assert_eq!(
        meta,
        serde_json::from_str::<Value>(&push_row.metadata_json).unwrap()
    );
    assert_eq!(meta["mediaType"], OCI_MANIFEST);
    assert_eq!(meta["size"], manifest.len());
    assert_eq!(
        (asset.path, asset.content_type),
        (push_asset.path, push_asset.content_type)
    );
    assert_eq!(tags, push_tags);
    assert_eq!(tags, ["v1"]);

    // Gone upstream, nothing of it cached: by digest, the catalog answers.
    let before = asked();
    mock::with(|h| h.upstream.as_mut().unwrap().answers.clear());
    mock::take_upstream_down();
    for method in [Method::Get, Method::Head] {
        let again = send(method, &format!("/v2/{NAME}/manifests/{d}"));
        assert_eq!(again.status, 200);
        let ResponseBody::Blob(blake3) = &again.body else {
            panic!("not from the store: {:?}", again.body)
        };
        assert_eq!(mock::with(|h| h.blob(blake3).unwrap().to_vec()), manifest);
        assert_eq!(again.header_value("content-type"), Some(OCI_MANIFEST));
    }
    assert_eq!(asked(), before, "the upstream is not asked");
}

#[test]
fn a_tag_is_recorded_on_the_manifest_the_upstream_names_now() {
    mock::reset();
    let (one, two) = (image("1"), image("2"));
    upstream_has("v1", &one);
    // By digest first: the row, no tag.
    assert_eq!(
        get(&format!("/v2/{NAME}/manifests/{}", digest(&one))).status,
        200
    );
    let (_, _, _, tags) = recorded(&digest(&one)).expect("recorded by digest");
    assert!(tags.is_empty());
    // By tag: the tag joins the row already there.
    assert_eq!(
        get(&format!("/v2/{NAME}/manifests/v1")).body_bytes(),
        &one[..]
    );
    assert_eq!(recorded(&digest(&one)).unwrap().3, ["v1"]);

    // The upstream moves the tag: the new manifest is recorded and the tag
    // follows it; the old one stays, by digest.
    upstream_has("v1", &two);
    assert_eq!(
        get(&format!("/v2/{NAME}/manifests/v1")).body_bytes(),
        &two[..]
    );
    assert_eq!(recorded(&digest(&two)).unwrap().3, ["v1"]);
    assert!(recorded(&digest(&one)).unwrap().3.is_empty());
    let versions = mock::with(|h| h.catalog.versions.get(NAME).map_or(0, Vec::len));
    assert_eq!(versions, 2);
}

#[test]
fn a_manifest_that_cannot_be_recorded_is_served_all_the_same() {
    mock::reset();
    let manifest = image("1");
    // The upstream answers the tag but not the digest: nothing to record
    // from, the bytes in hand are the answer.
    mock::serve_upstream(&format!("v2/{NAME}/manifests/v1"), 200, &manifest[..]);
    let served = get(&format!("/v2/{NAME}/manifests/v1"));
    assert_eq!((served.status, served.body_bytes()), (200, &manifest[..]));
    assert!(recorded(&digest(&manifest)).is_none());
    assert!(mock::with(
        |h| h.catalog.versions.is_empty() && h.catalog.tags.is_empty()
    ));

    // Not a manifest a push would take: served as the upstream's, and
    // nothing is recorded.
    let odd = br#"{"schemaVersion":1,"name":"org/app","tag":"old"}"#;
    upstream_has("old", odd);
    let served = get(&format!("/v2/{NAME}/manifests/old"));
    assert_eq!((served.status, served.body_bytes()), (200, &odd[..]));
    assert!(mock::with(|h| h.catalog.versions.is_empty()));
}
