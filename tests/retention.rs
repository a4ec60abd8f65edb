//! Retention rules end to end: an npm repository keeping its last two
//! versions and those downloaded within the last eight seconds previews
//! exactly the version the rule removes (the admin API and `wharf retention
//! --dry-run` agree), never a tagged one; applying it removes that version
//! from the packument and its tarball, in the audit log and the metrics.
//! Mistaken rules are refused; only administrators preview or apply.

use serde_json::json;
use std::time::Duration;
use wharf_tests::{PluginEntry, Reply, Server, npm_publish_body, send, send_with};

const NPM: PluginEntry = PluginEntry {
    format: "npm",
    extra: "",
};

fn admin(server: &Server, method: &str, path: &str, body: Option<serde_json::Value>) -> Reply {
    let request = ureq::request(method, &format!("{}{path}", server.url))
        .set("Authorization", &server.admin_basic())
        .set("Content-Type", "application/json");
    let body = body.map(|b| b.to_string().into_bytes());
    send_with(request, body.as_deref())
}

fn tarball(version: &str) -> Vec<u8> {
    format!("kept@{version}").into_bytes()
}

#[test]
fn a_rule_removes_only_what_it_names_and_says_so_first() {
    let server = Server::start(&[NPM]);
    // Long enough that five publishes never take it, even on a busy machine.
    let idle = Duration::from_secs(8);
    let rule = json!({ "keep_last": 2, "not_downloaded_for": "8s" });
    let created = admin(
        &server,
        "POST",
        "/api/v1/repositories",
        Some(json!({ "name": "npm-rules", "format": "npm", "retention": rule })),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let repo = format!("{}/npm-rules", server.url);
    let versions = ["1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4"];
    for version in versions {
        let body = npm_publish_body("kept", version, &tarball(version), &tarball(version));
        let request = ureq::put(&format!("{repo}/kept"))
            .set("Authorization", &server.admin_basic())
            .set("Content-Type", "application/json");
        let published = send_with(request, Some(&body));
        assert_eq!(published.status, 200, "{}", published.text());
    }
    let last_published = std::time::Instant::now();
    let tag = ureq::put(&format!("{repo}/-/package/kept/dist-tags/legacy"))
        .set("Authorization", &server.admin_basic())
        .set("Content-Type", "application/json");
    let tagged = send_with(tag, Some(b"\"1.0.0\""));
    assert!(tagged.status < 300, "{}", tagged.text());

    let plan = |server: &Server| {
        let planned = admin(
            server,
            "GET",
            "/api/v1/repositories/npm-rules/retention",
            None,
        );
        assert_eq!(planned.status, 200, "{}", planned.text());
        let removals = planned.json()["removals"].as_array().unwrap().clone();
        removals
            .iter()
            .map(|r| {
                format!(
                    "{}@{}",
                    r["package"].as_str().unwrap(),
                    r["version"].as_str().unwrap()
                )
            })
            .collect::<Vec<_>>()
    };
    assert!(
        plan(&server).is_empty(),
        "everything was published just now"
    );

    std::thread::sleep(
        (last_published + idle + Duration::from_millis(300)) - std::time::Instant::now(),
    );
    // 1.0.1 is in use: downloaded now.
    let download = |version: &str| send(ureq::get(&format!("{repo}/kept/-/kept-{version}.tgz")));
    assert_eq!(download("1.0.1").body, tarball("1.0.1"));
    // 1.0.4 and 1.0.3 are the last two, 1.0.1 was downloaded, 1.0.0 is
    // tagged: only 1.0.2 goes.
    assert_eq!(plan(&server), ["kept@1.0.2"]);
    let (ok, out) = server.cli(&["retention", "--dry-run"], "");
    assert!(ok, "{out}");
    assert!(
        out.contains("npm-rules: would remove 1 versions") && out.contains("kept 1.0.2"),
        "{out}"
    );
    let (ok, out) = server.cli(&["retention"], "");
    assert!(!ok && out.contains("applied by the server"), "{out}");
    // Nothing was removed by previewing (a HEAD is not a download).
    let head = send(ureq::head(&format!("{repo}/kept/-/kept-1.0.2.tgz")));
    assert_eq!(head.status, 200);

    let applied = admin(
        &server,
        "POST",
        "/api/v1/repositories/npm-rules/retention",
        None,
    );
    assert_eq!(applied.status, 200, "{}", applied.text());
    assert_eq!(applied.json()["applied"]["removed"], 1);
    assert_eq!(download("1.0.2").status, 404);
    for version in ["1.0.0", "1.0.1", "1.0.3", "1.0.4"] {
        assert_eq!(download(version).body, tarball(version), "{version}");
    }
    let packument = send(ureq::get(&format!("{repo}/kept"))).json();
    let listed: Vec<&String> = packument["versions"].as_object().unwrap().keys().collect();
    assert_eq!(listed, ["1.0.0", "1.0.1", "1.0.3", "1.0.4"]);
    assert_eq!(packument["dist-tags"]["legacy"], "1.0.0");

    let audit = admin(
        &server,
        "GET",
        "/api/v1/audit?action=retention-remove",
        None,
    );
    let entries = audit.json();
    let entry = &entries["entries"][0];
    assert_eq!(entry["target"], "kept@1.0.2", "{entries}");
    assert_eq!(entry["repo"], "npm-rules");
    let metrics = send(ureq::get(&format!("{}/metrics", server.url))).text();
    assert!(
        metrics.contains("wharf_retention_removed_versions_total{repo=\"npm-rules\"} 1"),
        "{metrics}"
    );
}

#[test]
fn mistaken_rules_are_refused() {
    let server = Server::start(&[NPM]);
    for (spec, why) in [
        (
            json!({ "name": "a", "format": "npm", "retention": {} }),
            "keeps the last N",
        ),
        (
            json!({ "name": "b", "format": "npm", "retention": { "keep_last": 0 } }),
            "keeps the last N",
        ),
        (
            json!({ "name": "c", "format": "npm", "retention": { "older_than": "soon" } }),
            "not a duration",
        ),
        (
            json!({ "name": "d", "format": "npm", "kind": "group", "members": ["npm"],
                    "retention": { "keep_last": 3 } }),
            "holds nothing of its own",
        ),
    ] {
        let refused = admin(&server, "POST", "/api/v1/repositories", Some(spec));
        assert_eq!(refused.status, 400, "{}", refused.text());
        assert!(refused.text().contains(why), "{}", refused.text());
    }
    let none = admin(&server, "GET", "/api/v1/repositories/npm/retention", None);
    assert_eq!(none.status, 404);
}

#[test]
fn only_administrators_preview_or_apply_a_rule() {
    let server = Server::start(&[NPM]);
    let rule = json!({ "name": "npm-rules", "format": "npm", "retention": { "keep_last": 1 } });
    let created = admin(&server, "POST", "/api/v1/repositories", Some(rule));
    assert_eq!(created.status, 201, "{}", created.text());
    let token = server.create_user("alice", "alice-password");
    let path = format!("{}/api/v1/repositories/npm-rules/retention", server.url);
    for method in ["GET", "POST"] {
        let anonymous = send(ureq::request(method, &path));
        assert_eq!(anonymous.status, 401, "{method}");
        let alice = ureq::request(method, &path).set("Authorization", &format!("Bearer {token}"));
        assert_eq!(send(alice).status, 403, "{method}");
    }
    let doc = send(ureq::get(&format!("{}/api-docs", server.url))).json();
    let described = &doc["paths"]["/api/v1/repositories/{name}/retention"];
    assert!(described["get"].is_object() && described["post"].is_object());
}
