//! gem's and Bundler's requests, replayed against the mock host.

use std::io::{Read, Write};
use wharf_sdk::Response;
use wharf_sdk::mock::{self, TestRequest};
use wharf_sdk::types::{Action, Method, Route};

use crate::RubyGems;

fn send(req: TestRequest) -> (Route, Response) {
    req.send::<RubyGems>().expect("the request classifies")
}

pub(crate) fn get(path: &str) -> Response {
    send(TestRequest::new(Method::Get, path)).1
}

pub(crate) fn body(r: &Response) -> String {
    String::from_utf8_lossy(r.body_bytes()).into_owned()
}

/// The gemspec YAML `gem build` writes (RubyGems 3.3).
pub fn gemspec(name: &str, version: &str, platform: &str, deps: &[(&str, &str)]) -> String {
    let mut yaml = format!(
        "--- !ruby/object:Gem::Specification\nname: {name}\nversion: !ruby/object:Gem::Version\n  version: {version}\nplatform: {platform}\nauthors:\n- A\nautorequire:\nbindir: bin\ncert_chain: []\ndate: 2026-12-06 00:00:00.000000000 Z\ndependencies:\n"
    );
    if deps.is_empty() {
        yaml = yaml.replace("dependencies:\n", "dependencies: []\n");
    }
    for (dep, req) in deps {
        let (op, v) = req.split_once(' ').unwrap();
        yaml.push_str(&format!(
            "- !ruby/object:Gem::Dependency\n  name: {dep}\n  requirement: &1 !ruby/object:Gem::Requirement\n    requirements:\n    - - \"{op}\"\n      - !ruby/object:Gem::Version\n        version: '{v}'\n  type: :runtime\n  prerelease: false\n  version_requirements: *1\n"
        ));
    }
    yaml.push_str("description:\nemail: a@example.com\nfiles:\n- lib/x.rb\nhomepage:\nlicenses:\n- MIT\nmetadata: {}\nrequired_ruby_version: !ruby/object:Gem::Requirement\n  requirements:\n  - - \">=\"\n    - !ruby/object:Gem::Version\n      version: '2.5'\nrequired_rubygems_version: !ruby/object:Gem::Requirement\n  requirements:\n  - - \">=\"\n    - !ruby/object:Gem::Version\n      version: '0'\nrubygems_version: 3.3.15\nspecification_version: 4\nsummary: A gem\n");
    yaml
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A .gem: a plain tar of metadata.gz and data.tar.gz.
pub fn gem_with(metadata_gz: Vec<u8>) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data) in [("metadata.gz", metadata_gz), ("data.tar.gz", gz(b"data"))] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o444);
        header.set_cksum();
        tar.append_data(&mut header, path, &data[..]).unwrap();
    }
    tar.into_inner().unwrap()
}

fn gem(name: &str, version: &str, deps: &[(&str, &str)]) -> Vec<u8> {
    gem_with(gz(gemspec(name, version, "ruby", deps).as_bytes()))
}

fn push_bytes(bytes: Vec<u8>) -> Response {
    send(TestRequest::new(Method::Post, "api/v1/gems").body(bytes)).1
}

fn push(name: &str, version: &str, deps: &[(&str, &str)]) -> Response {
    push_bytes(gem(name, version, deps))
}

fn setup() {
    mock::reset();
    mock::add_user("alice", "pw");
    mock::add_user("bob", "pw");
    mock::login_as(Some("alice"));
}

#[test]
fn push_then_compact_index() {
    setup();
    let r = push("greeter", "1.0.0", &[]);
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(body(&r), "Successfully registered gem: greeter (1.0.0)\n");
    assert_eq!(push("hello", "1.0.0", &[("greeter", ">= 1.0")]).status, 200);
    assert_eq!(
        push("hello", "1.1.0.pre", &[("greeter", "~> 1.0")]).status,
        200
    );

    let info = get("info/hello");
    let text = body(&info);
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(gem(
            "hello",
            "1.0.0",
            &[("greeter", ">= 1.0")],
        )))
    };
    assert_eq!(
        text.lines().nth(1).unwrap(),
        format!("1.0.0 greeter:>= 1.0|checksum:{sha},ruby:>= 2.5")
    );
    assert!(text.contains("1.1.0.pre greeter:~> 1.0|"));
    use md5::Digest;
    let md5 = hex::encode(md5::Md5::digest(info.body_bytes()));
    assert_eq!(
        info.header_value("etag"),
        Some(format!("\"{md5}\"").as_str())
    );
    assert!(
        info.header_value("repr-digest")
            .unwrap()
            .starts_with("sha-256=:")
    );

    let versions = body(&get("versions"));
    assert!(versions.starts_with("created_at: "), "{versions}");
    assert!(
        versions.contains(&format!("hello 1.0.0,1.1.0.pre {md5}\n")),
        "{versions}"
    );
    assert_eq!(body(&get("names")), "---\ngreeter\nhello\n");
}

#[test]
fn routes_name_their_gem() {
    setup();
    let (route, _) = send(TestRequest::new(
        Method::Get,
        "gems/my-gem_x-1.0.0-x86_64-linux.gem",
    ));
    assert_eq!(route.access[0].package.as_deref(), Some("my-gem_x"));
    let (route, _) = send(TestRequest::new(Method::Get, "info/hello"));
    assert_eq!(route.access[0].package.as_deref(), Some("hello"));
    let (route, _) = send(TestRequest::new(Method::Post, "api/v1/gems").body(vec![]));
    assert_eq!(route.access[0].package, None);
    assert_eq!(route.access[0].action, Action::Write);
    assert_eq!(crate::gem_of_file("a-b-2.0.gemspec.rz"), Some("a-b"));
}

#[test]
fn gem_file_and_quick_spec() {
    setup();
    let bytes = gem("hello", "1.0.0", &[]);
    assert_eq!(push_bytes(bytes.clone()).status, 200);
    let r = get("gems/hello-1.0.0.gem");
    assert_eq!(r.status, 200);
    assert_eq!(get("gems/hello-2.0.0.gem").status, 404);
    let quick = get("quick/Marshal.4.8/hello-1.0.0.gemspec.rz");
    assert_eq!(quick.status, 200);
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(quick.body_bytes())
        .read_to_end(&mut out)
        .unwrap();
    assert!(out.starts_with(b"\x04\x08u:\x17Gem::Specification"));
    let specs = get("specs.4.8.gz");
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(specs.body_bytes())
        .read_to_end(&mut out)
        .unwrap();
    assert!(out.windows(5).any(|w| w == b"hello"));
}

#[test]
fn republish_is_refused_and_platforms_are_versions() {
    setup();
    assert_eq!(push("hello", "1.0.0", &[]).status, 200);
    let again = push("hello", "1.0.0", &[]);
    assert_eq!(again.status, 409);
    assert!(body(&again).starts_with("Repushing of gem versions is not allowed."));
    let native = gem_with(gz(gemspec("hello", "1.0.0", "x86_64-linux", &[]).as_bytes()));
    assert_eq!(push_bytes(native).status, 200);
    assert!(body(&get("info/hello")).contains("\n1.0.0-x86_64-linux |checksum:"));
    assert_eq!(get("gems/hello-1.0.0-x86_64-linux.gem").status, 200);
}

#[test]
fn yank_leaves_the_index() {
    setup();
    assert_eq!(push("hello", "1.0.0", &[]).status, 200);
    assert_eq!(push("hello", "1.1.0", &[]).status, 200);
    let yank = |form: &str| {
        send(TestRequest::new(Method::Delete, "api/v1/gems/yank").body(form.as_bytes().to_vec())).1
    };
    let r = yank("gem_name=hello&version=1.1.0");
    assert_eq!(r.status, 200, "{}", body(&r));
    assert!(!body(&get("info/hello")).contains("1.1.0"));
    assert!(body(&get("versions")).contains("hello 1.0.0 "));
    assert_eq!(yank("gem_name=hello&version=1.1.0").status, 422);
    assert_eq!(yank("gem_name=hello&version=9").status, 404);
    assert_eq!(get("quick/Marshal.4.8/hello-1.1.0.gemspec.rz").status, 404);
    mock::login_as(Some("bob"));
    assert_eq!(yank("gem_name=hello&version=1.0.0").status, 403);
}

#[test]
fn owners_list_add_remove() {
    setup();
    assert_eq!(push("hello", "1.0.0", &[]).status, 200);
    mock::login_as(Some("bob"));
    let denied = push("hello", "1.1.0", &[]);
    assert_eq!(denied.status, 403, "{}", body(&denied));
    assert!(body(&denied).contains("gem owner hello --add bob"));
    mock::login_as(Some("alice"));
    let yaml = body(&get("api/v1/gems/hello/owners.yaml"));
    assert_eq!(yaml, "---\n- id: 1\n  handle: \"alice\"\n");
    let add = send(
        TestRequest::new(Method::Post, "api/v1/gems/hello/owners").body(b"email=bob".to_vec()),
    )
    .1;
    assert_eq!(add.status, 200, "{}", body(&add));
    mock::login_as(Some("bob"));
    assert_eq!(push("hello", "1.1.0", &[]).status, 200);
    let remove = send(
        TestRequest::new(Method::Delete, "api/v1/gems/hello/owners").body(b"email=alice".to_vec()),
    )
    .1;
    assert_eq!(remove.status, 200, "{}", body(&remove));
    assert_eq!(
        get("api/v1/gems/hello/owners").body_json()[0]["handle"],
        "bob"
    );
    assert_eq!(get("api/v1/gems/nope/owners").status, 404);
}

#[test]
fn bad_gems_are_refused_and_change_nothing() {
    setup();
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"not a tar".to_vec(), 400, ""),
        (gem_with(b"not gzip".to_vec()), 400, "metadata.gz"),
        (gem_with(gz(b"name: [unclosed")), 400, "gemspec"),
        (
            gem_with(gz(gemspec("../x", "1.0", "ruby", &[]).as_bytes())),
            400,
            "name",
        ),
        (
            gem_with(gz(gemspec("x", "1.0/../..", "ruby", &[]).as_bytes())),
            400,
            "version",
        ),
        (
            gem_with(gz(gemspec("x-2", "1.0", "ruby", &[]).as_bytes())),
            400,
            "digit",
        ),
        // A gzip bomb of metadata: 64 MiB of spaces.
        (gem_with(gz(&vec![b' '; 64 << 20])), 413, "larger"),
    ];
    for (bytes, status, word) in cases {
        let r = push_bytes(bytes);
        assert_eq!(r.status, status, "{}", body(&r));
        assert!(body(&r).contains(word), "{}", body(&r));
    }
    assert_eq!(get("names").status, 200);
    assert_eq!(body(&get("names")), "---\n");
}

#[test]
fn marshal_and_version_order() {
    use crate::index::compare;
    use std::cmp::Ordering::*;
    assert_eq!(compare("1.0.0", "1.0"), Equal);
    assert_eq!(compare("1.0.0.pre", "1.0.0"), Less);
    assert_eq!(compare("1.10", "1.9"), Greater);
    assert_eq!(compare("2.0.a", "2.0.b"), Less);
    assert!(crate::gem::prerelease("1.0-1") && crate::gem::prerelease("1.0.0.rc1"));
    assert!(!crate::gem::prerelease("1.0.0"));
}

#[test]
fn a_store_outage_is_a_503() {
    setup();
    mock::with(|h| h.store_down = true);
    assert_eq!(get("info/hello").status, 503);
    assert_eq!(get("versions").status, 503);
}
