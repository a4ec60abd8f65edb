//! Proxy and group repositories with the real npm client and no internet:
//! the upstream is a second Wharf on another loopback port, which wants
//! credentials, or Verdaccio. Installs go through the proxy; a version
//! published upstream shows within the TTL; with the upstream stopped the
//! same install still succeeds from the cache, its metadata marked stale;
//! bytes that break the packument's promise reach no client and are not
//! kept; the upstream's password appears in no log and no answer. A group
//! of a hosted and a proxy repository serves both to one client
//! configuration and takes its publishes into the hosted member.

use std::path::Path;
use std::time::Duration;
use wharf_tests::npm::{NpmUser, package};
use wharf_tests::third_party::Daemon;
use wharf_tests::{PluginEntry, Server, basic, send};

const UPSTREAM_PASSWORD: &str = "up-secret-4f1c";

/// The upstream: npm only, nothing readable without credentials, and no
/// background scrub (a test changes its stored bytes on purpose).
fn upstream() -> Server {
    let server = Server::start_with_env(
        &[PluginEntry {
            format: "npm",
            extra: "",
        }],
        &[
            ("WHARF_ANONYMOUS_READ", "false"),
            ("WHARF_SCRUB_BYTES_PER_SEC", "0"),
        ],
    );
    server.create_user("mirror", UPSTREAM_PASSWORD);
    server.create_user("alice", "alice-password");
    server
}

/// A Wharf whose `npm-proxy` repository proxies `upstream`'s npm, as the
/// user `mirror`.
fn proxy_of(upstream: &Server) -> Server {
    Server::start_proxy(
        "npm",
        &format!("{}/npm/", upstream.url),
        "upstream_username = \"mirror\"\nupstream_password_env = \"UPSTREAM_PASSWORD\"\n",
        &[("UPSTREAM_PASSWORD", UPSTREAM_PASSWORD)],
    )
}

fn app(dir: &Path) -> std::path::PathBuf {
    let app = dir.join(format!("app-{}", unique_suffix()));
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("package.json"),
        r#"{"name": "app", "private": true}"#,
    )
    .unwrap();
    app
}

fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn npm_installs_through_a_proxy_and_from_its_cache_when_the_upstream_is_gone() {
    let upstream = upstream();
    let alice = NpmUser::new(&upstream);
    alice.login("login", "alice", "alice-password");
    let work = tempfile::tempdir().unwrap();
    let v1 = package(work.path(), "proxied-pkg", "1.0.0", serde_json::json!({}));
    alice.ok(&v1, &["publish"]);

    let proxy = proxy_of(&upstream);
    let client = NpmUser::of_repository(&proxy, "npm-proxy");
    let project = app(work.path());
    client.ok(&project, &["install", "proxied-pkg@1.0.0"]);
    let installed = std::fs::read(project.join("node_modules/proxied-pkg/lib/data.bin")).unwrap();
    assert!(installed == std::fs::read(v1.join("lib/data.bin")).unwrap());

    // The packument sends clients back to the proxy, and the tarball is
    // the upstream's, byte for byte.
    let doc = proxy.get("/npm-proxy/proxied-pkg").json();
    let tarball = doc["versions"]["1.0.0"]["dist"]["tarball"]
        .as_str()
        .unwrap();
    assert_eq!(
        tarball,
        format!(
            "{}/npm-proxy/proxied-pkg/-/proxied-pkg-1.0.0.tgz",
            proxy.url
        )
    );
    let from_upstream = send(
        ureq::get(&format!(
            "{}/npm/proxied-pkg/-/proxied-pkg-1.0.0.tgz",
            upstream.url
        ))
        .set("Authorization", &basic("alice", "alice-password")),
    );
    assert_eq!(from_upstream.status, 200);
    assert!(send(ureq::get(tarball)).body == from_upstream.body);

    // A version published upstream shows once the TTL has passed, though
    // the proxy had the document cached.
    let view = ["view", "proxied-pkg", "version", "--prefer-online"];
    assert_eq!(client.ok(work.path(), &view).trim(), "1.0.0");
    let v2 = package(work.path(), "proxied-pkg", "1.1.0", serde_json::json!({}));
    alice.ok(&v2, &["publish"]);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(client.ok(work.path(), &view).trim(), "1.1.0");

    // The upstream goes away: a client with an empty cache still installs
    // what the proxy has seen, and the metadata says it is stale.
    drop(upstream);
    std::thread::sleep(Duration::from_millis(1200));
    let offline = NpmUser::of_repository(&proxy, "npm-proxy");
    let project = app(work.path());
    offline.ok(&project, &["install", "proxied-pkg@1.0.0"]);
    let installed = std::fs::read(project.join("node_modules/proxied-pkg/lib/data.bin")).unwrap();
    assert!(installed == std::fs::read(v1.join("lib/data.bin")).unwrap());
    let stale = proxy.get("/npm-proxy/proxied-pkg");
    assert_eq!(stale.status, 200);
    assert!(stale.is_stale(), "{:?}", stale.headers);
    // What it never fetched is a clean error, not a hang.
    let never = proxy.get("/npm-proxy/never-seen");
    assert!(
        never.status == 502 || never.status == 404,
        "{}",
        never.status
    );
    assert!(never.json()["error"].is_string());

    // The upstream password is nowhere: not in the log, not in the admin
    // API, not in a document.
    let repositories = proxy.admin("GET", "/api/v1/repositories", None);
    assert!(repositories.text().contains("UPSTREAM_PASSWORD"));
    for text in [proxy.log(), repositories.text(), stale.text()] {
        assert!(!text.contains(UPSTREAM_PASSWORD));
    }
}

#[test]
fn bytes_that_break_the_packuments_promise_are_refused_and_not_kept() {
    let mut upstream = upstream();
    let alice = NpmUser::new(&upstream);
    alice.login("login", "alice", "alice-password");
    let work = tempfile::tempdir().unwrap();
    let source = package(work.path(), "tampered-pkg", "1.0.0", serde_json::json!({}));
    alice.ok(&source, &["publish"]);

    // The upstream's stored tarball changes under it, same size.
    let blake3 = upstream
        .sql("SELECT blake3 FROM assets WHERE path = 'tampered-pkg/-/tampered-pkg-1.0.0.tgz'");
    let blake3 = blake3.trim();
    let file = upstream.dir.path().join(format!(
        "data/objects/blobs/{}/{}/{blake3}",
        &blake3[..2],
        &blake3[2..4]
    ));
    let original = std::fs::read(&file).unwrap();
    let mut tampered = original.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0xff;
    std::fs::write(&file, &tampered).unwrap();

    let proxy = proxy_of(&upstream);
    let url = format!(
        "{}/npm-proxy/tampered-pkg/-/tampered-pkg-1.0.0.tgz",
        proxy.url
    );
    for _ in 0..2 {
        // The bytes stream as they arrive, so the refusal is a cut
        // connection or an error status: never a whole body.
        assert_eq!(download(&url), None);
    }
    let client = NpmUser::of_repository(&proxy, "npm-proxy");
    let project = app(work.path());
    client.fails(&project, &["install", "tampered-pkg@1.0.0"]);
    let kept = proxy.sql("SELECT count(*) FROM assets WHERE path LIKE 'tampered-pkg/%'");
    assert_eq!(kept.trim(), "0");

    // Repaired upstream (restarted, so that it forgets the bytes it keeps
    // in memory): the next request fetches again, and succeeds.
    std::fs::write(&file, &original).unwrap();
    upstream.restart();
    assert!(download(&url) == Some(original));
}

#[test]
fn a_group_of_a_hosted_and_a_proxy_repository_serves_both_and_takes_publishes() {
    let upstream = upstream();
    let alice = NpmUser::new(&upstream);
    alice.login("login", "alice", "alice-password");
    let work = tempfile::tempdir().unwrap();
    let public = package(work.path(), "public-pkg", "1.0.0", serde_json::json!({}));
    alice.ok(&public, &["publish"]);

    let group = "\n[[repository]]\nname = \"npm-private\"\nformat = \"npm\"\n\
                 \n[[repository]]\nname = \"npm-all\"\nformat = \"npm\"\nkind = \"group\"\n\
                 members = [\"npm-private\", \"npm-proxy\"]\n";
    let proxy = Server::start_proxy(
        "npm",
        &format!("{}/npm/", upstream.url),
        &format!(
            "upstream_username = \"mirror\"\nupstream_password_env = \"UPSTREAM_PASSWORD\"\n{group}"
        ),
        &[("UPSTREAM_PASSWORD", UPSTREAM_PASSWORD)],
    );
    proxy.create_user("bob", "bob-password");

    // One client configuration, the group's: a publish lands in the hosted
    // member, and is visible through the group at once.
    let bob = NpmUser::of_repository(&proxy, "npm-all");
    bob.login("login", "bob", "bob-password");
    let dependency = serde_json::json!({"dependencies": {"public-pkg": "^1.0.0"}});
    let private = package(work.path(), "private-pkg", "1.0.0", dependency.clone());
    bob.ok(&private, &["publish"]);
    assert_eq!(proxy.get("/npm-private/private-pkg").status, 200);
    assert_eq!(proxy.get("/npm-proxy/private-pkg").status, 404);
    let view = ["view", "private-pkg", "version", "--prefer-online"];
    assert_eq!(bob.ok(work.path(), &view).trim(), "1.0.0");
    let next = package(work.path(), "private-pkg", "1.1.0", dependency);
    bob.ok(&next, &["publish"]);
    assert_eq!(bob.ok(work.path(), &view).trim(), "1.1.0");

    // The private package and its public dependency install together, and
    // every tarball link leads back to the group.
    let client = NpmUser::of_repository(&proxy, "npm-all");
    let project = app(work.path());
    client.ok(&project, &["install", "private-pkg@1.1.0"]);
    for (name, source) in [("private-pkg", &next), ("public-pkg", &public)] {
        let installed =
            std::fs::read(project.join(format!("node_modules/{name}/lib/data.bin"))).unwrap();
        assert!(installed == std::fs::read(source.join("lib/data.bin")).unwrap());
        let doc = proxy.get(&format!("/npm-all/{name}")).json();
        let tarball = doc["versions"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v["dist"]["tarball"].as_str().unwrap())
            .collect::<Vec<_>>();
        for url in tarball {
            assert!(
                url.starts_with(&format!("{}/npm-all/{name}/-/", proxy.url)),
                "{url}"
            );
        }
    }
    // The public tarball was recorded by the proxy member, not the hosted.
    let recorded = |repo: &str| {
        proxy.sql(&format!(
            "SELECT count(*) FROM assets WHERE path LIKE 'public-pkg/%' AND repo = '{repo}'"
        ))
    };
    assert_eq!(recorded("npm-proxy").trim(), "1");
    assert_eq!(recorded("npm-private").trim(), "0");
    // A name both members hold: the group's packument lists the versions
    // of both, the hosted member's `latest` wins, and each version installs
    // from the member that has it.
    let upstream_shared = package(work.path(), "shared-pkg", "1.2.0", serde_json::json!({}));
    alice.ok(&upstream_shared, &["publish"]);
    let private_shared = package(work.path(), "shared-pkg", "2.0.0", serde_json::json!({}));
    bob.ok(&private_shared, &["publish"]);
    let versions = bob.ok(
        work.path(),
        &[
            "view",
            "shared-pkg",
            "versions",
            "--json",
            "--prefer-online",
        ],
    );
    let versions: Vec<String> = serde_json::from_str(&versions).unwrap();
    assert_eq!(versions, ["1.2.0", "2.0.0"]);
    let latest = ["view", "shared-pkg", "dist-tags.latest", "--prefer-online"];
    assert_eq!(bob.ok(work.path(), &latest).trim(), "2.0.0");
    for (version, source) in [("1.2.0", &upstream_shared), ("2.0.0", &private_shared)] {
        let project = app(work.path());
        client.ok(&project, &["install", &format!("shared-pkg@{version}")]);
        let installed = std::fs::read(project.join("node_modules/shared-pkg/lib/data.bin"));
        assert!(installed.unwrap() == std::fs::read(source.join("lib/data.bin")).unwrap());
    }
    // A publish to the hosted member shows in the merged document at once.
    let newer = package(work.path(), "shared-pkg", "2.1.0", serde_json::json!({}));
    bob.ok(&newer, &["publish"]);
    assert_eq!(bob.ok(work.path(), &latest).trim(), "2.1.0");
    let tags = proxy.get("/npm-all/-/package/shared-pkg/dist-tags").json();
    assert_eq!(tags["latest"], "2.1.0");
    // What no member has is the format's own "not found".
    let missing = proxy.get("/npm-all/no-such-package");
    assert_eq!(missing.status, 404);
    assert!(missing.json()["error"].is_string());

    // The upstream goes away: the merged document still lists both
    // members' versions, from the proxy's last good answer, marked stale.
    drop(upstream);
    std::thread::sleep(Duration::from_millis(1200));
    let stale = proxy.get("/npm-all/shared-pkg");
    assert_eq!(stale.status, 200);
    assert!(stale.is_stale(), "{:?}", stale.headers);
    let versions = stale.json()["versions"].as_object().unwrap().len();
    assert_eq!(versions, 3);
    // A name the proxy never had: the hosted member's alone, marked stale
    // (so not kept, which would hide the upstream's versions once it is back).
    let partial = proxy.get("/npm-all/private-pkg");
    assert_eq!(partial.status, 200);
    assert!(partial.is_stale(), "{:?}", partial.headers);
}

#[test]
fn npm_installs_through_a_proxy_of_verdaccio() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let config = dir.join("verdaccio.yaml");
    std::fs::write(
        &config,
        format!(
            "storage: {storage}\nauth:\n  htpasswd:\n    file: {htpasswd}\n    max_users: 10\n\
             uplinks: {{}}\npackages:\n  '**':\n    access: $all\n    publish: $authenticated\n\
             log: {{ type: stdout, format: pretty, level: warn }}\n",
            storage = dir.join("storage").display(),
            htpasswd = dir.join("htpasswd").display(),
        ),
    )
    .unwrap();
    let verdaccio = Daemon::start(
        |port| {
            let mut cmd = std::process::Command::new("verdaccio");
            cmd.arg("--config")
                .arg(&config)
                .args(["--listen", &format!("127.0.0.1:{port}")]);
            cmd
        },
        "/-/ping",
        &dir.join("verdaccio.log"),
    );
    let alice = NpmUser::of_registry(&format!("{}/", verdaccio.url));
    alice.login("adduser", "alice", "alice-password");
    let source = package(dir, "verdaccio-pkg", "1.0.0", serde_json::json!({}));
    alice.ok(&source, &["publish"]);

    let proxy = Server::start_proxy("npm", &format!("{}/", verdaccio.url), "", &[]);
    let client = NpmUser::of_repository(&proxy, "npm-proxy");
    let project = app(dir);
    client.ok(&project, &["install", "verdaccio-pkg@1.0.0"]);
    let installed = std::fs::read(project.join("node_modules/verdaccio-pkg/lib/data.bin")).unwrap();
    assert!(installed == std::fs::read(source.join("lib/data.bin")).unwrap());
    let doc = proxy.get("/npm-proxy/verdaccio-pkg").json();
    assert_eq!(
        doc["versions"]["1.0.0"]["dist"]["tarball"],
        format!(
            "{}/npm-proxy/verdaccio-pkg/-/verdaccio-pkg-1.0.0.tgz",
            proxy.url
        )
    );

    // Verdaccio stops: a client with an empty cache still installs.
    drop(verdaccio);
    std::thread::sleep(Duration::from_millis(1200));
    let offline = NpmUser::of_repository(&proxy, "npm-proxy");
    let project = app(dir);
    offline.ok(&project, &["install", "verdaccio-pkg@1.0.0"]);
    assert!(proxy.get("/npm-proxy/verdaccio-pkg").is_stale());
}

/// The whole body of a 200; `None` for an error status or a cut transfer.
fn download(url: &str) -> Option<Vec<u8>> {
    use std::io::Read;
    let response = ureq::get(url).call().ok()?;
    let mut body = Vec::new();
    response.into_reader().read_to_end(&mut body).ok()?;
    Some(body)
}
