//! Garbage collection end to end, with the raw format over plain HTTP:
//! `wharf gc --dry-run` reports exactly the blobs nothing references and
//! deletes nothing; a run deletes exactly those, row and file, and every
//! remaining file still downloads; the server collects on its interval and
//! counts it in the metrics; a blob stored within the grace period stays;
//! collections running while files are published and deleted never take a
//! referenced blob.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use wharf_tests::{PluginEntry, Reply, Server, basic, send, send_with};

/// A raw server whose settings file the test may rewrite before a restart;
/// also `alice`'s credentials.
struct Registry {
    server: Server,
    alice: String,
    config: PathBuf,
    _config_dir: tempfile::TempDir,
}

const REPOSITORIES: &str = "[[repository]]\nname = \"raw-mutable\"\nformat = \"raw\"\n\
                            settings = { allow_overwrite = true }\n";

fn start(gc_settings: &str) -> Registry {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("wharf.toml");
    std::fs::write(&config, format!("{gc_settings}\n{REPOSITORIES}")).unwrap();
    let server = Server::start_with_env(
        &[PluginEntry {
            format: "raw",
            extra: "",
        }],
        &[("WHARF_CONFIG", config.to_str().unwrap())],
    );
    let token = server.create_user("alice", "alice-password");
    Registry {
        alice: basic("alice", &token),
        server,
        config,
        _config_dir: dir,
    }
}

impl Registry {
    fn put(&self, path: &str, bytes: &[u8]) -> Reply {
        let request = ureq::put(&format!("{}{path}", self.server.url));
        send_with(request.set("Authorization", &self.alice), Some(bytes))
    }

    fn published(&self, path: &str, bytes: &[u8]) {
        let reply = self.put(path, bytes);
        assert_eq!(reply.status, 201, "{path}: {}", reply.text());
    }

    fn delete(&self, path: &str) -> u16 {
        let request = ureq::delete(&format!("{}{path}", self.server.url));
        send(request.set("Authorization", &self.alice)).status
    }

    fn gc(&self, args: &[&str]) -> String {
        let all = [&["gc"], args].concat();
        let (ok, out) = self.server.cli(&all, "");
        assert!(ok, "wharf gc: {out}");
        out
    }

    /// The blob rows' addresses.
    fn rows(&self) -> BTreeSet<String> {
        lines(&self.server.sql("SELECT blake3 FROM blobs"))
    }

    /// The addresses the catalog names.
    fn referenced(&self) -> BTreeSet<String> {
        lines(&self.server.sql("SELECT DISTINCT blake3 FROM assets"))
    }

    /// The addresses with a file in the store.
    fn files(&self) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let mut dirs = vec![self.server.dir.path().join("data/objects/blobs")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    found.insert(path.file_name().unwrap().to_string_lossy().into_owned());
                }
            }
        }
        found
    }

    fn has_file(&self, bytes: &[u8]) -> bool {
        self.files().contains(&address(bytes))
    }

    fn downloads(&self, path: &str, bytes: &[u8]) {
        let reply = self.server.get(path);
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        assert!(reply.body == bytes, "{path}: other bytes");
    }
}

/// Names only what differs: a set of a hundred addresses hides one.
fn same_blobs(what: &str, found: &BTreeSet<String>, referenced: &BTreeSet<String>) {
    let extra: Vec<_> = found.difference(referenced).collect();
    let missing: Vec<_> = referenced.difference(found).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{what} nothing references: {extra:?}; referenced without {what}: {missing:?}"
    );
}

fn lines(text: &str) -> BTreeSet<String> {
    text.lines().map(str::to_string).collect()
}

fn address(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Distinct content of `len` bytes.
fn content(seed: u32, len: usize) -> Vec<u8> {
    let mut bytes = format!("content {seed}:").into_bytes();
    bytes.extend((0..len as u32).map(|i| (i.wrapping_mul(seed + 7) % 251) as u8));
    bytes
}

/// The counter's value in a Prometheus text page (0 when absent).
fn counter(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0, |v| v.trim().parse::<f64>().unwrap() as u64)
}

#[test]
fn collects_exactly_the_unreferenced_blobs() {
    let mut r = start("gc_interval_secs = 0");
    let kept = [
        ("/raw/app/1.0/app.bin", content(1, 40_000)),
        ("/raw/app/1.0/notes.txt", b"release notes\n".to_vec()),
        ("/raw/app/2.0/app.bin", content(2, 50_000)),
        // The same bytes under two paths; one of them is deleted below.
        ("/raw/copy/a.bin", content(3, 30_000)),
        (
            "/raw-mutable/site/index.html",
            b"<p>version two</p>".to_vec(),
        ),
    ];
    for (path, bytes) in &kept {
        r.published(path, bytes);
    }
    let unpublished = [
        ("/raw/app/0.9/app.bin", content(4, 20_000)),
        ("/raw/old/notes.txt", b"withdrawn\n".to_vec()),
    ];
    for (path, bytes) in &unpublished {
        r.published(path, bytes);
    }
    r.published("/raw/copy/b.bin", &content(3, 30_000));
    let first_page = b"<p>version one, overwritten</p>".to_vec();
    r.published("/raw-mutable/site/index.html", &first_page);
    r.published("/raw-mutable/site/index.html", &kept[4].1);
    for path in [
        "/raw/app/0.9/app.bin",
        "/raw/old/notes.txt",
        "/raw/copy/b.bin",
    ] {
        assert_eq!(r.delete(path), 204, "{path}");
    }
    let garbage = [&unpublished[0].1, &unpublished[1].1, &first_page];
    let bytes: usize = garbage.iter().map(|g| g.len()).sum();
    let rows = r.rows();
    assert_eq!(rows.len(), 8, "{rows:?}");

    // Everything is younger than the default grace period.
    let out = r.gc(&["--dry-run"]);
    assert!(out.contains("would reclaim 0 blobs (0 bytes)"), "{out}");
    let out = r.gc(&["--gc-grace-secs", "0", "--dry-run"]);
    let expected = format!("would reclaim 3 blobs ({bytes} bytes)");
    assert!(out.contains(&expected), "{out}");
    assert_eq!(r.rows(), rows, "a dry run deleted rows");
    assert!(
        garbage.iter().all(|g| r.has_file(g)),
        "a dry run deleted files"
    );

    let out = r.gc(&["--gc-grace-secs", "0"]);
    let expected = format!("reclaimed 3 blobs ({bytes} bytes)");
    assert!(out.contains(&expected), "{out}");
    for g in garbage {
        assert!(!r.rows().contains(&address(g)));
        assert!(!r.has_file(g), "the file of a collected blob is left");
    }
    same_blobs("rows", &r.rows(), &r.referenced());
    same_blobs("files", &r.files(), &r.referenced());
    for (path, bytes) in &kept {
        r.downloads(path, bytes);
    }
    for (path, _) in &unpublished {
        assert_eq!(r.server.get(path).status, 404);
    }
    let out = r.gc(&["--gc-grace-secs", "0"]);
    assert!(out.contains("reclaimed 0 blobs (0 bytes)"), "{out}");

    // The server collects on its interval, and says so.
    let more = [content(5, 12_345), content(6, 6_789)];
    for (i, bytes) in more.iter().enumerate() {
        let path = format!("/raw/tmp/{i}.bin");
        r.published(&path, bytes);
        assert_eq!(r.delete(&path), 204);
    }
    let settings = format!("gc_interval_secs = 1\ngc_grace_secs = 0\n{REPOSITORIES}");
    std::fs::write(&r.config, settings).unwrap();
    r.server.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    let metrics = loop {
        let metrics = r.server.get("/metrics").text();
        if counter(&metrics, "wharf_gc_reclaimed_blobs_total") == 2 {
            break metrics;
        }
        assert!(Instant::now() < deadline, "no collection:\n{metrics}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let reclaimed = counter(&metrics, "wharf_gc_reclaimed_bytes_total");
    assert_eq!(reclaimed, (12_345 + 6_789 + 2 * "content 5:".len()) as u64);
    assert!(counter(&metrics, "wharf_gc_runs_total{result=\"ok\"}") >= 1);
    assert!(more.iter().all(|m| !r.has_file(m)));
    assert!(
        r.server
            .log()
            .contains("garbage collection removed unreferenced blobs"),
        "{}",
        r.server.log()
    );
    for (path, bytes) in &kept {
        r.downloads(path, bytes);
    }
}

#[test]
fn blobs_within_the_grace_period_stay() {
    let r = start("gc_interval_secs = 0");
    let (old, young) = (content(10, 5_000), content(11, 7_000));
    for (path, bytes) in [("/raw/a/old.bin", &old), ("/raw/a/young.bin", &young)] {
        r.published(path, bytes);
        assert_eq!(r.delete(path), 204);
    }
    let out = r.gc(&[]);
    assert!(out.contains("reclaimed 0 blobs (0 bytes)"), "{out}");
    assert!(r.has_file(&old) && r.has_file(&young));
    // Stored just over an hour (the default grace) ago.
    r.server.sql(&format!(
        "UPDATE blobs SET stored_at = stored_at - 3601000 WHERE blake3 = '{}'",
        address(&old)
    ));
    let out = r.gc(&[]);
    let expected = format!("reclaimed 1 blobs ({} bytes)", old.len());
    assert!(out.contains(&expected), "{out}");
    assert!(!r.has_file(&old));
    assert!(r.has_file(&young));
    assert!(r.rows().contains(&address(&young)));
}

/// Publishes and deletes in a loop while collections with no grace period
/// run from the command line and in the server (competing for the lease).
/// A publish may fail cleanly when a collection takes its blob before the
/// catalog write; a published file always keeps its bytes.
#[test]
fn collections_beside_publishes_take_nothing_referenced() {
    let r = start("gc_interval_secs = 1\ngc_grace_secs = 0");
    // A few contents come back again and again: their blobs go unreferenced
    // and are published anew while collections run.
    let shared: Vec<Vec<u8>> = (0..4).map(|i| content(100 + i, 3_000)).collect();
    let done = std::sync::atomic::AtomicBool::new(false);
    let (outcomes, runs) = std::thread::scope(|s| {
        let publisher = s.spawn(|| {
            let started = Instant::now();
            let mut outcomes = Vec::new();
            for i in 0..200u32 {
                if started.elapsed() > Duration::from_secs(20) {
                    break;
                }
                let bytes = match i % 3 {
                    0 => shared[(i as usize / 3) % shared.len()].clone(),
                    _ => content(1_000 + i, 2_000 + i as usize * 10),
                };
                let path = format!("/raw/loop/{i}.bin");
                let status = r.put(&path, &bytes).status;
                let unpublished = status == 201 && i % 2 == 0 && r.delete(&path) == 204;
                outcomes.push((path, bytes, status, unpublished));
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            outcomes
        });
        let mut runs = Vec::new();
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            runs.push(r.gc(&["--gc-grace-secs", "0"]));
        }
        (publisher.join().unwrap(), runs)
    });

    let published = outcomes.iter().filter(|o| o.2 == 201).count();
    let skipped = runs
        .iter()
        .filter(|o| o.contains("another collection"))
        .count();
    eprintln!(
        "{published} of {} publishes succeeded; {} collections, {skipped} skipped for another",
        outcomes.len(),
        runs.len()
    );
    assert!(
        published * 2 >= outcomes.len(),
        "{published} of {} publishes succeeded",
        outcomes.len()
    );
    assert!(runs.len() >= 2, "{runs:?}");
    let mut unpublished = Vec::new();
    for (path, bytes, status, deleted) in &outcomes {
        match (*status, *deleted) {
            (201, false) => r.downloads(path, bytes),
            (201, true) => {
                assert_eq!(r.server.get(path).status, 404);
                unpublished.push(bytes);
            }
            // Failed cleanly: nothing published.
            (status, _) => {
                assert!((400..600).contains(&status), "{path}: {status}");
                assert_eq!(r.server.get(path).status, 404, "{path}");
            }
        }
    }

    // One more collection (not skipped for the server's) takes the rest.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = r.gc(&["--gc-grace-secs", "0"]);
        if out.contains("reclaimed") {
            break;
        }
        assert!(Instant::now() < deadline, "{out}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let referenced = r.referenced();
    same_blobs("rows", &r.rows(), &referenced);
    same_blobs("files", &r.files(), &referenced);
    let kept_shared = |b: &Vec<u8>| referenced.contains(&address(b));
    for bytes in unpublished {
        assert!(
            kept_shared(bytes) || !r.has_file(bytes),
            "an unpublished file's bytes were not reclaimed"
        );
    }
}
