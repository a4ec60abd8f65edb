//! Maven's deploy and resolve requests, replayed against the mock host.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use wharf_sdk::Response;
use wharf_sdk::mock::{self, TestRequest};
use wharf_sdk::types::{Action, Method, Route, VersionRow};

use crate::Maven;
use crate::layout::{self, Algo, Build, Target};
use crate::metadata;

const DIR: &str = "com/example/demo";
const PACKAGE: &str = "com.example:demo";

fn send(req: TestRequest) -> (Route, Response) {
    req.send::<Maven>().expect("the request classifies")
}

fn get(path: &str) -> Response {
    send(TestRequest::new(Method::Get, path)).1
}

fn put(path: &str, body: &[u8]) -> Response {
    send(TestRequest::new(Method::Put, path).body(body.to_vec())).1
}

fn text(r: &Response) -> String {
    String::from_utf8(r.body_bytes().to_vec()).unwrap()
}

use wharf_sdk::hex;

/// The bytes a blob response streams.
fn served(r: &Response) -> Vec<u8> {
    match &r.body {
        wharf_sdk::types::ResponseBody::Blob(b) => mock::with(|h| h.blob(b).unwrap().to_vec()),
        other => panic!("not a blob: {other:?}"),
    }
}

fn start() {
    mock::reset();
    mock::login_as(Some("alice"));
}

#[test]
fn layout_paths() {
    let p = layout::parse("com/example/demo/1.0/demo-1.0-sources.jar.sha1").unwrap();
    assert_eq!(p.package(), "com.example:demo");
    assert_eq!(p.checksum, Some(Algo::Sha1));
    let Target::File(f) = &p.target else { panic!() };
    assert_eq!(
        (f.classifier.as_deref(), f.extension.as_str()),
        (Some("sources"), "jar")
    );
    assert_eq!(p.target_path(), "com/example/demo/1.0/demo-1.0-sources.jar");

    let p = layout::parse("org/a/demo/1.0-SNAPSHOT/demo-1.0-20240101.120000-12.tar.gz").unwrap();
    let Target::File(f) = &p.target else { panic!() };
    let build = Build {
        timestamp: "20240101.120000".into(),
        number: 12,
    };
    assert_eq!(f.build, Some(build));
    assert_eq!(f.extension, "tar.gz");

    let p = layout::parse("org/a/demo/1.0-SNAPSHOT/demo-1.0-SNAPSHOT.pom").unwrap();
    let Target::File(f) = &p.target else { panic!() };
    assert_eq!((f.build.as_ref(), f.extension.as_str()), (None, "pom"));

    let p = layout::parse("org/a/demo/maven-metadata.xml.md5").unwrap();
    assert_eq!(
        (p.target, p.checksum),
        (Target::Metadata(None), Some(Algo::Md5))
    );
    let p = layout::parse("org/a/demo/2.0-SNAPSHOT/maven-metadata.xml").unwrap();
    assert_eq!(p.target, Target::Metadata(Some("2.0-SNAPSHOT".into())));
    assert_eq!(p.package(), "org.a:demo");

    for bad in [
        "demo/1.0/demo-1.0.jar",                   // no group
        "org/demo/1.0/other-1.0.jar",              // another artifact
        "org/demo/1.0/demo-1.1.jar",               // another version
        "org/demo/1.0/demo-1.0",                   // no extension
        "org/demo/1.0-SNAPSHOT/demo-1.0-2024.jar", // not a build
        "org/demo/../1.0/demo-1.0.jar",
        "maven-metadata.xml",
    ] {
        assert!(layout::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn routes_need_the_package() {
    let (route, _) = send(TestRequest::new(
        Method::Put,
        &format!("{DIR}/1.0/demo-1.0.jar"),
    ));
    assert_eq!(route.access[0].action, Action::Write);
    assert_eq!(route.access[0].package.as_deref(), Some("com.example:demo"));
    let (route, _) = send(TestRequest::new(
        Method::Head,
        &format!("{DIR}/maven-metadata.xml"),
    ));
    assert_eq!(route.access[0].action, Action::Read);
    assert_eq!(route.access[0].package.as_deref(), Some("com.example:demo"));
    let (route, response) = send(TestRequest::new(Method::Get, "index.html"));
    assert_eq!(route.access[0].package, None);
    assert_eq!(response.status, 404);
    assert_eq!(
        response.header_value("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

#[test]
fn deploy_serves_bytes_and_every_checksum() {
    start();
    let jar = b"PK pretend jar".to_vec();
    let path = format!("{DIR}/1.0/demo-1.0.jar");
    assert_eq!(put(&path, &jar).status, 201);
    let r = get(&path);
    assert_eq!((r.status, served(&r)), (200, jar.clone()));
    assert_eq!(
        r.header_value("content-type"),
        Some("application/java-archive")
    );
    assert_eq!(text(&get(&format!("{path}.md5"))), hex(Md5::digest(&jar)));
    assert_eq!(text(&get(&format!("{path}.sha1"))), hex(Sha1::digest(&jar)));
    assert_eq!(
        text(&get(&format!("{path}.sha256"))),
        hex(Sha256::digest(&jar))
    );
    assert_eq!(
        text(&get(&format!("{path}.sha512"))),
        hex(Sha512::digest(&jar))
    );
    assert_eq!(get(&format!("{DIR}/1.0/demo-1.0.pom")).status, 404);
    assert_eq!(get(&format!("{DIR}/1.0/demo-1.0.pom.sha1")).status, 404);
}

#[test]
fn uploaded_checksums_are_verified_not_stored() {
    start();
    let jar = b"jar bytes";
    let path = format!("{DIR}/1.0/demo-1.0.jar");
    assert_eq!(
        put(&format!("{path}.sha1"), b"0000").status,
        400,
        "before the file"
    );
    put(&path, jar);
    let sha1 = hex(Sha1::digest(jar));
    assert_eq!(put(&format!("{path}.sha1"), sha1.as_bytes()).status, 201);
    let with_name = format!("{}  demo-1.0.jar\n", sha1.to_uppercase());
    assert_eq!(
        put(&format!("{path}.sha1"), with_name.as_bytes()).status,
        201
    );
    let wrong = put(&format!("{path}.md5"), b"d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(wrong.status, 400);
    assert!(
        text(&wrong).contains("md5 checksum mismatch"),
        "{}",
        text(&wrong)
    );
    assert_eq!(text(&get(&format!("{path}.md5"))), hex(Md5::digest(jar)));
    assert!(mock::with(|h| h
        .catalog
        .assets
        .keys()
        .all(|p| !p.ends_with(".sha1") && !p.ends_with(".md5"))));
}

#[test]
fn releases_are_immutable_unless_redeploy_is_allowed() {
    start();
    let path = format!("{DIR}/1.0/demo-1.0.jar");
    assert_eq!(put(&path, b"first").status, 201);
    let again = put(&path, b"second");
    assert_eq!(again.status, 409);
    assert!(text(&again).contains("already deployed"));
    assert_eq!(served(&get(&path)), b"first");

    // The same repository configured with `allow_redeploy`: one atomic
    // replacement of the asset, the version row untouched.
    let row = version_row("1.0");
    assert_eq!(put_redeployable(&path, b"second").status, 201);
    assert_eq!(served(&get(&path)), b"second");
    assert_eq!(version_row("1.0"), row);
    assert_eq!(assets_of("1.0"), vec![path.clone()]);
    let sha1 = text(&get(&format!("{path}.sha1")));
    assert_eq!(sha1, hex(Sha1::digest(b"second")));
}

/// A `PUT` to a repository whose settings allow release redeploys, with the
/// mock enforcing the route like the host.
fn put_redeployable(path: &str, body: &[u8]) -> Response {
    let router = <Maven as wharf_sdk::Format>::router();
    let mut repo = mock::repo();
    repo.settings_json = r#"{"allow_redeploy": true}"#.into();
    let head = TestRequest::new(Method::Put, path).head;
    let route = router.classify(&repo, &head).unwrap();
    let ctx = wharf_sdk::types::RequestContext {
        repo,
        head,
        route_id: route.id,
        caller: wharf_sdk::types::Caller {
            user: Some("alice".into()),
            roles: vec![],
        },
    };
    mock::with(|h| h.route = Some(route.access));
    let body = wharf_sdk::Body::from_bytes(body.to_vec());
    let response = router.handle(ctx, Some(body), <Maven as wharf_sdk::Format>::error);
    mock::with(|h| h.route = None);
    response
}

/// The catalog row of a directory version of com.example:demo, as text
/// (the WIT records have no `PartialEq`).
fn version_row(version: &str) -> String {
    mock::with(|h| format!("{:?}", h.catalog.version(PACKAGE, version)))
}

/// The asset paths of a directory version of com.example:demo.
fn assets_of(version: &str) -> Vec<String> {
    mock::with(|h| {
        h.catalog
            .assets
            .iter()
            .filter(|(_, (_, o))| o.package == PACKAGE && o.version.as_deref() == Some(version))
            .map(|(p, _)| p.clone())
            .collect()
    })
}

#[test]
fn snapshots_are_overwritable_and_metadata_follows_builds() {
    start();
    let dir = format!("{DIR}/1.0-SNAPSHOT");
    put(&format!("{dir}/demo-1.0-20240101.120000-1.jar"), b"build 1");
    put(
        &format!("{dir}/demo-1.0-20240101.120000-1.pom"),
        b"<project/>",
    );
    put(&format!("{dir}/demo-1.0-20240102.083000-2.jar"), b"build 2");
    put(
        &format!("{dir}/demo-1.0-20240102.083000-2-sources.jar"),
        b"sources 2",
    );
    // A non-unique snapshot file may be replaced.
    assert_eq!(
        put(&format!("{dir}/demo-1.0-SNAPSHOT.zip"), b"a").status,
        201
    );
    assert_eq!(
        put(&format!("{dir}/demo-1.0-SNAPSHOT.zip"), b"b").status,
        201
    );
    assert_eq!(served(&get(&format!("{dir}/demo-1.0-SNAPSHOT.zip"))), b"b");
    assert_eq!(assets_of("1.0-SNAPSHOT").len(), 5);

    let xml = text(&get(&format!("{dir}/maven-metadata.xml")));
    assert!(xml.contains("<version>1.0-SNAPSHOT</version>"), "{xml}");
    assert!(
        xml.contains("<snapshot>\n      <timestamp>20240102.083000</timestamp>\n      <buildNumber>2</buildNumber>\n    </snapshot>"),
        "{xml}"
    );
    let entry = |classifier: &str, ext: &str, value: &str, updated: &str| {
        format!(
            "      <snapshotVersion>\n{classifier}        <extension>{ext}</extension>\n        <value>{value}</value>\n        <updated>{updated}</updated>\n      </snapshotVersion>\n"
        )
    };
    assert!(
        xml.contains(&entry("", "jar", "1.0-20240102.083000-2", "20240102083000")),
        "{xml}"
    );
    assert!(
        xml.contains(&entry(
            "        <classifier>sources</classifier>\n",
            "jar",
            "1.0-20240102.083000-2",
            "20240102083000"
        )),
        "{xml}"
    );
    assert!(
        xml.contains(&entry("", "pom", "1.0-20240101.120000-1", "20240101120000")),
        "{xml}"
    );
    assert!(xml.contains("<value>1.0-SNAPSHOT</value>"), "{xml}");
    assert_eq!(xml.matches("<snapshotVersion>").count(), 4, "{xml}");

    let artifact = text(&get(&format!("{DIR}/maven-metadata.xml")));
    assert!(
        artifact.contains("<latest>1.0-SNAPSHOT</latest>"),
        "{artifact}"
    );
    assert!(!artifact.contains("<release>"), "{artifact}");
}

#[test]
fn artifact_metadata_lists_versions_with_latest_and_release() {
    start();
    put(&format!("{DIR}/1.0/demo-1.0.jar"), b"1.0");
    put(&format!("{DIR}/1.0/demo-1.0.pom"), b"pom");
    put(&format!("{DIR}/1.1/demo-1.1.jar"), b"1.1");
    put(
        &format!("{DIR}/2.0-SNAPSHOT/demo-2.0-20240101.120000-1.jar"),
        b"2.0",
    );
    let r = get(&format!("{DIR}/maven-metadata.xml"));
    assert_eq!(r.header_value("content-type"), Some("application/xml"));
    assert!(r.cache.is_some());
    let xml = text(&r);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata>\n  <groupId>com.example</groupId>\n  <artifactId>demo</artifactId>\n"), "{xml}");
    assert!(xml.contains("<latest>2.0-SNAPSHOT</latest>\n    <release>1.1</release>\n    <versions>\n      <version>1.0</version>\n      <version>1.1</version>\n      <version>2.0-SNAPSHOT</version>\n    </versions>\n    <lastUpdated>20231114221320</lastUpdated>"), "{xml}");
    // Checksums are over the exact bytes served.
    for (algo, want) in [
        ("md5", hex(Md5::digest(xml.as_bytes()))),
        ("sha1", hex(Sha1::digest(xml.as_bytes()))),
        ("sha256", hex(Sha256::digest(xml.as_bytes()))),
        ("sha512", hex(Sha512::digest(xml.as_bytes()))),
    ] {
        assert_eq!(
            text(&get(&format!("{DIR}/maven-metadata.xml.{algo}"))),
            want
        );
    }
    // A client's metadata upload is accepted and ignored.
    assert_eq!(
        put(
            &format!("{DIR}/maven-metadata.xml"),
            b"<metadata>junk</metadata>"
        )
        .status,
        201
    );
    assert_eq!(
        put(&format!("{DIR}/maven-metadata.xml.sha1"), b"0000").status,
        201
    );
    assert_eq!(text(&get(&format!("{DIR}/maven-metadata.xml"))), xml);
    assert_eq!(get("com/example/other/maven-metadata.xml").status, 404);
    assert_eq!(
        get(&format!("{DIR}/1.0-SNAPSHOT/maven-metadata.xml")).status,
        404
    );
}

#[test]
fn metadata_escapes_and_formats_time() {
    assert_eq!(metadata::timestamp(0), "19700101000000");
    assert_eq!(metadata::timestamp(1_704_110_400_000), "20240101120000");
    assert_eq!(metadata::timestamp(951_825_600_999), "20000229120000");
    let row = VersionRow {
        package: "g:a".into(),
        version: "1<&>'".into(),
        metadata_json: "{}".into(),
        yanked: false,
        deprecated: None,
        published_at: 0,
    };
    let xml = metadata::artifact("g", "a", &[row]).unwrap();
    assert!(
        xml.contains("<version>1&lt;&amp;&gt;&#39;</version>"),
        "{xml}"
    );
}

#[test]
fn files_are_assets_of_their_directory_version() {
    start();
    for (path, body) in [
        ("1.0/demo-1.0.jar", &b"jar"[..]),
        ("1.0/demo-1.0.pom", b"pom"),
        ("1.0/demo-1.0-sources.jar", b"sources"),
        ("2.0-SNAPSHOT/demo-2.0-20240101.120000-1.jar", b"build"),
    ] {
        assert_eq!(put(&format!("{DIR}/{path}"), body).status, 201, "{path}");
    }
    let versions: Vec<(String, String)> = mock::with(|h| {
        h.catalog.versions[PACKAGE]
            .iter()
            .map(|r| (r.version.clone(), r.metadata_json.clone()))
            .collect()
    });
    assert_eq!(
        versions,
        [
            ("1.0".into(), "{}".into()),
            ("2.0-SNAPSHOT".into(), "{}".into())
        ]
    );
    assert_eq!(
        assets_of("1.0"),
        [
            format!("{DIR}/1.0/demo-1.0-sources.jar"),
            format!("{DIR}/1.0/demo-1.0.jar"),
            format!("{DIR}/1.0/demo-1.0.pom"),
        ]
    );
    let meta = |path: &str| {
        mock::with(|h| {
            let (asset, _) = &h.catalog.assets[&format!("{DIR}/{path}")];
            let meta: serde_json::Value = serde_json::from_str(&asset.metadata_json).unwrap();
            (asset.content_type.clone(), meta)
        })
    };
    let (content_type, sources) = meta("1.0/demo-1.0-sources.jar");
    assert_eq!(content_type, "application/java-archive");
    assert_eq!(
        sources,
        serde_json::json!({
            "file": "demo-1.0-sources.jar",
            "classifier": "sources",
            "extension": "jar",
            "size": 7,
            "md5": hex(Md5::digest(b"sources")),
            "sha1": hex(Sha1::digest(b"sources")),
            "sha256": hex(Sha256::digest(b"sources")),
            "sha512": hex(Sha512::digest(b"sources")),
        })
    );
    let (_, build) = meta("2.0-SNAPSHOT/demo-2.0-20240101.120000-1.jar");
    assert_eq!(build["timestamp"], "20240101.120000");
    assert_eq!(build["buildNumber"], 1);
    assert!(build.get("classifier").is_none(), "{build}");
    // Nothing beside versions and assets.
    assert!(mock::with(
        |h| h.catalog.kv.is_empty() && h.catalog.tags.is_empty()
    ));
    // Another spelling of the same group names the same file.
    let r = get("com.example/demo/1.0/demo-1.0.jar");
    assert_eq!((r.status, served(&r)), (200, b"jar".to_vec()));
}

#[test]
fn a_store_outage_is_503_not_absent() {
    start();
    let path = format!("{DIR}/1.0/demo-1.0.jar");
    put(&path, b"jar");
    let snapshot = format!("{DIR}/2.0-SNAPSHOT/demo-2.0-SNAPSHOT.jar");
    put(&snapshot, b"snapshot");
    // As text: the WIT records have no `PartialEq`.
    let catalog = || mock::with(|h| format!("{:?}", (&h.catalog.versions, &h.catalog.assets)));
    let before = catalog();

    mock::with(|h| h.store_down = true);
    for read in [
        path.clone(),
        format!("{path}.sha1"),
        format!("{DIR}/maven-metadata.xml"),
        format!("{DIR}/maven-metadata.xml.md5"),
        format!("{DIR}/2.0-SNAPSHOT/maven-metadata.xml"),
    ] {
        let r = get(&read);
        assert_eq!(r.status, 503, "{read}");
        assert_eq!(
            r.header_value("content-type"),
            Some("text/plain; charset=utf-8"),
            "{read}"
        );
        assert!(r.cache.is_none(), "{read}");
    }
    for (write, body) in [
        (format!("{DIR}/1.1/demo-1.1.jar"), &b"new"[..]),
        (snapshot.clone(), b"replaced"),
        (format!("{path}.sha1"), b"0000"),
    ] {
        assert_eq!(put(&write, body).status, 503, "{write}");
    }
    mock::with(|h| h.store_down = false);

    assert_eq!(catalog(), before);
    assert_eq!(served(&get(&snapshot)), b"snapshot");
}

#[test]
fn errors_are_plain_text_with_default_messages() {
    use wharf_sdk::Format;
    let r = Maven::error(401, "");
    assert_eq!(text(&r), "authentication required\n");
    assert_eq!(
        r.header_value("www-authenticate"),
        Some("Basic realm=\"wharf\"")
    );
    assert_eq!(text(&Maven::error(503, "")), "temporarily unavailable\n");
    assert_eq!(text(&Maven::error(409, "taken")), "taken\n");
}
