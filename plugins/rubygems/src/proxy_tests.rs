//! A proxy repository against the mock host's upstream: the indexes are
//! the upstream's bytes, and a `.gem` is pulled once, checked against the
//! checksum of its `info` line, and kept.

use md5::{Digest, Md5};
use serde_json::Value;
use sha2::Sha256;
use wharf_sdk::mock;
use wharf_sdk::types::ResponseBody;

use crate::proxy::InfoLine;
use crate::tests::{body, get};

const GEM: &[u8] = b"pretend tar of hello-1.0.0.gem";
const JAVA_GEM: &[u8] = b"pretend tar of hello-1.0.0-java.gem";

fn info_of(promised: &[u8]) -> String {
    format!(
        "---\n0.9.0 |checksum:{}\n1.0.0 base:>= 1.0&< 2|checksum:{},ruby:>= 2.5\n1.0.0-java |checksum:{}\n",
        "0".repeat(64),
        hex::encode(Sha256::digest(promised)),
        hex::encode(Sha256::digest(JAVA_GEM)),
    )
}

fn upstream_with(promised: &[u8]) {
    mock::reset();
    mock::serve_upstream("info/hello", 200, info_of(promised));
    mock::serve_upstream(
        "versions",
        200,
        "created_at: 2026-12-06T00:00:00Z\n---\nhello 0.9.0,1.0.0,1.0.0-java abc\n",
    );
    mock::serve_upstream("names", 200, "---\nhello\n");
    mock::serve_upstream("specs.4.8.gz", 200, b"\x1f\x8bspecs".to_vec());
    mock::serve_upstream(
        "quick/Marshal.4.8/hello-1.0.0.gemspec.rz",
        200,
        b"x\x9cspec".to_vec(),
    );
    mock::serve_upstream("gems/hello-1.0.0.gem", 200, GEM);
    mock::serve_upstream("gems/hello-1.0.0-java.gem", 200, JAVA_GEM);
}

fn asked() -> usize {
    mock::with(|h| h.upstream.as_ref().map_or(0, |u| u.asked.len()))
}

#[test]
fn the_compact_index_is_the_upstreams_with_bundlers_validators() {
    upstream_with(GEM);
    let info = get("info/hello");
    assert_eq!(info.status, 200);
    assert_eq!(body(&info), info_of(GEM));
    let md5 = format!("\"{}\"", hex::encode(Md5::digest(info.body_bytes())));
    assert_eq!(info.header_value("etag"), Some(md5.as_str()));
    assert!(
        info.header_value("repr-digest")
            .unwrap()
            .starts_with("sha-256=:")
    );
    assert!(body(&get("versions")).contains("hello 0.9.0,1.0.0,1.0.0-java abc"));
    assert_eq!(body(&get("names")), "---\nhello\n");
    assert_eq!(get("specs.4.8.gz").body_bytes(), b"\x1f\x8bspecs");
    assert_eq!(
        get("quick/Marshal.4.8/hello-1.0.0.gemspec.rz").body_bytes(),
        b"x\x9cspec"
    );
}

#[test]
fn a_gem_is_pulled_once_then_served_from_the_store() {
    upstream_with(GEM);
    let first = get("gems/hello-1.0.0.gem");
    assert_eq!(first.status, 200);
    assert_eq!(first.body_bytes(), GEM);
    let row = mock::with(|h| h.catalog.version("hello", "1.0.0").cloned()).expect("recorded");
    let meta: Value = serde_json::from_str(&row.metadata_json).unwrap();
    assert_eq!(meta["sha256"], hex::encode(Sha256::digest(GEM)));
    assert_eq!(meta["spec"]["dependencies"][0]["name"], "base");
    assert_eq!(meta["spec"]["required_ruby_version"][0][1], "2.5");

    let before = asked();
    let second = get("gems/hello-1.0.0.gem");
    assert!(
        matches!(second.body, ResponseBody::Blob(_)),
        "{:?}",
        second.body
    );
    assert_eq!(asked(), before, "the upstream is not asked again");

    // A platform gem is its own version.
    assert_eq!(get("gems/hello-1.0.0-java.gem").body_bytes(), JAVA_GEM);
    let row = mock::with(|h| h.catalog.version("hello", "1.0.0-java").cloned()).expect("recorded");
    let meta: Value = serde_json::from_str(&row.metadata_json).unwrap();
    assert_eq!(meta["spec"]["platform"], "java");
    assert_eq!(meta["spec"]["version"], "1.0.0");
}

#[test]
fn a_gem_that_breaks_the_promise_is_not_kept() {
    upstream_with(b"other bytes");
    let refused = get("gems/hello-1.0.0.gem");
    assert_eq!(refused.status, 502);
    assert!(mock::with(|h| h
        .catalog
        .version("hello", "1.0.0")
        .is_none()));
}

#[test]
fn what_the_upstream_lacks_is_a_404_in_rubygems_words() {
    upstream_with(GEM);
    let missing = get("info/other");
    assert_eq!(missing.status, 404);
    assert!(body(&missing).contains("could not be found"));
    assert_eq!(get("gems/hello-9.9.9.gem").status, 404);
    assert_eq!(get("gems/other-1.0.0.gem").status, 404);
    assert_eq!(get("gems/..-1.0.0.gem").status, 404);
    assert_eq!(get("quick/Marshal.4.8/hello-1.0.0.gem").status, 404);
}

#[test]
fn info_lines_parse() {
    let line = InfoLine::parse(
        "1.2.0-x86_64-linux a:>= 1&< 2,b:~> 0.1|checksum:AB,ruby:>= 2.7,rubygems:> 1.3.1",
    )
    .unwrap();
    assert_eq!(line.full, "1.2.0-x86_64-linux");
    assert_eq!(line.dependencies.len(), 2);
    assert_eq!(
        line.dependencies[0].requirement,
        vec![(">=".into(), "1".into()), ("<".into(), "2".into())]
    );
    assert_eq!(line.checksum, "", "not a SHA-256");
    assert_eq!(line.ruby, vec![(">=".to_string(), "2.7".to_string())]);
    assert_eq!(line.rubygems, vec![(">".to_string(), "1.3.1".to_string())]);
    assert!(InfoLine::parse("---").is_none());
}
