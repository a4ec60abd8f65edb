//! Repositories beyond the zero-config ones: defined in wharf.toml or made
//! through the admin API, served at once and after a restart, used by the
//! real npm client; only administrators manage them, and their mistakes
//! are refused with the reason.

use wharf_tests::npm::{NpmUser, package};
use wharf_tests::{PluginEntry, Server, basic, send};

#[test]
fn repositories_made_through_the_api_serve_npm_apart_from_the_default() {
    let config = tempfile::tempdir().unwrap();
    let settings = config.path().join("wharf.toml");
    std::fs::write(
        &settings,
        "[[repository]]\nname = \"npm-fixed\"\nformat = \"npm\"\n",
    )
    .unwrap();
    let mut server = Server::start_with_env(
        &[PluginEntry {
            format: "npm",
            extra: "",
        }],
        &[("WHARF_CONFIG", settings.to_str().unwrap())],
    );
    server.create_user("alice", "alice-password");
    let list = format!("{}/api/v1/repositories", server.url);
    assert_eq!(send(ureq::get(&list)).status, 401);
    let as_alice = ureq::get(&list).set("Authorization", &basic("alice", "alice-password"));
    assert_eq!(send(as_alice).status, 403, "administrators only");

    let internal = serde_json::json!({ "name": "npm-internal", "format": "npm" });
    let made = server.admin("POST", "/api/v1/repositories", Some(internal.clone()));
    assert_eq!(made.status, 201, "{}", made.text());
    assert_eq!(made.json()["source"], "api");
    assert_eq!(made.json()["kind"], "hosted");

    // The real client publishes and installs there at once, and the
    // package is that repository's alone.
    let alice = NpmUser::of_repository(&server, "npm-internal");
    alice.login("login", "alice", "alice-password");
    let work = tempfile::tempdir().unwrap();
    let source = package(work.path(), "internal-pkg", "1.0.0", serde_json::json!({}));
    alice.ok(&source, &["publish"]);
    let app = work.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("package.json"),
        r#"{"name": "app", "private": true}"#,
    )
    .unwrap();
    alice.ok(&app, &["install", "internal-pkg@1.0.0"]);
    let installed = std::fs::read(app.join("node_modules/internal-pkg/lib/data.bin")).unwrap();
    assert!(installed == std::fs::read(source.join("lib/data.bin")).unwrap());
    assert_eq!(server.get("/npm-internal/internal-pkg").status, 200);
    assert_eq!(server.get("/npm/internal-pkg").status, 404, "not in /npm/");

    // Mistakes, each with its reason; nothing is made.
    let refusals = [
        (internal.clone(), 409, "already"),
        (
            serde_json::json!({ "name": "Bad Name", "format": "npm" }),
            400,
            "not a repository name",
        ),
        (
            serde_json::json!({ "name": "x", "format": "nuget" }),
            400,
            "no enabled format",
        ),
        (
            serde_json::json!({ "name": "g", "format": "npm", "kind": "group", "members": ["g"] }),
            400,
            "lead back",
        ),
        (
            serde_json::json!({
                "name": "p", "format": "npm", "kind": "proxy",
                "upstream": "https://ci:s3cret@registry.example/"
            }),
            400,
            "not in the URL",
        ),
    ];
    for (spec, status, reason) in refusals {
        let refused = server.admin("POST", "/api/v1/repositories", Some(spec.clone()));
        assert_eq!(refused.status, status, "{spec}: {}", refused.text());
        assert!(
            refused.text().contains(reason),
            "{spec}: {}",
            refused.text()
        );
        assert!(!refused.text().contains("s3cret"), "a secret echoed");
    }
    let fixed = serde_json::json!({ "name": "npm-fixed", "format": "npm", "settings": {"x": 1} });
    let file_made = server.admin("PATCH", "/api/v1/repositories/npm-fixed", Some(fixed));
    assert_eq!(file_made.status, 409, "{}", file_made.text());
    assert!(file_made.text().contains("wharf.toml"));

    // A proxy is read-only, whoever asks: npm hears why.
    let proxy = serde_json::json!({
        "name": "npm-proxy", "format": "npm", "kind": "proxy",
        "upstream": "http://127.0.0.1:9/npm/", "metadata_ttl": "1m"
    });
    assert_eq!(
        server
            .admin("POST", "/api/v1/repositories", Some(proxy))
            .status,
        201
    );
    let to_proxy = NpmUser::of_repository(&server, "npm-proxy");
    to_proxy.login("login", "alice", "alice-password");
    let refused = to_proxy.fails(&source, &["publish"]);
    assert!(refused.contains("read-only"), "{refused}");
    assert_eq!(
        server
            .admin("DELETE", "/api/v1/repositories/npm-proxy", None)
            .status,
        204
    );

    // A group lists it; neither a listed member nor one holding packages
    // is deleted.
    let group = serde_json::json!({
        "name": "npm-all", "format": "npm", "kind": "group", "members": ["npm-internal", "npm"]
    });
    assert_eq!(
        server
            .admin("POST", "/api/v1/repositories", Some(group))
            .status,
        201
    );
    let listed = server.admin("DELETE", "/api/v1/repositories/npm-internal", None);
    assert_eq!(listed.status, 409);
    assert!(listed.text().contains("npm-all"), "{}", listed.text());
    assert_eq!(
        server
            .admin("DELETE", "/api/v1/repositories/npm-all", None)
            .status,
        204
    );
    let holding = server.admin("DELETE", "/api/v1/repositories/npm-internal", None);
    assert_eq!(holding.status, 409);
    assert!(
        holding.text().contains("holds packages"),
        "{}",
        holding.text()
    );

    // Stored: served again after a restart, beside the file's.
    server.restart();
    assert_eq!(server.get("/npm-internal/internal-pkg").status, 200);
    let all = server.admin("GET", "/api/v1/repositories", None).json();
    let names: Vec<(&str, &str)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["source"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("npm-fixed", "config"), ("npm-internal", "api")]);
    let one = server.admin("GET", "/api/v1/repositories/npm-all", None);
    assert_eq!(one.status, 404, "deleted");
}

#[test]
fn a_mistaken_settings_file_stops_the_server_with_the_reason() {
    let config = tempfile::tempdir().unwrap();
    let settings = config.path().join("wharf.toml");
    std::fs::write(
        &settings,
        "[[repository]]\nname = \"all\"\nformat = \"npm\"\nkind = \"group\"\nmembers = [\"all\"]\n",
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(wharf_tests::wharf_binary())
        .env("WHARF_CONFIG", &settings)
        .env("WHARF_DATA_DIR", data.path())
        .env("WHARF_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let printed = String::from_utf8_lossy(&out.stderr);
    assert!(printed.contains("all → all"), "{printed}");
}
