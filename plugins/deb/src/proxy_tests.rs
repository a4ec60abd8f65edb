//! A proxy repository against the mock host's upstream: `dists/` files are
//! the upstream's bytes, and a `.deb` is pulled once, checked against the
//! SHA-256 of its stanza in the upstream's `Packages`, and kept.

use sha2::{Digest, Sha256};
use std::io::BufReader;
use wharf_sdk::mock::{self, TestRequest};
use wharf_sdk::types::{Method, ResponseBody};
use wharf_sdk::{Response, hex};

use crate::Deb;
use crate::index::Compression;
use crate::upload::Stored;
use crate::upstream_index::{Release, scan};

const DEB: &[u8] = b"!<arch>\npretend hello 2.10-3 for amd64";
const POOL: &str = "pool/main/h/hello/hello_2.10-3_amd64.deb";

fn stanza(sha256: &str) -> String {
    format!(
        "Package: hello\nSource: hello (2.10-3)\nVersion: 2.10-3\nArchitecture: amd64\n\
         Maintainer: Someone <someone@example.org>\nDescription: says hello\n of two lines\n\
         Filename: {POOL}\nSize: {}\nMD5sum: 0123456789abcdef0123456789abcdef\nSHA256: {sha256}\n",
        DEB.len()
    )
}

/// The upstream's `stable`: a Release with by-hash, whose main/amd64
/// `Packages.xz` lists hello with `promised`'s SHA-256, and the pool file.
fn upstream_with(promised: &[u8]) {
    mock::reset();
    let other = "Package: other\nVersion: 1\nArchitecture: amd64\nFilename: pool/main/o/other/other_1_amd64.deb\nSHA256: 00\n";
    let text = format!("{other}\n{}", stanza(&hex(Sha256::digest(promised))));
    let xz = Compression::Xz.apply(&text);
    let release = format!(
        "Origin: Test\nSuite: stable\nComponents: main contrib\nArchitectures: amd64 arm64\n\
         Acquire-By-Hash: yes\nSHA256:\n {} {} main/binary-amd64/Packages.xz\n",
        hex(Sha256::digest(&xz)),
        xz.len()
    );
    mock::serve_upstream("dists/stable/Release", 200, release.clone());
    mock::serve_upstream("dists/stable/InRelease", 200, format!("signed {release}"));
    mock::serve_upstream(
        &format!(
            "dists/stable/main/binary-amd64/by-hash/SHA256/{}",
            hex(Sha256::digest(&xz))
        ),
        200,
        xz,
    );
    mock::serve_upstream(POOL, 200, DEB);
}

fn get(path: &str) -> Response {
    TestRequest::new(Method::Get, path).send::<Deb>().unwrap().1
}

fn text(r: &Response) -> String {
    String::from_utf8_lossy(r.body_bytes()).into_owned()
}

fn asked() -> usize {
    mock::with(|h| h.upstream.as_ref().map_or(0, |u| u.asked.len()))
}

#[test]
fn dists_files_are_the_upstreams_bytes() {
    upstream_with(DEB);
    let signed = get("/dists/stable/InRelease");
    assert_eq!(signed.status, 200);
    assert!(text(&signed).starts_with("signed Origin: Test\n"));
    assert_eq!(
        signed.header_value("content-type"),
        Some("text/plain; charset=utf-8")
    );
    // Any file under dists/, not only those a hosted repository renders.
    mock::serve_upstream("dists/stable/main/i18n/Translation-en.xz", 200, "t");
    let translation = get("/dists/stable/main/i18n/Translation-en.xz");
    assert_eq!(translation.status, 200);
    assert_eq!(
        translation.header_value("content-type"),
        Some("application/x-xz")
    );
    let missing = get("/dists/stable/Release.gpg");
    assert_eq!(missing.status, 404);
    assert!(text(&missing).ends_with('\n'), "plain text: {missing:?}");
    assert_eq!(get("/dists/stable/%2e%2e/x").status, 404);
    // The proxy has no key of its own to offer.
    assert_eq!(get("/key.asc").status, 404);
}

#[test]
fn a_deb_is_pulled_once_checked_and_recorded_like_an_upload() {
    upstream_with(DEB);
    let first = get(&format!("/{POOL}"));
    assert_eq!(first.status, 200, "{}", text(&first));
    assert_eq!(first.body_bytes(), DEB);
    let version = mock::with(|h| h.catalog.version("hello", "2.10-3").cloned());
    assert!(version.is_some(), "recorded");
    let asset = wharf_sdk::catalog::find_asset(POOL)
        .unwrap()
        .expect("asset");
    let stored: Stored = serde_json::from_str(&asset.metadata_json).unwrap();
    assert_eq!(
        (stored.dist.as_str(), stored.component.as_str()),
        ("stable", "main")
    );
    assert_eq!(stored.sha256, hex(Sha256::digest(DEB)));
    assert!(stored.stanza.starts_with("Package: hello\n"));
    assert!(!stored.stanza.contains("Filename"), "{}", stored.stanza);

    let before = asked();
    mock::take_upstream_down();
    let second = get(&format!("/{POOL}"));
    assert!(matches!(second.body, ResponseBody::Blob(_)), "{second:?}");
    assert_eq!(asked(), before, "the upstream is not asked again");
}

#[test]
fn a_deb_that_breaks_the_promise_is_not_kept() {
    upstream_with(b"other bytes");
    let refused = get(&format!("/{POOL}"));
    assert_eq!(refused.status, 502);
    assert!(mock::with(|h| h
        .catalog
        .version("hello", "2.10-3")
        .is_none()));
}

#[test]
fn a_deb_in_no_index_is_refused_and_a_missing_suite_is_passed_over() {
    upstream_with(DEB);
    mock::serve_upstream("pool/main/h/hello/hello_9_amd64.deb", 200, DEB);
    let unlisted = get("/pool/main/h/hello/hello_9_amd64.deb");
    assert_eq!(unlisted.status, 502, "{}", text(&unlisted));
    assert!(text(&unlisted).contains("stable"));

    // Suites from the settings, searched in order; one the upstream lacks
    // is skipped.
    mock::with(|h| h.settings_json = r#"{"distributions":["gone","stable"]}"#.into());
    assert_eq!(get(&format!("/{POOL}")).status, 200);
}

#[test]
fn an_index_that_is_not_the_releases_is_not_trusted() {
    upstream_with(DEB);
    // No by-hash: the index is read by name, and its bytes are not the
    // ones this Release lists.
    let xz = Compression::Xz.apply(&stanza(&hex(Sha256::digest(DEB))));
    mock::serve_upstream("dists/stable/main/binary-amd64/Packages.xz", 200, xz);
    let release = format!(
        "Components: main\nArchitectures: amd64\nSHA256:\n {} 1 main/binary-amd64/Packages.xz\n",
        "f".repeat(64)
    );
    mock::serve_upstream("dists/stable/Release", 200, release);
    assert_eq!(get(&format!("/{POOL}")).status, 502);
    let read = mock::with(|h| h.upstream.as_ref().unwrap().asked.clone());
    assert!(
        read.iter().any(|u| u.ends_with("binary-amd64/Packages.xz")),
        "{read:?}"
    );
}

#[test]
fn stale_dists_files_still_answer() {
    upstream_with(DEB);
    assert_eq!(get("/dists/stable/InRelease").status, 200);
    mock::take_upstream_down();
    let stale = get("/dists/stable/InRelease");
    assert_eq!(stale.status, 200);
    assert_eq!(get("/dists/stable/Release.gpg").status, 502);
}

#[test]
fn release_and_scan_read_what_apt_reads() {
    let release = Release::parse(&format!(
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nComponents: main\n\
         Architectures: all amd64\nMD5Sum:\n 00 1 main/binary-amd64/Packages\n\
         SHA256:\n {} 10 main/binary-amd64/Packages\n ../../x 1 main/binary-amd64/Packages.xz\n\
         -----BEGIN PGP SIGNATURE-----\n",
        "AB".repeat(32)
    ));
    assert_eq!(release.components, ["main"]);
    assert_eq!(release.architectures, ["all", "amd64"]);
    assert_eq!(
        release.sha256,
        [("main/binary-amd64/Packages".to_string(), "ab".repeat(32))]
    );
    let text = format!("A: 1\nFilename: x\n\n{}", stanza("cd"));
    let found = scan(BufReader::new(text.as_bytes()), POOL).unwrap();
    assert_eq!(found.as_deref(), Some(stanza("cd").as_str()));
    assert_eq!(
        scan(BufReader::new(&b"Filename: y\n"[..]), POOL).unwrap(),
        None
    );
    let huge = format!("Filename: {POOL}\nX: {}\n", "x".repeat(2 << 20));
    assert!(scan(BufReader::new(huge.as_bytes()), POOL).is_err());
}

#[test]
fn an_all_package_of_a_two_level_component_is_found_in_a_gzip_index() {
    mock::reset();
    let path = "pool/updates/main/h/hello-doc/hello-doc_1_all.deb";
    let index = format!(
        "Package: hello-doc\nVersion: 1\nArchitecture: all\nFilename: {path}\nSize: {}\n\
         SHA256: {}\n",
        DEB.len(),
        hex(Sha256::digest(DEB))
    );
    let gz = Compression::Gzip.apply(&index);
    let release = format!(
        "Components: updates/main ../x\nArchitectures: amd64\nSHA256:\n {} {} updates/main/binary-amd64/Packages.gz\n",
        hex(Sha256::digest(&gz)),
        gz.len()
    );
    mock::serve_upstream("dists/stable/Release", 200, release);
    mock::serve_upstream(
        "dists/stable/updates/main/binary-amd64/Packages.gz",
        200,
        gz,
    );
    mock::serve_upstream(path, 200, DEB);
    let got = get(&format!("/{path}"));
    assert_eq!(got.status, 200, "{}", text(&got));
    let asset = wharf_sdk::catalog::find_asset(path)
        .unwrap()
        .expect("asset");
    let stored: Stored = serde_json::from_str(&asset.metadata_json).unwrap();
    assert_eq!(stored.component, "updates/main");
    let asked = mock::with(|h| h.upstream.as_ref().unwrap().asked.clone());
    assert!(!asked.iter().any(|u| u.contains("..")), "{asked:?}");
}
