//! A process killed mid-upload: nothing of it is visible, and the
//! temporary object it was writing does not outlive the restart. `many`:
//! the same with 100 uploads across the five formats, and their retries.

mod client;
mod formats;
mod many;
mod uploads;
mod verify;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};
use wharf_tests::{PluginEntry, Server};

const OCI: PluginEntry = PluginEntry {
    format: "oci",
    extra: "",
};

fn temp_objects(server: &Server) -> Vec<std::path::PathBuf> {
    let dir = server.dir.path().join("data/objects/tmp");
    std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default()
}

#[test]
fn a_kill_during_an_upload_leaves_nothing_behind() {
    let mut server = Server::start(&[OCI]);
    let digest = format!("sha256:{}", "ab".repeat(32));
    let address = server.url.trim_start_matches("http://").to_string();
    let mut tcp = TcpStream::connect(&address).unwrap();
    let head = format!(
        "POST /v2/crash/app/blobs/uploads/?digest={digest} HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: {}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\n\r\n",
        server.admin_basic(),
        100u64 << 20
    );
    tcp.write_all(head.as_bytes()).unwrap();
    let chunk = vec![7u8; 1 << 20];
    for _ in 0..20 {
        tcp.write_all(&chunk).unwrap();
    }
    let until = Instant::now() + Duration::from_secs(20);
    while temp_objects(&server).is_empty() {
        assert!(Instant::now() < until, "the upload never reached the store");
        std::thread::sleep(Duration::from_millis(50));
    }
    server.restart(); // SIGKILL, then a fresh start on the same data
    drop(tcp);
    assert_eq!(temp_objects(&server), Vec::<std::path::PathBuf>::new());
    let blob = server.get(&format!("/v2/crash/app/blobs/{digest}"));
    assert_eq!(blob.status, 404, "{}", blob.text());
    assert!(
        server
            .log()
            .contains("removed temporary objects a crash left behind")
    );
}
