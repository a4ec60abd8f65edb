//! Bytes changed on disk behind Wharf's back are never served: `wharf
//! fsck` and the background scrub find them, quarantine them, and their
//! downloads answer 5xx until the content is stored again.

use std::path::PathBuf;
use std::time::{Duration, Instant};
use wharf_tests::{PluginEntry, Server};

const NPM: PluginEntry = PluginEntry {
    format: "npm",
    extra: "",
};

fn publish(server: &Server, name: &str, tarball: &[u8]) {
    let body = wharf_tests::npm_publish_body(name, "1.0.0", tarball, tarball);
    let put = ureq::put(&format!("{}/npm/{name}", server.url))
        .set("authorization", &server.admin_basic())
        .set("content-type", "application/json");
    assert_eq!(wharf_tests::send_with(put, Some(&body)).status, 200);
}

/// Flips one byte of a stored blob's file, as a failing disk would.
fn rot(server: &Server, bytes: &[u8]) -> PathBuf {
    let blake3 = blake3::hash(bytes).to_hex().to_string();
    let file = server.dir.path().join(format!(
        "data/objects/blobs/{}/{}/{blake3}",
        &blake3[..2],
        &blake3[2..4]
    ));
    let mut stored = std::fs::read(&file).unwrap();
    stored[1000] ^= 0xff;
    std::fs::write(&file, stored).unwrap();
    file
}

fn tarball(seed: u8) -> Vec<u8> {
    // Above the size kept inline in the document cache: read from disk.
    (0..100_000u32)
        .map(|i| (i as u8).wrapping_mul(seed))
        .collect()
}

#[test]
fn fsck_quarantines_rotten_bytes_and_downloads_refuse_them() {
    let server = Server::start_with_env(&[NPM], &[("WHARF_SCRUB_BYTES_PER_SEC", "0")]);
    let (good, bad) = (tarball(3), tarball(5));
    publish(&server, "good", &good);
    publish(&server, "bad", &bad);
    let download = |name: &str| server.get(&format!("/npm/{name}/-/{name}-1.0.0.tgz"));
    assert_eq!(download("bad").body, bad, "warm in the document cache");
    let file = rot(&server, &bad);

    let fsck = std::process::Command::new(wharf_tests::wharf_binary())
        .arg("fsck")
        .env("WHARF_DATA_DIR", server.dir.path().join("data"))
        .env("WHARF_LOG", "warn")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&fsck.stdout);
    assert_eq!(fsck.status.code(), Some(1), "{printed}");
    assert!(printed.contains("1 corrupt, 0 missing"), "{printed}");
    assert!(!file.exists(), "the rotten file left its address");

    let refused = download("bad");
    assert!(
        refused.status >= 500,
        "{} {:?}",
        refused.status,
        refused.text()
    );
    assert_eq!(download("good").body, good);
    // Publishing the same content again puts it back in service.
    publish(&server, "bad-again", &bad);
    assert_eq!(download("bad-again").body, bad);
}

#[test]
fn the_background_scrub_finds_rot_and_counts_it() {
    let mut server = Server::start_with_env(&[NPM], &[("WHARF_SCRUB_BYTES_PER_SEC", "104857600")]);
    let bad = tarball(7);
    publish(&server, "rotting", &bad);
    rot(&server, &bad);
    server.restart(); // the scrub starts with blobs never checked
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let metrics = server.get("/metrics").text();
        if metrics.lines().any(|l| l == "wharf_blobs_corrupt 1") {
            break;
        }
        assert!(
            Instant::now() < until,
            "no corrupt blob counted:\n{metrics}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let refused = server.get("/npm/rotting/-/rotting-1.0.0.tgz");
    assert!(refused.status >= 500, "{}", refused.status);
}
