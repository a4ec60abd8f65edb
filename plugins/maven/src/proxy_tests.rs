//! A proxy repository against the mock host's upstream: metadata is the
//! upstream's, a file is pulled once, held to the upstream's sidecars,
//! recorded like a deployed file and then served from the store.

use sha1::Sha1;
use sha2::{Digest, Sha256};
use wharf_sdk::mock::{self, TestRequest};
use wharf_sdk::types::{Method, ResponseBody};
use wharf_sdk::{Response, hex};

use crate::Maven;
use crate::layout::Algo;
use crate::{sidecar, store};

const JAR: &str = "com/example/demo/1.0/demo-1.0.jar";
const BYTES: &[u8] = b"PK\x03\x04 pretend jar of demo 1.0";
const METADATA: &str = "com/example/demo/maven-metadata.xml";
const XML: &str = "<metadata><groupId>com.example</groupId><artifactId>demo</artifactId>\
<versioning><versions><version>1.0</version></versions></versioning></metadata>";

fn get(path: &str) -> Response {
    TestRequest::new(Method::Get, path)
        .send::<Maven>()
        .expect("the request classifies")
        .1
}

fn text(r: &Response) -> String {
    String::from_utf8(r.body_bytes().to_vec()).unwrap()
}

/// The upstream has demo 1.0's jar, with a `.sha1` (sha1sum style) and a
/// `.sha256` of `promised`.
fn upstream_with(promised: &[u8]) {
    mock::reset();
    mock::serve_upstream(METADATA, 200, XML);
    mock::serve_upstream(JAR, 200, BYTES);
    let sha1 = format!("{}  demo-1.0.jar\n", hex(Sha1::digest(promised)));
    mock::serve_upstream(&format!("{JAR}.sha1"), 200, sha1);
    mock::serve_upstream(&format!("{JAR}.sha256"), 200, hex(Sha256::digest(promised)));
}

fn asked() -> usize {
    mock::with(|h| h.upstream.as_ref().map_or(0, |u| u.asked.len()))
}

#[test]
fn metadata_is_the_upstreams_and_its_checksums_are_of_those_bytes() {
    upstream_with(BYTES);
    let served = get(METADATA);
    assert_eq!((served.status, text(&served)), (200, XML.to_string()));
    let sha1 = get(&format!("{METADATA}.sha1"));
    assert_eq!(text(&sha1), hex(Sha1::digest(XML.as_bytes())));
}

#[test]
fn a_file_is_pulled_once_checked_recorded_and_then_served_from_the_store() {
    upstream_with(BYTES);
    let first = get(JAR);
    assert_eq!((first.status, first.body_bytes()), (200, BYTES));
    assert_eq!(
        first.header_value("content-type"),
        Some("application/java-archive")
    );
    // Recorded the way a deploy stores it: a version with the file as asset.
    assert!(mock::with(|h| h
        .catalog
        .version("com.example:demo", "1.0")
        .is_some()));
    let stored = store::get(JAR)
        .unwrap()
        .expect("recorded")
        .completed()
        .unwrap();
    assert_eq!(stored.size, BYTES.len() as u64);
    assert_eq!(stored.sha1, hex(Sha1::digest(BYTES)));
    assert_eq!(stored.md5.len(), 32, "md5 from the stored blob");

    let before = asked();
    mock::take_upstream_down();
    let second = get(JAR);
    let ResponseBody::Blob(blake3) = &second.body else {
        panic!("served from the store: {:?}", second.body);
    };
    assert_eq!(mock::with(|h| h.blob(blake3).unwrap().to_vec()), BYTES);
    for algo in Algo::EVERY {
        let sidecar = get(&format!("{JAR}.{}", algo.name()));
        assert_eq!(sidecar.status, 200, "{algo:?}");
        assert_eq!(text(&sidecar), stored.digest(algo), "{algo:?}");
    }
    assert_eq!(asked(), before, "the upstream is not asked again");
}

#[test]
fn a_file_the_sidecars_do_not_vouch_for_is_not_kept() {
    upstream_with(b"other bytes");
    let refused = get(JAR);
    assert_eq!(refused.status, 502);
    assert!(
        text(&refused).contains("not the promised one"),
        "{}",
        text(&refused)
    );
    assert!(store::get(JAR).unwrap().is_none());
}

#[test]
fn what_the_upstream_lacks_is_a_404_and_an_unchecked_file_is_not_pulled() {
    upstream_with(BYTES);
    assert_eq!(get("com/example/demo/2.0/demo-2.0.jar").status, 404);
    assert_eq!(get("com/example/other/maven-metadata.xml").status, 404);
    // The jar is there, but no sidecar vouches for it.
    mock::serve_upstream(&format!("{JAR}.sha1"), 404, "");
    mock::serve_upstream(&format!("{JAR}.sha256"), 404, "");
    let unchecked = get(JAR);
    assert_eq!(unchecked.status, 404);
    assert!(text(&unchecked).contains("without a .sha1"));
    assert!(!mock::with(|h| h
        .upstream
        .as_ref()
        .unwrap()
        .asked
        .iter()
        .any(|u| u.ends_with(".jar"))));
}

#[test]
fn an_unreachable_upstream_with_nothing_kept_is_a_bad_gateway() {
    upstream_with(BYTES);
    mock::take_upstream_down();
    let failed = get(JAR);
    assert_eq!(failed.status, 502);
    assert!(text(&failed).contains("upstream"), "{}", text(&failed));
}

#[test]
fn group_level_metadata_passes_through_like_an_artifacts() {
    upstream_with(BYTES);
    let prefixes = "<metadata><plugins><plugin><prefix>demo</prefix></plugin></plugins></metadata>";
    mock::serve_upstream("com/example/plugins/maven-metadata.xml", 200, prefixes);
    assert_eq!(
        text(&get("com/example/plugins/maven-metadata.xml")),
        prefixes
    );
}

#[test]
fn stale_metadata_still_answers_with_the_upstream_down() {
    upstream_with(BYTES);
    assert_eq!(get(METADATA).status, 200);
    mock::take_upstream_down();
    assert_eq!(text(&get(METADATA)), XML);
}

#[test]
fn paths_outside_the_layout_never_reach_the_upstream() {
    upstream_with(BYTES);
    for path in [
        "com/example/../demo/1.0/demo-1.0.jar",
        "com/example/demo/1.0/..%2F..%2Fx.jar",
    ] {
        assert_eq!(get(path).status, 404, "{path}");
    }
    assert_eq!(asked(), 0);
}

#[test]
fn a_snapshot_file_redeployed_in_place_is_passed_through_not_kept() {
    upstream_with(BYTES);
    let path = "com/example/demo/1.0-SNAPSHOT/demo-1.0-SNAPSHOT.jar";
    mock::serve_upstream(path, 200, "build 1");
    assert_eq!(get(path).body_bytes(), b"build 1");
    assert!(store::get(path).unwrap().is_none());
    mock::serve_upstream(path, 200, "build 2");
    assert_eq!(get(path).body_bytes(), b"build 2");
}

#[test]
fn upstream_sidecars_are_read_in_the_shapes_repositories_write() {
    let sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    for body in [
        sha1.to_string(),
        format!("{sha1}\n"),
        format!("{}  demo-1.0.jar", sha1.to_ascii_uppercase()),
        format!("SHA1(demo-1.0.jar)= {sha1}"),
    ] {
        assert_eq!(
            sidecar::parse(body.as_bytes(), Algo::Sha1).as_deref(),
            Some(sha1),
            "{body}"
        );
    }
    for body in ["", "not a digest", &sha1[1..], "<html>404</html>"] {
        assert_eq!(sidecar::parse(body.as_bytes(), Algo::Sha1), None, "{body}");
    }
    assert_eq!(sidecar::parse(sha1.as_bytes(), Algo::Sha256), None);
}
