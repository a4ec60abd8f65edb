//! `wharf backup` while a client keeps publishing, `wharf restore` into a
//! new directory, and a server on it: everything it lists downloads with
//! the bytes published, at least what was published before the backup
//! began; users, tokens and keys came along. Restore refuses a used data
//! directory and a directory that is not a finished backup.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wharf_tests::{ADMIN_PASSWORD, PluginEntry, Server, basic, run, send, send_with, wharf_binary};

fn raw() -> PluginEntry {
    PluginEntry {
        format: "raw",
        extra: "",
    }
}

/// Distinct bytes per artifact, 8 KiB to ~200 KiB.
fn artifact(i: u32) -> Vec<u8> {
    let mut bytes = vec![0; 8192 + (i as usize * 7919) % 200_000];
    blake3::Hasher::new()
        .update(&i.to_le_bytes())
        .finalize_xof()
        .fill(&mut bytes);
    bytes
}

fn hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Publishes artifact `i`; its path when the server took it.
fn publish(url: &str, auth: &str, i: u32) -> Option<(String, String)> {
    let path = format!("/raw/backup/{i}/file-{i}.bin");
    let bytes = artifact(i);
    let request = ureq::put(&format!("{url}{path}")).set("Authorization", auth);
    let reply = send_with(request, Some(&bytes));
    (reply.status == 201).then(|| (path, hash(&bytes)))
}

/// Every file a raw repository lists, walked from its root, with the hash
/// of what it downloads.
fn catalog(server: &Server) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut dirs = vec!["/raw/".to_string()];
    while let Some(dir) = dirs.pop() {
        let mut after: Option<String> = None;
        loop {
            let page = match &after {
                Some(a) => server.get(&format!("{dir}?after={a}")),
                None => server.get(&dir),
            };
            assert_eq!(page.status, 200, "{dir}: {}", page.text());
            let page = page.json();
            for entry in page["entries"].as_array().unwrap() {
                let name = entry["name"].as_str().unwrap();
                let path = format!("{dir}{name}");
                if name.ends_with('/') {
                    dirs.push(path);
                } else {
                    let got = server.get(&path);
                    assert_eq!(got.status, 200, "{path}");
                    files.insert(path, hash(&got.body));
                }
            }
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_string()),
                None => break,
            }
        }
    }
    files
}

/// `wharf <args>` on the data directory `data`: success, and all it printed.
fn wharf(data: &Path, args: &[&str]) -> (bool, String) {
    let (ok, out, err) = run(Command::new(wharf_binary())
        .args(args)
        .env("WHARF_DATA_DIR", data)
        .env("WHARF_LOG", "warn"));
    (ok, out + &err)
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn backup_while_publishing_then_restore() {
    let server = Server::start(&[raw()]);
    let token = server.create_user("alice", "alice-password");
    let alice = basic("alice", &token);
    let published = Arc::new(Mutex::new(BTreeMap::new()));
    for i in 0..30 {
        let (path, hash) = publish(&server.url, &alice, i).expect("publishing");
        published.lock().unwrap().insert(path, hash);
    }
    let (ok, exported) = server.cli(&["key", "export", "deb"], "");
    assert!(ok, "{exported}");

    // A client keeps publishing while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (url, alice, published, stop) = (
            server.url.clone(),
            alice.clone(),
            published.clone(),
            stop.clone(),
        );
        std::thread::spawn(move || {
            let started = Instant::now();
            for i in 30..230 {
                if stop.load(Ordering::SeqCst) || started.elapsed() > Duration::from_secs(15) {
                    break;
                }
                let (path, hash) = publish(&url, &alice, i).expect("publishing during the backup");
                published.lock().unwrap().insert(path, hash);
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while published.lock().unwrap().len() < 33 {
        assert!(
            Instant::now() < deadline && !writer.is_finished(),
            "no publishes"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let before = published.lock().unwrap().len();
    let backups = tempfile::tempdir().unwrap();
    let dir = backups.path().join("nightly");
    let (ok, out) = server.cli(&["backup", dir.to_str().unwrap()], "");
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    assert!(ok, "{out}");
    assert!(out.contains("backed up the database"), "{out}");
    let total = published.lock().unwrap().len();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("wharf-backup.json")).unwrap()).unwrap();
    assert!(
        manifest["blobs"].as_u64().unwrap() >= before as u64,
        "{manifest}"
    );
    assert_eq!(mode(&dir.join("registry-token.key")), 0o600);
    // A backup directory is never reused.
    let (ok, again) = server.cli(&["backup", dir.to_str().unwrap()], "");
    assert!(!ok && again.contains("is not empty"), "{again}");

    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let (ok, out) = wharf(&data, &["restore", dir.to_str().unwrap()]);
    assert!(ok, "{out}");
    for key in ["registry-token.key", "signing-keys/deb/current"] {
        let restored = data.join(key);
        assert_eq!(
            std::fs::read(server.dir.path().join("data").join(key)).unwrap(),
            std::fs::read(&restored).unwrap(),
            "{key}"
        );
        assert_eq!(mode(&restored), 0o600, "{key}");
    }
    // Restoring again, over what is there now, is refused.
    let (ok, refused) = wharf(&data, &["restore", dir.to_str().unwrap()]);
    assert!(!ok && refused.contains("is not empty"), "{refused}");

    // A bootstrap password that is not admin's: the restored admin logs in.
    let restored = Server::start_in(root, &[raw()], &[("WHARF_ADMIN_PASSWORD", "other")]);
    let listed = catalog(&restored);
    let published = published.lock().unwrap().clone();
    eprintln!(
        "published {before} before the backup, {total} in all; {} restored",
        listed.len()
    );
    assert!(
        listed.len() >= before && listed.len() <= total,
        "{} restored; {before} published before the backup, {total} in all",
        listed.len()
    );
    for (path, got) in &listed {
        assert_eq!(published.get(path), Some(got), "{path}");
    }

    let users = |auth: &str| {
        send(ureq::get(&format!("{}/api/v1/users", restored.url)).set("Authorization", auth))
    };
    assert_eq!(users(&basic("admin", ADMIN_PASSWORD)).status, 200);
    assert_eq!(users(&basic("admin", "other")).status, 401);
    assert!(
        publish(&restored.url, &alice, 1000).is_some(),
        "alice's token"
    );
    let (ok, key) = wharf(&restored.dir.path().join("data"), &["key", "export", "deb"]);
    assert!(ok && key == exported, "{key}");
}

#[test]
fn restore_refuses_what_is_not_a_finished_backup() {
    let server = Server::start(&[raw()]);
    let half = tempfile::tempdir().unwrap();
    std::fs::copy(
        server.dir.path().join("data").join("wharf.sqlite"),
        half.path().join("wharf.sqlite"),
    )
    .unwrap();
    let target = tempfile::tempdir().unwrap();
    let data = target.path().join("data");
    let (ok, out) = wharf(&data, &["restore", half.path().to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(out.contains("no wharf-backup.json"), "{out}");
    assert!(!data.exists(), "a refused restore writes nothing");
}
