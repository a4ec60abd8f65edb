//! npm, end to end: the real `npm` CLI against a running wharf, in a fresh
//! HOME, through login, publish, install, dist-tags, deprecate, unpublish and
//! search; plus the refusals a registry owes its users.

use base64::Engine;
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::Command;
use wharf_tests::npm::{NpmUser, package};
use wharf_tests::{PluginEntry, Server, npm_publish_body as publish_body, run, send, send_with};

fn assert_same_files(source: &Path, installed: &Path) {
    for file in ["package.json", "index.js", "README.md", "lib/data.bin"] {
        let want = std::fs::read(source.join(file)).unwrap();
        let got = std::fs::read(installed.join(file))
            .unwrap_or_else(|e| panic!("{} not installed: {e}", installed.join(file).display()));
        if file == "package.json" {
            // npm rewrites nothing in package.json on install today, but compare
            // the fields a user relies on rather than formatting.
            let (w, g): (serde_json::Value, serde_json::Value) = (
                serde_json::from_slice(&want).unwrap(),
                serde_json::from_slice(&got).unwrap(),
            );
            assert_eq!(w["name"], g["name"]);
            assert_eq!(w["version"], g["version"]);
        } else {
            assert!(
                want == got,
                "{file} differs after install from {}",
                installed.display()
            );
        }
    }
}

fn project(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(
        path.join("package.json"),
        format!("{{\"name\": \"{name}\", \"version\": \"0.0.0\", \"private\": true}}"),
    )
    .unwrap();
    path
}

#[test]
fn the_npm_cli_publishes_and_installs_through_wharf() {
    let server = Server::start(&[PluginEntry {
        format: "npm",
        extra: "",
    }]);
    server.create_user("alice", "alice-password");
    let alice = NpmUser::new(&server);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();

    // Log in with the legacy flow (the host checks the password, issues a token).
    alice.login("login", "alice", "alice-password");
    assert_eq!(alice.ok(w, &["whoami"]).trim(), "alice");
    let npmrc = std::fs::read_to_string(alice.home.path().join(".npmrc")).unwrap();
    assert!(
        npmrc.contains(":_authToken=wharf_"),
        "npm stored the host-issued token:\n{npmrc}"
    );
    // adduser with an existing account logs in as well.
    alice.login("adduser", "alice", "alice-password");
    assert_eq!(alice.ok(w, &["whoami"]).trim(), "alice");

    // Publish two versions of an unscoped and of a scoped package.
    let plain_1 = package(w, "wharf-e2e-plain", "1.0.0", serde_json::json!({}));
    let plain_2 = package(w, "wharf-e2e-plain", "1.1.0", serde_json::json!({}));
    let scoped_1 = package(w, "@acme/widget", "1.0.0", serde_json::json!({}));
    let scoped_2 = package(
        w,
        "@acme/widget",
        "2.0.0",
        serde_json::json!({ "dependencies": { "wharf-e2e-plain": "^1.0.0" } }),
    );
    for dir in [&plain_1, &plain_2, &scoped_1, &scoped_2] {
        alice.ok(dir, &["publish"]);
    }
    let versions = alice.ok(w, &["view", "@acme/widget", "versions", "--json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&versions).unwrap(),
        serde_json::json!(["1.0.0", "2.0.0"])
    );
    assert_eq!(
        alice
            .ok(w, &["view", "wharf-e2e-plain", "dist-tags.latest"])
            .trim(),
        "1.1.0"
    );

    // Republishing a version is refused (the status, 403, is checked over raw HTTP below).
    let (ok, _, err) = alice.npm(&plain_1, &["publish"]);
    assert!(!ok, "republish must fail");
    assert!(
        err.contains("You cannot publish over the previously published versions: 1.0.0"),
        "{err}"
    );

    // Install into a fresh project in a fresh HOME: the files are the ones published.
    let bob = NpmUser::new(&server);
    let app = project(w, "app");
    bob.ok(&app, &["install", "@acme/widget@2.0.0"]);
    assert_same_files(&scoped_2, &app.join("node_modules/@acme/widget"));
    assert_same_files(&plain_2, &app.join("node_modules/wharf-e2e-plain"));
    let lock = std::fs::read_to_string(app.join("package-lock.json")).unwrap();
    assert!(
        lock.contains("\"integrity\": \"sha512-"),
        "the lockfile records sha512 integrity"
    );
    let (ok, out, _) = run(Command::new("node")
        .args(["-e", "console.log(require('@acme/widget').version)"])
        .current_dir(&app));
    assert!(ok && out.trim() == "2.0.0");

    // dist-tags: add, list, remove.
    alice.ok(w, &["dist-tag", "add", "wharf-e2e-plain@1.0.0", "stable"]);
    let tags = alice.ok(w, &["dist-tag", "ls", "wharf-e2e-plain"]);
    assert!(
        tags.contains("stable: 1.0.0") && tags.contains("latest: 1.1.0"),
        "{tags}"
    );
    let pinned = project(w, "pinned");
    bob.ok(&pinned, &["install", "wharf-e2e-plain@stable"]);
    assert_same_files(&plain_1, &pinned.join("node_modules/wharf-e2e-plain"));
    alice.ok(w, &["dist-tag", "rm", "wharf-e2e-plain", "stable"]);
    assert!(
        !alice
            .ok(w, &["dist-tag", "ls", "wharf-e2e-plain"])
            .contains("stable")
    );

    // Deprecate: the warning shows on install; undeprecate removes it.
    alice.ok(
        w,
        &["deprecate", "wharf-e2e-plain@1.0.0", "please use 1.1.0"],
    );
    let old = project(w, "old");
    let (ok, out, err) = bob.npm(&old, &["install", "wharf-e2e-plain@1.0.0"]);
    assert!(ok, "{err}");
    assert!(
        format!("{out}{err}").contains("please use 1.1.0"),
        "deprecation warning shown:\n{out}\n{err}"
    );
    alice.ok(w, &["deprecate", "wharf-e2e-plain@1.0.0", ""]);
    let again = project(w, "again");
    let (ok, out, err) = bob.npm(
        &again,
        &["install", "wharf-e2e-plain@1.0.0", "--prefer-online"],
    );
    assert!(
        ok && !format!("{out}{err}").contains("please use 1.1.0"),
        "no warning after undeprecate:\n{out}\n{err}"
    );

    // Search.
    let found = alice.ok(w, &["search", "wharf-e2e", "--json"]);
    let names: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(&found)
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        names.contains(&"wharf-e2e-plain".to_string())
            && names.contains(&"@acme/widget".to_string()),
        "{names:?}"
    );

    // Unpublish one version, then a whole package.
    alice.ok(w, &["unpublish", "wharf-e2e-plain@1.0.0"]);
    let versions = alice.ok(w, &["view", "wharf-e2e-plain", "versions", "--json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&versions).unwrap(),
        serde_json::json!(["1.1.0"])
    );
    assert_eq!(
        server
            .get("/npm/wharf-e2e-plain/-/wharf-e2e-plain-1.0.0.tgz")
            .status,
        404
    );
    assert_eq!(
        server
            .get("/npm/wharf-e2e-plain/-/wharf-e2e-plain-1.1.0.tgz")
            .status,
        200
    );
    alice.ok(w, &["unpublish", "@acme/widget", "--force"]);
    let (ok, _, err) = alice.npm(w, &["view", "@acme/widget"]);
    assert!(!ok && err.contains("404"), "{err}");

    // Anonymous publish is refused and publishes nothing.
    let anonymous = NpmUser::new(&server);
    let sneaky = package(w, "wharf-e2e-anonymous", "1.0.0", serde_json::json!({}));
    let (ok, _, err) = anonymous.npm(&sneaky, &["publish"]);
    assert!(!ok, "anonymous publish must fail");
    assert!(
        err.contains("E401") || err.contains("ENEEDAUTH") || err.contains("401"),
        "{err}"
    );
    assert_eq!(server.get("/npm/wharf-e2e-anonymous").status, 404);
}

#[test]
fn bad_publishes_are_refused_in_npm_error_shape_and_leave_nothing() {
    let server = Server::start(&[PluginEntry {
        format: "npm",
        extra: "",
    }]);
    let token = server.create_user("carol", "carol-password");
    let put = |path: &str, body: &[u8], auth: Option<&str>| {
        let mut req = ureq::put(&format!("{}/npm/{path}", server.url))
            .set("content-type", "application/json");
        if let Some(t) = auth {
            req = req.set("authorization", &format!("Bearer {t}"));
        }
        send_with(req, Some(body))
    };

    // Integrity that does not match the tarball.
    let reply = put(
        "tampered",
        &publish_body("tampered", "1.0.0", b"real bytes", b"other bytes"),
        Some(&token),
    );
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(
        reply.json()["error"]
            .as_str()
            .unwrap()
            .contains("integrity"),
        "{}",
        reply.text()
    );
    assert_eq!(server.get("/npm/tampered").status, 404);
    assert_eq!(server.get("/npm/tampered/-/tampered-1.0.0.tgz").status, 404);

    // Anonymous: 401 with a challenge, in npm's shape.
    let reply = put("anon", &publish_body("anon", "1.0.0", b"x", b"x"), None);
    assert_eq!(reply.status, 401);
    assert!(reply.header("www-authenticate").is_some());
    assert!(reply.json()["error"].is_string(), "{}", reply.text());

    // Not JSON at all.
    let reply = put("garbage", b"{not json", Some(&token));
    assert_eq!(reply.status, 400);
    assert!(reply.json()["error"].is_string(), "{}", reply.text());

    // A good publish, then the tarball streams with Range and ETag.
    let tarball: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    assert_eq!(
        put(
            "good",
            &publish_body("good", "1.0.0", &tarball, &tarball),
            Some(&token)
        )
        .status,
        200
    );
    let again = put(
        "good",
        &publish_body("good", "1.0.0", &tarball, &tarball),
        Some(&token),
    );
    assert_eq!(again.status, 403, "{}", again.text());
    assert!(
        again.json()["error"]
            .as_str()
            .unwrap()
            .contains("cannot publish over")
    );
    let url = format!("{}/npm/good/-/good-1.0.0.tgz", server.url);
    let full = send(ureq::get(&url));
    assert_eq!(full.body, tarball);
    let part = send(ureq::get(&url).set("range", "bytes=10-19"));
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &tarball[10..20]);
    let etag = full.header("etag").unwrap().to_string();
    assert_eq!(
        send(ureq::get(&url).set("if-none-match", &etag)).status,
        304
    );
    let head = send(ureq::head(&url));
    assert_eq!(head.header("content-length"), Some("100000"));

    // The packument's integrity is the host's sha512 of the stored bytes.
    let doc = server.get("/npm/good").json();
    let want = format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(&tarball))
    );
    assert_eq!(doc["versions"]["1.0.0"]["dist"]["integrity"], want.as_str());
    assert!(doc.get("_attachments").is_none());

    // Metadata is compressed for clients that accept it; tarballs never are.
    let plain = server.get("/npm/good");
    assert!(
        plain.body.len() >= 512,
        "packument large enough to be compressed"
    );
    let gzipped =
        send(ureq::get(&format!("{}/npm/good", server.url)).set("accept-encoding", "gzip"));
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&gzipped.body[..]),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(unzipped, plain.body);
    let tarball = send(ureq::get(&url).set("accept-encoding", "gzip, br"));
    assert_eq!(tarball.header("content-encoding"), None);
    assert_eq!(tarball.body, full.body);
}
