//! Several nodes on one PostgreSQL database and one blob directory (as a
//! shared file system would give them): three started at the same moment
//! on a new database all come up (migrations and the admin bootstrap are
//! safe under that race), and what one node publishes the others serve.

use wharf_tests::{PluginEntry, Server, npm_publish_body, send_with};

#[test]
fn three_nodes_start_at_once_on_one_database() {
    let url = wharf_test_servers::postgres::shared().database();
    let blobs = tempfile::tempdir().unwrap();
    let blob_store = format!("file://{}", blobs.path().display());
    let nodes: Vec<Server> = std::thread::scope(|s| {
        let starting: Vec<_> = (0..3)
            .map(|_| {
                let (url, blob_store) = (url.as_str(), blob_store.as_str());
                s.spawn(move || {
                    Server::start_with_env(
                        &[PluginEntry {
                            format: "npm",
                            extra: "",
                        }],
                        &[
                            ("WHARF_DATABASE_URL", url),
                            ("WHARF_BLOB_STORE", blob_store),
                        ],
                    )
                })
            })
            .collect();
        starting.into_iter().map(|n| n.join().unwrap()).collect()
    });
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    // Each migration ran once; one admin, whose password every node knows.
    let migrations = a.sql("SELECT count(*), count(DISTINCT version) FROM _sqlx_migrations");
    let files = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../migrations/postgres"
    ))
    .unwrap()
    .count();
    assert_eq!(migrations, format!("{files}|{files}"));
    assert_eq!(
        a.sql("SELECT count(*) FROM users WHERE name = 'admin'"),
        "1"
    );

    // Published on one node, installed from the others.
    let token = b.create_user("carol", "carol-password");
    let tarball = b"package bytes of three nodes";
    let publish = ureq::put(&format!("{}/npm/three-nodes", a.url))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", "application/json");
    let body = npm_publish_body("three-nodes", "1.0.0", tarball, tarball);
    assert_eq!(send_with(publish, Some(&body)).status, 200);
    for node in [b, c] {
        let packument = node.get("/npm/three-nodes");
        assert_eq!(packument.status, 200, "{}", packument.text());
        assert!(packument.text().contains("\"1.0.0\""));
        let download = node.get("/npm/three-nodes/-/three-nodes-1.0.0.tgz");
        assert_eq!(download.status, 200);
        assert!(download.body == tarball);
    }
}
