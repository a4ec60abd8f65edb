//! A proxy repository against the mock host's upstream: index files are
//! the upstream's, config.json this repository's, and each `.crate` is
//! pulled once, checked against its `cksum`, and kept.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wharf_sdk::mock::{self, UPSTREAM_BASE};
use wharf_sdk::types::ResponseBody;

use crate::tests::get;

const CRATE: &[u8] = b"pretend gzip of demo-1.0.0";

/// The upstream: a template `dl` elsewhere on it, and the index of `demo`
/// whose 1.0.0 promises `promised`.
fn upstream_with(promised: &[u8]) -> String {
    mock::reset();
    mock::serve_upstream(
        "config.json",
        200,
        json!({ "dl": format!("{UPSTREAM_BASE}dl/{{lowerprefix}}/{{crate}}-{{version}}.crate"), "api": "http://upstream.test" })
            .to_string(),
    );
    let line = json!({
        "name": "Demo", "vers": "1.0.0", "deps": [], "features": {},
        "cksum": wharf_sdk::hex(Sha256::digest(promised)), "yanked": false, "v": 1,
    });
    let index = format!("{line}\n{{\"name\":\"Demo\",\"vers\":\"0.9.0\",\"cksum\":\"00\"}}\n");
    mock::serve_upstream("de/mo/demo", 200, index.clone());
    mock::serve_upstream("dl/de/mo/Demo-1.0.0.crate", 200, CRATE);
    index
}

fn asked() -> usize {
    mock::with(|h| h.upstream.as_ref().map_or(0, |u| u.asked.len()))
}

#[test]
fn config_is_this_repositorys_and_the_index_the_upstreams() {
    let index = upstream_with(CRATE);
    let config = get("config.json").body_json();
    assert_eq!(config["dl"], "http://registry.test/test/api/v1/crates");
    assert_eq!(config["api"], "http://registry.test/test");
    let served = get("de/mo/demo");
    assert_eq!(served.status, 200);
    assert_eq!(served.body_bytes(), index.as_bytes());
    let missing = get("ot/he/other");
    assert_eq!(missing.status, 404);
    assert!(missing.body_json()["errors"][0]["detail"].is_string());
    assert_eq!(get("De/mo/demo").status, 404, "not the index path");
}

#[test]
fn a_crate_is_pulled_once_checked_and_recorded_like_a_publish() {
    upstream_with(CRATE);
    let first = get("api/v1/crates/Demo/1.0.0/download");
    assert_eq!(first.status, 200);
    assert_eq!(first.body_bytes(), CRATE);
    let row = mock::with(|h| h.catalog.version("demo", "1.0.0").cloned()).expect("recorded");
    let meta: Value = serde_json::from_str(&row.metadata_json).unwrap();
    assert_eq!(
        meta["index"]["cksum"],
        wharf_sdk::hex(Sha256::digest(CRATE))
    );

    let before = asked();
    let second = get("api/v1/crates/demo/1.0.0/download");
    assert!(
        matches!(second.body, ResponseBody::Blob(_)),
        "from the store"
    );
    assert_eq!(asked(), before, "the upstream is not asked again");

    // The upstream gone, and nothing of it in the host's cache: the index
    // of what was pulled.
    mock::with(|h| h.upstream.as_mut().unwrap().answers.clear());
    mock::take_upstream_down();
    let index = get("de/mo/demo");
    assert_eq!(index.status, 200);
    assert!(index.cache.is_none(), "not kept past the upstream's return");
    assert!(
        index
            .headers
            .iter()
            .any(|(n, v)| n == "warning" && v.starts_with("110"))
    );
    let line: Value = serde_json::from_slice(index.body_bytes()).unwrap();
    assert_eq!(
        (line["vers"].as_str(), line["yanked"].as_bool()),
        (Some("1.0.0"), Some(false))
    );
    assert_eq!(get("ot/he/other").status, 502);
}

#[test]
fn a_crate_that_breaks_its_cksum_is_not_kept() {
    upstream_with(b"other bytes");
    let refused = get("api/v1/crates/demo/1.0.0/download");
    assert_eq!(refused.status, 502);
    let detail = refused.body_json()["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(detail.contains("not the promised one"), "{detail}");
    assert!(mock::with(|h| h.catalog.version("demo", "1.0.0").is_none()));
}

#[test]
fn what_the_upstream_lacks_or_misstates_is_refused() {
    upstream_with(CRATE);
    assert_eq!(get("api/v1/crates/demo/9.9.9/download").status, 404);
    assert_eq!(get("api/v1/crates/demo/..%2f..%2fx/download").status, 404);
    // A cksum that is not a sha256.
    assert_eq!(get("api/v1/crates/demo/0.9.0/download").status, 502);
}
