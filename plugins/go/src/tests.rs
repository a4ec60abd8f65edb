//! The go command's requests and hostile uploads, against the mock host.

use std::io::Write;

use wharf_sdk::Response;
use wharf_sdk::mock::{self, TestRequest};
use wharf_sdk::types::{Action, Method, ResponseBody, Route};

use crate::Go;
use crate::module::{self, Version};
use crate::rules::{self, Entry};

const MODULE: &str = "example.com/Hello/greet";
/// `MODULE` as the go command puts it in URLs.
const ESCAPED: &str = "example.com/!hello/greet";

fn send(req: TestRequest) -> (Route, Response) {
    req.send::<Go>().expect("the request classifies")
}

fn get(path: &str) -> Response {
    send(TestRequest::new(Method::Get, path)).1
}

fn text(response: &Response) -> String {
    String::from_utf8(response.body_bytes().to_vec()).unwrap()
}

fn blob_text(response: &Response) -> String {
    let ResponseBody::Blob(blake3) = &response.body else {
        panic!("not a blob: {:?}", response.body)
    };
    mock::with(|h| String::from_utf8(h.blob(blake3).unwrap().to_vec()).unwrap())
}

/// A zip of `files`, deflated.
fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// The zip `go mod download` makes of a module with one package.
fn module_zip(module: &str, version: &str) -> Vec<u8> {
    let root = format!("{module}@{version}");
    let go_mod = format!("module {module}\n\ngo 1.21\n");
    zip_of(&[
        (&format!("{root}/go.mod"), go_mod.as_bytes()),
        (
            &format!("{root}/greet.go"),
            b"package greet\n\nfunc Hello() string { return \"hi\" }\n",
        ),
    ])
}

fn put(escaped_module: &str, version: &str, body: Vec<u8>) -> Response {
    send(TestRequest::new(Method::Put, &format!("{escaped_module}/@v/{version}.zip")).body(body)).1
}

fn publish(version: &str) -> Response {
    put(ESCAPED, version, module_zip(MODULE, version))
}

fn setup() {
    mock::reset();
    mock::login_as(Some("alice"));
}

fn nothing_stored() {
    mock::with(|h| {
        assert!(h.catalog.versions.is_empty(), "{:?}", h.catalog.versions);
        assert!(h.catalog.assets.is_empty());
    });
}

#[test]
fn publish_then_serve_the_protocol() {
    setup();
    let r = publish("v1.0.0");
    assert_eq!(r.status, 201, "{}", text(&r));
    assert_eq!(publish("v1.1.0").status, 201);
    assert_eq!(publish("v1.2.0-rc.1").status, 201);
    let list = get(&format!("{ESCAPED}/@v/list"));
    assert_eq!(list.status, 200);
    assert_eq!(text(&list), "v1.0.0\nv1.1.0\nv1.2.0-rc.1\n");
    assert!(list.cache.is_some());

    let info = get(&format!("{ESCAPED}/@v/v1.0.0.info"));
    assert_eq!(info.status, 200);
    let json = info.body_json();
    assert_eq!(json["Version"], "v1.0.0");
    let time = json["Time"].as_str().unwrap();
    assert!(time.ends_with('Z') && time.len() == 20, "{time}");

    let go_mod = get(&format!("{ESCAPED}/@v/v1.0.0.mod"));
    assert_eq!(blob_text(&go_mod), format!("module {MODULE}\n\ngo 1.21\n"));
    let zip = get(&format!("{ESCAPED}/@v/v1.0.0.zip"));
    assert_eq!(zip.header_value("content-type"), Some("application/zip"));

    // @latest prefers a release over a newer pre-release.
    let latest = get(&format!("{ESCAPED}/@latest"));
    assert_eq!(latest.body_json()["Version"], "v1.1.0");
}

#[test]
fn routes_name_the_unescaped_module() {
    setup();
    let (route, _) = send(TestRequest::new(Method::Get, &format!("{ESCAPED}/@v/list")));
    assert_eq!(route.access[0].package.as_deref(), Some(MODULE));
    assert_eq!(route.access[0].action, Action::Read);
    let (route, _) = send(TestRequest::new(
        Method::Put,
        &format!("{ESCAPED}/@v/v1.0.0.zip"),
    ));
    assert_eq!(route.access[0].package.as_deref(), Some(MODULE));
    assert_eq!(route.access[0].action, Action::Write);
    let (route, _) = send(TestRequest::new(
        Method::Delete,
        &format!("{ESCAPED}/@v/v1.0.0"),
    ));
    assert_eq!(route.access[0].action, Action::Delete);
    // An unescaped upper-case path is no module: refused, and never the
    // spelling of another module's permissions.
    let r = get("example.com/Hello/greet/@v/list");
    assert_eq!(r.status, 404);
}

#[test]
fn not_found_is_a_plain_text_404() {
    setup();
    for path in [
        format!("{ESCAPED}/@v/list"),
        format!("{ESCAPED}/@latest"),
        format!("{ESCAPED}/@v/v1.0.0.info"),
        format!("{ESCAPED}/@v/master.info"),
        format!("{ESCAPED}/@v/v1.0.0.tar"),
        "nodot/@v/list".to_string(),
        "example.com/../x/@v/list".to_string(),
    ] {
        let r = get(&path);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(
            r.header_value("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert!(text(&r).starts_with("not found"), "{path}: {}", text(&r));
    }
}

#[test]
fn pseudo_versions_stay_out_of_the_list() {
    setup();
    let pseudo = "v0.0.0-20240101120000-abcdef123456";
    assert_eq!(publish(pseudo).status, 201);
    assert_eq!(text(&get(&format!("{ESCAPED}/@v/list"))), "");
    assert_eq!(
        get(&format!("{ESCAPED}/@latest")).body_json()["Version"],
        pseudo
    );
    assert_eq!(get(&format!("{ESCAPED}/@v/{pseudo}.info")).status, 200);
}

#[test]
fn versions_are_immutable() {
    setup();
    assert_eq!(publish("v1.0.0").status, 201);
    let again = publish("v1.0.0");
    assert_eq!(again.status, 409);
    assert!(text(&again).contains("immutable"));
}

#[test]
fn delete_and_yank() {
    setup();
    publish("v1.0.0");
    publish("v1.1.0");
    let yank = send(TestRequest::new(
        Method::Post,
        &format!("{ESCAPED}/@v/v1.1.0/yank"),
    ))
    .1;
    assert_eq!(yank.status, 200);
    assert_eq!(text(&get(&format!("{ESCAPED}/@v/list"))), "v1.0.0\n");
    assert_eq!(
        get(&format!("{ESCAPED}/@latest")).body_json()["Version"],
        "v1.0.0"
    );
    // Still downloadable by exact version.
    assert_eq!(get(&format!("{ESCAPED}/@v/v1.1.0.zip")).status, 200);
    send(TestRequest::new(
        Method::Post,
        &format!("{ESCAPED}/@v/v1.1.0/unyank"),
    ));
    assert_eq!(
        text(&get(&format!("{ESCAPED}/@v/list"))),
        "v1.0.0\nv1.1.0\n"
    );

    let delete = send(TestRequest::new(
        Method::Delete,
        &format!("{ESCAPED}/@v/v1.0.0"),
    ))
    .1;
    assert_eq!(delete.status, 200, "{}", text(&delete));
    assert_eq!(get(&format!("{ESCAPED}/@v/v1.0.0.zip")).status, 404);
    assert_eq!(text(&get(&format!("{ESCAPED}/@v/list"))), "v1.1.0\n");
    let again = send(TestRequest::new(
        Method::Delete,
        &format!("{ESCAPED}/@v/v1.0.0"),
    ))
    .1;
    assert_eq!(again.status, 404);
}

#[test]
fn hostile_uploads_are_refused_and_store_nothing() {
    let v = "v1.0.0";
    let root = format!("{MODULE}@{v}");
    let go_mod = format!("module {MODULE}\n");
    let file = |name: &str| format!("{root}/{name}");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "outside the prefix",
            zip_of(&[
                (&file("go.mod"), go_mod.as_bytes()),
                ("evil.go", b"package evil"),
            ]),
            "does not have prefix",
        ),
        (
            "other version prefix",
            zip_of(&[(&format!("{MODULE}@v1.0.1/go.mod"), go_mod.as_bytes())]),
            "does not have prefix",
        ),
        (
            "dot-dot",
            zip_of(&[
                (&file("go.mod"), go_mod.as_bytes()),
                (&file("../../x.go"), b"package x"),
            ]),
            "unsafe entry name",
        ),
        (
            "case-folded duplicate",
            zip_of(&[
                (&file("go.mod"), go_mod.as_bytes()),
                (&file("a.go"), b"package a"),
                (&file("A.go"), b"package a"),
            ]),
            "case-insensitive file name collision",
        ),
        (
            "file and directory",
            zip_of(&[
                (&file("go.mod"), go_mod.as_bytes()),
                (&file("x"), b"x"),
                (&file("X/y.go"), b"package y"),
            ]),
            "collision",
        ),
        (
            "wrong module in go.mod",
            zip_of(&[(&file("go.mod"), b"module example.com/other\n")]),
            "declares module \"example.com/other\"",
        ),
        (
            "no go.mod",
            zip_of(&[(&file("a.go"), b"package a")]),
            "must have a go.mod",
        ),
        (
            "nested go.mod",
            zip_of(&[
                (&file("go.mod"), go_mod.as_bytes()),
                (&file("sub/go.mod"), b"module example.com/sub\n"),
            ]),
            "not in module root",
        ),
        (
            "upper-case GO.MOD",
            zip_of(&[(&file("GO.MOD"), go_mod.as_bytes())]),
            "lowercase",
        ),
        (
            "vendored package",
            zip_of(&[
                (&file("go.mod"), go_mod.as_bytes()),
                (&file("vendor/example.org/x/x.go"), b"package x"),
            ]),
            "vendor directory",
        ),
        (
            "bad file name char",
            zip_of(&[
                (&file("go.mod"), go_mod.as_bytes()),
                (&file("a:b.go"), b"package a"),
            ]),
            "invalid char",
        ),
        (
            "windows name",
            zip_of(&[
                (&file("go.mod"), go_mod.as_bytes()),
                (&file("con.go"), b"package a"),
            ]),
            "Windows",
        ),
        (
            "not a zip",
            b"definitely not a zip file".to_vec(),
            "invalid module zip",
        ),
        (
            "go.mod without module",
            zip_of(&[(&file("go.mod"), b"go 1.21\n")]),
            "no module directive",
        ),
    ];
    for (what, body, expected) in cases {
        setup();
        let r = put(ESCAPED, v, body);
        assert_eq!(r.status / 100, 4, "{what}: {}", text(&r));
        assert!(
            text(&r).contains(expected),
            "{what}: expected {expected:?} in {:?}",
            text(&r)
        );
        nothing_stored();
    }
}

#[test]
fn a_zip_bomb_is_refused() {
    setup();
    let root = format!("{MODULE}@v1.0.0");
    let zeros = vec![0u8; 64 << 20];
    let body = zip_of(&[
        (
            &format!("{root}/go.mod"),
            format!("module {MODULE}\n").as_bytes(),
        ),
        (&format!("{root}/bomb.go"), &zeros),
    ]);
    let r = put(ESCAPED, "v1.0.0", body);
    assert_eq!(r.status, 413, "{}", text(&r));
    nothing_stored();
}

#[test]
fn a_huge_go_mod_is_refused() {
    setup();
    let root = format!("{MODULE}@v1.0.0");
    let mut go_mod = format!("module {MODULE}\n").into_bytes();
    // Random-looking text, so the ratio limit is not what refuses it.
    let mut x: u32 = 1;
    go_mod.extend((0..(17 << 20)).map(|_| {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        b'a' + (x >> 16) as u8 % 26
    }));
    let body = zip_of(&[(&format!("{root}/go.mod"), &go_mod)]);
    let r = put(ESCAPED, "v1.0.0", body);
    assert_eq!(r.status / 100, 4);
    assert!(text(&r).contains("go.mod file too large"), "{}", text(&r));
    nothing_stored();
}

#[test]
fn major_version_rules() {
    let cases: &[(&str, &str, bool)] = &[
        ("example.com/m", "v1.0.0", true),
        ("example.com/m", "v0.1.0", true),
        ("example.com/m", "v2.0.0", false),
        ("example.com/m", "v2.0.0+incompatible", true),
        ("example.com/m/v2", "v2.0.0", true),
        ("example.com/m/v2", "v3.0.0", false),
        ("example.com/m/v2", "v1.0.0", false),
        ("example.com/m/v2", "v2.0.0+incompatible", false),
        ("example.com/m/v3", "v3.1.0-beta.1", true),
    ];
    for (path, version, ok) in cases {
        let v = Version::parse(version).unwrap();
        assert_eq!(
            module::check_path_major(path, &v).is_ok(),
            *ok,
            "{path} {version}"
        );
    }
    // End to end: a /v2 module uploaded as v1 is refused before storing.
    setup();
    let r = put(
        "example.com/m/v2",
        "v1.0.0",
        module_zip("example.com/m/v2", "v1.0.0"),
    );
    assert_eq!(r.status, 400);
    assert!(text(&r).contains("major version suffix"), "{}", text(&r));
    nothing_stored();
    let r = put(
        "example.com/m/v2",
        "v2.0.0",
        module_zip("example.com/m/v2", "v2.0.0"),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
}

#[test]
fn incompatible_versions_have_no_go_mod() {
    setup();
    let v = "v2.0.0+incompatible";
    let root = format!("example.com/old@{v}");
    let r = put(
        "example.com/old",
        v,
        zip_of(&[(&format!("{root}/old.go"), b"package old")]),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
    let go_mod = get(&format!("example.com/old/@v/{v}.mod"));
    assert_eq!(blob_text(&go_mod), "module example.com/old\n");
    setup();
    let r = put(
        "example.com/old",
        v,
        zip_of(&[(&format!("{root}/go.mod"), b"module example.com/old\n")]),
    );
    assert_eq!(r.status, 400);
    nothing_stored();
}

#[test]
fn module_paths() {
    let cases: &[(&str, bool)] = &[
        ("example.com/m", true),
        ("github.com/Azure/azure-sdk", true),
        ("example.com/m/v2", true),
        ("example.com", true),
        ("example.com/m/v1", false),
        ("example.com/m/v0", false),
        ("example.com/m/v02", false),
        ("nodot/m", false),
        ("Example.com/m", false),
        ("-example.com/m", false),
        ("example.com//m", false),
        ("example.com/m/", false),
        ("/example.com/m", false),
        ("example.com/../m", false),
        ("example.com/./m", false),
        ("example.com/.m", false),
        ("example.com/m.", false),
        ("example.com/m@v1", false),
        ("example.com/m m", false),
        ("example.com/con", false),
        ("example.com/abc~1", false),
        ("example.com/\u{e9}", false),
        ("gopkg.in/yaml.v2", false),
    ];
    for (path, ok) in cases {
        assert_eq!(module::check_path(path).is_ok(), *ok, "{path}");
    }
    assert!(module::check_path(&format!("example.com/{}", "a".repeat(2000))).is_err());
}

#[test]
fn case_encoding() {
    assert_eq!(
        module::escape("github.com/Azure/SDK"),
        "github.com/!azure/!s!d!k"
    );
    assert_eq!(
        module::unescape("github.com/!azure/!s!d!k").unwrap(),
        "github.com/Azure/SDK"
    );
    for bad in ["github.com/Azure", "a!", "a!!b", "a!A", "a!1"] {
        assert!(module::unescape(bad).is_err(), "{bad}");
    }
    assert_eq!(
        module::unescape_version("v1.0.0-!r!c1")
            .unwrap()
            .to_string(),
        "v1.0.0-RC1"
    );
    assert!(module::unescape_version("v1.0.0-RC1").is_err());
}

#[test]
fn versions() {
    for good in [
        "v0.0.1",
        "v1.2.3",
        "v1.2.3-pre.1",
        "v2.0.0+incompatible",
        "v0.0.0-20240101120000-abcdef123456",
    ] {
        assert!(module::unescape_version(good).is_ok(), "{good}");
    }
    for bad in [
        "1.2.3",
        "v1.2",
        "v1",
        "v01.2.3",
        "v1.2.3+build",
        "v1.0.0+incompatible",
        "v1.2.3-01",
        "latest",
        "",
    ] {
        assert!(module::unescape_version(bad).is_err(), "{bad}");
    }
    let pseudo = |v: &str| Version::parse(v).unwrap().is_pseudo();
    assert!(pseudo("v0.0.0-20240101120000-abcdef123456"));
    assert!(pseudo("v1.2.4-0.20240101120000-abcdef123456"));
    assert!(pseudo("v1.2.3-pre.0.20240101120000-abcdef123456"));
    assert!(!pseudo("v1.2.3-pre.1"));
    assert!(!pseudo("v1.2.3"));
    let mut sorted: Vec<Version> = ["v1.10.0", "v1.2.0", "v1.2.0-rc.1", "v1.2.0-beta"]
        .iter()
        .map(|v| Version::parse(v).unwrap())
        .collect();
    sorted.sort();
    let names: Vec<String> = sorted.iter().map(|v| v.to_string()).collect();
    assert_eq!(names, ["v1.2.0-beta", "v1.2.0-rc.1", "v1.2.0", "v1.10.0"]);
}

/// Entries (name, declared size), and the error expected if any.
type RuleCase = (Vec<(&'static str, u64)>, Option<&'static str>);

#[test]
fn zip_rules_table() {
    let e = |name: &'static str, size: u64| (name, size);
    let cases: Vec<RuleCase> = vec![
        (vec![e("example.com/m@v1.0.0/go.mod", 10)], None),
        (
            vec![
                e("example.com/m@v1.0.0/", 0),
                e("example.com/m@v1.0.0/go.mod", 10),
                e("example.com/m@v1.0.0/sub/", 0),
                e("example.com/m@v1.0.0/sub/a.go", 10),
            ],
            None,
        ),
        (
            vec![
                e("example.com/m@v1.0.0/go.mod", 10),
                e("example.com/m@v1.0.0/LICENSE", rules::MAX_LICENSE + 1),
            ],
            Some("LICENSE file too large"),
        ),
        (
            vec![
                e("example.com/m@v1.0.0/go.mod", 10),
                e("example.com/m@v1.0.0/a", rules::MAX_ZIP_FILE),
            ],
            Some("total uncompressed size"),
        ),
        (
            vec![
                e("example.com/m@v1.0.0/go.mod", 10),
                e("example.com/m@v1.0.0/a//b", 1),
            ],
            Some("not clean"),
        ),
        (
            vec![
                e("example.com/m@v1.0.0/go.mod", 10),
                e("example.com/m@v1.0.0/./b", 1),
            ],
            Some("not clean"),
        ),
        (
            vec![
                e("example.com/m@v1.0.0/go.mod", 10),
                e("example.com/m@v1.0.0/Sub/a.go", 1),
                e("example.com/m@v1.0.0/sub/b.go", 1),
            ],
            Some("collision"),
        ),
        (
            vec![
                e("example.com/m@v1.0.0/go.mod", 10),
                e("example.com/m@v1.0.0/\u{212a}.go", 1),
                e("example.com/m@v1.0.0/k.go", 1),
            ],
            Some("collision"),
        ),
        (
            vec![
                e("example.com/m@v1.0.0/go.mod", 10),
                e("example.com/m@v1.0.0/\u{17f}.go", 1),
                e("example.com/m@v1.0.0/S.go", 1),
            ],
            Some("collision"),
        ),
        (
            vec![
                e("example.com/m@v1.0.0/go.mod", 10),
                e("example.com/m@v1.0.0/a/b/c.go", 1),
                e("example.com/m@v1.0.0/a/B/d.go", 1),
            ],
            Some("case-insensitive file name collision: \"a/b\" and \"a/B\""),
        ),
        (
            vec![
                e("example.com/m@v1.0.0/go.mod", 10),
                e("example.com/m@v1.0.0/a/b/c.go", 1),
                e("example.com/m@v1.0.0/a/b", 1),
            ],
            Some("both a file and a directory"),
        ),
        (
            vec![
                e("example.com/m@v1.0.0/go.mod", 10),
                e("example.com/m@v1.0.0/a/b/", 0),
                e("example.com/m@v1.0.0/a/b/c.go", 1),
                e("example.com/m@v1.0.0/a/", 0),
            ],
            None,
        ),
        (
            vec![
                e("example.com/m@v1.0.0/go.mod", 10),
                e("example.com/m@v1.0.0/vendor/modules.txt", 1),
            ],
            None,
        ),
        (
            vec![e("example.com/M@v1.0.0/go.mod", 10)],
            Some("does not have prefix"),
        ),
        (
            vec![e("example.com/m@v1.0.0go.mod", 10)],
            Some("does not have prefix"),
        ),
    ];
    for (entries, expected) in cases {
        let list: Vec<Entry> = entries
            .iter()
            .map(|(name, size)| Entry { name, size: *size })
            .collect();
        let got = rules::check("example.com/m", "v1.0.0", &list, true);
        match expected {
            None => assert!(got.is_ok(), "{entries:?}: {got:?}"),
            Some(want) => {
                let err = got.expect_err(&format!("{entries:?} passed"));
                assert!(err.contains(want), "{entries:?}: {err}");
            }
        }
    }
}

#[test]
fn go_mod_module_directive() {
    let cases: &[(&str, Result<&str, ()>)] = &[
        ("module example.com/m\n", Ok("example.com/m")),
        (
            "// comment\nmodule \"example.com/m\" // trailing\n",
            Ok("example.com/m"),
        ),
        ("module `example.com/m`\n", Ok("example.com/m")),
        ("module (\n\texample.com/m\n)\n", Ok("example.com/m")),
        ("go 1.21\nmodule\texample.com/m\n", Ok("example.com/m")),
        ("modulex example.com/m\n", Err(())),
        ("go 1.21\n", Err(())),
        ("module a b\n", Err(())),
        ("module \"a\n", Err(())),
    ];
    for (text, want) in cases {
        let got = rules::go_mod_module(text.as_bytes());
        match want {
            Ok(m) => assert_eq!(got.as_deref(), Ok(*m), "{text:?}"),
            Err(()) => assert!(got.is_err(), "{text:?}: {got:?}"),
        }
    }
    assert!(rules::go_mod_module(&[0xff, 0xfe]).is_err());
}

#[test]
fn a_store_outage_is_a_503() {
    setup();
    publish("v1.0.0");
    mock::with(|h| h.store_down = true);
    assert_eq!(get(&format!("{ESCAPED}/@v/list")).status, 503);
    assert_eq!(get(&format!("{ESCAPED}/@v/v1.0.0.info")).status, 503);
}

#[test]
fn uploads_need_the_zip_suffix() {
    setup();
    let r = send(
        TestRequest::new(Method::Put, &format!("{ESCAPED}/@v/v1.0.0.mod")).body(b"x".to_vec()),
    )
    .1;
    assert_eq!(r.status, 405);
    nothing_stored();
}

#[test]
fn deep_paths_cost_linear_time() {
    // 20,000 entries, each 2,000 elements deep under its own top directory:
    // quadratic work per entry would take minutes.
    let names: Vec<String> = (0..20_000)
        .map(|i| format!("example.com/m@v1.0.0/d{i}/{}x.go", "a/".repeat(2_000)))
        .chain(std::iter::once("example.com/m@v1.0.0/go.mod".to_string()))
        .collect();
    let entries: Vec<Entry> = names.iter().map(|name| Entry { name, size: 1 }).collect();
    let started = std::time::Instant::now();
    assert!(rules::check("example.com/m", "v1.0.0", &entries, true).is_ok());
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}

#[test]
fn a_declared_oversized_zip_is_refused_before_storing() {
    setup();
    let r = send(
        TestRequest::new(Method::Put, &format!("{ESCAPED}/@v/v1.0.0.zip"))
            .header("content-length", "600000000")
            .body(b"x".to_vec()),
    )
    .1;
    assert_eq!(r.status, 413, "{}", text(&r));
    mock::with(|h| assert!(h.blobs.is_empty()));
}

#[test]
fn many_violations_are_counted_not_listed() {
    let names: Vec<String> = (0..1_000).map(|i| format!("elsewhere/{i}.go")).collect();
    let entries: Vec<Entry> = names.iter().map(|name| Entry { name, size: 1 }).collect();
    let err = rules::check("example.com/m", "v1.0.0", &entries, true).unwrap_err();
    assert_eq!(err.lines().count(), 9, "{err}");
    assert!(err.ends_with("… and 992 more"), "{err}");
}

/// A poor man's fuzzing, run with every `cargo test`: thousands of corrupted
/// module zips and odd request paths, each answered without a panic, and
/// nothing half-stored. (`cargo xtask fuzz go` does this with coverage.)
#[test]
fn corrupted_zips_and_odd_paths_never_panic() {
    let valid = module_zip(MODULE, "v1.0.0");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..3_000 {
        setup();
        let mut zip = valid.clone();
        for _ in 0..(next() % 4 + 1) {
            let at = (next() % zip.len() as u64) as usize;
            zip[at] = next() as u8;
        }
        if next() % 8 == 0 {
            zip.truncate((next() % zip.len() as u64) as usize);
        }
        let r = put(ESCAPED, "v1.0.0", zip);
        assert!(matches!(r.status, 201 | 400 | 413), "{}", text(&r));
        mock::with(|h| {
            let versions = h.catalog.versions.values().map(Vec::len).sum::<usize>();
            let assets = h.catalog.assets.len();
            match r.status {
                201 => assert_eq!((versions, assets), (1, 2)),
                _ => assert_eq!((versions, assets), (0, 0)),
            }
        });
    }
    let pieces = [
        "example.com",
        "!a",
        "A",
        "%21",
        "%2F",
        "%2e%2e",
        "..",
        ".",
        "@v",
        "@latest",
        "list",
        "v1.0.0.info",
        "v1.0.0.mod",
        "v1.0.0.zip",
        "v1.0.0",
        "v2",
        "v0",
        "yank",
        "x~1",
        "con",
        "%00",
        "%ff",
        "é",
        "",
        "v1.0.0-!r!c",
        "v1.0.0+incompatible.zip",
    ];
    setup();
    publish("v1.0.0");
    for _ in 0..5_000 {
        let n = next() % 7 + 1;
        let path: Vec<&str> = (0..n)
            .map(|_| pieces[(next() % pieces.len() as u64) as usize])
            .collect();
        let method =
            [Method::Get, Method::Put, Method::Delete, Method::Post][(next() % 4) as usize];
        let req = TestRequest::new(method, &path.join("/")).body(b"not a zip".to_vec());
        if let Ok((_, r)) = req.send::<Go>() {
            assert!(r.status < 600, "{}", r.status);
        }
    }
}
