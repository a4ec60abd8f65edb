//! A proxy repository against the mock host's upstream: what npm install
//! reads comes from the upstream, rewritten to come back here, and each
//! tarball is pulled once, checked, and kept.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha1::Sha1;
use sha2::{Digest, Sha512};
use wharf_sdk::mock::{self, UPSTREAM_BASE};
use wharf_sdk::types::ResponseBody;

use crate::tests::get;

const BASE: &str = "http://registry.test/test/";
const TARBALL: &[u8] = b"pretend gzip of left-pad@1.0.0";

/// The upstream's packument of left-pad 1.0.0, whose tarball (elsewhere on
/// the upstream, as registries put them) promises `promised`.
fn upstream_with(promised: &[u8]) -> String {
    mock::reset();
    let url = format!("{UPSTREAM_BASE}files/left-pad-1.0.0.tgz");
    let doc = json!({
        "name": "left-pad",
        "dist-tags": { "latest": "1.0.0" },
        "versions": { "1.0.0": {
            "name": "left-pad", "version": "1.0.0",
            "dist": {
                "tarball": url,
                "integrity": format!("sha512-{}", STANDARD.encode(Sha512::digest(promised))),
                "shasum": hex::encode(Sha1::digest(promised)),
            },
        }},
    });
    mock::serve_upstream("left-pad", 200, doc.to_string());
    mock::serve_upstream(&url, 200, TARBALL);
    url
}

fn asked() -> usize {
    mock::with(|h| h.upstream.as_ref().map_or(0, |u| u.asked.len()))
}

#[test]
fn the_packument_is_the_upstreams_with_tarballs_served_here() {
    upstream_with(TARBALL);
    let doc = get("left-pad").body_json();
    assert_eq!(doc["dist-tags"]["latest"], "1.0.0");
    assert_eq!(
        doc["versions"]["1.0.0"]["dist"]["tarball"],
        format!("{BASE}left-pad/-/left-pad-1.0.0.tgz")
    );
    assert_eq!(get("left-pad/1.0.0").body_json()["version"], "1.0.0");
    assert_eq!(
        get("-/package/left-pad/dist-tags").body_json(),
        json!({"latest": "1.0.0"})
    );
}

#[test]
fn a_tarball_is_pulled_once_then_served_from_the_store() {
    upstream_with(TARBALL);
    let first = get("left-pad/-/left-pad-1.0.0.tgz");
    assert_eq!(first.status, 200);
    assert_eq!(first.body_bytes(), TARBALL);
    let row = mock::with(|h| h.catalog.version("left-pad", "1.0.0").cloned()).expect("recorded");
    let meta: Value = serde_json::from_str(&row.metadata_json).unwrap();
    assert_eq!(meta["dist"]["tarball"], "left-pad-1.0.0.tgz");

    let before = asked();
    let second = get("left-pad/-/left-pad-1.0.0.tgz");
    let ResponseBody::Blob(blake3) = &second.body else {
        panic!("served from the store: {:?}", second.body);
    };
    assert_eq!(mock::with(|h| h.blob(blake3).unwrap().to_vec()), TARBALL);
    assert_eq!(asked(), before, "the upstream is not asked again");
}

#[test]
fn a_tarball_that_breaks_the_packuments_promise_is_not_kept() {
    upstream_with(b"other bytes");
    let refused = get("left-pad/-/left-pad-1.0.0.tgz");
    assert_eq!(refused.status, 502);
    assert!(
        refused.body_json()["error"]
            .as_str()
            .unwrap()
            .contains("not the promised one")
    );
    assert!(mock::with(|h| h
        .catalog
        .version("left-pad", "1.0.0")
        .is_none()));
}

#[test]
fn what_the_upstream_lacks_is_npms_404() {
    upstream_with(TARBALL);
    let missing = get("right-pad");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body_json()["error"], "not found");
    assert_eq!(get("left-pad/-/left-pad-9.9.9.tgz").status, 404);
}

#[test]
fn a_stale_upstream_still_answers() {
    upstream_with(TARBALL);
    assert_eq!(get("left-pad").status, 200);
    mock::take_upstream_down();
    let doc = get("left-pad").body_json();
    assert_eq!(doc["dist-tags"]["latest"], "1.0.0");
}
