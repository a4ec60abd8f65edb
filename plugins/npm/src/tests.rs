//! The npm CLI's requests, replayed against the mock host.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha1::Sha1;
use sha2::{Digest, Sha512};
use wharf_sdk::Response;
use wharf_sdk::mock::{self, TestRequest};
use wharf_sdk::types::{Action, ClassifyError, Method, Route};

use crate::{Npm, package_doc};

const BASE: &str = "http://registry.test/test/";
const CORGI: &str = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";

pub(crate) fn send(req: TestRequest) -> (Route, Response) {
    req.send::<Npm>().expect("the request classifies")
}

pub(crate) fn get(path: &str) -> Response {
    send(TestRequest::new(Method::Get, path)).1
}

pub(crate) fn put(path: &str, body: &Value) -> Response {
    send(
        TestRequest::new(Method::Put, path)
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .1
}

pub(crate) fn delete(path: &str) -> Response {
    send(TestRequest::new(Method::Delete, path)).1
}

fn integrity(bytes: &[u8]) -> String {
    format!("sha512-{}", STANDARD.encode(Sha512::digest(bytes)))
}

fn shasum(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

fn tarball_bytes(name: &str, version: &str) -> Vec<u8> {
    format!("pretend gzip of {name}@{version}").into_bytes()
}

/// The document `npm publish` sends (libnpmpublish): the manifest as the only
/// version, the tarball base64 in `_attachments` under `<name>-<version>.tgz`.
pub(crate) fn publish_body(name: &str, version: &str, tarball: &[u8]) -> Value {
    let file = format!("{name}-{version}.tgz");
    json!({
        "_id": name,
        "name": name,
        "description": format!("{name} does things"),
        "dist-tags": { "latest": version },
        "versions": {
            version: {
                "name": name,
                "version": version,
                "description": format!("{name} does things"),
                "main": "index.js",
                "keywords": ["demo"],
                "license": "MIT",
                "readme": "# Hello",
                "dependencies": { "is-number": "^7.0.0" },
                "scripts": { "test": "node test.js" },
                "_id": format!("{name}@{version}"),
                "_nodeVersion": "22.11.0",
                "_npmVersion": "11.0.0",
                "dist": {
                    "integrity": integrity(tarball),
                    "shasum": shasum(tarball),
                    "tarball": format!("{BASE}{name}/-/{file}"),
                },
            },
        },
        "access": null,
        "_attachments": {
            file: { "content_type": "application/octet-stream", "data": STANDARD.encode(tarball), "length": tarball.len() },
        },
    })
}

pub(crate) fn publish(path: &str, name: &str, version: &str) -> Response {
    put(
        path,
        &publish_body(name, version, &tarball_bytes(name, version)),
    )
}

pub(crate) fn start() {
    mock::reset();
    mock::login_as(Some("alice"));
}

fn blob_bytes(response: &Response) -> Vec<u8> {
    match &response.body {
        wharf_sdk::types::ResponseBody::Blob(b3) => {
            mock::with(|h| h.blob(b3).expect("stored blob").to_vec())
        }
        other => panic!("not a blob: {other:?}"),
    }
}

#[test]
fn unscoped_publish_shows_in_both_packuments() {
    start();
    let published = publish("left-pad", "left-pad", "1.0.0");
    assert_eq!(published.status, 200, "{:?}", published.body_json());
    assert_eq!(published.body_json(), json!({ "ok": true }));
    let bytes = tarball_bytes("left-pad", "1.0.0");

    let full = get("left-pad");
    assert_eq!(full.status, 200);
    assert_eq!(full.header_value("content-type"), Some("application/json"));
    let cache = full.cache.as_ref().expect("cacheable");
    assert_eq!(
        (cache.tags.clone(), cache.vary.clone()),
        (vec!["left-pad".to_string()], vec!["accept".to_string()])
    );
    let doc = full.body_json();
    assert_eq!(doc["_id"], "left-pad");
    assert_eq!(doc["name"], "left-pad");
    assert!(doc["_rev"].as_str().unwrap().starts_with("1-"));
    assert_eq!(doc["dist-tags"], json!({ "latest": "1.0.0" }));
    assert_eq!(doc["description"], "left-pad does things");
    assert_eq!(doc["readme"], "# Hello");
    assert_eq!(doc["license"], "MIT");
    assert_eq!(
        doc["maintainers"],
        json!([{ "name": "alice", "email": "" }])
    );
    assert!(doc.get("_attachments").is_none());
    let v = &doc["versions"]["1.0.0"];
    assert_eq!(
        v["dist"]["tarball"],
        format!("{BASE}left-pad/-/left-pad-1.0.0.tgz")
    );
    assert_eq!(v["dist"]["integrity"], integrity(&bytes));
    assert_eq!(v["dist"]["shasum"], shasum(&bytes));
    assert_eq!(v["dependencies"], json!({ "is-number": "^7.0.0" }));
    assert_eq!(v["_npmUser"], json!({ "name": "alice", "email": "" }));
    assert!(v.get("readme").is_none());
    for key in ["created", "modified", "1.0.0"] {
        assert!(doc["time"][key].as_str().unwrap().ends_with('Z'), "{key}");
    }

    let corgi = send(TestRequest::new(Method::Get, "left-pad").header("accept", CORGI)).1;
    assert_eq!(
        corgi.header_value("content-type"),
        Some("application/vnd.npm.install-v1+json")
    );
    let doc = corgi.body_json();
    assert_eq!(doc["name"], "left-pad");
    assert!(doc["modified"].is_string());
    assert_eq!(doc["dist-tags"]["latest"], "1.0.0");
    let v = &doc["versions"]["1.0.0"];
    assert_eq!(v["dist"]["integrity"], integrity(&bytes));
    assert_eq!(v["dependencies"], json!({ "is-number": "^7.0.0" }));
    assert!(
        v.get("description").is_none() && v.get("scripts").is_none() && v.get("_npmUser").is_none()
    );

    // `?write=true` is only a hint.
    assert_eq!(
        get("left-pad?write=true").body_json()["versions"]["1.0.0"]["version"],
        "1.0.0"
    );
    // One version by number or tag.
    assert_eq!(
        get("left-pad/latest").body_json()["dist"]["shasum"],
        shasum(&bytes)
    );
    assert_eq!(get("left-pad/2.0.0").status, 404);

    let tgz = get("left-pad/-/left-pad-1.0.0.tgz");
    assert_eq!(tgz.status, 200);
    assert_eq!(
        tgz.header_value("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(blob_bytes(&tgz), bytes);
    assert_eq!(get("left-pad/-/left-pad-9.9.9.tgz").status, 404);
}

#[test]
fn scoped_publish_answers_every_spelling() {
    start();
    let published = publish("@scope%2fname", "@scope/name", "1.0.0");
    assert_eq!(published.status, 200, "{:?}", published.body_json());
    let bytes = tarball_bytes("@scope/name", "1.0.0");

    for path in ["@scope%2fname", "%40scope%2Fname", "@scope/name"] {
        let doc = get(path).body_json();
        assert_eq!(doc["name"], "@scope/name", "{path}");
        let dist = &doc["versions"]["1.0.0"]["dist"];
        assert_eq!(
            dist["tarball"],
            format!("{BASE}@scope/name/-/name-1.0.0.tgz")
        );
        assert_eq!(dist["integrity"], integrity(&bytes));
        assert_eq!(dist["shasum"], shasum(&bytes));
    }
    let corgi = send(TestRequest::new(Method::Get, "@scope%2fname").header("accept", CORGI))
        .1
        .body_json();
    assert_eq!(
        corgi["versions"]["1.0.0"]["dist"]["tarball"],
        format!("{BASE}@scope/name/-/name-1.0.0.tgz")
    );

    for path in [
        "@scope/name/-/name-1.0.0.tgz",
        "@scope%2fname/-/name-1.0.0.tgz",
        "@scope/name/-/@scope/name-1.0.0.tgz",
    ] {
        let tgz = get(path);
        assert_eq!(tgz.status, 200, "{path}");
        assert_eq!(blob_bytes(&tgz), bytes);
    }
}

#[test]
fn republishing_a_version_is_refused_with_npms_message() {
    start();
    assert_eq!(publish("left-pad", "left-pad", "1.0.0").status, 200);
    let again = publish("left-pad", "left-pad", "1.0.0");
    assert_eq!(again.status, 403);
    assert_eq!(
        again.body_json()["error"],
        "You cannot publish over the previously published versions: 1.0.0."
    );
    assert_eq!(publish("left-pad", "left-pad", "1.1.0").status, 200);
    let doc = get("left-pad").body_json();
    assert_eq!(doc["dist-tags"]["latest"], "1.1.0");
    assert_eq!(doc["versions"].as_object().unwrap().len(), 2);
}

#[test]
fn integrity_mismatch_publishes_nothing() {
    start();
    let mut body = publish_body("left-pad", "1.0.0", b"real bytes");
    body["versions"]["1.0.0"]["dist"]["integrity"] = json!(integrity(b"other bytes"));
    let refused = put("left-pad", &body);
    assert_eq!(refused.status, 400);
    assert!(
        refused.body_json()["error"]
            .as_str()
            .unwrap()
            .starts_with("integrity mismatch")
    );

    let mut body = publish_body("left-pad", "1.0.0", b"real bytes");
    body["versions"]["1.0.0"]["dist"]["shasum"] = json!(shasum(b"other bytes"));
    assert_eq!(put("left-pad", &body).status, 400);

    assert_eq!(get("left-pad").status, 404);
    assert!(mock::with(|h| h.catalog.versions.is_empty()
        && h.catalog.assets.is_empty()
        && h.catalog.kv.is_empty()));
}

#[test]
fn a_body_for_another_package_is_refused() {
    start();
    let body = publish_body("right-pad", "1.0.0", b"x");
    let refused = put("left-pad", &body);
    assert_eq!(refused.status, 400);
    assert!(
        refused.body_json()["error"]
            .as_str()
            .unwrap()
            .contains("does not match")
    );
    assert!(mock::with(|h| h.catalog.versions.is_empty()));
}

#[test]
fn names_are_validated() {
    start();
    assert_eq!(publish("Left-Pad", "Left-Pad", "1.0.0").status, 400);
    assert_eq!(publish("_private", "_private", "1.0.0").status, 400);
    assert_eq!(get(".hidden").status, 400);
    assert_eq!(get("unknown").status, 404);
    assert_eq!(get("unknown").body_json(), json!({ "error": "not found" }));
}

#[test]
fn dist_tags_add_list_and_remove() {
    start();
    publish("@scope%2fname", "@scope/name", "1.0.0");
    publish("@scope%2fname", "@scope/name", "1.0.1");

    let added = put("-/package/@scope%2fname/dist-tags/beta", &json!("1.0.0"));
    assert_eq!(added.status, 200, "{:?}", added.body_json());
    assert_eq!(added.body_json()["ok"], true);
    let post = TestRequest::new(Method::Post, "-/package/%40scope%2Fname/dist-tags/next")
        .body("\"1.0.1\"");
    assert_eq!(send(post).1.status, 200);

    let listed = get("-/package/@scope%2fname/dist-tags");
    assert_eq!(
        listed.body_json(),
        json!({ "latest": "1.0.1", "beta": "1.0.0", "next": "1.0.1" })
    );
    assert_eq!(
        get("@scope%2fname").body_json()["dist-tags"]["beta"],
        "1.0.0"
    );

    assert_eq!(
        put("-/package/@scope%2fname/dist-tags/beta", &json!("3.0.0")).status,
        404
    );
    assert_eq!(
        put("-/package/@scope%2fname/dist-tags/1.x", &json!("1.0.0")).status,
        400
    );
    assert_eq!(
        put("-/package/nope/dist-tags/beta", &json!("1.0.0")).status,
        404
    );

    assert_eq!(delete("-/package/@scope%2fname/dist-tags/beta").status, 200);
    assert_eq!(delete("-/package/@scope%2fname/dist-tags/beta").status, 404);
    assert_eq!(
        delete("-/package/@scope%2fname/dist-tags/latest").status,
        400
    );
    assert_eq!(
        get("-/package/@scope%2fname/dist-tags").body_json(),
        json!({ "latest": "1.0.1", "next": "1.0.1" })
    );
}

#[test]
fn deprecate_and_undeprecate_with_the_whole_packument() {
    start();
    publish("left-pad", "left-pad", "1.0.0");
    publish("left-pad", "left-pad", "1.1.0");

    // `npm deprecate left-pad@1.0.0 "use 1.1"`: GET ?write=true, edit, PUT back.
    let mut doc = get("left-pad?write=true").body_json();
    doc["versions"]["1.0.0"]["deprecated"] = json!("use 1.1");
    doc["versions"]["1.0.0"]["description"] = json!("ignored: versions are immutable");
    assert_eq!(put("left-pad", &doc).status, 200);
    let doc = get("left-pad").body_json();
    assert_eq!(doc["versions"]["1.0.0"]["deprecated"], "use 1.1");
    assert_eq!(
        doc["versions"]["1.0.0"]["description"],
        "left-pad does things"
    );
    assert!(doc["versions"]["1.1.0"].get("deprecated").is_none());
    let corgi = send(TestRequest::new(Method::Get, "left-pad").header("accept", CORGI))
        .1
        .body_json();
    assert_eq!(corgi["versions"]["1.0.0"]["deprecated"], "use 1.1");

    // `npm undeprecate` sends an empty message.
    let mut doc = get("left-pad?write=true").body_json();
    doc["versions"]["1.0.0"]["deprecated"] = json!("");
    assert_eq!(put("left-pad", &doc).status, 200);
    assert!(
        get("left-pad").body_json()["versions"]["1.0.0"]
            .get("deprecated")
            .is_none()
    );
    assert_eq!(mock::with(|h| h.catalog.versions["left-pad"].len()), 2);
}

#[test]
fn unpublish_one_version_then_the_package() {
    start();
    publish("@scope%2fname", "@scope/name", "1.0.0");
    publish("@scope%2fname", "@scope/name", "1.1.0");
    publish("@scope%2fname", "@scope/name", "1.2.0");

    // `npm unpublish @scope/name@1.2.0` (libnpmpublish): prune, PUT -rev, DELETE the tarball.
    let mut doc = get("@scope%2fname?write=true").body_json();
    let rev = doc["_rev"].as_str().unwrap().to_string();
    let tarball = doc["versions"]["1.2.0"]["dist"]["tarball"]
        .as_str()
        .unwrap()
        .to_string();
    doc["versions"].as_object_mut().unwrap().remove("1.2.0");
    doc["dist-tags"]["latest"] = json!("1.1.0");
    let pruned = put(&format!("@scope%2fname/-rev/{rev}"), &doc);
    assert_eq!(pruned.status, 200, "{:?}", pruned.body_json());
    let tarball_path = tarball.strip_prefix(BASE).unwrap();
    let gone = delete(&format!("{tarball_path}/-rev/{rev}"));
    assert_eq!(gone.status, 200);
    assert_eq!(gone.body_json(), json!({ "ok": true }));

    let doc = get("@scope%2fname").body_json();
    assert_eq!(
        doc["versions"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["1.0.0", "1.1.0"]
    );
    assert_eq!(doc["dist-tags"], json!({ "latest": "1.1.0" }));
    assert_eq!(get(tarball_path).status, 404);

    // Deleting a tarball directly removes its version; latest moves to the highest left.
    let rev = doc["_rev"].as_str().unwrap();
    assert_eq!(
        delete(&format!("@scope/name/-/name-1.1.0.tgz/-rev/{rev}")).status,
        200
    );
    assert_eq!(
        get("-/package/@scope%2fname/dist-tags").body_json(),
        json!({ "latest": "1.0.0" })
    );

    // `npm unpublish @scope/name --force`.
    assert_eq!(delete("@scope%2fname/-rev/1-x").status, 200);
    assert_eq!(get("@scope%2fname").status, 404);
    assert_eq!(get("@scope/name/-/name-1.0.0.tgz").status, 404);
    assert_eq!(delete("@scope%2fname/-rev/1-x").status, 404);
    assert_eq!(package_doc::stored("@scope/name"), None);
    assert!(mock::with(
        |h| h.catalog.tags.is_empty() && h.catalog.assets.is_empty()
    ));
}

#[test]
fn search_finds_by_name_and_description() {
    start();
    publish("left-pad", "left-pad", "1.0.0");
    publish("@scope%2fname", "@scope/name", "1.0.0");
    // A newer prerelease under another tag: search shows the host's latest row.
    let mut beta = publish_body("left-pad", "2.0.0-beta.1", b"beta");
    beta["dist-tags"] = json!({ "beta": "2.0.0-beta.1" });
    assert_eq!(put("left-pad", &beta).status, 200);

    let found =
        get("-/v1/search?text=left&size=20&from=0&quality=0.65&popularity=0.98&maintenance=0.5")
            .body_json();
    assert_eq!(found["total"], 1);
    let package = &found["objects"][0]["package"];
    assert_eq!(package["name"], "left-pad");
    // The host's row is shown as is (the mock's latest is the newest publish).
    assert_eq!(package["version"], "2.0.0-beta.1");
    assert_eq!(package["description"], "left-pad does things");
    assert_eq!(package["keywords"], json!(["demo"]));
    assert_eq!(package["publisher"], json!({ "username": "alice" }));
    assert_eq!(package["maintainers"][0]["username"], "alice");
    assert_eq!(found["objects"][0]["score"]["final"], 1);
    assert!(found["time"].as_str().unwrap().ends_with('Z'));

    let by_description = get("-/v1/search?text=does+things").body_json();
    assert_eq!(by_description["total"], 2);
    let paged = get("-/v1/search?text=does+things&size=1&from=1").body_json();
    assert_eq!(paged["objects"].as_array().unwrap().len(), 1);
    assert_eq!(
        get("-/v1/search?text=nothing-like-this").body_json()["total"],
        0
    );
}

#[test]
fn login_whoami_and_the_web_login_fallback() {
    start();
    mock::with(|h| h.users.insert("alice".into(), "s3cret".into()));
    mock::login_as(None);

    let web = send(TestRequest::new(Method::Post, "-/v1/login").body("{}")).1;
    assert_eq!(web.status, 404);
    assert!(web.body_json()["error"].is_string());

    let body = json!({ "_id": "org.couchdb.user:alice", "name": "alice", "password": "s3cret", "type": "user", "roles": [] });
    let ok = put("-/user/org.couchdb.user:alice", &body);
    assert_eq!(ok.status, 201);
    assert_eq!(
        ok.body_json(),
        json!({ "ok": true, "id": "org.couchdb.user:alice", "rev": "_we_dont_use_revs_any_more", "token": "token-for-alice" })
    );
    let encoded = put("-/user/org.couchdb.user%3Aalice", &body);
    assert_eq!(encoded.status, 201);

    let wrong = put(
        "-/user/org.couchdb.user:alice",
        &json!({ "name": "alice", "password": "nope" }),
    );
    assert_eq!(wrong.status, 401);
    assert!(wrong.body_json()["error"].is_string());

    assert_eq!(get("-/whoami").status, 401);
    mock::login_as(Some("alice"));
    assert_eq!(get("-/whoami").body_json(), json!({ "username": "alice" }));
    assert_eq!(get("-/ping?write=true").body_json(), json!({}));
    let audit =
        send(TestRequest::new(Method::Post, "-/npm/v1/security/advisories/bulk").body("{}")).1;
    assert_eq!(audit.body_json(), json!({}));
}

#[test]
fn classify_asks_for_the_right_access() {
    let access = |method: Method, path: &str| {
        let route = TestRequest::new(method, path)
            .send::<Npm>()
            .expect("classifies")
            .0;
        let a = &route.access[0];
        // Unpublishing a version may also move `latest` (a write).
        let extra: Vec<_> = route.access[1..]
            .iter()
            .map(|x| (x.action, x.package.clone(), x.repository.clone()))
            .collect();
        let expected = match route.id.as_str() {
            "revision" | "unpublish-tarball" => {
                vec![(Action::Write, a.package.clone(), None)]
            }
            _ => Vec::new(),
        };
        assert_eq!(extra, expected, "{path}");
        assert!(a.repository.is_none());
        (route.id, a.action, a.package.clone())
    };
    let pkg = |name: &str| Some(name.to_string());
    assert_eq!(
        access(Method::Put, "@scope%2fname"),
        ("publish".into(), Action::Write, pkg("@scope/name"))
    );
    assert_eq!(
        access(Method::Get, "%40scope%2Fname"),
        ("packument".into(), Action::Read, pkg("@scope/name"))
    );
    assert_eq!(
        access(Method::Head, "left-pad"),
        ("packument".into(), Action::Read, pkg("left-pad"))
    );
    assert_eq!(
        access(Method::Get, "@scope/name/-/name-1.0.0.tgz"),
        ("tarball".into(), Action::Read, pkg("@scope/name"))
    );
    assert_eq!(
        access(Method::Put, "left-pad/-rev/3-abc"),
        ("revision".into(), Action::Delete, pkg("left-pad"))
    );
    assert_eq!(
        access(Method::Delete, "left-pad/-rev/3-abc"),
        ("unpublish-package".into(), Action::Delete, pkg("left-pad"))
    );
    assert_eq!(
        access(Method::Delete, "left-pad/-/left-pad-1.0.0.tgz/-rev/3-abc"),
        ("unpublish-tarball".into(), Action::Delete, pkg("left-pad"))
    );
    assert_eq!(
        access(Method::Put, "-/package/@scope/name/dist-tags/beta"),
        ("dist-tag-set".into(), Action::Write, pkg("@scope/name"))
    );
    assert_eq!(
        access(Method::Delete, "-/package/left-pad/dist-tags/beta"),
        ("dist-tag-remove".into(), Action::Write, pkg("left-pad"))
    );
    assert_eq!(
        access(Method::Get, "-/package/left-pad/dist-tags"),
        ("dist-tags".into(), Action::Read, pkg("left-pad"))
    );
    for (method, path, id) in [
        (Method::Get, "-/ping", "ping"),
        (Method::Get, "-/whoami", "whoami"),
        (Method::Get, "-/v1/search", "search"),
        (
            Method::Post,
            "-/npm/v1/security/advisories/bulk",
            "advisories",
        ),
    ] {
        assert_eq!(
            access(method, path),
            (id.into(), Action::Read, None),
            "{path}"
        );
    }
    assert!(matches!(
        TestRequest::new(Method::Delete, "left-pad").send::<Npm>(),
        Err(ClassifyError::MethodNotAllowed(_))
    ));
    // Logging in needs no access: it is how a caller gets one.
    for (method, path) in [
        (Method::Put, "-/user/org.couchdb.user:alice"),
        (Method::Post, "-/v1/login"),
    ] {
        let route = TestRequest::new(method, path).send::<Npm>().unwrap().0;
        assert!(route.access.is_empty(), "{path}: {:?}", route.access);
    }
}

#[test]
fn errors_take_npms_shape() {
    use wharf_sdk::Format;
    let r = Npm::error(401, "authentication required");
    assert_eq!(
        (r.status, r.body_json()),
        (401, json!({ "error": "authentication required" }))
    );
    assert_eq!(r.header_value("content-type"), Some("application/json"));
    assert_eq!(
        Npm::error(403, "").body_json(),
        json!({ "error": "forbidden" })
    );
    assert_eq!(Npm::info().format, "npm");
}

#[test]
fn a_first_publish_under_another_tag_also_gets_latest() {
    start();
    let mut body = publish_body("left-pad", "2.0.0-rc.1", b"rc");
    body["dist-tags"] = json!({ "next": "2.0.0-rc.1" });
    assert_eq!(put("left-pad", &body).status, 200);
    assert_eq!(
        get("-/package/left-pad/dist-tags").body_json(),
        json!({ "latest": "2.0.0-rc.1", "next": "2.0.0-rc.1" })
    );

    // Later publishes only move the tags they name.
    let mut body = publish_body("left-pad", "1.0.0", b"one");
    body["dist-tags"] = json!({ "legacy": "1.0.0" });
    assert_eq!(put("left-pad", &body).status, 200);
    assert_eq!(
        get("-/package/left-pad/dist-tags").body_json(),
        json!({ "latest": "2.0.0-rc.1", "next": "2.0.0-rc.1", "legacy": "1.0.0" })
    );

    let mut body = publish_body("left-pad", "3.0.0", b"three");
    body["dist-tags"] = json!({ "1.x": "3.0.0" });
    assert_eq!(put("left-pad", &body).status, 400);
    assert_eq!(get("left-pad/3.0.0").status, 404);
}

#[test]
fn package_fields_follow_latest() {
    start();
    assert_eq!(publish("left-pad", "left-pad", "1.0.0").status, 200);
    let mut old = publish_body("left-pad", "0.9.1", b"old");
    old["dist-tags"] = json!({ "legacy": "0.9.1" });
    old["description"] = json!("an old line");
    old["versions"]["0.9.1"]["readme"] = json!("# Old");
    assert_eq!(put("left-pad", &old).status, 200);
    let doc = get("left-pad").body_json();
    assert_eq!(
        (doc["description"].as_str(), doc["readme"].as_str()),
        (Some("left-pad does things"), Some("# Hello"))
    );

    let mut new = publish_body("left-pad", "2.0.0", b"new");
    new["description"] = json!("now faster");
    new["versions"]["2.0.0"]["readme"] = json!("# Faster");
    assert_eq!(put("left-pad", &new).status, 200);
    let doc = get("left-pad").body_json();
    assert_eq!(
        (doc["description"].as_str(), doc["readme"].as_str()),
        (Some("now faster"), Some("# Faster"))
    );
}

/// The catalog as text, to compare before and after a failed request.
fn catalog_state() -> String {
    mock::with(|h| {
        let c = &h.catalog;
        format!("{:?}\n{:?}\n{:?}\n{:?}", c.versions, c.assets, c.tags, c.kv)
    })
}

#[test]
fn a_store_outage_is_a_503_never_absent() {
    start();
    assert_eq!(publish("left-pad", "left-pad", "1.0.0").status, 200);
    let before = catalog_state();
    mock::with(|h| h.store_down = true);

    let down = |r: Response| {
        assert_eq!(r.status, 503, "{:?}", r.body_json());
        assert_eq!(r.header_value("content-type"), Some("application/json"));
        let doc = r.body_json();
        assert!(doc["error"].is_string(), "{doc}");
        assert_eq!(doc.as_object().unwrap().len(), 1, "{doc}");
        assert!(r.cache.is_none(), "an outage is not cacheable");
    };
    // Reads: known or unknown, nothing is reported absent.
    for path in [
        "left-pad",
        "unknown",
        "left-pad/1.0.0",
        "left-pad/latest",
        "unknown/1.0.0",
        "left-pad/-/left-pad-1.0.0.tgz",
        "-/package/left-pad/dist-tags",
        "-/v1/search?text=left",
    ] {
        down(get(path));
    }
    down(send(TestRequest::new(Method::Get, "left-pad").header("accept", CORGI)).1);

    // Writes change nothing.
    down(publish("left-pad", "left-pad", "1.1.0"));
    down(publish("right-pad", "right-pad", "1.0.0"));
    down(put("-/package/left-pad/dist-tags/beta", &json!("1.0.0")));
    down(delete("-/package/left-pad/dist-tags/beta"));
    let mut deprecated = publish_body("left-pad", "1.0.0", b"x");
    deprecated.as_object_mut().unwrap().remove("_attachments");
    deprecated["versions"]["1.0.0"]["deprecated"] = json!("old");
    down(put("left-pad", &deprecated));
    down(put(
        "left-pad/-rev/1-x",
        &json!({ "name": "left-pad", "versions": {} }),
    ));
    down(delete("left-pad/-/left-pad-1.0.0.tgz/-rev/1-x"));
    down(delete("left-pad/-rev/1-x"));

    mock::with(|h| h.store_down = false);
    assert_eq!(catalog_state(), before);
    assert_eq!(get("left-pad").status, 200);
}

/// One `npm publish` body carrying several versions and their tarballs.
fn publish_body_of(name: &str, versions: &[&str]) -> Value {
    let mut body = publish_body(name, versions[0], &tarball_bytes(name, versions[0]));
    for version in &versions[1..] {
        let other = publish_body(name, version, &tarball_bytes(name, version));
        let copy = |member: &str, body: &mut Value| {
            let from = other[member].as_object().unwrap().clone();
            body[member].as_object_mut().unwrap().extend(from);
        };
        copy("versions", &mut body);
        copy("_attachments", &mut body);
    }
    body
}

#[test]
fn a_publish_of_several_versions_is_all_or_nothing() {
    start();
    let mut body = publish_body_of("left-pad", &["1.0.0", "1.1.0"]);
    body["dist-tags"] = json!({ "latest": "1.1.0", "old": "1.0.0" });
    assert_eq!(put("left-pad", &body).status, 200);
    let doc = get("left-pad").body_json();
    assert_eq!(
        doc["dist-tags"],
        json!({ "latest": "1.1.0", "old": "1.0.0" })
    );
    for version in ["1.0.0", "1.1.0"] {
        let file = format!("left-pad/-/left-pad-{version}.tgz");
        assert_eq!(
            blob_bytes(&get(&file)),
            tarball_bytes("left-pad", version),
            "{file}"
        );
    }
    assert!(package_doc::stored("left-pad").is_some());

    // A tarball path taken (by another writer, since the checks) fails the
    // whole publish: no version, tag or package document is left behind.
    start();
    let taken = "right-pad/-/right-pad-1.1.0.tgz";
    mock::with(|h| {
        let asset = wharf_sdk::types::Asset {
            path: taken.into(),
            blake3: "0".repeat(64),
            content_type: "application/octet-stream".into(),
            metadata_json: String::new(),
            added_at: 0,
        };
        let owner = wharf_sdk::types::Owner {
            package: "right-pad".into(),
            version: None,
        };
        h.catalog.assets.insert(taken.into(), (asset, owner));
        h.owners
            .insert("right-pad".into(), vec!["user:alice".into()]);
    });
    let before = catalog_state();
    let refused = put(
        "right-pad",
        &publish_body_of("right-pad", &["1.0.0", "1.1.0"]),
    );
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.body_json()["error"],
        "You cannot publish over the previously published versions: 1.0.0, 1.1.0."
    );
    assert_eq!(catalog_state(), before);
}

#[test]
fn deprecations_of_several_versions_apply_together() {
    start();
    publish("left-pad", "left-pad", "1.0.0");
    publish("left-pad", "left-pad", "1.1.0");
    publish("left-pad", "left-pad", "2.0.0");

    // `npm deprecate left-pad@"<2" "use 2"`, with a version the registry
    // does not have (the client's copy was stale): that one is ignored.
    let mut doc = get("left-pad?write=true").body_json();
    for version in ["1.0.0", "1.1.0"] {
        doc["versions"][version]["deprecated"] = json!("use 2");
    }
    doc["versions"]["0.1.0"] = json!({ "version": "0.1.0", "deprecated": "gone" });
    assert_eq!(put("left-pad", &doc).status, 200);
    let deprecations = mock::with(|h| {
        h.catalog.versions["left-pad"]
            .iter()
            .map(|r| (r.version.clone(), r.deprecated.clone()))
            .collect::<Vec<_>>()
    });
    let use_2 = Some("use 2".to_string());
    assert_eq!(
        deprecations,
        [
            ("1.0.0".to_string(), use_2.clone()),
            ("1.1.0".to_string(), use_2),
            ("2.0.0".to_string(), None),
        ]
    );

    // A metadata update for a package the registry does not have.
    let mut unknown = doc.clone();
    unknown["name"] = json!("right-pad");
    assert_eq!(put("right-pad", &unknown).status, 404);
}

#[test]
fn version_and_tag_lookups_name_what_is_missing() {
    start();
    publish("left-pad", "left-pad", "1.0.0");
    assert_eq!(
        get("left-pad/2.0.0").body_json(),
        json!({ "error": "version not found: 2.0.0" })
    );
    assert_eq!(
        get("right-pad/1.0.0").body_json(),
        json!({ "error": "not found" })
    );
    assert_eq!(get("-/package/right-pad/dist-tags").status, 404);
    assert_eq!(delete("-/package/right-pad/dist-tags/beta").status, 404);
    let missing = delete("-/package/left-pad/dist-tags/beta");
    assert_eq!(
        (missing.status, missing.body_json()),
        (404, json!({ "error": "tag not found: beta" }))
    );
}

#[test]
fn the_package_document_lives_in_the_packages_kv() {
    start();
    // An empty value is what unpublish left before kv entries could be deleted.
    mock::with(|h| {
        h.catalog
            .kv
            .insert((Some("left-pad".into()), "package".into()), Vec::new())
    });
    assert_eq!(publish("left-pad", "left-pad", "1.0.0").status, 200);
    let stored: Value = serde_json::from_slice(&package_doc::stored("left-pad").unwrap()).unwrap();
    assert_eq!(stored["readme"], "# Hello");
    // Maintainers are the host's owners, not stored with the document.
    assert!(stored.get("maintainers").is_none(), "{stored}");
    assert_eq!(mock::with(|h| h.catalog.kv.len()), 1);

    // Unpublishing the last version forgets it, in the same transaction.
    let mut doc = get("left-pad?write=true").body_json();
    doc["versions"] = json!({});
    assert_eq!(put("left-pad/-rev/1-x", &doc).status, 200);
    assert_eq!(package_doc::stored("left-pad"), None);
    assert_eq!(get("left-pad").status, 404);
}
