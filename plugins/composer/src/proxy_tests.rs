//! A proxy repository against the mock host's upstream: `p2` documents
//! are the upstream's with dist URLs pointing here, and a zip is pulled
//! once, checked against its `shasum`, and kept.

use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use wharf_sdk::mock::{self, UPSTREAM_BASE};
use wharf_sdk::types::ResponseBody;

use crate::metadata::{expand, minify};
use crate::tests::get;

const BASE: &str = "http://registry.test/test/";
const ZIP: &[u8] = b"pretend zip of acme/greeter 1.1.0";

/// The upstream's minified `p2` of acme/greeter 1.0.0 and 1.1.0, whose
/// 1.1.0 zip promises `promised`.
fn upstream_with(promised: &[u8]) {
    mock::reset();
    let url = format!("{UPSTREAM_BASE}dists/acme/greeter/1.1.0.0.zip");
    let version = |v: &str, shasum: String| {
        let object = json!({
            "name": "acme/greeter", "version": v, "version_normalized": format!("{v}.0"),
            "autoload": {"psr-4": {"Acme\\Greeter\\": "src/"}},
            "dist": {"type": "zip", "url": format!("{UPSTREAM_BASE}dists/acme/greeter/{v}.0.zip"),
                     "reference": shasum, "shasum": shasum},
        });
        object.as_object().unwrap().clone()
    };
    let versions = vec![
        version("1.1.0", wharf_sdk::hex(Sha1::digest(promised))),
        version("1.0.0", String::new()),
    ];
    let doc = json!({"minified": "composer/2.0", "packages": {"acme/greeter": minify(versions)}});
    mock::serve_upstream("p2/acme/greeter.json", 200, doc.to_string());
    mock::serve_upstream(&url, 200, ZIP);
}

fn versions(doc: &Value) -> Vec<serde_json::Map<String, Value>> {
    let listed: Vec<_> = doc["packages"]["acme/greeter"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_object().unwrap().clone())
        .collect();
    expand(&listed)
}

#[test]
fn p2_is_the_upstreams_with_dists_served_here() {
    upstream_with(ZIP);
    let doc = get("p2/acme/greeter.json").body_json();
    assert_eq!(doc["minified"], "composer/2.0");
    let versions = versions(&doc);
    assert_eq!(versions.len(), 2);
    assert_eq!(
        versions[0]["dist"]["url"],
        format!("{BASE}dists/acme/greeter/1.1.0.0.zip")
    );
    assert_eq!(versions[0]["autoload"]["psr-4"]["Acme\\Greeter\\"], "src/");
    assert_eq!(
        versions[1]["dist"]["url"],
        format!("{BASE}dists/acme/greeter/1.0.0.0.zip")
    );
    let root = get("packages.json").body_json();
    assert_eq!(root["metadata-url"], format!("{BASE}p2/%package%.json"));
}

#[test]
fn a_zip_is_pulled_once_then_served_from_the_store() {
    upstream_with(ZIP);
    let first = get("dists/acme/greeter/1.1.0.0.zip");
    assert_eq!(first.status, 200);
    assert_eq!(first.body_bytes(), ZIP);
    let row =
        mock::with(|h| h.catalog.version("acme/greeter", "1.1.0.0").cloned()).expect("recorded");
    let stored: Value = serde_json::from_str(&row.metadata_json).unwrap();
    assert_eq!(stored["version"], "1.1.0");
    assert_eq!(stored["shasum"], wharf_sdk::hex(Sha1::digest(ZIP)));

    let asked = || mock::with(|h| h.upstream.as_ref().map_or(0, |u| u.asked.len()));
    let before = asked();
    let second = get("dists/acme/greeter/1.1.0.0.zip");
    assert!(
        matches!(second.body, ResponseBody::Blob(_)),
        "{:?}",
        second.body
    );
    assert_eq!(asked(), before, "the upstream is not asked again");
}

#[test]
fn a_zip_that_breaks_the_promise_is_not_kept() {
    upstream_with(b"other bytes");
    let refused = get("dists/acme/greeter/1.1.0.0.zip");
    assert_eq!(refused.status, 502);
    assert_eq!(refused.body_json()["status"], "error");
    assert!(mock::with(|h| h
        .catalog
        .version("acme/greeter", "1.1.0.0")
        .is_none()));
}

#[test]
fn what_the_upstream_lacks_is_a_composer_404() {
    upstream_with(ZIP);
    let missing = get("p2/acme/other.json");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body_json()["status"], "error");
    assert_eq!(get("dists/acme/greeter/9.9.9.0.zip").status, 404);
    assert_eq!(get("dists/acme/greeter/1.0.0.0.tar").status, 404);
}
