//! Native tests with the mock host (end to end with composer: tests/composer.rs).

use crate::Composer;
use crate::metadata::{expand, minify};
use crate::names::{newest_first, normalize, package};
use std::io::Write;
use wharf_sdk::mock::{self, TestRequest};
use wharf_sdk::types::{Action, Method};

/// A package zip: composer.json (under `top/` if given) and a class.
fn zip_with(top: Option<&str>, composer_json: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let prefix = top.map(|t| format!("{t}/")).unwrap_or_default();
    zip.start_file(format!("{prefix}composer.json"), opts)
        .unwrap();
    zip.write_all(composer_json.as_bytes()).unwrap();
    zip.start_file(format!("{prefix}src/Hello.php"), opts)
        .unwrap();
    zip.write_all(b"<?php namespace Acme; class Hello {}")
        .unwrap();
    zip.finish().unwrap().into_inner()
}

fn manifest(name: &str, require: &str) -> String {
    format!(
        r#"{{"name":"{name}","description":"demo","license":"MIT","type":"library",
            "require":{{{require}}},"autoload":{{"psr-4":{{"Acme\\":"src/"}}}}}}"#
    )
}

fn upload(version: &str, zip: Vec<u8>) -> (wharf_sdk::types::Route, wharf_sdk::Response) {
    TestRequest::new(
        Method::Put,
        &format!("/packages/upload/acme/hello/{version}"),
    )
    .body(zip)
    .send::<Composer>()
    .unwrap()
}

pub(crate) fn get(path: &str) -> wharf_sdk::Response {
    TestRequest::new(Method::Get, path)
        .send::<Composer>()
        .unwrap()
        .1
}

#[test]
fn normalizes_versions_as_composer_does() {
    for (given, want) in [
        ("1.2.3", "1.2.3.0"),
        ("v1.2.3", "1.2.3.0"),
        ("1.2", "1.2.0.0"),
        ("1.0.0-beta2", "1.0.0.0-beta2"),
        ("1.0.0-b2", "1.0.0.0-beta2"),
        ("1.0-RC1", "1.0.0.0-RC1"),
        ("1.0.0-alpha.3", "1.0.0.0-alpha3"),
        ("1.0.0-pl1", "1.0.0.0-patch1"),
        ("2.0.0-dev", "2.0.0.0-dev"),
        ("1.0.0-stable", "1.0.0.0"),
        ("1.0.0+build5", "1.0.0.0"),
        ("dev-main", "dev-main"),
        ("1.x-dev", "1.9999999.9999999.9999999-dev"),
        ("01.002.3", "1.2.3.0"),
    ] {
        assert_eq!(normalize(given).unwrap(), want, "{given}");
    }
    for bad in [
        "",
        "x",
        "1.2.3.4.5",
        "1.0-foo",
        "dev-",
        "1.0/../..",
        "1.0 0",
        "é",
    ] {
        assert_eq!(normalize(bad).unwrap_err().status, 400, "{bad}");
    }
}

#[test]
fn orders_newest_first() {
    let mut v = vec![
        "1.0.0.0-beta1",
        "1.0.0.0",
        "0.9.0.0",
        "1.0.0.0-RC1",
        "1.10.0.0",
        "1.2.0.0",
    ];
    v.sort_by(|a, b| newest_first(a, b));
    assert_eq!(
        v,
        [
            "1.10.0.0",
            "1.2.0.0",
            "1.0.0.0",
            "1.0.0.0-RC1",
            "1.0.0.0-beta1",
            "0.9.0.0"
        ]
    );
}

#[test]
fn validates_names() {
    assert_eq!(package("Acme", "Hello-World").unwrap(), "acme/hello-world");
    assert!(package("acme", "a--b").is_ok());
    for (v, p) in [
        ("acme", ""),
        ("-acme", "x"),
        ("acme", "x__y"),
        ("a/b", "c"),
        ("acme", "x y"),
    ] {
        assert!(package(v, p).is_err(), "{v}/{p}");
    }
}

#[test]
fn minify_round_trips_and_unsets() {
    let a = serde_json::json!({"name":"a/b","version":"2.0","require":{"php":">=8"},"bin":["x"]});
    let b = serde_json::json!({"name":"a/b","version":"1.0","require":{"php":">=7"}});
    let full = vec![
        a.as_object().unwrap().clone(),
        b.as_object().unwrap().clone(),
    ];
    let small = minify(full.clone());
    assert_eq!(small[1]["bin"], "__unset");
    assert!(!small[1].contains_key("name"));
    assert_eq!(expand(&small), full);
}

#[test]
fn upload_then_metadata_and_download() {
    mock::reset();
    mock::login_as(Some("alice"));
    let zip = zip_with(
        Some("acme-hello-abc123"),
        &manifest("acme/hello", r#""php":">=8.0""#),
    );
    let (route, response) = upload("v1.0.0", zip.clone());
    assert_eq!(route.access[0].action, Action::Write);
    assert_eq!(route.access[0].package.as_deref(), Some("acme/hello"));
    assert_eq!(response.status, 201, "{:?}", response.body_json());
    let (_, response) = upload("1.1.0-beta1", zip_with(None, &manifest("acme/hello", "")));
    assert_eq!(response.status, 201);
    let (_, response) = upload("dev-main", zip_with(None, &manifest("acme/hello", "")));
    assert_eq!(response.status, 201);

    let root = get("/packages.json").body_json();
    assert_eq!(
        root["metadata-url"],
        "http://registry.test/test/p2/%package%.json"
    );
    assert_eq!(
        root["available-packages"],
        serde_json::json!(["acme/hello"])
    );

    let p2 = get("/p2/acme/hello.json").body_json();
    assert_eq!(p2["minified"], "composer/2.0");
    let versions = p2["packages"]["acme/hello"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], "1.1.0-beta1");
    assert_eq!(versions[0]["version_normalized"], "1.1.0.0-beta1");
    assert_eq!(versions[0]["license"], serde_json::json!(["MIT"]));
    assert_eq!(versions[0]["autoload"]["psr-4"]["Acme\\"], "src/");
    assert_eq!(versions[1]["version"], "v1.0.0");
    assert_eq!(versions[1]["require"]["php"], ">=8.0");
    let dist = &versions[1]["dist"];
    assert_eq!(dist["type"], "zip");
    assert_eq!(
        dist["url"],
        "http://registry.test/test/dists/acme/hello/1.0.0.0.zip"
    );
    use sha1::Digest;
    assert_eq!(dist["shasum"], wharf_sdk::hex(sha1::Sha1::digest(&zip)));

    let dev = get("/p2/acme/hello~dev.json").body_json();
    let dev = dev["packages"]["acme/hello"].as_array().unwrap();
    assert_eq!(dev.len(), 1);
    assert_eq!(dev[0]["version"], "dev-main");

    let file = get("/dists/acme/hello/1.0.0.0.zip");
    assert_eq!(file.status, 200);
    assert_eq!(get("/dists/acme/hello/9.0.0.0.zip").status, 404);
    assert_eq!(get("/p2/acme/nothing.json").status, 404);
}

#[test]
fn refuses_bad_uploads_and_changes_nothing() {
    mock::reset();
    mock::login_as(Some("alice"));
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("1.0.0", zip_with(None, &manifest("acme/other", "")), 400),
        ("1.0.0", b"not a zip".to_vec(), 400),
        ("1.0.0", zip_with(None, "{not json"), 400),
        (
            "1.0.0",
            zip_with(None, r#"{"name":"acme/hello","require":"php"}"#),
            400,
        ),
        (
            "1.0.0",
            zip_with(None, r#"{"name":"acme/hello","version":"2.0.0"}"#),
            400,
        ),
        ("banana", zip_with(None, &manifest("acme/hello", "")), 400),
        ("1.0.0", Vec::new(), 400),
    ];
    for (version, body, status) in cases {
        let (_, response) = upload(version, body);
        assert_eq!(response.status, status);
        assert_eq!(response.body_json()["status"], "error");
        assert!(response.body_json()["message"].as_str().unwrap().len() > 5);
    }
    // Two top folders: composer.json in one of them is not the package's.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    zip.start_file("a/composer.json", opts).unwrap();
    zip.write_all(manifest("acme/hello", "").as_bytes())
        .unwrap();
    zip.start_file("b/x.php", opts).unwrap();
    let (_, response) = upload("1.0.0", zip.finish().unwrap().into_inner());
    assert_eq!(response.status, 400);
    assert!(mock::with(|h| h.catalog.versions.is_empty()));
}

#[test]
fn refuses_a_huge_composer_json() {
    mock::reset();
    mock::login_as(Some("alice"));
    let huge = format!(
        r#"{{"name":"acme/hello","description":"{}"}}"#,
        "a".repeat(2 << 20)
    );
    let (_, response) = upload("1.0.0", zip_with(None, &huge));
    assert_eq!(response.status, 413);
    assert!(mock::with(|h| h.catalog.versions.is_empty()));
}

#[test]
fn same_version_twice_is_a_conflict_and_delete_removes_it() {
    mock::reset();
    mock::login_as(Some("alice"));
    let zip = zip_with(None, &manifest("acme/hello", ""));
    assert_eq!(upload("1.0.0", zip.clone()).1.status, 201);
    assert_eq!(upload("v1.0", zip.clone()).1.status, 409);
    let (route, response) = TestRequest::new(Method::Delete, "/packages/acme/hello/1.0.0")
        .send::<Composer>()
        .unwrap();
    assert_eq!(route.access[0].action, Action::Delete);
    assert_eq!(response.status, 200);
    assert_eq!(get("/p2/acme/hello.json").status, 404);
    let (_, response) = TestRequest::new(Method::Delete, "/packages/acme/hello/1.0.0")
        .send::<Composer>()
        .unwrap();
    assert_eq!(response.status, 404);
}

#[test]
fn routes_name_the_lower_case_package() {
    mock::reset();
    let (route, _) = TestRequest::new(Method::Get, "/p2/Acme/Hello~dev.json")
        .send::<Composer>()
        .unwrap();
    assert_eq!(route.access[0].package.as_deref(), Some("acme/hello"));
    assert_eq!(route.access[0].action, Action::Read);
    let (route, _) = TestRequest::new(Method::Get, "/packages.json")
        .send::<Composer>()
        .unwrap();
    assert_eq!(route.access[0].package, None);
}

#[test]
fn a_store_outage_is_a_503() {
    mock::reset();
    mock::with(|h| h.store_down = true);
    let response = get("/p2/acme/hello.json");
    assert_eq!(response.status, 503);
    assert_eq!(response.body_json()["status"], "error");
}
