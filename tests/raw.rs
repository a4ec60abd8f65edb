//! Raw, end to end with plain HTTP calls (what curl and CI scripts send):
//! uploads, Range and HEAD downloads, listings, overwrite rules, refusals,
//! and a hot reload of the plugin while a download loop runs; curl through a
//! proxy repository of a second Wharf, and from its store once that upstream
//! is gone; 50 clients missing one file at once cost the upstream one
//! download.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use wharf_tests::{
    PluginEntry, Reply, Server, basic, replace_file, rss_kib, send, send_with, with_custom_section,
};

fn start() -> (Server, String, tempfile::TempDir) {
    let config = tempfile::tempdir().unwrap();
    let path = config.path().join("wharf.toml");
    let toml = "[[repository]]\nname = \"raw-mutable\"\nformat = \"raw\"\n\
                settings = { allow_overwrite = true }\n";
    std::fs::write(&path, toml).unwrap();
    let server = Server::start_with_env(
        &[PluginEntry {
            format: "raw",
            extra: "",
        }],
        &[("WHARF_CONFIG", path.to_str().unwrap())],
    );
    let token = server.create_user("alice", "alice-password");
    (server, basic("alice", &token), config)
}

fn put(server: &Server, auth: Option<&str>, path: &str, bytes: &[u8]) -> Reply {
    let mut request = ureq::put(&format!("{}{path}", server.url));
    if let Some(auth) = auth {
        request = request.set("Authorization", auth);
    }
    send_with(request, Some(bytes))
}

#[test]
fn files_in_and_out() {
    let (server, alice, _config) = start();
    let data: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let created = put(&server, Some(&alice), "/raw/builds/1.0/app.bin", &data);
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.json()["size"], data.len());
    let notes = put(
        &server,
        Some(&alice),
        "/raw/builds/1.0/notes.txt",
        b"hello\n",
    );
    assert_eq!(notes.status, 201);

    // Anonymous writes are refused in raw's error shape.
    let anonymous = put(&server, None, "/raw/builds/1.0/evil.bin", b"x");
    assert_eq!(anonymous.status, 401);
    assert!(
        anonymous.json()["error"].is_string(),
        "{}",
        anonymous.text()
    );

    let whole = server.get("/raw/builds/1.0/app.bin");
    assert_eq!((whole.status, whole.body == data), (200, true));
    assert_eq!(
        whole.header("content-type"),
        Some("application/octet-stream")
    );
    let text = server.get("/raw/builds/1.0/notes.txt");
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let url = format!("{}/raw/builds/1.0/app.bin", server.url);
    let range = send(ureq::get(&url).set("Range", "bytes=100-199"));
    assert_eq!(range.status, 206);
    assert_eq!(range.body, data[100..200]);
    let head = send(ureq::head(&url));
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("400000"));

    // Listings: JSON for scripts, HTML for browsers.
    let root = server.get("/raw/").json();
    assert_eq!(root["entries"][0]["name"], "builds/");
    let dir = server.get("/raw/builds/1.0/").json();
    let names: Vec<&str> = dir["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["app.bin", "notes.txt"]);
    assert_eq!(dir["entries"][0]["size"], 400_000);
    let html = send(ureq::get(&format!("{}/raw/builds/", server.url)).set("Accept", "text/html"));
    assert!(html.text().contains("<a href=\"1.0/\">"), "{}", html.text());
    // An odd name's link is percent-encoded, and leads back to the file.
    let odd = put(&server, Some(&alice), "/raw/odd/a%20b%231%3F.txt", b"odd");
    assert_eq!(odd.status, 201, "{}", odd.text());
    let page = send(ureq::get(&format!("{}/raw/odd/", server.url)).set("Accept", "text/html"));
    let link = "<a href=\"a%20b%231%3F.txt\">a b#1?.txt</a>";
    assert!(page.text().contains(link), "{}", page.text());
    assert_eq!(server.get("/raw/odd/a%20b%231%3F.txt").text(), "odd");
    assert_eq!(server.get("/raw/nothing/").status, 404);

    // Overwrite: refused by default, allowed where the repository says so.
    let again = put(&server, Some(&alice), "/raw/builds/1.0/notes.txt", b"bye\n");
    assert_eq!(again.status, 409, "{}", again.text());
    assert_eq!(server.get("/raw/builds/1.0/notes.txt").text(), "hello\n");
    for body in [&b"one"[..], b"two"] {
        let reply = put(&server, Some(&alice), "/raw-mutable/latest/app.txt", body);
        assert_eq!(reply.status, 201, "{}", reply.text());
    }
    assert_eq!(server.get("/raw-mutable/latest/app.txt").text(), "two");

    // Paths that would climb out, or that no file system takes, sent as
    // they are (an HTTP library would resolve the dots itself).
    for path in [
        "/raw/builds/%2e%2e/escape.txt",
        "/raw/builds%2F..%2Fx/y.txt",
        "/raw/builds/a%5Cb.txt",
    ] {
        let status = raw_put(&server, &alice, path);
        assert!(matches!(status, 400 | 404), "{path}: {status}");
    }
    assert_eq!(
        server.get("/raw/builds/").json()["entries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Delete: owners may, others may not.
    let bob = basic("bob", &server.create_user("bob", "bob-password"));
    let del = |auth: &str| {
        send(
            ureq::delete(&format!("{}/raw/builds/1.0/notes.txt", server.url))
                .set("Authorization", auth),
        )
    };
    assert_eq!(del(&bob).status, 403);
    assert_eq!(del(&alice).status, 204);
    assert_eq!(server.get("/raw/builds/1.0/notes.txt").status, 404);
    assert_eq!(del(&alice).status, 404);
}

#[test]
fn downloads_keep_working_across_hot_reloads() {
    let (server, alice, _config) = start();
    let data = b"an installer\n".repeat(10_000);
    assert_eq!(
        put(&server, Some(&alice), "/raw/dl/setup.exe", &data).status,
        201
    );
    let url = format!("{}/raw/dl/setup.exe", server.url);
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let loops: Vec<_> = (0..2)
        .map(|_| {
            let (url, stop, ok, failed) = (url.clone(), stop.clone(), ok.clone(), failed.clone());
            let data = data.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let reply = send(ureq::get(&url));
                    match reply.status == 200 && reply.body == data {
                        true => ok.fetch_add(1, Ordering::Relaxed),
                        false => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    let original = std::fs::read(server.plugin_path("raw")).unwrap();
    for i in 0..5 {
        let build = with_custom_section(&original, &format!("build {i}"));
        let hash = blake3::hash(&build).to_hex().to_string();
        replace_file(&server.plugin_path("raw"), &build);
        let deadline = Instant::now() + Duration::from_secs(30);
        while status(&server)["hash"] != hash.as_str() {
            assert!(Instant::now() < deadline, "build {i} never loaded");
            std::thread::sleep(Duration::from_millis(50));
        }
        // Uploads go to the new build too.
        let path = format!("/raw/dl/build-{i}.txt");
        assert_eq!(put(&server, Some(&alice), &path, b"x").status, 201);
    }
    stop.store(true, Ordering::Relaxed);
    for l in loops {
        l.join().unwrap();
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0);
    assert!(ok.load(Ordering::Relaxed) > 10);
}

/// A PUT written on the socket byte for byte; the status code.
fn raw_put(server: &Server, auth: &str, path: &str) -> u16 {
    use std::io::{Read, Write};
    let mut socket =
        std::net::TcpStream::connect(server.url.trim_start_matches("http://")).unwrap();
    let request = format!(
        "PUT {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"
    );
    socket.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).unwrap();
    answer[9..12].parse().unwrap()
}

fn status(server: &Server) -> serde_json::Value {
    server
        .plugins()
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["format"] == "raw")
        .cloned()
        .unwrap()
}

#[test]
fn the_plugin_guide_shows_the_raw_plugin() {
    let root = wharf_tests::root();
    let guide = std::fs::read_to_string(root.join("docs/plugin-guide.md")).unwrap();
    let source = std::fs::read_to_string(root.join("plugins/raw/src/lib.rs")).unwrap();
    assert!(
        guide.contains(&format!("```rust\n{source}```")),
        "docs/plugin-guide.md must show plugins/raw/src/lib.rs verbatim"
    );
    assert!(
        source.lines().count() < 300,
        "raw is the SDK's proof: under 300 lines"
    );
}

/// `curl -fsS -o out url`: whether it succeeded, and what it said.
fn curl(url: &str, out: &std::path::Path) -> (bool, String) {
    let (ok, stdout, stderr) = wharf_tests::run(
        std::process::Command::new("curl")
            .args(["-fsS", "--max-time", "60", "-o"])
            .arg(out)
            .arg(url),
    );
    (ok, format!("{stdout}{stderr}"))
}

#[test]
fn curl_downloads_through_a_proxy_and_from_its_store_when_the_upstream_is_gone() {
    let (upstream, alice, _config) = start();
    let data: Vec<u8> = (0..50_000u32).flat_map(|i| (i * 7).to_le_bytes()).collect();
    let created = put(
        &upstream,
        Some(&alice),
        "/raw/tools/2.1/tool%20kit.bin",
        &data,
    );
    assert_eq!(created.status, 201, "{}", created.text());

    let proxy = Server::start_proxy("raw", &format!("{}/raw/", upstream.url), "", &[]);
    let url = format!("{}/raw-proxy/tools/2.1/tool%20kit.bin", proxy.url);
    let work = tempfile::tempdir().unwrap();
    let first = work.path().join("first.bin");
    let (ok, said) = curl(&url, &first);
    assert!(ok, "curl through the proxy failed: {said}");
    assert!(std::fs::read(&first).unwrap() == data, "bytes differ");

    // The proxy lists what it keeps (recorded once stored, just after the
    // client has its last byte); the upstream's 404 is raw's.
    let kept = serde_json::json!([{"name": "tool kit.bin", "size": data.len()}]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut listing = proxy.get("/raw-proxy/tools/2.1/").json();
    while listing["entries"] != kept && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        listing = proxy.get("/raw-proxy/tools/2.1/").json();
    }
    assert_eq!(listing["entries"], kept);
    let missing = proxy.get("/raw-proxy/tools/2.1/missing.bin");
    assert_eq!(missing.status, 404);
    assert!(missing.json()["error"].is_string(), "{}", missing.text());

    // The upstream goes away: the kept file is still served, whole.
    drop(upstream);
    let second = work.path().join("second.bin");
    let (ok, said) = curl(&url, &second);
    assert!(ok, "curl from the proxy's store failed: {said}");
    assert!(std::fs::read(&second).unwrap() == data, "bytes differ");
    let unreachable = proxy.get("/raw-proxy/tools/2.1/never-pulled.bin");
    assert!(
        matches!(unreachable.status, 502 | 504),
        "{}",
        unreachable.status
    );
    assert!(unreachable.json()["error"].is_string());
}

/// 50 clients at once miss the same 48 MiB file of a proxy: the upstream
/// serves it once, every client gets it whole, and the proxy streams it
/// to all of them from one download without holding it in memory.
#[test]
fn fifty_clients_missing_one_file_cause_one_upstream_download() {
    let (upstream, alice, _config) = start();
    let data: Vec<u8> = (0..12u32 << 20)
        .flat_map(|i| (i ^ 0x5bd1_e995).to_le_bytes())
        .collect();
    let created = put(&upstream, Some(&alice), "/raw/big/file.bin", &data);
    assert_eq!(created.status, 201, "{}", created.text());
    let served = || upstream_downloads(&upstream);
    let before = served();

    let proxy = Server::start_proxy("raw", &format!("{}/raw/", upstream.url), "", &[]);
    let rss_before = rss_kib(proxy.pid());
    let url = format!("{}/raw-proxy/big/file.bin", proxy.url);
    let start = Arc::new(std::sync::Barrier::new(50));
    let expected = Arc::new(blake3::hash(&data));
    let clients: Vec<_> = (0..50)
        .map(|_| {
            let (url, start, expected) = (url.clone(), start.clone(), expected.clone());
            std::thread::spawn(move || {
                start.wait();
                let response = ureq::get(&url).call().expect("an answer");
                let mut hasher = blake3::Hasher::new();
                std::io::copy(&mut response.into_reader(), &mut hasher).expect("the whole body");
                hasher.finalize() == *expected
            })
        })
        .collect();
    let whole = clients
        .into_iter()
        .map(|c| c.join().unwrap())
        .filter(|ok| *ok)
        .count();
    assert_eq!(whole, 50, "every client gets the upstream's bytes");
    assert_eq!(served() - before, 1, "the upstream served the file once");
    let grown_mib = rss_kib(proxy.pid()).saturating_sub(rss_before) / 1024;
    assert!(grown_mib < 64, "the proxy grew by {grown_mib} MiB");
}

/// Successful answers of the upstream's `raw` repository so far.
fn upstream_downloads(upstream: &Server) -> u64 {
    let metrics = upstream.get("/metrics").text();
    metrics
        .lines()
        .filter(|l| l.starts_with("wharf_http_requests_total{repo=\"raw\",status=\"200\"}"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}
