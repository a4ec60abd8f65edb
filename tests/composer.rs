//! Composer, end to end: packages uploaded as zips, then installed with
//! `composer require` into fresh projects that know only Wharf (packagist
//! disabled), and their autoloaded classes run under `php`; constraints pick
//! the right version; anonymous and mismatched uploads are refused.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use wharf_tests::{PluginEntry, Reply, Server, basic, run, send_with};

const PACKAGE: &str = "acme/greeter";

/// A package zip as GitHub and `composer archive` lay it out: one top folder.
fn package_zip(version: &str) -> Vec<u8> {
    package_zip_saying(&format!("hello from {version}"))
}

/// The same, its class greeting with `greeting`.
fn package_zip_saying(greeting: &str) -> Vec<u8> {
    package_zip_of(PACKAGE, greeting)
}

/// The same, of package `name`.
fn package_zip_of(name: &str, greeting: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let manifest = serde_json::json!({
        "name": name,
        "description": "Says hello",
        "type": "library",
        "license": "MIT",
        "require": {"php": ">=7.4"},
        "autoload": {"psr-4": {"Acme\\Greeter\\": "src/"}},
    });
    zip.start_file("acme-greeter-0123abc/composer.json", opts)
        .unwrap();
    zip.write_all(manifest.to_string().as_bytes()).unwrap();
    zip.start_file("acme-greeter-0123abc/src/Hello.php", opts)
        .unwrap();
    let class = format!(
        "<?php\nnamespace Acme\\Greeter;\n\nclass Hello\n{{\n    public static function greet(): string\n    {{\n        return '{greeting}';\n    }}\n}}\n"
    );
    zip.write_all(class.as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}

fn upload(server: &Server, auth: Option<&str>, version: &str, zip: &[u8]) -> Reply {
    upload_to(server, "composer", auth, version, zip)
}

fn upload_to(server: &Server, repo: &str, auth: Option<&str>, version: &str, zip: &[u8]) -> Reply {
    upload_package(server, repo, auth, PACKAGE, version, zip)
}

fn upload_package(
    server: &Server,
    repo: &str,
    auth: Option<&str>,
    name: &str,
    version: &str,
    zip: &[u8],
) -> Reply {
    let url = format!("{}/{repo}/packages/upload/{name}/{version}", server.url);
    let mut request = ureq::put(&url).set("Content-Type", "application/zip");
    if let Some(auth) = auth {
        request = request.set("Authorization", auth);
    }
    send_with(request, Some(zip))
}

/// A fresh project that knows only Wharf, with the credentials in auth.json.
fn project(dir: &Path, server: &Server, token: &str) {
    project_of(dir, server, "composer", token)
}

/// The same, with the repository `repo` of `server`.
fn project_of(dir: &Path, server: &Server, repo: &str, token: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let composer_json = serde_json::json!({
        "name": "test/app",
        "repositories": [
            {"type": "composer", "url": format!("{}/{repo}/", server.url)},
            {"packagist.org": false},
        ],
        "config": {"secure-http": false},
        "require": {},
    });
    std::fs::write(dir.join("composer.json"), composer_json.to_string()).unwrap();
    let host = server.url.trim_start_matches("http://");
    let credentials = serde_json::json!({"username": "alice", "password": token});
    let auth = serde_json::json!({"http-basic": {
        host: credentials,
        host.split(':').next().unwrap(): credentials,
    }});
    std::fs::write(dir.join("auth.json"), auth.to_string()).unwrap();
}

fn composer(dir: &Path, home: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new("timeout");
    cmd.args(["300", "composer"])
        .args(args)
        .args(["--no-interaction", "--no-progress"])
        .current_dir(dir)
        .env("HOME", home)
        .env("COMPOSER_HOME", home.join("composer-home"))
        .env("COMPOSER_CACHE_DIR", home.join("composer-cache"))
        .env("COMPOSER_ALLOW_SUPERUSER", "1")
        .env("COMPOSER_DISABLE_NETWORK", "0")
        .env_remove("COMPOSER");
    let (ok, out, err) = run(&mut cmd);
    assert!(
        ok,
        "composer {args:?} failed\nstdout:\n{out}\nstderr:\n{err}"
    );
    out + &err
}

fn greet(dir: &Path) -> String {
    let (ok, out, err) = run(Command::new("php")
        .args([
            "-r",
            "require 'vendor/autoload.php'; echo \\Acme\\Greeter\\Hello::greet();",
        ])
        .current_dir(dir));
    assert!(ok, "php failed: {out}{err}");
    out
}

#[test]
fn composer_requires_what_was_uploaded() {
    let server = Server::start(&[PluginEntry {
        format: "composer",
        extra: "",
    }]);
    let token = server.create_user("alice", "alice-password");
    let alice = basic("alice", &token);
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");

    // Anonymous uploads are refused, in Composer's error shape.
    let refused = upload(&server, None, "1.0.0", &package_zip("1.0.0"));
    assert_eq!(refused.status, 401, "{}", refused.text());
    assert_eq!(refused.json()["status"], "error");
    // A zip whose composer.json names another package is refused.
    let wrong = format!("{}/composer/packages/upload/acme/other/1.0.0", server.url);
    let wrong = send_with(
        ureq::put(&wrong).set("Authorization", &alice),
        Some(&package_zip("1.0.0")),
    );
    assert_eq!(wrong.status, 400, "{}", wrong.text());
    assert!(
        wrong.json()["message"]
            .as_str()
            .unwrap()
            .contains("acme/greeter")
    );

    let first = upload(&server, Some(&alice), "v1.0.0", &package_zip("1.0.0"));
    assert_eq!(first.status, 201, "{}", first.text());
    assert_eq!(first.json()["version_normalized"], "1.0.0.0");
    let again = upload(&server, Some(&alice), "1.0.0", &package_zip("1.0.0"));
    assert_eq!(again.status, 409, "{}", again.text());

    let one = work.path().join("one");
    project(&one, &server, &token);
    composer(&one, &home, &["require", PACKAGE]);
    assert_eq!(greet(&one), "hello from 1.0.0");

    // A second version and a new major: a constraint picks the right one.
    for version in ["1.1.0", "2.0.0"] {
        let reply = upload(&server, Some(&alice), version, &package_zip(version));
        assert_eq!(reply.status, 201, "{}", reply.text());
    }
    let two = work.path().join("two");
    project(&two, &server, &token);
    composer(&two, &home, &["require", &format!("{PACKAGE}:^1.0")]);
    assert_eq!(greet(&two), "hello from 1.1.0");
    let three = work.path().join("three");
    project(&three, &server, &token);
    composer(&three, &home, &["require", PACKAGE]);
    assert_eq!(greet(&three), "hello from 2.0.0");

    // The metadata Composer read.
    let p2 = server.get(&format!("/composer/p2/{PACKAGE}.json")).json();
    let versions = p2["packages"][PACKAGE].as_array().unwrap();
    assert_eq!(versions.len(), 3);
    assert_eq!(versions[0]["version"], "2.0.0");
    use sha1::Digest;
    let sha1 = hex::encode(sha1::Sha1::digest(package_zip("2.0.0")));
    assert_eq!(versions[0]["dist"]["shasum"], sha1);

    // Delete a version: the next resolution falls back to 1.1.0.
    let url = format!("{}/composer/packages/{PACKAGE}/2.0.0", server.url);
    let anonymous = send_with(ureq::delete(&url), None);
    assert_eq!(anonymous.status, 401);
    let deleted = send_with(ureq::delete(&url).set("Authorization", &alice), None);
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    let four = work.path().join("four");
    project(&four, &server, &token);
    composer(&four, &home, &["require", PACKAGE]);
    assert_eq!(greet(&four), "hello from 1.1.0");
}

#[test]
fn composer_installs_through_a_proxy_and_from_its_cache_when_the_upstream_is_gone() {
    let upstream = Server::start(&[PluginEntry {
        format: "composer",
        extra: "",
    }]);
    let token = upstream.create_user("alice", "alice-password");
    let alice = basic("alice", &token);
    for version in ["1.0.0", "1.1.0"] {
        let reply = upload(&upstream, Some(&alice), version, &package_zip(version));
        assert_eq!(reply.status, 201, "{}", reply.text());
    }

    let proxy = Server::start_proxy("composer", &format!("{}/composer/", upstream.url), "", &[]);
    let reader = proxy.create_user("alice", "alice-password");
    let work = tempfile::tempdir().unwrap();
    let one = work.path().join("one");
    project_of(&one, &proxy, "composer-proxy", &reader);
    composer(
        &one,
        &work.path().join("home-one"),
        &["require", &format!("{PACKAGE}:^1.0")],
    );
    assert_eq!(greet(&one), "hello from 1.1.0");

    // Dist URLs lead back to the proxy; the zip is the upstream's, byte for byte.
    let p2 = proxy
        .get(&format!("/composer-proxy/p2/{PACKAGE}.json"))
        .json();
    let newest = &p2["packages"][PACKAGE][0];
    assert_eq!(
        newest["dist"]["url"],
        format!("{}/composer-proxy/dists/{PACKAGE}/1.1.0.0.zip", proxy.url)
    );
    let zip = send_with(ureq::get(newest["dist"]["url"].as_str().unwrap()), None);
    assert!(zip.body == package_zip("1.1.0"));

    // The upstream goes away: a fresh project with an empty cache installs
    // what the proxy has seen, and the metadata says it is stale.
    drop(upstream);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let two = work.path().join("two");
    project_of(&two, &proxy, "composer-proxy", &reader);
    composer(
        &two,
        &work.path().join("home-two"),
        &["require", &format!("{PACKAGE}:^1.0")],
    );
    assert_eq!(greet(&two), "hello from 1.1.0");
    let stale = proxy.get(&format!("/composer-proxy/p2/{PACKAGE}.json"));
    assert_eq!(stale.status, 200);
    assert!(stale.is_stale(), "{:?}", stale.headers);
    // What it never saw is Composer's "not found", not a hang.
    let never = proxy.get("/composer-proxy/p2/acme/never-seen.json");
    assert!(matches!(never.status, 404 | 502 | 504), "{}", never.status);
    assert_eq!(never.json()["status"], "error");
}

#[test]
fn a_group_of_a_hosted_and_a_proxy_repository_merges_versions_and_shows_uploads_at_once() {
    let upstream = Server::start(&[PluginEntry {
        format: "composer",
        extra: "",
    }]);
    let token = upstream.create_user("alice", "alice-password");
    let alice = basic("alice", &token);
    let public_one = package_zip_saying("public 1.0.0");
    for (version, zip) in [
        ("1.0.0", public_one.clone()),
        ("1.1.0", package_zip("1.1.0")),
    ] {
        let reply = upload(&upstream, Some(&alice), version, &zip);
        assert_eq!(reply.status, 201, "{}", reply.text());
    }
    // A package only the upstream has.
    let zip = package_zip_of("acme/public", "public only");
    let reply = upload_package(
        &upstream,
        "composer",
        Some(&alice),
        "acme/public",
        "1.0.0",
        &zip,
    );
    assert_eq!(reply.status, 201, "{}", reply.text());

    let group = "\n[[repository]]\nname = \"composer-private\"\nformat = \"composer\"\n\
                 \n[[repository]]\nname = \"composer-all\"\nformat = \"composer\"\nkind = \"group\"\n\
                 members = [\"composer-private\", \"composer-proxy\"]\n";
    let proxy = Server::start_proxy(
        "composer",
        &format!("{}/composer/", upstream.url),
        group,
        &[],
    );
    let token = proxy.create_user("bob", "bob-password");
    let bob = basic("bob", &token);
    // The hosted member holds 1.0.0 too, another zip: it shadows the public one.
    let private_one = package_zip_saying("private 1.0.0");
    for (version, zip) in [
        ("1.0.0", private_one.clone()),
        ("0.9.0", package_zip("0.9.0")),
    ] {
        let reply = upload_to(&proxy, "composer-private", Some(&bob), version, &zip);
        assert_eq!(reply.status, 201, "{}", reply.text());
    }

    // The group's p2 lists both members' versions, newest first; the first
    // member's 1.0.0; every dist leads back to the group.
    use sha1::Digest;
    let sha1 = |zip: &[u8]| hex::encode(sha1::Sha1::digest(zip));
    let listed = || {
        let reply = proxy.get(&format!("/composer-all/p2/{PACKAGE}.json"));
        assert_eq!(reply.status, 200, "{}", reply.text());
        let doc = reply.json();
        assert_eq!(doc["minified"], "composer/2.0");
        // Expanded by hand: a minified entry repeats only what changed.
        let mut current = serde_json::Map::new();
        let mut versions = Vec::new();
        for entry in doc["packages"][PACKAGE].as_array().unwrap() {
            for (k, v) in entry.as_object().unwrap() {
                current.insert(k.clone(), v.clone());
            }
            versions.push(current.clone());
        }
        versions
    };
    let versions = listed();
    let names: Vec<&str> = versions
        .iter()
        .map(|v| v["version_normalized"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["1.1.0.0", "1.0.0.0", "0.9.0.0"]);
    assert_eq!(versions[1]["dist"]["shasum"], sha1(&private_one));
    for version in &versions {
        let url = version["dist"]["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("{}/composer-all/dists/", proxy.url)),
            "{url}"
        );
    }

    // Composer installs from either member through the group's one URL.
    let work = tempfile::tempdir().unwrap();
    let require_package = |dir: &str, package: &str, constraint: &str| {
        let dir = work.path().join(dir);
        project_of(&dir, &proxy, "composer-all", &token);
        composer(
            &dir,
            &work.path().join(format!("home-{package}-{constraint}")),
            &["require", &format!("{package}:{constraint}")],
        );
        greet(&dir)
    };
    let require = |dir: &str, constraint: &str| require_package(dir, PACKAGE, constraint);
    assert_eq!(require("public", "^1.1"), "hello from 1.1.0");
    assert_eq!(require("private", "1.0.0"), "private 1.0.0");
    // The hosted member's root names its packages: the group's must not, or
    // Composer would never ask for one only the proxy has.
    assert_eq!(
        require_package("only", "acme/public", "^1.0"),
        "public only"
    );

    // An upload to the hosted member shows through the group at once (its
    // merged document was cached above).
    let reply = upload_to(
        &proxy,
        "composer-private",
        Some(&bob),
        "1.2.0",
        &package_zip("1.2.0"),
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(listed()[0]["version_normalized"], "1.2.0.0");
    assert_eq!(require("newest", "^1.0"), "hello from 1.2.0");
}
