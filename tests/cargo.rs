//! Cargo, end to end: the real `cargo` against a running wharf through the
//! sparse index, in a fresh CARGO_HOME: publish, build from the registry,
//! yank, search, owners, and the refusals a registry owes its users; and a
//! proxy repository of a second Wharf, with that upstream running, then
//! stopped.

use std::path::{Path, PathBuf};
use std::process::Command;
use wharf_tests::{PluginEntry, Server, run, send, send_with};

/// A cargo user: their own CARGO_HOME pointing at wharf, and a token.
struct CargoUser {
    home: tempfile::TempDir,
    target: PathBuf,
    token: Option<String>,
}

impl CargoUser {
    fn new(server: &Server, target: &Path, token: Option<&str>) -> CargoUser {
        CargoUser::of_repository(server, "cargo", target, token)
    }

    /// A user whose registry `wharf` is the repository `repo` of `server`.
    fn of_repository(server: &Server, repo: &str, target: &Path, token: Option<&str>) -> CargoUser {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join("config.toml"),
            format!(
                "[registries.wharf]\nindex = \"sparse+{}/{repo}/\"\n\n\
                 [registry]\nglobal-credential-providers = [\"cargo:token\"]\n",
                server.url
            ),
        )
        .unwrap();
        CargoUser {
            home,
            target: target.to_path_buf(),
            token: token.map(str::to_string),
        }
    }

    /// Runs cargo, bounded in time; no crates.io access is needed or made.
    fn cargo(&self, dir: &Path, args: &[&str]) -> (bool, String, String) {
        let mut cmd = Command::new("timeout");
        cmd.arg("300")
            .arg("cargo")
            .args(args)
            .current_dir(dir)
            .env("CARGO_HOME", self.home.path())
            .env("CARGO_TARGET_DIR", &self.target)
            .env("CARGO_NET_RETRY", "0")
            .env("CARGO_HTTP_TIMEOUT", "30")
            .env("CARGO_TERM_COLOR", "never");
        for var in [
            "RUSTFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_BUILD_TARGET",
            "RUSTC_WRAPPER",
            "CARGO_MAKEFLAGS",
            "MAKEFLAGS",
            "CARGO_REGISTRIES_WHARF_TOKEN",
        ] {
            cmd.env_remove(var);
        }
        if let Some(token) = &self.token {
            cmd.env("CARGO_REGISTRIES_WHARF_TOKEN", token);
        }
        run(&mut cmd)
    }

    /// Runs cargo and fails the test with its output if it fails.
    fn ok(&self, dir: &Path, args: &[&str]) -> String {
        let (ok, out, err) = self.cargo(dir, args);
        assert!(ok, "cargo {args:?} failed\nstdout:\n{out}\nstderr:\n{err}");
        out
    }

    /// Runs cargo expecting a failure; returns what it printed.
    fn fails(&self, dir: &Path, args: &[&str]) -> String {
        let (ok, out, err) = self.cargo(dir, args);
        assert!(
            !ok,
            "cargo {args:?} succeeded\nstdout:\n{out}\nstderr:\n{err}"
        );
        err
    }
}

/// A crate directory with a manifest and one source file.
fn krate(dir: &Path, name: &str, version: &str, deps: &str, file: &str, code: &str) -> PathBuf {
    let path = dir.join(format!("{name}-{version}"));
    std::fs::create_dir_all(path.join("src")).unwrap();
    std::fs::write(
        path.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n\
             description = \"{name} for the wharf end-to-end test\"\nlicense = \"MIT\"\n\
             publish = [\"wharf\"]\n\n[dependencies]\n{deps}\n"
        ),
    )
    .unwrap();
    std::fs::write(path.join("src").join(file), code).unwrap();
    path
}

fn library(dir: &Path, version: &str) -> PathBuf {
    krate(
        dir,
        "wharf-e2e-lib",
        version,
        "",
        "lib.rs",
        &format!("pub fn hello() -> &'static str {{ \"hello from wharf-e2e-lib {version}\" }}\n"),
    )
}

/// The version of `name` a lock file resolved.
fn locked_versions(project: &Path, name: &str) -> Vec<String> {
    let lock = std::fs::read_to_string(project.join("Cargo.lock")).unwrap();
    let mut found = Vec::new();
    let mut current = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            current = Some(n.trim_matches('"').to_string());
        } else if let Some(v) = line.strip_prefix("version = ")
            && current.as_deref() == Some(name)
        {
            found.push(v.trim_matches('"').to_string());
        }
    }
    found
}

/// The `.crate` cargo packaged (cargo versions differ on the folder under
/// `target/package`).
fn packaged(target: &Path, file: &str) -> PathBuf {
    let mut dirs = vec![target.join("package")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.file_name().is_some_and(|n| n == file) {
                return path;
            }
            if path.is_dir() {
                dirs.push(path);
            }
        }
    }
    panic!("cargo packaged no {file} under {}", target.display());
}

/// cargo's publish body: u32 LE length + JSON, u32 LE length + .crate.
fn framed(meta: &serde_json::Value, krate: &[u8]) -> Vec<u8> {
    let json = meta.to_string();
    let mut body = (json.len() as u32).to_le_bytes().to_vec();
    body.extend_from_slice(json.as_bytes());
    body.extend_from_slice(&(krate.len() as u32).to_le_bytes());
    body.extend_from_slice(krate);
    body
}

/// One test: the private-registry part changes the environment the server
/// inherits, which must not race with another server starting.
#[test]
fn cargo_end_to_end() {
    publishes_builds_yanks_and_searches();
    private_registry();
}

fn cargo_server() -> Server {
    cargo_server_with(&[])
}

fn cargo_server_with(env: &[(&str, &str)]) -> Server {
    let cargo = PluginEntry {
        format: "cargo",
        extra: "",
    };
    Server::start_with_env(&[cargo], env)
}

fn publishes_builds_yanks_and_searches() {
    let server = cargo_server();
    let work = tempfile::tempdir().unwrap();
    let target = work.path().join("target");
    let alice_token = server.create_user("alice", "alice-password");
    let alice = CargoUser::new(&server, &target, Some(&alice_token));

    let config = server.get("/cargo/config.json").json();
    assert_eq!(config["dl"], format!("{}/cargo/api/v1/crates", server.url));
    assert_eq!(config["api"], format!("{}/cargo", server.url));

    // Two versions of a library, then a crate depending on it through a
    // renamed dependency; its verify step builds against wharf.
    for version in ["0.1.0", "0.2.0"] {
        let dir = library(work.path(), version);
        alice.ok(&dir, &["publish", "--registry", "wharf"]);
    }
    let greeter = krate(
        work.path(),
        "wharf-e2e-greeter",
        "0.1.0",
        "base = { package = \"wharf-e2e-lib\", version = \"0.2\", registry = \"wharf\" }",
        "lib.rs",
        "pub fn greet() -> String { format!(\"{} (greeted)\", base::hello()) }\n",
    );
    alice.ok(&greeter, &["publish", "--registry", "wharf"]);

    let index = server.get("/cargo/wh/ar/wharf-e2e-greeter");
    assert_eq!(index.status, 200);
    assert!(
        index
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let line: serde_json::Value = serde_json::from_str(index.text().trim()).unwrap();
    assert_eq!(line["deps"][0]["name"], "base");
    assert_eq!(line["deps"][0]["package"], "wharf-e2e-lib");
    assert_eq!(line["deps"][0]["req"], "^0.2");
    assert_eq!(line["features"], serde_json::json!({}));

    // The bytes served are the bytes cargo packaged.
    let packaged = std::fs::read(packaged(&target, "wharf-e2e-lib-0.2.0.crate")).unwrap();
    let served = server.get("/cargo/api/v1/crates/wharf-e2e-lib/0.2.0/download");
    assert_eq!(served.status, 200);
    assert!(served.body == packaged, "downloaded .crate differs");

    // A fresh binary crate builds from wharf alone and uses both libraries.
    let bob_home = CargoUser::new(&server, &target, None);
    let app = krate(
        work.path(),
        "wharf-e2e-app",
        "0.0.0",
        "wharf-e2e-lib = { version = \"0.2\", registry = \"wharf\" }\n\
         wharf-e2e-greeter = { version = \"0.1\", registry = \"wharf\" }",
        "main.rs",
        "fn main() {\n    println!(\"{}\", wharf_e2e_lib::hello());\n    \
         println!(\"{}\", wharf_e2e_greeter::greet());\n}\n",
    );
    let out = bob_home.ok(&app, &["run", "--quiet"]);
    assert_eq!(
        out,
        "hello from wharf-e2e-lib 0.2.0\nhello from wharf-e2e-lib 0.2.0 (greeted)\n"
    );

    // The index file revalidates by ETag and by date, until a write changes it.
    let index_url = format!("{}/cargo/wh/ar/wharf-e2e-lib", server.url);
    let conditional = |name: &str, value: &str| send(ureq::get(&index_url).set(name, value));
    // A date is only sent once the second of the last change is over.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let before = server.get("/cargo/wh/ar/wharf-e2e-lib");
    let etag = before.header("etag").expect("an ETag").to_string();
    let date = before
        .header("last-modified")
        .expect("a Last-Modified")
        .to_string();
    // With a date, clients could otherwise cache it heuristically.
    assert_eq!(before.header("cache-control"), Some("no-cache"));
    assert_eq!(conditional("If-None-Match", &etag).status, 304);
    assert_eq!(conditional("If-Modified-Since", &date).status, 304);

    // After a yank, a fresh resolution of `>=0.1` picks 0.1.0.
    alice.ok(
        &app,
        &[
            "yank",
            "--version",
            "0.2.0",
            "--registry",
            "wharf",
            "wharf-e2e-lib",
        ],
    );
    let index = server.get("/cargo/wh/ar/wharf-e2e-lib").text();
    let yanked: Vec<bool> = index
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["yanked"] == true)
        .collect();
    assert_eq!(yanked, vec![false, true]);
    assert_eq!(conditional("If-None-Match", &etag).status, 200);
    assert_eq!(conditional("If-Modified-Since", &date).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let after = server.get("/cargo/wh/ar/wharf-e2e-lib");
    let new_date = after.header("last-modified").expect("a Last-Modified");
    let parse = |d: &str| httpdate::parse_http_date(d).unwrap();
    assert!(parse(new_date) > parse(&date), "{new_date} after {date}");
    let loose = krate(
        work.path(),
        "wharf-e2e-loose",
        "0.0.0",
        "wharf-e2e-lib = { version = \">=0.1\", registry = \"wharf\" }",
        "main.rs",
        "fn main() { println!(\"{}\", wharf_e2e_lib::hello()); }\n",
    );
    bob_home.ok(&loose, &["generate-lockfile"]);
    assert_eq!(locked_versions(&loose, "wharf-e2e-lib"), vec!["0.1.0"]);
    assert_eq!(
        bob_home.ok(&loose, &["run", "--quiet"]),
        "hello from wharf-e2e-lib 0.1.0\n"
    );
    // The app's lock file still pins the yanked 0.2.0, and it still builds.
    std::fs::remove_dir_all(bob_home.home.path().join("registry")).unwrap();
    assert_eq!(locked_versions(&app, "wharf-e2e-lib"), vec!["0.2.0"]);
    bob_home.ok(&app, &["build", "--quiet"]);

    let found = bob_home.ok(&app, &["search", "--registry", "wharf", "wharf-e2e"]);
    assert!(found.contains("wharf-e2e-lib = \"0.1.0\""), "{found}");
    assert!(found.contains("wharf-e2e-greeter = \"0.1.0\""), "{found}");

    // Republishing is refused: cargo checks the index first, and the server
    // refuses a client that does not.
    let err = alice.fails(
        &library(work.path(), "0.1.0"),
        &["publish", "--registry", "wharf"],
    );
    assert!(err.contains("already exists"), "{err}");
    let meta =
        serde_json::json!({ "name": "wharf-e2e-lib", "vers": "0.1.0", "deps": [], "features": {} });
    let again = send_with(
        ureq::put(&format!("{}/cargo/api/v1/crates/new", server.url))
            .set("Authorization", &alice_token),
        Some(&framed(&meta, &packaged)),
    );
    assert_eq!(again.status, 409);
    assert!(
        again.json()["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("already uploaded")
    );

    // A name crates.io treats as the same crate is refused, and cargo shows why.
    let twin = krate(work.path(), "wharf_e2e_lib", "9.0.0", "", "lib.rs", "");
    let err = alice.fails(&twin, &["publish", "--registry", "wharf", "--no-verify"]);
    assert!(
        err.contains("conflicts with the existing crate `wharf-e2e-lib`"),
        "{err}"
    );

    // Only owners publish: bob may not until alice adds him.
    let bob_token = server.create_user("bob", "bob-password");
    let bob = CargoUser::new(&server, &target, Some(&bob_token));
    let next = library(work.path(), "0.3.0");
    let err = bob.fails(&next, &["publish", "--registry", "wharf"]);
    assert!(
        err.contains("`bob` is not an owner of crate `wharf-e2e-lib`"),
        "{err}"
    );
    let owners = alice.ok(
        &app,
        &["owner", "--list", "--registry", "wharf", "wharf-e2e-lib"],
    );
    assert_eq!(owners.trim(), "alice (alice)");
    alice.ok(
        &app,
        &[
            "owner",
            "--add",
            "bob",
            "--registry",
            "wharf",
            "wharf-e2e-lib",
        ],
    );
    bob.ok(&next, &["publish", "--registry", "wharf"]);
    assert!(
        server
            .get("/cargo/wh/ar/wharf-e2e-lib")
            .text()
            .contains("\"vers\":\"0.3.0\"")
    );
    // And removed again: the list is back to alice alone.
    alice.ok(
        &app,
        &[
            "owner",
            "--remove",
            "bob",
            "--registry",
            "wharf",
            "wharf-e2e-lib",
        ],
    );
    let owners = alice.ok(
        &app,
        &["owner", "--list", "--registry", "wharf", "wharf-e2e-lib"],
    );
    assert_eq!(owners.trim(), "alice (alice)");
    let again = library(work.path(), "0.3.1");
    let err = bob.fails(&again, &["publish", "--registry", "wharf"]);
    assert!(
        err.contains("`bob` is not an owner of crate `wharf-e2e-lib`"),
        "{err}"
    );
    let owner = |user: &CargoUser, args: &[&str]| {
        let mut all = vec!["owner"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--registry", "wharf", "wharf-e2e-lib"]);
        user.cargo(&app, &all)
    };
    // Nor may bob change the owners; nobody adds a user that does not exist.
    let (ok, _, err) = owner(&bob, &["--add", "bob"]);
    assert!(
        !ok && err.contains("bob is not an owner of wharf-e2e-lib"),
        "{err}"
    );
    let (ok, _, err) = owner(&alice, &["--add", "ghost"]);
    assert!(!ok && err.contains("there is no user ghost"), "{err}");

    // A team owns a crate for its members, listed as crates.io lists teams.
    let carol_token = server.create_user("carol", "carol-password");
    server.create_team("core", &["carol"]);
    let (ok, _, err) = owner(&alice, &["--add", "team:core"]);
    assert!(ok, "{err}");
    let (_, listed, _) = owner(&alice, &["--list"]);
    assert_eq!(listed.trim(), "alice (alice)\nteam:core (core)");
    let carol = CargoUser::new(&server, &target, Some(&carol_token));
    carol.ok(&again, &["publish", "--registry", "wharf"]);
    assert!(
        server
            .get("/cargo/wh/ar/wharf-e2e-lib")
            .text()
            .contains("\"vers\":\"0.3.1\"")
    );

    // Anonymous and badly authenticated publishes are refused.
    let anonymous = send_with(
        ureq::put(&format!("{}/cargo/api/v1/crates/new", server.url)),
        Some(&framed(&meta, &packaged)),
    );
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.json()["errors"][0]["detail"].is_string());
    let stranger = CargoUser::new(&server, &target, Some("not-a-token"));
    let err = stranger.fails(
        &library(work.path(), "0.4.0"),
        &["publish", "--registry", "wharf", "--no-verify"],
    );
    assert!(err.contains("401"), "{err}");
    let nobody = CargoUser::new(&server, &target, None);
    nobody.fails(
        &library(work.path(), "0.4.0"),
        &["publish", "--registry", "wharf", "--no-verify"],
    );
    assert!(
        !server
            .get("/cargo/wh/ar/wharf-e2e-lib")
            .text()
            .contains("0.4.0")
    );
    assert_eq!(server.get("/cargo/wh/ar/wharf-e2e-nothing").status, 404);
}

/// With anonymous reads off, cargo's anonymous config.json request gets a
/// 401, it retries with its token, and config.json then says
/// `auth-required`, so the index and downloads get the token too.
fn private_registry() {
    let server = cargo_server_with(&[("WHARF_ANONYMOUS_READ", "false")]);
    let work = tempfile::tempdir().unwrap();
    let target = work.path().join("target");
    let token = server.create_user("alice", "alice-password");
    let alice = CargoUser::new(&server, &target, Some(&token));

    alice.ok(
        &library(work.path(), "0.1.0"),
        &["publish", "--registry", "wharf"],
    );
    let app = krate(
        work.path(),
        "wharf-e2e-private-app",
        "0.0.0",
        "wharf-e2e-lib = { version = \"0.1\", registry = \"wharf\" }",
        "main.rs",
        "fn main() { println!(\"{}\", wharf_e2e_lib::hello()); }\n",
    );
    let reader = CargoUser::new(&server, &target, Some(&token));
    assert_eq!(
        reader.ok(&app, &["run", "--quiet"]),
        "hello from wharf-e2e-lib 0.1.0\n"
    );

    let anonymous = server.get("/cargo/wh/ar/wharf-e2e-lib");
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.json()["errors"][0]["detail"].is_string());
    let nobody = CargoUser::new(&server, &target, None);
    std::fs::remove_file(app.join("Cargo.lock")).unwrap();
    let err = nobody.fails(&app, &["generate-lockfile"]);
    assert!(err.contains("401") || err.contains("token"), "{err}");
}

/// A proxy of another Wharf's hosted repository: a fresh CARGO_HOME builds
/// through it; a version published upstream shows after the TTL; a `.crate` whose bytes break its index line's `cksum`
/// reaches no client and is not kept; with the upstream stopped, another
/// fresh CARGO_HOME still resolves and builds from what the proxy has seen.
#[test]
fn cargo_builds_through_a_proxy_and_from_its_cache_when_the_upstream_is_gone() {
    // No background scrub: the test changes the upstream's stored bytes.
    let upstream = cargo_server_with(&[("WHARF_SCRUB_BYTES_PER_SEC", "0")]);
    let work = tempfile::tempdir().unwrap();
    let token = upstream.create_user("alice", "alice-password");
    let alice = CargoUser::new(&upstream, &work.path().join("target"), Some(&token));
    for version in ["0.1.0", "0.2.0"] {
        alice.ok(
            &library(work.path(), version),
            &["publish", "--registry", "wharf"],
        );
    }

    let proxy = Server::start_proxy("cargo", &format!("{}/cargo/", upstream.url), "", &[]);
    let config = proxy.get("/cargo-proxy/config.json").json();
    assert_eq!(
        config["dl"],
        format!("{}/cargo-proxy/api/v1/crates", proxy.url)
    );
    let app = krate(
        work.path(),
        "wharf-e2e-proxied-app",
        "0.0.0",
        "wharf-e2e-lib = { version = \"=0.1.0\", registry = \"wharf\" }",
        "main.rs",
        "fn main() { println!(\"{}\", wharf_e2e_lib::hello()); }\n",
    );
    let bob = CargoUser::of_repository(&proxy, "cargo-proxy", &work.path().join("bob"), None);
    assert_eq!(
        bob.ok(&app, &["run", "--quiet"]),
        "hello from wharf-e2e-lib 0.1.0\n"
    );
    // The index is the upstream's as it serves it; the .crate its bytes.
    let index = proxy.get("/cargo-proxy/wh/ar/wharf-e2e-lib");
    assert_eq!(index.status, 200);
    assert_eq!(
        index.text(),
        upstream.get("/cargo/wh/ar/wharf-e2e-lib").text()
    );
    let download = "api/v1/crates/wharf-e2e-lib/0.1.0/download";
    let from_upstream = upstream.get(&format!("/cargo/{download}"));
    assert_eq!(from_upstream.status, 200);
    assert!(proxy.get(&format!("/cargo-proxy/{download}")).body == from_upstream.body);

    // A version published upstream shows once the metadata TTL has passed.
    alice.ok(
        &library(work.path(), "0.3.0"),
        &["publish", "--registry", "wharf", "--no-verify"],
    );
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let index = proxy.get("/cargo-proxy/wh/ar/wharf-e2e-lib").text();
    assert!(index.contains("\"vers\":\"0.3.0\""), "{index}");

    // 0.2.0's stored bytes change upstream, same size: its cksum no longer
    // holds, so the proxy passes on no whole body and keeps nothing.
    let blake3 = upstream.sql(
        "SELECT blake3 FROM assets WHERE path = 'crates/wharf-e2e-lib/wharf-e2e-lib-0.2.0.crate'",
    );
    let blake3 = blake3.trim();
    let file = upstream.dir.path().join(format!(
        "data/objects/blobs/{}/{}/{blake3}",
        &blake3[..2],
        &blake3[2..4]
    ));
    let mut tampered = std::fs::read(&file).unwrap();
    let last = tampered.len() - 1;
    tampered[last] ^= 0xff;
    std::fs::write(&file, &tampered).unwrap();
    let url = format!(
        "{}/cargo-proxy/api/v1/crates/wharf-e2e-lib/0.2.0/download",
        proxy.url
    );
    for _ in 0..2 {
        assert_eq!(whole_body(&url), None);
    }
    let kept = proxy.sql("SELECT count(*) FROM assets WHERE path LIKE '%0.2.0.crate'");
    assert_eq!(kept.trim(), "0");

    // The upstream goes away: a fresh CARGO_HOME, lock file and target
    // still resolve and build, the index served stale.
    drop(upstream);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    std::fs::remove_file(app.join("Cargo.lock")).unwrap();
    let carol = CargoUser::of_repository(&proxy, "cargo-proxy", &work.path().join("carol"), None);
    assert_eq!(
        carol.ok(&app, &["run", "--quiet"]),
        "hello from wharf-e2e-lib 0.1.0\n"
    );
    let stale = proxy.get("/cargo-proxy/wh/ar/wharf-e2e-lib");
    assert_eq!(stale.status, 200);
    assert!(stale.is_stale(), "{:?}", stale.headers);
    // What it never saw is an error in cargo's shape, not a hang.
    let never = proxy.get("/cargo-proxy/wh/ar/wharf-e2e-never");
    assert!(
        never.status == 502 || never.status == 404,
        "{}",
        never.status
    );
    assert!(never.json()["errors"][0]["detail"].is_string());
}

/// The whole body of a 200; `None` for an error status or a cut transfer.
fn whole_body(url: &str) -> Option<Vec<u8>> {
    use std::io::Read;
    let response = ureq::get(url).call().ok()?;
    let mut body = Vec::new();
    response.into_reader().read_to_end(&mut body).ok()?;
    Some(body)
}
