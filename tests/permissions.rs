//! Permissions end to end: grants to users, teams, every user and anonymous
//! callers, on repositories and package patterns, through the admin API and
//! the command line, enforced for the real clients.

use serde_json::json;
use std::time::{Duration, Instant};
use wharf_tests::oci::{manifest_status, push_image, skopeo};
use wharf_tests::{PluginEntry, Reply, Server, basic, npm_publish_body, send, send_with};

const FORMATS: [PluginEntry; 2] = [
    PluginEntry {
        format: "oci",
        extra: "",
    },
    PluginEntry {
        format: "npm",
        extra: "",
    },
];

fn grant(server: &Server, grant: serde_json::Value) -> Reply {
    server.admin("POST", "/api/v1/permissions", Some(grant))
}

/// Replaces the default grant (every user reads, writes and deletes
/// everything) by `users` reading only.
fn narrow_to_reading(server: &Server) {
    let list = server.admin("GET", "/api/v1/permissions", None);
    assert_eq!(list.status, 200, "{}", list.text());
    let all = list.json();
    let default = all
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["principal"] == "users")
        .expect("the default grant to every user");
    assert_eq!(default["actions"], json!(["read", "write", "delete"]));
    let path = format!("/api/v1/permissions/{}", default["id"]);
    assert_eq!(server.admin("DELETE", &path, None).status, 204);
    let readers = json!({"principal": "users", "repository": "*", "actions": ["read"]});
    assert_eq!(grant(server, readers).status, 201);
}

fn npm_publish(server: &Server, auth: &str, name: &str, version: &str) -> Reply {
    let tarball = format!("{name}@{version}").into_bytes();
    let body = npm_publish_body(name, version, &tarball, &tarball);
    let request = ureq::put(&format!("{}/npm/{}", server.url, name.replace('/', "%2f")))
        .set("Authorization", auth)
        .set("Content-Type", "application/json");
    send_with(request, Some(&body))
}

/// Retries `check` for a few seconds: a change made from the command line
/// reaches the running server within a second.
fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < deadline, "{what} did not happen in 5 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn skopeo_pushes_only_within_the_users_pattern() {
    let server = Server::start(&FORMATS);
    server.create_user("ci", "ci-password");
    narrow_to_reading(&server);
    let ci_writes = json!({"principal": "user:ci", "repository": "oci",
        "include": ["team/*"], "exclude": ["team/private*"], "actions": ["write"]});
    assert_eq!(grant(&server, ci_writes).status, 201);
    push_image(&server, &server.admin_basic(), "base/image", "v1");

    let host = server.url.trim_start_matches("http://").to_string();
    let home = tempfile::tempdir().unwrap();
    let copy = |to: &str| {
        let from = format!("docker://{host}/base/image:v1");
        let to = format!("docker://{host}/{to}:v1");
        let args = [
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--src-no-creds",
            "--dest-creds",
            "ci:ci-password",
            &from,
            &to,
        ];
        skopeo(home.path(), &args)
    };
    let (ok, out, err) = copy("team/app");
    assert!(
        ok,
        "skopeo copy within team/*\nstdout:\n{out}\nstderr:\n{err}"
    );
    assert_eq!(manifest_status(&server, "team/app", "v1"), 200);
    for outside in ["other/app", "team/private-db"] {
        let (ok, _, err) = copy(outside);
        assert!(!ok, "a push to {outside} must be refused");
        assert!(
            err.contains("401") || err.contains("403") || err.contains("unauthorized"),
            "{outside}: {err}"
        );
        assert_eq!(manifest_status(&server, outside, "v1"), 404, "{outside}");
    }

    // No delete grant: skopeo delete is refused and the tag stays; a grant
    // from the command line reaches the running server.
    let target = format!("docker://{host}/team/app:v1");
    let delete = || {
        let args = ["delete", "--tls-verify=false", "--creds", "ci:ci-password"];
        skopeo(home.path(), &[&args[..], &[target.as_str()]].concat())
    };
    assert!(!delete().0, "a delete without a delete grant must fail");
    assert_eq!(manifest_status(&server, "team/app", "v1"), 200);
    let args = [
        "permission",
        "grant",
        "user:ci",
        "--repository",
        "oci",
        "--include",
        "team/*",
        "--action",
        "delete",
    ];
    let (ok, out) = server.cli(&args, "");
    assert!(ok, "{out}");
    eventually("the delete grant", || delete().0);
    assert_eq!(manifest_status(&server, "team/app", "v1"), 404);
    let (ok, listed) = server.cli(&["permission", "list"], "");
    assert!(ok, "{listed}");
    assert!(listed.contains("user:ci delete on oci team/*"), "{listed}");
}

#[test]
fn an_admin_grant_makes_a_team_administer_its_packages() {
    let server = Server::start(&FORMATS);
    let alice = format!("Bearer {}", server.create_user("alice", "alice-password"));
    let bob = format!("Bearer {}", server.create_user("bob", "bob-password"));
    assert_eq!(
        npm_publish(&server, &alice, "@acme/web", "1.0.0").status,
        200
    );
    assert_eq!(
        npm_publish(&server, &alice, "@other/web", "1.0.0").status,
        200
    );
    // bob is no owner: refused.
    assert_eq!(npm_publish(&server, &bob, "@acme/web", "1.1.0").status, 403);

    let team = json!({"name": "web-admins"});
    assert_eq!(
        server.admin("POST", "/api/v1/teams", Some(team)).status,
        201
    );
    let member = "/api/v1/teams/web-admins/members/bob";
    assert_eq!(server.admin("PUT", member, None).status, 204);
    let admins = json!({"principal": "team:web-admins", "repository": "npm",
        "include": ["@acme/*"], "actions": ["admin"]});
    let granted = grant(&server, admins);
    assert_eq!(granted.status, 201, "{}", granted.text());

    // An administrator of @acme/* publishes and deprecates others' packages
    // there, and nothing elsewhere.
    assert_eq!(npm_publish(&server, &bob, "@acme/web", "1.1.0").status, 200);
    assert_eq!(
        npm_publish(&server, &bob, "@other/web", "1.1.0").status,
        403
    );
    let doc = send(ureq::get(&format!("{}/npm/@acme%2fweb", server.url))).json();
    assert_eq!(doc["dist-tags"]["latest"], "1.1.0");

    // Leaving the team takes it away at once.
    assert_eq!(server.admin("DELETE", member, None).status, 204);
    assert_eq!(npm_publish(&server, &bob, "@acme/web", "1.2.0").status, 403);
    // Every grant is in the audit log.
    let log = server.admin("GET", "/api/v1/audit?action=permission-grant", None);
    assert_eq!(log.status, 200, "{}", log.text());
    let entries = log.json()["entries"].clone();
    assert!(
        entries
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["target"] == "team:web-admins admin on npm @acme/*"),
        "{entries}"
    );
}

#[test]
fn anonymous_reads_can_be_granted_per_repository() {
    let server = Server::start_with_env(&FORMATS, &[("WHARF_ANONYMOUS_READ", "false")]);
    let alice = format!("Bearer {}", server.create_user("alice", "alice-password"));
    assert_eq!(
        npm_publish(&server, &alice, "public-pkg", "1.0.0").status,
        200
    );
    let anonymous = || send(ureq::get(&format!("{}/npm/public-pkg", server.url))).status;
    assert_eq!(anonymous(), 401);
    let reads = json!({"principal": "anonymous", "repository": "npm", "actions": ["read"]});
    assert_eq!(grant(&server, reads).status, 201);
    assert_eq!(anonymous(), 200);
    // Still nothing on OCI.
    assert_eq!(manifest_status(&server, "any/thing", "v1"), 401);

    // Mistaken grants are refused with a reason, and only admins grant.
    for (bad, why) in [
        (
            json!({"principal": "anonymous", "repository": "npm", "actions": ["write"]}),
            "only be granted read",
        ),
        (
            json!({"principal": "user:nobody", "repository": "npm", "actions": ["read"]}),
            "there is no user:nobody",
        ),
        (
            json!({"principal": "users", "repository": "npm", "actions": []}),
            "at least one",
        ),
    ] {
        let r = grant(&server, bad);
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.text().contains(why), "{}", r.text());
    }
    let by_alice = ureq::post(&format!("{}/api/v1/permissions", server.url))
        .set("Authorization", &basic("alice", "alice-password"))
        .set("Content-Type", "application/json");
    let body = json!({"principal": "user:alice", "repository": "*", "actions": ["admin"]});
    let r = send_with(by_alice, Some(body.to_string().as_bytes()));
    assert_eq!(r.status, 403, "{}", r.text());
}
