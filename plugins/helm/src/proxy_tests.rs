//! A proxy repository against the mock host's upstream: the index is the
//! upstream's with `urls` leading here, and a chart is pulled once, checked
//! against its `digest`, and kept.

use serde_json::Value;
use wharf_sdk::mock::{self, UPSTREAM_BASE};
use wharf_sdk::types::ResponseBody;
use yaml_rust2::YamlLoader;

use crate::tests::{chart, get, sha256_of, text};

/// The upstream index of hello 0.1.0 (relative URL, digest of `promised`)
/// and 0.2.0 (absolute URL, no digest), as `helm repo index` writes one.
fn upstream_with(promised: &[u8]) {
    mock::reset();
    let index = format!(
        "apiVersion: v1\nentries:\n  hello:\n  - apiVersion: v2\n    appVersion: 1.10\n    created: \"2026-12-06T10:00:00.000Z\"\n    description: A chart\n    digest: {}\n    name: hello\n    type: application\n    urls:\n    - charts/hello-0.1.0.tgz\n    version: 0.1.0\n  - apiVersion: v2\n    name: hello\n    version: 0.2.0\n    deprecated: yes\n    urls:\n    - {UPSTREAM_BASE}elsewhere/hello-0.2.0.tgz\n  ../evil:\n  - apiVersion: v2\n    name: ../evil\n    version: 1.0.0\n    urls: [x.tgz]\ngenerated: \"2026-12-06T10:00:00Z\"\nserverInfo: {{}}\n",
        sha256_of(promised)
    );
    mock::serve_upstream("index.yaml", 200, index);
    mock::serve_upstream("charts/hello-0.1.0.tgz", 200, chart("hello", "0.1.0"));
    mock::serve_upstream("charts/hello-0.1.0.tgz.prov", 200, "signed");
    mock::serve_upstream("elsewhere/hello-0.2.0.tgz", 200, chart("hello", "0.2.0"));
}

fn asked() -> usize {
    mock::with(|h| h.upstream.as_ref().map_or(0, |u| u.asked.len()))
}

#[test]
fn the_index_is_the_upstreams_with_urls_here() {
    upstream_with(&chart("hello", "0.1.0"));
    let response = get("index.yaml");
    assert_eq!(response.status, 200);
    let body = text(&response);
    let doc = &YamlLoader::load_from_str(&body).expect(&body)[0];
    let versions = doc["entries"]["hello"].as_vec().expect(&body);
    assert_eq!(versions.len(), 2, "{body}");
    assert_eq!(
        versions[0]["urls"][0].as_str(),
        Some("charts/hello-0.1.0.tgz")
    );
    assert_eq!(versions[0]["appVersion"].as_str(), Some("1.10"));
    assert_eq!(
        versions[0]["digest"].as_str(),
        Some(sha256_of(&chart("hello", "0.1.0")).as_str())
    );
    assert_eq!(
        versions[1]["urls"][0].as_str(),
        Some("charts/hello-0.2.0.tgz")
    );
    assert_eq!(versions[1]["deprecated"].as_bool(), Some(true));
    assert!(doc["entries"]["../evil"].is_badvalue(), "{body}");
    assert_eq!(doc["generated"].as_str(), Some("2026-12-06T10:00:00Z"));
}

#[test]
fn a_chart_is_pulled_once_then_served_from_the_store() {
    let bytes = chart("hello", "0.1.0");
    upstream_with(&bytes);
    let first = get("charts/hello-0.1.0.tgz");
    assert_eq!(first.status, 200);
    assert_eq!(first.body_bytes(), bytes);
    let row = mock::with(|h| h.catalog.version("hello", "0.1.0").cloned()).expect("recorded");
    let meta: Value = serde_json::from_str(&row.metadata_json).unwrap();
    assert_eq!(meta["digest"], sha256_of(&bytes));
    assert_eq!(meta["chart"]["appVersion"], "1.10");

    let before = asked();
    let second = get("charts/hello-0.1.0.tgz");
    assert!(
        matches!(second.body, ResponseBody::Blob(_)),
        "{:?}",
        second.body
    );
    assert_eq!(asked(), before, "the upstream is not asked again");
    // An absolute URL, elsewhere on the upstream; no digest to check.
    assert_eq!(
        get("charts/hello-0.2.0.tgz").body_bytes(),
        chart("hello", "0.2.0")
    );
    assert_eq!(text(&get("charts/hello-0.1.0.tgz.prov")), "signed");
}

#[test]
fn a_chart_that_breaks_the_promise_is_not_kept() {
    upstream_with(b"other bytes");
    let refused = get("charts/hello-0.1.0.tgz");
    assert_eq!(refused.status, 502);
    assert!(refused.body_json()["error"].is_string());
    assert!(mock::with(|h| h
        .catalog
        .version("hello", "0.1.0")
        .is_none()));
}

#[test]
fn what_the_upstream_lacks_is_a_chartmuseum_404() {
    upstream_with(b"");
    let missing = get("charts/hello-9.9.9.tgz");
    assert_eq!(missing.status, 404);
    assert!(missing.body_json()["error"].is_string());
    assert_eq!(get("charts/other-0.1.0.tgz").status, 404);
    assert_eq!(get("charts/hello-0.2.0.tgz.prov").status, 404);
}

#[test]
fn a_stale_index_is_still_served() {
    upstream_with(b"");
    assert_eq!(get("index.yaml").status, 200);
    mock::take_upstream_down();
    let stale = get("index.yaml");
    assert_eq!(stale.status, 200);
    assert!(text(&stale).contains("charts/hello-0.1.0.tgz"));
}
