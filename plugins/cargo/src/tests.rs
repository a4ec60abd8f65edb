//! cargo's requests, replayed against the mock host.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wharf_sdk::Response;
use wharf_sdk::mock::{self, TestRequest};
use wharf_sdk::types::{Action, Method, ResponseBody, Route};

use crate::Cargo;

fn send(req: TestRequest) -> (Route, Response) {
    req.send::<Cargo>().expect("the request classifies")
}

pub(crate) fn get(path: &str) -> Response {
    send(TestRequest::new(Method::Get, path)).1
}

/// A .crate as cargo packages it: a .tar.gz of `{name}-{version}/…`.
fn crate_bytes(name: &str, version: &str) -> Vec<u8> {
    let root = format!("{name}-{version}");
    archive(&[
        (&format!("{root}/Cargo.toml"), manifest(name, version)),
        (&format!("{root}/src/lib.rs"), "pub fn f() {}\n".into()),
    ])
}

fn manifest(name: &str, version: &str) -> String {
    format!("[package]\nedition = \"2021\"\nname = \"{name}\"\nversion = \"{version}\"\n")
}

fn archive(files: &[(&str, String)]) -> Vec<u8> {
    archive_at(files, flate2::Compression::fast())
}

/// A compression bomb at the best level: its ratio must not depend on which
/// deflate backend a build unifies flate2 onto (zlib-rs' fast level packs
/// zeros only ~100 to 1).
fn bomb(files: &[(&str, String)]) -> Vec<u8> {
    archive_at(files, flate2::Compression::best())
}

fn archive_at(files: &[(&str, String)], level: flate2::Compression) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), level);
    let mut tar = tar::Builder::new(gz);
    for (path, text) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, path, text.as_bytes()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// The metadata `cargo publish` sends.
fn metadata(name: &str, version: &str) -> Value {
    json!({
        "name": name, "vers": version, "deps": [], "features": {},
        "authors": ["A <a@example.com>"], "description": format!("{name} does things"),
        "documentation": null, "homepage": null, "readme": null, "readme_file": null,
        "keywords": ["demo"], "categories": [], "license": "MIT", "license_file": null,
        "repository": null, "badges": {}, "links": null, "rust_version": null,
    })
}

/// cargo's framing: u32 LE length + JSON, u32 LE length + .crate.
fn framed(meta: &Value, krate: &[u8]) -> Vec<u8> {
    let json = meta.to_string();
    let mut body = (json.len() as u32).to_le_bytes().to_vec();
    body.extend_from_slice(json.as_bytes());
    body.extend_from_slice(&(krate.len() as u32).to_le_bytes());
    body.extend_from_slice(krate);
    body
}

fn publish_meta(meta: &Value) -> Response {
    let krate = crate_bytes(
        meta["name"].as_str().unwrap(),
        meta["vers"].as_str().unwrap(),
    );
    send(TestRequest::new(Method::Put, "api/v1/crates/new").body(framed(meta, &krate))).1
}

fn publish(name: &str, version: &str) -> Response {
    publish_meta(&metadata(name, version))
}

fn lines(response: &Response) -> Vec<Value> {
    std::str::from_utf8(response.body_bytes())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn detail(response: &Response) -> String {
    response.body_json()["errors"][0]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn start() {
    mock::reset();
    mock::login_as(Some("alice"));
}

#[test]
fn config_points_cargo_at_the_api() {
    start();
    mock::login_as(None);
    let config = get("config.json");
    assert_eq!(
        config.body_json(),
        json!({
            "dl": "http://registry.test/test/api/v1/crates",
            "api": "http://registry.test/test",
            "auth-required": false,
        })
    );
    // cargo retries config.json with its token only after a 401.
    mock::login_as(Some("alice"));
    assert_eq!(get("config.json").body_json()["auth-required"], true);
}

#[test]
fn index_paths_follow_the_prefix_layout() {
    start();
    for name in ["a", "ab", "abc", "Abcd", "serde_json"] {
        assert_eq!(publish(name, "1.0.0").status, 200, "{name}");
    }
    for path in ["1/a", "2/ab", "3/a/abc", "ab/cd/abcd", "se/rd/serde_json"] {
        let file = get(path);
        assert_eq!(file.status, 200, "{path}");
        assert_eq!(
            file.header_value("content-type"),
            Some("text/plain; charset=utf-8")
        );
        let name = path.rsplit('/').next().unwrap();
        assert_eq!(file.cache.as_ref().unwrap().tags, vec![name.to_string()]);
    }
    // The published spelling stays in the line; the path is lower-case only.
    assert_eq!(lines(&get("ab/cd/abcd"))[0]["name"], "Abcd");
    for path in ["Ab/cd/abcd", "ab/cd/Abcd", "3/b/abc", "ab/cd/abce", "1/ab"] {
        assert_eq!(get(path).status, 404, "{path}");
    }
    let (route, _) = send(TestRequest::new(Method::Get, "se/rd/serde_json"));
    assert_eq!(route.access[0].action, Action::Read);
    assert_eq!(route.access[0].package.as_deref(), Some("serde_json"));
}

#[test]
fn publish_renders_the_exact_index_line() {
    start();
    let mut meta = metadata("demo", "0.3.0");
    meta["deps"] = json!([
        { "name": "serde", "version_req": "^1.0", "features": ["derive"], "optional": true,
          "default_features": false, "target": null, "kind": "normal",
          "registry": "https://github.com/rust-lang/crates.io-index", "explicit_name_in_toml": null },
        { "name": "helper", "version_req": "^0.2", "features": [], "optional": false,
          "default_features": true, "target": "cfg(unix)", "kind": "dev",
          "registry": null, "explicit_name_in_toml": "my_helper" },
    ]);
    meta["features"] =
        json!({ "default": ["std"], "std": [], "serde": ["dep:serde"], "x": ["serde?/std"] });
    meta["links"] = json!("z");
    meta["rust_version"] = json!("1.70");
    let krate = crate_bytes("demo", "0.3.0");
    let (route, response) =
        send(TestRequest::new(Method::Put, "api/v1/crates/new").body(framed(&meta, &krate)));
    assert_eq!(route.access[0].action, Action::Write);
    assert_eq!(route.access[0].package, None);
    assert_eq!(response.status, 200, "{:?}", response.body_json());
    assert_eq!(
        response.body_json(),
        json!({ "warnings": { "invalid_categories": [], "invalid_badges": [], "other": [] } })
    );
    let cksum = hex(Sha256::digest(&krate));
    assert_eq!(
        lines(&get("de/mo/demo")),
        vec![json!({
            "name": "demo", "vers": "0.3.0",
            "deps": [
                { "name": "serde", "req": "^1.0", "features": ["derive"], "optional": true,
                  "default_features": false, "target": null, "kind": "normal",
                  "registry": "https://github.com/rust-lang/crates.io-index" },
                { "name": "my_helper", "package": "helper", "req": "^0.2", "features": [],
                  "optional": false, "default_features": true, "target": "cfg(unix)", "kind": "dev" },
            ],
            "cksum": cksum,
            "features": { "default": ["std"], "std": [] },
            "features2": { "serde": ["dep:serde"], "x": ["serde?/std"] },
            "yanked": false, "links": "z", "rust_version": "1.70", "v": 2,
        })]
    );

    let download = get("api/v1/crates/demo/0.3.0/download");
    let ResponseBody::Blob(blake3) = &download.body else {
        panic!("not a blob: {download:?}")
    };
    assert_eq!(mock::with(|h| h.blob(blake3).unwrap().to_vec()), krate);
    assert_eq!(get("api/v1/crates/demo/9.9.9/download").status, 404);
}

#[test]
fn plain_features_are_an_object_and_v1() {
    start();
    assert_eq!(publish("plain", "1.0.0").status, 200);
    let line = &lines(&get("pl/ai/plain"))[0];
    assert_eq!(line["features"], json!({}));
    assert_eq!(line["deps"], json!([]));
    assert_eq!(line["v"], 1);
    assert!(line.get("features2").is_none());
    assert_eq!(line["links"], Value::Null);
}

#[test]
fn versions_are_listed_oldest_first_and_republish_is_refused() {
    start();
    assert_eq!(publish("demo", "0.1.0").status, 200);
    assert_eq!(publish("demo", "0.2.0").status, 200);
    for version in ["0.2.0", "0.2.0+build"] {
        let again = publish("demo", version);
        assert_eq!(again.status, 409, "{version}");
        assert!(
            detail(&again).contains("already uploaded"),
            "{}",
            detail(&again)
        );
    }
    let vers: Vec<Value> = lines(&get("de/mo/demo"))
        .iter()
        .map(|l| l["vers"].clone())
        .collect();
    assert_eq!(vers, vec![json!("0.1.0"), json!("0.2.0")]);
    // An existing version with build metadata is found too.
    assert_eq!(publish("demo", "0.3.0+a").status, 200);
    for version in ["0.3.0", "0.3.0+b"] {
        let again = publish("demo", version);
        assert_eq!(again.status, 409, "{version}");
        assert!(detail(&again).contains("already uploaded"));
    }
}

#[test]
fn names_that_crates_io_treats_as_equal_collide() {
    start();
    assert_eq!(publish("foo-bar", "1.0.0").status, 200);
    for name in ["Foo_bar", "foo_bar", "FOO-BAR"] {
        let refused = publish(name, "2.0.0");
        assert_eq!(refused.status, 409, "{name}");
        assert!(detail(&refused).contains("foo-bar"), "{}", detail(&refused));
    }
    assert_eq!(publish("foo-bar", "2.0.0").status, 200);
    assert!(get("fo/o_/foo_bar").status == 404);
}

#[test]
fn bad_input_is_refused_in_cargos_shape() {
    start();
    for name in ["1abc", "a b", "", "ab/cd", &"x".repeat(65)] {
        let refused = publish(name, "1.0.0");
        assert_eq!(refused.status, 400, "{name}");
        assert!(detail(&refused).contains("invalid crate name"));
    }
    assert_eq!(publish("demo", "1.0").status, 400);
    let mut meta = metadata("demo", "1.0.0");
    meta["deps"] = json!([{ "name": "x", "version_req": "not a req", "kind": "normal" }]);
    assert_eq!(publish_meta(&meta).status, 400);
    // A truncated body.
    let body = framed(&metadata("demo", "1.0.0"), &crate_bytes("demo", "1.0.0"));
    let short = send(
        TestRequest::new(Method::Put, "api/v1/crates/new").body(body[..body.len() - 1].to_vec()),
    )
    .1;
    assert_eq!(short.status, 400);
    // Archives cargo could not unpack.
    let root = "demo-1.0.0/Cargo.toml";
    for (krate, why) in [
        (b"plain text".to_vec(), "not a valid .tar.gz"),
        (
            archive(&[("other-1.0.0/Cargo.toml", manifest("demo", "1.0.0"))]),
            "outside `demo-1.0.0/`",
        ),
        (
            archive(&[("demo-1.0.0/src/lib.rs", manifest("demo", "1.0.0"))]),
            "no `demo-1.0.0/Cargo.toml`",
        ),
        (
            archive(&[(root, manifest("other", "1.0.0"))]),
            "is for other 1.0.0, not demo 1.0.0",
        ),
        (
            archive(&[(root, manifest("demo", "1.0.1"))]),
            "is for demo 1.0.1",
        ),
        (
            archive(&[(root, "[package\n".into())]),
            "Cargo.toml is invalid",
        ),
    ] {
        let body = framed(&metadata("demo", "1.0.0"), &krate);
        let refused = send(TestRequest::new(Method::Put, "api/v1/crates/new").body(body)).1;
        assert_eq!(refused.status, 400);
        assert!(detail(&refused).contains(why), "{}", detail(&refused));
    }
    assert_eq!(get("de/mo/demo").status, 404);
}

/// What a refused publish must leave: no version, no name claim, no owners.
fn nothing_published() {
    assert_eq!(get("de/mo/demo").status, 404);
    mock::with(|h| {
        assert!(h.catalog.versions.is_empty());
        assert!(h.catalog.assets.is_empty());
        assert!(h.catalog.kv.is_empty(), "{:?}", h.catalog.kv.keys());
        assert!(h.owners.is_empty(), "{:?}", h.owners);
    });
}

#[test]
fn archive_bombs_are_refused_with_413_and_publish_nothing() {
    start();
    let root = "demo-1.0.0";
    let toml = (format!("{root}/Cargo.toml"), manifest("demo", "1.0.0"));
    // 16 MiB of zeros pack to ~16 KiB: past 100 unpacked bytes per packed one.
    let zeros = bomb(&[
        (&toml.0, toml.1.clone()),
        (&format!("{root}/zeros"), "\0".repeat(16 << 20)),
    ]);
    assert!(zeros.len() < 128 * 1024, "{}", zeros.len());
    // 100,001 empty files: past the entry count, under the size and ratio.
    let names: Vec<String> = (0..100_001).map(|i| format!("{root}/f{i}")).collect();
    let mut files: Vec<(&str, String)> = vec![(&toml.0, toml.1.clone())];
    files.extend(names.iter().map(|n| (n.as_str(), String::new())));
    let flood = archive(&files);
    for (krate, why) in [
        (zeros, "more than 100 times its size"),
        (flood, "more than 100000 entries"),
    ] {
        let body = framed(&metadata("demo", "1.0.0"), &krate);
        let refused = send(TestRequest::new(Method::Put, "api/v1/crates/new").body(body)).1;
        assert_eq!(refused.status, 413, "{}", detail(&refused));
        assert!(detail(&refused).contains(why), "{}", detail(&refused));
        nothing_published();
    }
    // A crate with a manifest too large to be one.
    let huge = archive(&[(&toml.0, format!("{}#{}", toml.1, "x".repeat(1 << 20)))]);
    let body = framed(&metadata("demo", "1.0.0"), &huge);
    let refused = send(TestRequest::new(Method::Put, "api/v1/crates/new").body(body)).1;
    assert_eq!(refused.status, 413, "{}", detail(&refused));
    assert!(
        detail(&refused).contains("Cargo.toml"),
        "{}",
        detail(&refused)
    );
    nothing_published();
    // An ordinary crate still publishes.
    assert_eq!(publish("demo", "1.0.0").status, 200);
}

#[test]
fn yank_shows_in_the_index_and_only_owners_may() {
    start();
    assert_eq!(publish("demo", "0.1.0").status, 200);
    assert_eq!(publish("demo", "0.2.0").status, 200);
    let (route, yank) = send(TestRequest::new(
        Method::Delete,
        "api/v1/crates/Demo/0.2.0/yank",
    ));
    assert_eq!(route.access[0].action, Action::Write);
    assert_eq!(route.access[0].package.as_deref(), Some("demo"));
    assert_eq!(yank.status, 200);
    assert_eq!(yank.body_json(), json!({ "ok": true }));
    let yanked: Vec<Value> = lines(&get("de/mo/demo"))
        .iter()
        .map(|l| l["yanked"].clone())
        .collect();
    assert_eq!(yanked, vec![json!(false), json!(true)]);
    // A yanked version still downloads (existing lock files need it).
    assert_eq!(get("api/v1/crates/demo/0.2.0/download").status, 200);

    mock::login_as(Some("mallory"));
    let refused = send(TestRequest::new(
        Method::Put,
        "api/v1/crates/demo/0.2.0/unyank",
    ))
    .1;
    assert_eq!(refused.status, 403);
    assert_eq!(publish("demo", "0.3.0").status, 403);

    mock::login_as(Some("alice"));
    assert_eq!(
        send(TestRequest::new(
            Method::Put,
            "api/v1/crates/demo/0.2.0/unyank"
        ))
        .1
        .status,
        200
    );
    assert_eq!(lines(&get("de/mo/demo"))[1]["yanked"], false);
    assert_eq!(
        send(TestRequest::new(
            Method::Delete,
            "api/v1/crates/demo/9.0.0/yank"
        ))
        .1
        .status,
        404
    );
}

#[test]
fn owners_are_the_hosts_listed_added_and_removed() {
    start();
    mock::add_user("bob", "b");
    mock::add_team("core", &["dave"]);
    assert_eq!(publish("demo", "0.1.0").status, 200);
    let logins = || -> Vec<Value> {
        get("api/v1/crates/demo/owners").body_json()["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["login"].clone())
            .collect()
    };
    assert_eq!(
        get("api/v1/crates/demo/owners").body_json(),
        json!({ "users": [{ "id": 1, "login": "alice", "name": "alice", "kind": "user" }] })
    );
    let (route, add) = send(
        TestRequest::new(Method::Put, "api/v1/crates/Demo/owners")
            .body(json!({ "users": ["bob", "team:core"] }).to_string()),
    );
    // Owners of the crate: write on the crate allows changing them.
    assert_eq!(route.access.len(), 1);
    assert_eq!(route.access[0].action, Action::Write);
    assert_eq!(route.access[0].package.as_deref(), Some("demo"));
    assert_eq!(add.status, 200, "{}", detail(&add));
    assert_eq!(add.body_json()["ok"], true);
    assert!(add.body_json()["msg"].as_str().unwrap().contains("bob"));
    assert_eq!(
        logins(),
        vec![json!("alice"), json!("bob"), json!("team:core")]
    );
    mock::with(|h| {
        assert_eq!(
            h.owners["demo"],
            vec!["user:alice", "user:bob", "team:core"]
        )
    });
    let team = &get("api/v1/crates/demo/owners").body_json()["users"][2];
    assert_eq!(
        (team["kind"].clone(), team["name"].clone()),
        (json!("team"), json!("core"))
    );

    // bob, and dave through his team, now publish; carol does not.
    mock::login_as(Some("bob"));
    assert_eq!(publish("demo", "0.2.0").status, 200);
    mock::login_as(Some("dave"));
    assert_eq!(publish("demo", "0.3.0").status, 200);
    mock::login_as(Some("carol"));
    let refused = publish("demo", "0.4.0");
    assert_eq!(refused.status, 403);
    assert_eq!(detail(&refused), "`carol` is not an owner of crate `demo`");
    let put = TestRequest::new(Method::Put, "api/v1/crates/demo/owners")
        .body(json!({ "users": ["carol"] }).to_string());
    assert_eq!(send(put).1.status, 403);
    assert_eq!(logins().len(), 3);
    assert_eq!(get("api/v1/crates/nothing/owners").status, 404);

    // cargo's DELETE carries its logins in the body.
    mock::login_as(Some("alice"));
    let remove = TestRequest::new(Method::Delete, "api/v1/crates/demo/owners")
        .body(json!({ "users": ["bob", "team:core"] }).to_string());
    let (route, remove) = send(remove);
    assert_eq!(route.access[0].action, Action::Write);
    assert_eq!(route.access[0].package.as_deref(), Some("demo"));
    assert_eq!(remove.status, 200, "{}", detail(&remove));
    assert_eq!(logins(), vec![json!("alice")]);
    for (users, why) in [
        (json!(["alice"]), "keeps at least one owner"),
        (json!(["ghost"]), "user:ghost is not an owner of demo"),
        (json!(["github:acme:core"]), "neither a user nor a team"),
        (json!([]), "no owners named"),
    ] {
        let refused = TestRequest::new(Method::Delete, "api/v1/crates/demo/owners")
            .body(json!({ "users": users }).to_string());
        let refused = send(refused).1;
        assert_eq!(refused.status, 400, "{users}");
        assert!(detail(&refused).contains(why), "{}", detail(&refused));
    }
    let unknown = TestRequest::new(Method::Put, "api/v1/crates/demo/owners")
        .body(json!({ "users": ["ghost"] }).to_string());
    let unknown = send(unknown).1;
    assert_eq!(
        (unknown.status, detail(&unknown)),
        (400, "there is no user ghost".into())
    );
}

#[test]
fn search_and_crate_summary() {
    start();
    assert_eq!(publish("wharf-demo", "0.1.0").status, 200);
    assert_eq!(publish("wharf-demo", "0.2.0").status, 200);
    assert_eq!(publish("other", "1.0.0").status, 200);
    let found = get("api/v1/crates?q=wharf&per_page=5").body_json();
    assert_eq!(found["meta"]["total"], 1);
    assert_eq!(found["crates"][0]["name"], "wharf-demo");
    assert_eq!(found["crates"][0]["max_version"], "0.2.0");
    assert_eq!(found["crates"][0]["description"], "wharf-demo does things");

    send(TestRequest::new(
        Method::Delete,
        "api/v1/crates/wharf-demo/0.2.0/yank",
    ));
    // cargo search shows max_version: never the yanked latest version.
    let found = get("api/v1/crates?q=wharf").body_json();
    assert_eq!(found["crates"][0]["max_version"], "0.1.0");
    assert_eq!(found["crates"][0]["newest_version"], "0.2.0");
    let info = get("api/v1/crates/wharf-demo");
    assert_eq!(info.cache.as_ref().unwrap().tags, vec!["wharf-demo"]);
    let info = info.body_json();
    assert_eq!(info["crate"]["max_version"], "0.1.0");
    assert_eq!(info["crate"]["newest_version"], "0.2.0");
    assert_eq!(info["versions"][0]["num"], "0.2.0");
    assert_eq!(info["versions"][0]["yanked"], true);
    assert_eq!(get("api/v1/crates/missing").status, 404);
}

#[test]
fn host_denials_use_cargos_error_shape() {
    use wharf_sdk::Format;
    let denied = Cargo::error(401, "");
    assert_eq!(denied.status, 401);
    assert_eq!(
        denied.body_json(),
        json!({ "errors": [{ "detail": "authentication required" }] })
    );
    assert_eq!(
        Cargo::error(503, "").body_json(),
        json!({ "errors": [{ "detail": "temporarily unavailable" }] })
    );
}

use wharf_sdk::hex;

#[test]
fn a_failed_first_publish_claims_nothing() {
    start();
    let body = framed(&metadata("demo", "1.0.0"), b"plain text");
    let failed = send(TestRequest::new(Method::Put, "api/v1/crates/new").body(body)).1;
    assert_eq!(failed.status, 400);
    mock::login_as(Some("mallory"));
    assert_eq!(publish("Demo", "1.0.0").status, 200);
    let owners = get("api/v1/crates/demo/owners").body_json();
    assert_eq!(owners["users"][0]["login"], "mallory");
    assert_eq!(lines(&get("de/mo/demo"))[0]["name"], "Demo");
}

#[test]
fn a_stale_name_claim_is_free() {
    start();
    // A claim left without a crate (before publishes were one transaction).
    mock::with(|h| {
        h.catalog.kv.insert(
            (Some("foo-bar".into()), "canonical".into()),
            b"Foo_Bar".to_vec(),
        )
    });
    assert_eq!(publish("foo-bar", "1.0.0").status, 200);
    assert_eq!(publish("Foo_Bar", "1.0.0").status, 409);
}

#[test]
fn storage_is_a_version_an_asset_and_crate_kv() {
    start();
    assert_eq!(publish("Foo_bar", "1.0.0").status, 200);
    mock::with(|h| {
        let c = &h.catalog;
        assert_eq!(c.versions.keys().collect::<Vec<_>>(), vec!["foo_bar"]);
        assert_eq!(c.versions["foo_bar"][0].version, "1.0.0");
        let (asset, owner) = &c.assets["crates/foo_bar/foo_bar-1.0.0.crate"];
        assert_eq!(asset.content_type, "application/gzip");
        assert_eq!(owner.package, "foo_bar");
        assert_eq!(owner.version.as_deref(), Some("1.0.0"));
        // The name claim is the crate's only kv entry: owners are the host's.
        let kv: Vec<_> = c.kv.iter().collect();
        assert_eq!(
            kv,
            vec![(
                &(Some("foo-bar".to_string()), "canonical".to_string()),
                &b"Foo_bar".to_vec()
            )]
        );
        assert_eq!(h.owners["foo_bar"], vec!["user:alice"]);
    });
}

fn unavailable(response: &Response) {
    assert_eq!(response.status, 503);
    assert_eq!(
        response.header_value("content-type"),
        Some("application/json")
    );
    assert!(!detail(response).is_empty(), "{:?}", response.body_json());
}

#[test]
fn a_store_outage_is_a_503_in_cargos_shape() {
    start();
    assert_eq!(publish("demo", "0.1.0").status, 200);
    mock::with(|h| h.store_down = true);
    for path in [
        "de/mo/demo",
        "api/v1/crates/demo",
        "api/v1/crates/demo/owners",
        "api/v1/crates/demo/0.1.0/download",
        "api/v1/crates?q=demo",
    ] {
        let response = get(path);
        unavailable(&response);
        assert!(response.cache.is_none(), "{path}");
    }
    let before = mock::with(|h| h.catalog.clone());
    unavailable(
        &send(TestRequest::new(
            Method::Delete,
            "api/v1/crates/demo/0.1.0/yank",
        ))
        .1,
    );
    let add = TestRequest::new(Method::Put, "api/v1/crates/demo/owners")
        .body(json!({ "users": ["bob"] }).to_string());
    unavailable(&send(add).1);
    unavailable(&publish("demo", "0.2.0"));
    mock::with(|h| {
        // VersionRow has no PartialEq.
        assert_eq!(
            format!("{:?}", h.catalog.versions),
            format!("{:?}", before.versions)
        );
        assert_eq!(h.catalog.kv, before.kv);
        assert_eq!(h.catalog.assets.len(), before.assets.len());
    });
}

/// The bug this guards against: an outage while reading a crate's owners
/// was read as "a new crate without owners", and the publisher took it over.
#[test]
fn an_outage_while_checking_owners_never_makes_a_crate_new() {
    start();
    assert_eq!(publish("demo", "0.1.0").status, 200);
    mock::login_as(Some("mallory"));
    mock::with(|h| h.store_down = true);
    unavailable(&publish("demo", "0.2.0"));
    mock::with(|h| h.store_down = false);
    let owners = get("api/v1/crates/demo/owners").body_json();
    assert_eq!(owners["users"][0]["login"], "alice");
    assert_eq!(owners["users"].as_array().unwrap().len(), 1);
    assert_eq!(lines(&get("de/mo/demo")).len(), 1);
    assert_eq!(publish("demo", "0.2.0").status, 403);
}

#[test]
fn others_crates_are_refused_before_their_bytes_are_stored() {
    start();
    // Alice's first publish of `demo` has claimed the name (the host
    // claims it in the publish's transaction).
    mock::with(|h| h.owners.insert("demo".into(), vec!["user:alice".into()]));
    mock::login_as(Some("mallory"));
    let response = publish("demo", "0.9.0");
    assert_eq!(response.status, 403, "{:?}", response.body_json());
    assert_eq!(
        detail(&response),
        "`mallory` is not an owner of crate `demo`"
    );
    mock::with(|h| {
        assert!(h.blobs.is_empty(), "the .crate was not stored");
        assert_eq!(h.owners["demo"], vec!["user:alice"]);
        assert!(h.catalog.versions.is_empty());
    });
}
