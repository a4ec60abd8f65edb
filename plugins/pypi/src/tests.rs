//! Native tests with the mock host. Most tests write the catalog with
//! `upload::store`, with the assets an upload builds; one sends the whole
//! multipart form twine sends (end to end with twine: tests/pypi.rs).

use crate::names::{Kind, check_filename, normalize, validate};
use crate::record::{self, Dist, ReleaseMeta};
use crate::simple::{Format, negotiate};
use crate::upload::{self, Form};
use crate::{Pypi, metadata};
use std::io::Write;
use wharf_sdk::mock::{self, TestRequest};
use wharf_sdk::types::{Action, Asset, DigestSet, Method, StoreError};
use wharf_sdk::{FormFile, Format as _, Meta, Response, blobs};

const PIP_ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";

/// A wheel holding a module and `dist-info/METADATA`.
fn wheel(metadata: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("demo_pkg/__init__.py", deflated).unwrap();
    zip.write_all(b"VALUE = 1\n").unwrap();
    zip.start_file("demo_pkg-1.0.dist-info/METADATA", deflated)
        .unwrap();
    zip.write_all(metadata.as_bytes()).unwrap();
    zip.start_file("demo_pkg-1.0.dist-info/WHEEL", deflated)
        .unwrap();
    zip.write_all(b"Wheel-Version: 1.0\n").unwrap();
    zip.finish().unwrap().into_inner()
}

/// Stores `filename` as an upload does; the summary is the release's only
/// if this is its first file.
fn try_seed(
    name: &str,
    version: &str,
    filename: &str,
    requires_python: Option<&str>,
    summary: &str,
) -> Result<(), StoreError> {
    let project = normalize(name);
    let want = DigestSet::SHA256 | DigestSet::MD5 | DigestSet::BLAKE2B256;
    let content = blobs::put_bytes(filename.as_bytes(), want).unwrap();
    let path = record::file_path(&project, filename);
    let mut core_metadata_sha256 = None;
    let mut metadata_asset = None;
    if filename.ends_with(".whl") {
        let meta = blobs::put_bytes(b"Metadata-Version: 2.1\n", DigestSet::SHA256).unwrap();
        core_metadata_sha256 = meta.digests.sha256.clone();
        metadata_asset = Some(Asset {
            path: record::metadata_path(&path),
            blake3: meta.digests.blake3,
            content_type: "text/plain".into(),
            metadata_json: String::new(),
            added_at: 0,
        });
    }
    let dist = Dist {
        filename: filename.into(),
        packagetype: "bdist_wheel".into(),
        python_version: "py3".into(),
        requires_python: requires_python.map(str::to_string),
        sha256: content.digests.sha256.unwrap(),
        md5: content.digests.md5.unwrap(),
        blake2_256: content.digests.blake2b256,
        size: content.size,
        core_metadata_sha256,
    };
    let file = Asset {
        path,
        blake3: content.digests.blake3,
        content_type: "application/zip".into(),
        metadata_json: serde_json::to_string(&dist).unwrap(),
        added_at: 0,
    };
    let release = ReleaseMeta {
        name: name.into(),
        requires_python: requires_python.map(str::to_string),
        info: serde_json::json!({ "summary": summary, "project_urls": ["Home, https://example.test"] })
            .as_object()
            .unwrap()
            .clone(),
    };
    let assets = std::iter::once(file).chain(metadata_asset).collect();
    upload::store(
        &project,
        version,
        serde_json::to_string(&release).unwrap(),
        assets,
    )
}

fn seed(name: &str, version: &str, filename: &str, requires_python: Option<&str>) {
    try_seed(name, version, filename, requires_python, "A demo").unwrap();
}

fn get(path: &str, accept: Option<&str>) -> Response {
    let mut req = TestRequest::new(Method::Get, path);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    req.send::<Pypi>().unwrap().1
}

fn text(r: &Response) -> String {
    String::from_utf8_lossy(r.body_bytes()).into_owned()
}

/// Alice's project, seeded as she uploaded it: she owns it.
fn demo() {
    mock::reset();
    mock::login_as(Some("alice"));
    seed(
        "Demo_Pkg",
        "1.0",
        "demo_pkg-1.0-py3-none-any.whl",
        Some(">=3.8"),
    );
    seed("Demo_Pkg", "1.0", "demo_pkg-1.0.tar.gz", Some(">=3.8"));
    seed(
        "Demo_Pkg",
        "2.0",
        "demo_pkg-2.0-py3-none-any.whl",
        Some("<4,>=3.99"),
    );
}

#[test]
fn names_are_normalized_and_validated() {
    assert_eq!(normalize("Foo.Bar__baz"), "foo-bar-baz");
    assert_eq!(normalize("A-._-b"), "a-b");
    assert_eq!(normalize("requests"), "requests");
    assert!(validate("Demo_Pkg.2").is_ok());
    for bad in ["", "-demo", "demo_", "dé", "a b", "a/b"] {
        assert!(validate(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn filenames_must_match_project_and_version() {
    let ok = |f: &str, v: &str| check_filename(f, "Demo.Pkg", v);
    assert_eq!(ok("demo_pkg-1.0-py3-none-any.whl", "1.0"), Ok(Kind::Wheel));
    assert_eq!(
        ok(
            "Demo_Pkg-1.0-1b-cp312-cp312-manylinux_2_17_x86_64.whl",
            "1.0"
        ),
        Ok(Kind::Wheel)
    );
    assert_eq!(ok("demo_pkg-1.0.tar.gz", "1.0"), Ok(Kind::Sdist));
    assert_eq!(ok("Demo.Pkg-1.0rc1.zip", "1.0rc1"), Ok(Kind::Sdist));
    for (file, version) in [
        ("other-1.0-py3-none-any.whl", "1.0"),
        ("demo_pkg-1.1-py3-none-any.whl", "1.0"),
        ("demo_pkg-1.0-py3-any.whl", "1.0"),
        ("demo_pkg-1.0-build-py3-none-any.whl", "1.0"),
        ("demo_pkg-1.0.tar.bz2", "1.0"),
        ("demo_pkg-2.0.tar.gz", "1.0"),
        ("../demo_pkg-1.0.tar.gz", "1.0"),
    ] {
        assert!(ok(file, version).is_err(), "{file} accepted for {version}");
    }
}

#[test]
fn accept_negotiation_follows_pep_691() {
    assert_eq!(negotiate(Some(PIP_ACCEPT)), Some(Format::Json));
    assert_eq!(negotiate(None), Some(Format::TextHtml));
    assert_eq!(negotiate(Some("*/*")), Some(Format::TextHtml));
    assert_eq!(negotiate(Some("text/html")), Some(Format::TextHtml));
    assert_eq!(
        negotiate(Some(
            "application/vnd.pypi.simple.v1+json;q=0.2, application/vnd.pypi.simple.v1+html"
        )),
        Some(Format::Html)
    );
    assert_eq!(negotiate(Some("application/json")), None);
    assert_eq!(get("simple/", Some("application/json")).status, 406);
}

#[test]
fn declared_digests_must_match_the_host_digests() {
    mock::reset();
    let want = DigestSet::SHA256 | DigestSet::MD5 | DigestSet::BLAKE2B256;
    let file = FormFile {
        name: "content".into(),
        filename: "demo_pkg-1.0.tar.gz".into(),
        content_type: None,
        blob: blobs::put_bytes(b"abc", want).unwrap(),
    };
    let blake2 = "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319";
    let form = |fields: &[(&str, &str)]| {
        Form(
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    };
    let (sha256, md5, blake2_256) =
        upload::check_digests(&form(&[("blake2_256_digest", blake2)]), &file).unwrap();
    assert_eq!(sha256, sha256_hex(b"abc"));
    assert_eq!(md5, "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(blake2_256, blake2);
    let wrong = upload::check_digests(&form(&[("blake2_256_digest", &sha256)]), &file);
    let wrong = wrong.unwrap_err();
    assert_eq!(wrong.status, 400);
    assert!(wrong.message.contains("blake2_256_digest"), "{wrong:?}");
    let upper = sha256.to_ascii_uppercase();
    assert!(upload::check_digests(&form(&[("sha256_digest", &upper)]), &file).is_ok());
    assert_eq!(
        upload::check_digests(&form(&[("md5_digest", "00")]), &file)
            .unwrap_err()
            .status,
        400
    );
    assert_eq!(
        upload::check_digests(&form(&[]), &file).unwrap_err().status,
        400
    );
    // A host that did not compute BLAKE2b-256 is a server error, not a mismatch.
    let mut no_blake2 = file.clone();
    no_blake2.blob.digests.blake2b256 = None;
    assert_eq!(
        upload::check_digests(&form(&[("sha256_digest", &sha256)]), &no_blake2)
            .unwrap_err()
            .status,
        500
    );
}

#[test]
fn core_metadata_is_read_from_the_wheel() {
    mock::reset();
    let meta = "Metadata-Version: 2.1\nName: demo_pkg\nVersion: 1.0\nRequires-Python: >=3.8\n";
    let blob = blobs::put_bytes(&wheel(meta), DigestSet::empty()).unwrap();
    let read = metadata::from_wheel(blobs::open(&blob.digests.blake3).unwrap()).unwrap();
    assert_eq!(read, meta.as_bytes());
    assert!(metadata::check(&read, "Demo.Pkg", "1.0").is_ok());
    assert_eq!(
        metadata::check(&read, "demo-pkg", "1.1")
            .unwrap_err()
            .status,
        400
    );
    assert_eq!(
        metadata::check(&read, "other", "1.0").unwrap_err().status,
        400
    );
    assert_eq!(
        metadata::check(b"\nName: demo_pkg\nVersion: 1.0\n", "demo_pkg", "1.0")
            .unwrap_err()
            .status,
        400
    );
    let not_a_wheel = blobs::put_bytes(b"not a zip", DigestSet::empty()).unwrap();
    let err = metadata::from_wheel(blobs::open(&not_a_wheel.digests.blake3).unwrap()).unwrap_err();
    assert_eq!(err.status, 400);
}

/// A wheel with a METADATA and more files, each of the given content.
fn wheel_with(metadata: &str, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("demo_pkg-1.0.dist-info/METADATA", deflated)
        .unwrap();
    zip.write_all(metadata.as_bytes()).unwrap();
    for (name, content) in files {
        zip.start_file(name.as_str(), deflated).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn read_metadata(wheel: Vec<u8>) -> Result<Vec<u8>, wharf_sdk::HttpError> {
    let blob = blobs::put_bytes(&wheel, DigestSet::empty()).unwrap();
    metadata::from_wheel(blobs::open(&blob.digests.blake3).unwrap())
}

#[test]
fn wheel_bombs_are_refused_with_413() {
    mock::reset();
    let meta = "Metadata-Version: 2.1\nName: demo_pkg\nVersion: 1.0\n";
    assert!(read_metadata(wheel_with(meta, &[])).is_ok());
    // 16 MiB of zeros deflate to ~16 KiB: refused from the directory alone.
    let zeros = vec![("demo_pkg/zeros".to_string(), vec![0; 16 << 20])];
    let refused = read_metadata(wheel_with(meta, &zeros)).unwrap_err();
    assert_eq!(refused.status, 413, "{}", refused.message);
    assert!(
        refused.message.contains("times its size"),
        "{}",
        refused.message
    );
    // 100,001 files.
    let flood: Vec<(String, Vec<u8>)> = (0..100_000)
        .map(|i| (format!("demo_pkg/f{i}.py"), Vec::new()))
        .collect();
    let refused = read_metadata(wheel_with(meta, &flood)).unwrap_err();
    assert_eq!(refused.status, 413, "{}", refused.message);
    assert!(
        refused.message.contains("100000 entries"),
        "{}",
        refused.message
    );
    // A METADATA past 8 MiB (hex, so that it does not look like a bomb).
    let long: String = (0..(1u32 << 20)).map(|i| format!("{i:08x}\n")).collect();
    let refused = read_metadata(wheel_with(&format!("{meta}\n{long}"), &[])).unwrap_err();
    assert_eq!(refused.status, 413, "{}", refused.message);
    assert!(
        refused.message.contains("larger than 8388608 bytes"),
        "{}",
        refused.message
    );
}

#[test]
fn project_page_as_json() {
    demo();
    let r = get("simple/demo-pkg/", Some(PIP_ACCEPT));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header_value("content-type"),
        Some("application/vnd.pypi.simple.v1+json")
    );
    let cache = r.cache.as_ref().unwrap();
    assert_eq!(
        (cache.tags.clone(), cache.vary.clone()),
        (vec!["demo-pkg".to_string()], vec!["accept".to_string()])
    );
    let doc = r.body_json();
    assert_eq!(doc["meta"]["api-version"], "1.1");
    assert_eq!(doc["name"], "demo-pkg");
    assert_eq!(doc["versions"], serde_json::json!(["1.0", "2.0"]));
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    let wheel = &files[0];
    let wheel_bytes = b"demo_pkg-1.0-py3-none-any.whl";
    assert_eq!(wheel["filename"], "demo_pkg-1.0-py3-none-any.whl");
    assert_eq!(
        wheel["url"],
        "http://registry.test/test/files/demo-pkg/demo_pkg-1.0-py3-none-any.whl"
    );
    assert_eq!(wheel["hashes"]["sha256"], sha256_hex(wheel_bytes));
    assert_eq!(wheel["requires-python"], ">=3.8");
    assert_eq!(
        wheel["core-metadata"]["sha256"],
        sha256_hex(b"Metadata-Version: 2.1\n")
    );
    assert_eq!(wheel["dist-info-metadata"], wheel["core-metadata"]);
    assert_eq!(wheel["yanked"], false);
    assert_eq!(wheel["size"], wheel_bytes.len());
    assert!(
        wheel["upload-time"]
            .as_str()
            .unwrap()
            .starts_with("2023-11-14T22:13:20.")
    );
    assert_eq!(files[1]["core-metadata"], false);
}

#[test]
fn project_page_as_html_escapes_and_marks_yanks() {
    demo();
    mock::login_as(Some("alice"));
    let (route, r) = TestRequest::new(Method::Post, "pypi/Demo.Pkg/2.0/yank")
        .body("needs <python 4> & more")
        .send::<Pypi>()
        .unwrap();
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(route.access[0].action, Action::Write);
    assert_eq!(route.access[0].package.as_deref(), Some("demo-pkg"));

    let r = get("simple/demo-pkg/", None);
    assert_eq!(
        r.header_value("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = text(&r);
    assert!(html.contains("<meta name=\"pypi:repository-version\" content=\"1.1\">"));
    let sha = sha256_hex(b"demo_pkg-2.0-py3-none-any.whl");
    let meta = sha256_hex(b"Metadata-Version: 2.1\n");
    let expected = format!(
        "<a href=\"http://registry.test/test/files/demo-pkg/demo_pkg-2.0-py3-none-any.whl#sha256={sha}\" \
         data-requires-python=\"&lt;4,&gt;=3.99\" data-dist-info-metadata=\"sha256={meta}\" \
         data-core-metadata=\"sha256={meta}\" data-yanked=\"needs &lt;python 4&gt; &amp; more\">demo_pkg-2.0-py3-none-any.whl</a>"
    );
    assert!(html.contains(&expected), "{html}");
    assert!(html.contains("demo_pkg-1.0.tar.gz</a>"));
    assert_eq!(html.matches("data-yanked").count(), 1);

    let json = get("simple/demo-pkg/", Some(PIP_ACCEPT)).body_json();
    assert_eq!(json["files"][2]["yanked"], "needs <python 4> & more");
    TestRequest::new(Method::Post, "pypi/demo-pkg/2.0/unyank")
        .send::<Pypi>()
        .unwrap();
    assert!(!text(&get("simple/demo-pkg/", None)).contains("data-yanked"));
}

#[test]
fn other_spellings_redirect_to_the_normalized_url() {
    demo();
    for path in ["simple/Demo_Pkg/", "simple/demo-pkg"] {
        let r = get(path, None);
        assert_eq!(r.status, 301, "{path}");
        assert_eq!(
            r.header_value("location"),
            Some("http://registry.test/test/simple/demo-pkg/")
        );
    }
    assert_eq!(get("simple/nothing/", None).status, 404);
}

#[test]
fn index_lists_projects() {
    demo();
    seed("other", "0.1", "other-0.1.tar.gz", None);
    let html = text(&get("simple/", None));
    assert!(
        html.contains("<a href=\"demo-pkg/\">demo-pkg</a>"),
        "{html}"
    );
    assert!(html.contains("<a href=\"other/\">other</a>"));
    let json = get("simple/", Some(PIP_ACCEPT)).body_json();
    assert_eq!(
        json["projects"],
        serde_json::json!([{ "name": "demo-pkg" }, { "name": "other" }])
    );
}

#[test]
fn json_api_has_pypi_shape() {
    demo();
    seed("Demo_Pkg", "3.0b1", "demo_pkg-3.0b1-py3-none-any.whl", None);
    let doc = get("pypi/Demo_Pkg/json", None).body_json();
    // The newest final release, not the pre-release.
    assert_eq!(doc["info"]["version"], "2.0");
    assert_eq!(doc["info"]["name"], "Demo_Pkg");
    assert_eq!(doc["info"]["summary"], "A demo");
    assert_eq!(doc["info"]["project_urls"]["Home"], "https://example.test");
    assert_eq!(doc["info"]["requires_python"], "<4,>=3.99");
    let releases = doc["releases"].as_object().unwrap();
    assert_eq!(releases.keys().collect::<Vec<_>>(), ["1.0", "2.0", "3.0b1"]);
    assert_eq!(releases["1.0"].as_array().unwrap().len(), 2);
    assert_eq!(doc["urls"][0]["filename"], "demo_pkg-2.0-py3-none-any.whl");
    assert_eq!(
        doc["urls"][0]["digests"]["sha256"],
        sha256_hex(b"demo_pkg-2.0-py3-none-any.whl")
    );

    mock::login_as(Some("alice"));
    TestRequest::new(Method::Post, "pypi/demo-pkg/2.0/yank?reason=broken")
        .send::<Pypi>()
        .unwrap();
    let doc = get("pypi/demo-pkg/json", None).body_json();
    assert_eq!(doc["info"]["version"], "1.0");
    assert_eq!(doc["releases"]["2.0"][0]["yanked_reason"], "broken");
    let v = get("pypi/demo-pkg/2.0/json", None).body_json();
    assert_eq!(
        (
            v["info"]["yanked"].clone(),
            v["info"]["yanked_reason"].clone()
        ),
        (true.into(), "broken".into())
    );
    assert_eq!(get("pypi/nothing/json", None).status, 404);
}

#[test]
fn delete_removes_every_file_of_a_release() {
    demo();
    mock::login_as(Some("alice"));
    let (route, r) = TestRequest::new(Method::Delete, "pypi/demo-pkg/1.0")
        .send::<Pypi>()
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(route.access[0].action, Action::Delete);
    let doc = get("simple/demo-pkg/", Some(PIP_ACCEPT)).body_json();
    assert_eq!(doc["versions"], serde_json::json!(["2.0"]));
    assert_eq!(get("files/demo-pkg/demo_pkg-1.0.tar.gz", None).status, 404);
    assert_eq!(mock::with(|h| h.catalog.assets.len()), 2);
    assert_eq!(
        TestRequest::new(Method::Delete, "pypi/demo-pkg/1.0")
            .send::<Pypi>()
            .unwrap()
            .1
            .status,
        404
    );
}

#[test]
fn files_and_metadata_are_served_as_blobs() {
    demo();
    let r = get(
        "files/demo-pkg/demo_pkg-1.0-py3-none-any.whl.metadata",
        None,
    );
    let wharf_sdk::types::ResponseBody::Blob(blake3) = &r.body else {
        panic!("not a blob: {r:?}");
    };
    assert_eq!(
        mock::with(|h| h.blob(blake3).unwrap().to_vec()),
        b"Metadata-Version: 2.1\n"
    );
    assert_eq!(get("files/demo-pkg/missing.whl", None).status, 404);
}

/// A form as twine sends it, with the wheel as `content`.
fn twine_form(boundary: &str, fields: &[(&str, &str)], filename: &str, file: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        let head =
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n");
        body.extend_from_slice(head.as_bytes());
        body.extend_from_slice(value.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"{filename}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    body.extend_from_slice(head.as_bytes());
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

#[test]
fn a_twine_upload_is_listed_on_the_simple_page() {
    mock::reset();
    mock::login_as(Some("alice"));
    let wheel = wheel("Metadata-Version: 2.1\nName: demo_pkg\nVersion: 1.0\n");
    let sha256 = wharf_sdk::hex(<sha2::Sha256 as sha2::Digest>::digest(&wheel));
    let fields = [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("name", "demo_pkg"),
        ("version", "1.0"),
        ("filetype", "bdist_wheel"),
        ("pyversion", "py3"),
        ("metadata_version", "2.1"),
        ("sha256_digest", sha256.as_str()),
    ];
    let filename = "demo_pkg-1.0-py3-none-any.whl";
    let body = twine_form("b0undary", &fields, filename, &wheel);
    let (_, r) = TestRequest::new(Method::Post, "legacy/")
        .header("content-type", "multipart/form-data; boundary=b0undary")
        .body(body)
        .send::<Pypi>()
        .unwrap();
    assert_eq!(r.status, 200, "{}", text(&r));
    let page = text(&get("simple/demo-pkg/", None));
    assert!(
        page.contains(&format!("{filename}#sha256={sha256}")),
        "{page}"
    );

    let (_, r) = TestRequest::new(Method::Post, "legacy/")
        .header("content-type", "multipart/form-data; boundary=b0undary")
        .body(b"--b0undary\r\nno headers end".to_vec())
        .send::<Pypi>()
        .unwrap();
    assert_eq!(r.status, 400, "{}", text(&r));
}

#[test]
fn uploads_need_repository_write() {
    let (route, _) = TestRequest::new(Method::Post, "").send::<Pypi>().unwrap();
    assert_eq!(route.id, "upload");
    assert_eq!(route.access[0].action, Action::Write);
    assert_eq!(route.access[0].package, None);
    let (route, r) = TestRequest::new(Method::Post, "legacy/")
        .send::<Pypi>()
        .unwrap();
    assert_eq!(route.id, "upload");
    assert_eq!(
        r.header_value("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

#[test]
fn upload_time_is_iso_8601() {
    assert_eq!(record::iso8601(0), "1970-01-01T00:00:00.000000Z");
    assert_eq!(
        record::iso8601(1_709_251_199_123),
        "2024-02-29T23:59:59.123000Z"
    );
}

#[test]
fn a_release_is_a_version_and_its_files_are_assets() {
    demo();
    // A later file does not rewrite the release's metadata.
    try_seed("Demo_Pkg", "2.0", "demo_pkg-2.0.tar.gz", None, "Changed").unwrap();
    mock::with(|h| {
        let rows = &h.catalog.versions["demo-pkg"];
        let versions: Vec<&str> = rows.iter().map(|r| r.version.as_str()).collect();
        assert_eq!(versions, ["1.0", "2.0"]);
        let meta: ReleaseMeta = rows[1].meta().unwrap();
        assert_eq!(meta.name, "Demo_Pkg");
        assert_eq!(meta.requires_python.as_deref(), Some("<4,>=3.99"));
        assert_eq!(meta.info["summary"], "A demo");

        let owners: Vec<(&str, Option<&str>)> = h
            .catalog
            .assets
            .iter()
            .map(|(path, (_, owner))| (path.as_str(), owner.version.as_deref()))
            .collect();
        assert_eq!(
            owners,
            [
                ("files/demo-pkg/demo_pkg-1.0-py3-none-any.whl", Some("1.0")),
                (
                    "files/demo-pkg/demo_pkg-1.0-py3-none-any.whl.metadata",
                    Some("1.0")
                ),
                ("files/demo-pkg/demo_pkg-1.0.tar.gz", Some("1.0")),
                ("files/demo-pkg/demo_pkg-2.0-py3-none-any.whl", Some("2.0")),
                (
                    "files/demo-pkg/demo_pkg-2.0-py3-none-any.whl.metadata",
                    Some("2.0")
                ),
                ("files/demo-pkg/demo_pkg-2.0.tar.gz", Some("2.0")),
            ]
        );
        let (sdist, _) = &h.catalog.assets["files/demo-pkg/demo_pkg-1.0.tar.gz"];
        let dist: Dist = sdist.meta().unwrap();
        assert_eq!(dist.filename, "demo_pkg-1.0.tar.gz");
        assert_eq!(dist.sha256, sha256_hex(b"demo_pkg-1.0.tar.gz"));
        assert_eq!(dist.size, 19);
        assert!(dist.blake2_256.is_some());
        let (metadata, _) =
            &h.catalog.assets["files/demo-pkg/demo_pkg-1.0-py3-none-any.whl.metadata"];
        assert_eq!(metadata.metadata_json, "");
        assert!(h.catalog.tags.is_empty() && h.catalog.kv.is_empty());
    });
    // The JSON API's info is the first upload's; each file keeps its own facts.
    let doc = get("pypi/demo-pkg/2.0/json", None).body_json();
    assert_eq!(doc["info"]["summary"], "A demo");
    let urls = doc["urls"].as_array().unwrap();
    assert_eq!(urls.len(), 2);
    assert_eq!(urls[1]["filename"], "demo_pkg-2.0.tar.gz");
    assert_eq!(urls[1]["requires_python"], serde_json::Value::Null);
}

#[test]
fn a_file_that_exists_is_refused_whichever_file_of_the_release_it_is() {
    demo();
    for file in ["demo_pkg-1.0-py3-none-any.whl", "demo_pkg-1.0.tar.gz"] {
        let result = try_seed("Demo_Pkg", "1.0", file, None, "again");
        assert!(
            matches!(result, Err(StoreError::AlreadyExists)),
            "{file}: {result:?}"
        );
    }
    assert_eq!(mock::with(|h| h.catalog.assets.len()), 5);
}

#[test]
fn yank_is_one_write_of_the_row_and_the_reason() {
    demo();
    mock::login_as(Some("alice"));
    let (_, r) = TestRequest::new(Method::Post, "pypi/demo-pkg/1.0/yank?reason=bad")
        .send::<Pypi>()
        .unwrap();
    assert_eq!(r.status, 200, "{}", text(&r));
    mock::with(|h| {
        let rows = &h.catalog.versions["demo-pkg"];
        assert_eq!(
            rows.iter().map(|r| r.yanked).collect::<Vec<_>>(),
            [true, false]
        );
        let key = (Some("demo-pkg".to_string()), "yank-reasons".to_string());
        assert_eq!(h.catalog.kv[&key], br#"{"1.0":"bad"}"#);
    });
    // A file added to a yanked release is yanked with it.
    seed("Demo_Pkg", "1.0", "demo_pkg-1.0.zip", None);
    let doc = get("pypi/demo-pkg/1.0/json", None).body_json();
    let yanked: Vec<&serde_json::Value> = doc["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["yanked_reason"])
        .collect();
    assert_eq!(yanked, ["bad", "bad", "bad"]);
    assert_eq!(
        TestRequest::new(Method::Post, "pypi/demo-pkg/9.9/yank")
            .send::<Pypi>()
            .unwrap()
            .1
            .status,
        404
    );
}

#[test]
fn delete_file_removes_one_file_and_the_release_with_its_last() {
    demo();
    mock::login_as(Some("alice"));
    let delete = |path: &str| {
        TestRequest::new(Method::Delete, path)
            .send::<Pypi>()
            .unwrap()
    };
    let (route, r) = delete("pypi/Demo.Pkg/1.0/demo_pkg-1.0-py3-none-any.whl");
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(route.id, "delete-file");
    assert_eq!(route.access[0].action, Action::Delete);
    assert_eq!(route.access[0].package.as_deref(), Some("demo-pkg"));
    for gone in [
        "files/demo-pkg/demo_pkg-1.0-py3-none-any.whl",
        "files/demo-pkg/demo_pkg-1.0-py3-none-any.whl.metadata",
    ] {
        assert_eq!(get(gone, None).status, 404, "{gone}");
    }
    let doc = get("simple/demo-pkg/", Some(PIP_ACCEPT)).body_json();
    assert_eq!(doc["versions"], serde_json::json!(["1.0", "2.0"]));
    assert_eq!(doc["files"].as_array().unwrap().len(), 2);

    // A file of another release, or one that is not there: 404.
    assert_eq!(
        delete("pypi/demo-pkg/2.0/demo_pkg-1.0.tar.gz").1.status,
        404
    );
    assert_eq!(
        delete("pypi/demo-pkg/1.0/demo_pkg-1.0-py3-none-any.whl")
            .1
            .status,
        404
    );

    let (_, r) = delete("pypi/demo-pkg/1.0/demo_pkg-1.0.tar.gz");
    assert_eq!(r.status, 200, "{}", text(&r));
    mock::with(|h| {
        let rows = &h.catalog.versions["demo-pkg"];
        assert_eq!(
            rows.iter().map(|r| r.version.as_str()).collect::<Vec<_>>(),
            ["2.0"]
        );
        assert_eq!(h.catalog.assets.len(), 2);
    });
}

/// The catalog as a test can compare it.
fn snapshot() -> String {
    mock::with(|h| {
        format!(
            "{:?}",
            (&h.catalog.versions, &h.catalog.assets, &h.catalog.kv)
        )
    })
}

#[test]
fn a_store_outage_is_503_never_absent() {
    demo();
    mock::login_as(Some("alice"));
    let before = snapshot();
    mock::with(|h| h.store_down = true);
    for path in [
        "simple/",
        "simple/demo-pkg/",
        "pypi/demo-pkg/json",
        "pypi/demo-pkg/1.0/json",
        "files/demo-pkg/demo_pkg-1.0.tar.gz",
    ] {
        let r = get(path, None);
        assert_eq!(r.status, 503, "{path}");
        assert_eq!(
            r.header_value("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert!(r.reason.is_some(), "{path}");
        assert_eq!(text(&r), format!("{}\n", r.reason.unwrap()));
    }
    for (method, path) in [
        (Method::Post, "pypi/demo-pkg/1.0/yank?reason=x"),
        (Method::Post, "pypi/demo-pkg/1.0/unyank"),
        (Method::Delete, "pypi/demo-pkg/1.0"),
        (Method::Delete, "pypi/demo-pkg/1.0/demo_pkg-1.0.tar.gz"),
    ] {
        let (_, r) = TestRequest::new(method, path).send::<Pypi>().unwrap();
        assert_eq!(r.status, 503, "{path}");
    }
    mock::with(|h| h.store_down = false);
    assert_eq!(snapshot(), before);
}

#[test]
fn errors_are_plain_text_with_the_reason_phrase() {
    let r = Pypi::error(401, "");
    assert_eq!(text(&r), "authentication required\n");
    assert_eq!(r.reason.as_deref(), Some("authentication required"));
    let r = Pypi::error(400, "File already exists: x.whl");
    assert_eq!(text(&r), "File already exists: x.whl\n");
    assert_eq!(r.reason.as_deref(), Some("File already exists: x.whl"));
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    wharf_sdk::hex(sha2::Sha256::digest(data))
}
