//! Debian, end to end: packages built with `dpkg-deb --build` (two
//! versions, two architectures, one `all`; control.tar in xz, zstd and
//! gzip) are uploaded, then consumed by the real `apt-get` in an isolated
//! apt state (its own configuration, sources, lists, cache and keys; the
//! machine's apt is untouched) that trusts only the key Wharf serves.
//! A tampered `InRelease` fails with a signature error; after `wharf key
//! rotate`, apt with the new key updates again, and the old key no longer
//! verifies what is served. Through a proxy repository of that Wharf, apt
//! trusting the upstream's key downloads the same bytes, and again with
//! the upstream stopped. A group of a hosted repository and that proxy is
//! one suite, merged and signed by the group's key.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use wharf_tests::{PluginEntry, Reply, Server, run, send, send_with};

fn start() -> Server {
    Server::start(&[PluginEntry {
        format: "deb",
        extra: "signing_keys = [\"deb\"]",
    }])
}

/// `dpkg-deb --build` of a package with one file; `compression` picks
/// control.tar's (xz by default on Debian 12).
fn build_deb(work: &Path, package: &str, version: &str, arch: &str, compression: &str) -> Vec<u8> {
    let root = work.join(format!("{package}-{version}-{arch}"));
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(root.join(format!("usr/share/doc/{package}"))).unwrap();
    std::fs::write(
        root.join(format!("usr/share/doc/{package}/README")),
        format!("{package} {version} for {arch}\n"),
    )
    .unwrap();
    let control = format!(
        "Package: {package}\nVersion: {version}\nArchitecture: {arch}\n\
         Maintainer: Wharf Tests <tests@example.org>\nSection: misc\nPriority: optional\n\
         Description: a package served by Wharf\n Built by the end-to-end test.\n"
    );
    std::fs::write(root.join("DEBIAN/control"), control).unwrap();
    let out = work.join(format!("{package}_{version}_{arch}.deb"));
    let (ok, _, err) = run(Command::new("dpkg-deb")
        .arg("--root-owner-group")
        .arg(format!("-Z{compression}"))
        .arg("--build")
        .arg(&root)
        .arg(&out));
    assert!(ok, "dpkg-deb: {err}");
    std::fs::read(out).unwrap()
}

fn upload(server: &Server, auth: Option<&str>, dist: &str, file: &str, deb: &[u8]) -> Reply {
    let url = format!("{}/deb/upload/{dist}/main/{file}", server.url);
    let mut request = ureq::put(&url);
    if let Some(auth) = auth {
        request = request.set("Authorization", auth);
    }
    send_with(request, Some(deb))
}

/// An apt state of its own under `dir`: configuration, sources, lists,
/// cache, dpkg status and trusted keys; `key` is what `signed-by` names.
struct Apt {
    dir: PathBuf,
    config: PathBuf,
}

impl Apt {
    /// `repo_url`: the repository's URL (`http://…/deb`).
    fn new(dir: &Path, repo_url: &str, key: &str) -> Apt {
        let empty = dir.join("empty");
        for sub in [
            "empty",
            "state/lists/partial",
            "cache/archives/partial",
            "work",
        ] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::write(dir.join("status"), "").unwrap();
        std::fs::write(dir.join("wharf.asc"), key).unwrap();
        std::fs::write(
            dir.join("sources.list"),
            format!(
                "deb [signed-by={}] {repo_url}/ stable main\n",
                dir.join("wharf.asc").display()
            ),
        )
        .unwrap();
        let d = |p: &str| dir.join(p).display().to_string();
        let config = format!(
            "Dir::Etc::SourceList \"{}\";\nDir::Etc::SourceParts \"{e}\";\n\
             Dir::Etc::Parts \"{e}\";\nDir::Etc::Preferences \"{e}/none\";\n\
             Dir::Etc::PreferencesParts \"{e}\";\nDir::Etc::Trusted \"{e}/none.gpg\";\n\
             Dir::Etc::TrustedParts \"{e}\";\nDir::State \"{}\";\n\
             Dir::State::status \"{}\";\nDir::Cache \"{}\";\nDir::Log \"{}\";\n\
             APT::Architecture \"amd64\";\nAPT::Architectures {{ \"amd64\"; }};\n\
             APT::Sandbox::User \"root\";\nAcquire::Languages \"none\";\n\
             Acquire::http::Proxy \"DIRECT\";\nAcquire::Retries \"0\";\n",
            d("sources.list"),
            d("state"),
            d("status"),
            d("cache"),
            d("work"),
            e = empty.display(),
        );
        let path = dir.join("apt.conf");
        std::fs::write(&path, config).unwrap();
        Apt {
            dir: dir.to_path_buf(),
            config: path,
        }
    }

    fn trust(&self, key: &str) {
        std::fs::write(self.dir.join("wharf.asc"), key).unwrap();
    }

    /// Runs an apt tool in this state: (success, stdout + stderr).
    fn run(&self, program: &str, args: &[&str]) -> (bool, String) {
        let (ok, out, err) = run(Command::new(program)
            .args(args)
            .current_dir(self.dir.join("work"))
            .env("APT_CONFIG", &self.config)
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY"));
        (ok, format!("{out}{err}"))
    }

    fn update(&self) -> (bool, String) {
        self.update_with(&[])
    }

    fn update_with(&self, options: &[&str]) -> (bool, String) {
        let (ok, out) = self.run("apt-get", &[&["update"], options].concat());
        // apt-get update warns (exit 0) for some failures; an error is the bar.
        (ok && !out.contains("\nW: ") && !out.contains("\nE: "), out)
    }
}

fn key(server: &Server) -> String {
    let reply = send(ureq::get(&format!("{}/deb/key.asc", server.url)));
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .text()
            .starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    );
    reply.text()
}

#[test]
fn apt_installs_from_a_signed_repository() {
    let server = start();
    let auth = server.admin_basic();
    let work = tempfile::tempdir().unwrap();
    let old = build_deb(work.path(), "hello", "1.0-1", "amd64", "xz");
    let new = build_deb(work.path(), "hello", "2.0-1", "amd64", "zstd");
    let arm = build_deb(work.path(), "hello", "2.0-1", "arm64", "gzip");
    let doc = build_deb(work.path(), "hello-doc", "2.0-1", "all", "xz");

    // Anonymous uploads are refused; a mismatched file name too.
    assert_eq!(
        upload(&server, None, "stable", "hello_1.0-1_amd64.deb", &old).status,
        401
    );
    let wrong = upload(
        &server,
        Some(&auth),
        "stable",
        "hello_1.0-1_arm64.deb",
        &old,
    );
    assert_eq!(wrong.status, 400, "{}", wrong.text());
    for (file, deb) in [
        ("hello_1.0-1_amd64.deb", &old),
        ("hello_2.0-1_amd64.deb", &new),
        ("hello_2.0-1_arm64.deb", &arm),
        ("hello-doc_2.0-1_all.deb", &doc),
    ] {
        if file.starts_with("hello-doc") {
            // The newest upload, a second later (Release dates are in seconds).
            std::thread::sleep(Duration::from_millis(1100));
        }
        let reply = upload(&server, Some(&auth), "stable", file, deb);
        assert_eq!(reply.status, 201, "{file}: {}", reply.text());
    }
    let again = upload(
        &server,
        Some(&auth),
        "stable",
        "hello_2.0-1_amd64.deb",
        &new,
    );
    assert_eq!(again.status, 409, "{}", again.text());

    let state = tempfile::tempdir().unwrap();
    let apt = Apt::new(state.path(), &format!("{}/deb", server.url), &key(&server));
    let (ok, out) = apt.update_with(&["-o", "Debug::Acquire::http=true"]);
    assert!(ok, "apt-get update:\n{out}\n{}", server.log());
    // apt read the index by hash, as the Release told it to.
    let by_hash = "GET /deb/dists/stable/main/binary-amd64/by-hash/SHA256/";
    assert!(out.contains(by_hash), "{out}");

    let (ok, policy) = apt.run("apt-cache", &["policy", "hello"]);
    assert!(ok, "{policy}");
    assert!(policy.contains("Candidate: 2.0-1"), "{policy}");
    assert!(
        policy.contains(" 2.0-1 500") && policy.contains(" 1.0-1 500"),
        "{policy}"
    );
    let (ok, out) = apt.run("apt-get", &["download", "hello", "hello-doc"]);
    assert!(ok, "apt-get download:\n{out}");
    let got = std::fs::read(state.path().join("work/hello_2.0-1_amd64.deb")).unwrap();
    assert!(got == new, "the newest amd64 .deb, byte for byte");
    let got = std::fs::read(state.path().join("work/hello-doc_2.0-1_all.deb")).unwrap();
    assert!(got == doc, "the all .deb, byte for byte");

    // Deleting a version removes it from what apt sees.
    let deleted = send(
        ureq::delete(&format!("{}/deb/packages/hello/1.0-1", server.url))
            .set("Authorization", &auth),
    );
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    let (ok, out) = apt.update();
    assert!(ok, "apt-get update after delete:\n{out}");
    let (_, policy) = apt.run("apt-cache", &["policy", "hello"]);
    assert!(
        policy.contains(" 2.0-1 500") && !policy.contains("1.0-1"),
        "{policy}"
    );

    // Deleting the newest upload must not date the Release back: apt
    // ignores an older Release and would keep listing it.
    std::thread::sleep(Duration::from_millis(1100));
    let deleted = send(
        ureq::delete(&format!("{}/deb/packages/hello-doc/2.0-1", server.url))
            .set("Authorization", &auth),
    );
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    let (ok, out) = apt.update();
    assert!(ok, "apt-get update after deleting the newest:\n{out}");
    let (_, policy) = apt.run("apt-cache", &["policy", "hello-doc"]);
    assert!(!policy.contains("2.0-1"), "hello-doc is gone:\n{policy}");

    tampered_in_release_is_refused(&server);
    rotated_key_signs_and_old_key_fails(&server, &apt);
}

/// A second server in front of Wharf changes one byte of the signed text
/// of InRelease (its signature untouched): apt must refuse it as a bad
/// signature, and keep nothing of that repository.
fn tampered_in_release_is_refused(server: &Server) {
    let proxy = tampering_proxy(server.url.clone());
    let state = tempfile::tempdir().unwrap();
    let apt = Apt::new(state.path(), &format!("{proxy}/deb"), &key(server));
    let (ok, out) = apt.update();
    assert!(!ok, "a tampered InRelease must fail:\n{out}");
    assert!(
        out.contains("BADSIG") || out.contains("The following signatures were invalid"),
        "a signature error:\n{out}"
    );
    let lists: Vec<String> = std::fs::read_dir(state.path().join("state/lists"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("Packages") || n.contains("InRelease"))
        .collect();
    assert!(lists.is_empty(), "nothing kept: {lists:?}");
}

/// Serves what `upstream` serves, one request per connection, with
/// `Origin: Wharf` changed to `Origin: Wharg` in InRelease.
fn tampering_proxy(upstream: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) <= 2 {
                    break;
                }
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .to_string();
            let reply = send(ureq::get(&format!("{upstream}{path}")));
            let mut body = reply.body;
            if path.ends_with("/InRelease") {
                let text = String::from_utf8(body).unwrap();
                assert!(text.contains("Origin: Wharf\n"));
                body = text
                    .replacen("Origin: Wharf\n", "Origin: Wharg\n", 1)
                    .into_bytes();
            }
            let head = format!(
                "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                reply.status,
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    url
}

/// `wharf key rotate` while the server runs: InRelease is signed by the new
/// key within the key watch's second (cached signatures dropped); apt
/// trusting only the old key fails, apt with the served key updates.
fn rotated_key_signs_and_old_key_fails(server: &Server, apt: &Apt) {
    let old_key = key(server);
    let before = send(ureq::get(&format!(
        "{}/deb/dists/stable/InRelease",
        server.url
    )))
    .text();
    let (ok, out) = server.cli(&["key", "list"], "");
    assert!(ok, "{out}");
    let old_fingerprint = out.split('\t').nth(1).unwrap().to_string();
    let (ok, out) = server.cli(&["key", "rotate", "deb"], "");
    assert!(ok, "{out}");
    let (ok, out) = server.cli(&["key", "remove", "deb", &old_fingerprint], "");
    assert!(ok, "{out}");

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = send(ureq::get(&format!(
            "{}/deb/dists/stable/InRelease",
            server.url
        )))
        .text();
        if now != before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "InRelease still signed by the old key"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (ok, out) = apt.update();
    assert!(
        !ok,
        "the old key must not verify the new signatures:\n{out}"
    );
    assert!(
        out.contains("NO_PUBKEY") || out.contains("not signed"),
        "{out}"
    );

    let new_key = key(server);
    assert_ne!(new_key, old_key);
    apt.trust(&new_key);
    let (ok, out) = apt.update();
    assert!(ok, "apt-get update with the new key:\n{out}");
    let (_, policy) = apt.run("apt-cache", &["policy", "hello"]);
    assert!(policy.contains("Candidate: 2.0-1"), "{policy}");
}

/// A proxy of a Wharf's hosted repository: apt trusting the upstream's key
/// (the proxy passes its signed files through) updates and downloads the
/// upstream's `.deb`; with the upstream stopped, a fresh apt state updates
/// from the proxy's stale copies and downloads what was pulled.
#[test]
fn apt_installs_through_a_proxy_and_with_the_upstream_gone() {
    let upstream = start();
    let work = tempfile::tempdir().unwrap();
    let hello = build_deb(work.path(), "hello", "2.0-1", "amd64", "xz");
    let auth = upstream.admin_basic();
    let reply = upload(
        &upstream,
        Some(&auth),
        "stable",
        "hello_2.0-1_amd64.deb",
        &hello,
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    let upstream_key = key(&upstream);
    let proxy = Server::start_proxy("deb", &format!("{}/deb/", upstream.url), "", &[]);
    let repo = format!("{}/deb-proxy", proxy.url);

    let download = |label: &str| {
        let state = tempfile::tempdir().unwrap();
        let apt = Apt::new(state.path(), &repo, &upstream_key);
        let (ok, out) = apt.update();
        assert!(ok, "apt-get update ({label}):\n{out}\n{}", proxy.log());
        let (ok, out) = apt.run("apt-get", &["download", "hello"]);
        assert!(ok, "apt-get download ({label}):\n{out}\n{}", proxy.log());
        let got = std::fs::read(state.path().join("work/hello_2.0-1_amd64.deb")).unwrap();
        assert!(got == hello, "the upstream's .deb, byte for byte ({label})");
        // What `apt-get install` fetches (dpkg itself is not run on this
        // machine).
        let (ok, out) = apt.run("apt-get", &["install", "-y", "--download-only", "hello"]);
        assert!(ok, "apt-get install ({label}):\n{out}");
        let got = std::fs::read(state.path().join("cache/archives/hello_2.0-1_amd64.deb"));
        assert!(got.unwrap() == hello, "apt-get install's .deb ({label})");
    };
    download("upstream up");
    // The proxy's key is not the one that signs what it serves.
    assert_eq!(send(ureq::get(&format!("{repo}/key.asc"))).status, 404);

    drop(upstream);
    std::thread::sleep(Duration::from_millis(1200));
    download("upstream gone");
    let in_release = send(ureq::get(&format!("{repo}/dists/stable/InRelease")));
    assert_eq!(in_release.status, 200);
    assert!(in_release.is_stale(), "{:?}", in_release.headers);
    let pool = send(ureq::get(&format!(
        "{repo}/pool/main/h/hello/hello_2.0-1_amd64.deb"
    )));
    assert!(pool.status == 200 && pool.body == hello);
}

/// A group of a hosted repository and a proxy of another Wharf, as one
/// apt source trusting only the group's key: its suite is the members'
/// merged and signed again, so apt downloads the private and the public
/// packages from it, the private build of a version both hold, and an
/// upload to the hosted member after the first update.
#[test]
fn apt_installs_from_a_group_that_merges_a_hosted_and_a_proxy_suite() {
    let upstream = start();
    let work = tempfile::tempdir().unwrap();
    let auth = upstream.admin_basic();
    let hello = build_deb(work.path(), "hello", "2.0-1", "amd64", "xz");
    let public_shared = build_deb(work.path(), "shared", "1.0-1", "amd64", "xz");
    for (file, deb) in [
        ("hello_2.0-1_amd64.deb", &hello),
        ("shared_1.0-1_amd64.deb", &public_shared),
    ] {
        let reply = upload(&upstream, Some(&auth), "stable", file, deb);
        assert_eq!(reply.status, 201, "{}", reply.text());
    }

    let host = upstream.url.trim_start_matches("http://");
    let grants = format!("signing_keys = [\"deb\"]\nupstream = [\"{host}\"]");
    let settings = format!(
        "[[repository]]\nname = \"deb-proxy\"\nformat = \"deb\"\nkind = \"proxy\"\n\
         upstream = \"{}/deb/\"\nmetadata_ttl = \"1s\"\n\
         \n[[repository]]\nname = \"deb-private\"\nformat = \"deb\"\n\
         \n[[repository]]\nname = \"deb-all\"\nformat = \"deb\"\nkind = \"group\"\n\
         members = [\"deb-private\", \"deb-proxy\"]\n",
        upstream.url
    );
    let plugin = PluginEntry {
        format: "deb",
        extra: Box::leak(grants.into_boxed_str()),
    };
    let server = Server::start_with_settings(&[plugin], &[], &settings);
    let auth = server.admin_basic();
    let private_upload = |file: &str, deb: &[u8]| {
        let url = format!("{}/deb-private/upload/stable/main/{file}", server.url);
        let request = ureq::put(&url).set("Authorization", &auth);
        let reply = send_with(request, Some(deb));
        assert_eq!(reply.status, 201, "{}", reply.text());
    };
    let tool = build_deb(work.path(), "private-tool", "1.0-1", "amd64", "xz");
    private_upload("private-tool_1.0-1_amd64.deb", &tool);
    // Another build of the version the upstream has: the private one wins.
    let private_work = tempfile::tempdir().unwrap();
    let private_shared = build_deb(private_work.path(), "shared", "1.0-1", "amd64", "gzip");
    assert_ne!(private_shared, public_shared);
    private_upload("shared_1.0-1_amd64.deb", &private_shared);

    // The group's key is the server's (its hosted member serves it).
    let repo = format!("{}/deb-all", server.url);
    let group_key = send(ureq::get(&format!("{repo}/key.asc")));
    assert_eq!(group_key.status, 200);
    let state = tempfile::tempdir().unwrap();
    let apt = Apt::new(state.path(), &repo, &group_key.text());
    let (ok, out) = apt.update();
    assert!(ok, "apt-get update:\n{out}\n{}", server.log());
    let download = |package: &str, file: &str, expected: &[u8]| {
        let (ok, out) = apt.run("apt-get", &["download", package]);
        assert!(ok, "apt-get download {package}:\n{out}\n{}", server.log());
        let got = std::fs::read(state.path().join("work").join(file)).unwrap();
        assert!(got == expected, "{file}: not the expected build");
    };
    download("hello", "hello_2.0-1_amd64.deb", &hello);
    download("private-tool", "private-tool_1.0-1_amd64.deb", &tool);
    download("shared", "shared_1.0-1_amd64.deb", &private_shared);
    let (ok, out) = apt.run("apt-get", &["install", "-y", "--download-only", "hello"]);
    assert!(ok, "apt-get install:\n{out}");

    // The merged suite is signed by the group's key only: the upstream's
    // key does not verify it.
    let upstream_key = key(&upstream);
    let other = tempfile::tempdir().unwrap();
    let (ok, out) = Apt::new(other.path(), &repo, &upstream_key).update();
    assert!(
        !ok && (out.contains("NO_PUBKEY") || out.contains("not signed")),
        "{out}"
    );

    // An upload to the hosted member is in the group's next update (the
    // merged suite was cached above).
    let late = build_deb(work.path(), "late", "1.0-1", "amd64", "xz");
    private_upload("late_1.0-1_amd64.deb", &late);
    let (ok, out) = apt.update();
    assert!(
        ok,
        "apt-get update after an upload:\n{out}\n{}",
        server.log()
    );
    download("late", "late_1.0-1_amd64.deb", &late);
}
