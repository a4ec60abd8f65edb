//! Identity and access end to end: a package belongs to its first
//! publisher, for every format the host keeps owners of (npm, OCI, Maven
//! here; PyPI alike), and only its owners or an admin change it.

use serde_json::json;
use sha2::Digest;
use wharf_tests::{PluginEntry, Reply, Server, npm_publish_body, send, send_with};

const FORMATS: [PluginEntry; 3] = [
    PluginEntry {
        format: "npm",
        extra: "",
    },
    PluginEntry {
        format: "oci",
        extra: "",
    },
    PluginEntry {
        format: "maven",
        extra: "",
    },
];

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn call(server: &Server, method: &str, path: &str, auth: &str, body: Option<&[u8]>) -> Reply {
    let request =
        ureq::request(method, &format!("{}{path}", server.url)).set("Authorization", auth);
    send_with(request, body)
}

fn npm_publish(server: &Server, auth: &str, name: &str, version: &str) -> Reply {
    let tarball = format!("{name}@{version}").into_bytes();
    let body = npm_publish_body(name, version, &tarball, &tarball);
    let request = ureq::put(&format!("{}/npm/{name}", server.url))
        .set("Authorization", auth)
        .set("Content-Type", "application/json");
    send_with(request, Some(&body))
}

fn owners(server: &Server, repository: &str, package: &str) -> Vec<String> {
    let path = format!("/api/v1/owners?repository={repository}&package={package}");
    let r = call(server, "GET", &path, &server.admin_basic(), None);
    assert_eq!(r.status, 200, "{}", r.text());
    serde_json::from_value(r.json()["owners"].clone()).unwrap()
}

fn change_owner(server: &Server, auth: &str, method: &str, package: &str, owner: &str) -> Reply {
    let change = json!({ "repository": "npm", "package": package, "owner": owner });
    match method {
        "PUT" => {
            let request = ureq::put(&format!("{}/api/v1/owners", server.url))
                .set("Authorization", auth)
                .set("Content-Type", "application/json");
            send_with(request, Some(change.to_string().as_bytes()))
        }
        _ => call(
            server,
            "DELETE",
            &format!("/api/v1/owners?repository=npm&package={package}&owner={owner}"),
            auth,
            None,
        ),
    }
}

#[test]
fn an_npm_package_is_changed_only_by_its_owners() {
    let server = Server::start(&FORMATS);
    let alice = bearer(&server.create_user("alice", "alice-password"));
    let bob = bearer(&server.create_user("bob", "bob-password"));
    assert_eq!(
        npm_publish(&server, &alice, "alicepkg", "1.0.0").status,
        200
    );
    assert_eq!(owners(&server, "npm", "alicepkg"), ["user:alice"]);

    // bob can neither publish, nor move a tag, nor unpublish.
    let r = npm_publish(&server, &bob, "alicepkg", "6.6.6");
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("not an owner of alicepkg")
    );
    let tag = call(
        &server,
        "PUT",
        "/npm/-/package/alicepkg/dist-tags/latest",
        &bob,
        Some(b"\"6.6.6\""),
    );
    assert_eq!(tag.status, 403, "{}", tag.text());
    let unpublish = call(&server, "DELETE", "/npm/alicepkg/-rev/1", &bob, None);
    assert_eq!(unpublish.status, 403, "{}", unpublish.text());
    let doc = send(ureq::get(&format!("{}/npm/alicepkg", server.url))).json();
    assert_eq!(doc["dist-tags"]["latest"], "1.0.0");
    assert_eq!(doc["versions"].as_object().unwrap().len(), 1);

    // Only an owner adds one; then bob publishes.
    assert_eq!(
        change_owner(&server, &bob, "PUT", "alicepkg", "user:bob").status,
        403
    );
    assert_eq!(
        change_owner(&server, &alice, "PUT", "alicepkg", "user:nobody").status,
        400
    );
    assert_eq!(
        change_owner(&server, &alice, "PUT", "alicepkg", "user:bob").status,
        204
    );
    assert_eq!(npm_publish(&server, &bob, "alicepkg", "6.6.6").status, 200);
    // A package keeps one owner at least.
    assert_eq!(
        change_owner(&server, &alice, "DELETE", "alicepkg", "user:alice").status,
        204
    );
    assert_eq!(
        change_owner(&server, &bob, "DELETE", "alicepkg", "user:bob").status,
        409
    );
    assert_eq!(owners(&server, "npm", "alicepkg"), ["user:bob"]);
    assert_eq!(
        npm_publish(&server, &alice, "alicepkg", "7.0.0").status,
        403
    );
    // Every write and refusal is in the audit log, with nothing secret.
    let log = call(
        &server,
        "GET",
        "/api/v1/audit?repository=npm&limit=100",
        &server.admin_basic(),
        None,
    );
    assert_eq!(log.status, 200, "{}", log.text());
    let entries = log.json()["entries"].as_array().unwrap().clone();
    let has = |actor: &str, action: &str, target: &str, outcome: &str| {
        entries.iter().any(|e| {
            e["actor"] == actor
                && e["action"] == action
                && e["target"] == target
                && e["outcome"].as_str().unwrap().starts_with(outcome)
        })
    };
    assert!(
        has("alice", "publish", "alicepkg@1.0.0", "ok"),
        "{entries:#?}"
    );
    // By the public id of the token it was made with, never the secret.
    let first = entries
        .iter()
        .find(|e| e["target"] == "alicepkg@1.0.0")
        .unwrap();
    assert_eq!(first["token"].as_str().map(str::len), Some(16), "{first}");
    assert!(has("bob", "write", "alicepkg", "denied"), "{entries:#?}");
    assert!(
        has("bob", "publish", "alicepkg@6.6.6", "ok"),
        "{entries:#?}"
    );
    assert!(!log.text().contains("password"), "{}", log.text());
    let changes = call(
        &server,
        "GET",
        "/api/v1/audit?action=owner-add",
        &server.admin_basic(),
        None,
    );
    let changes = changes.json()["entries"].as_array().unwrap().clone();
    let targets: Vec<(&str, &str)> = changes
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or(""),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        targets,
        [
            ("alice", "ok"),
            ("alice", "refused: 400"),
            ("bob", "refused: 403")
        ]
    );
    assert_eq!(
        call(&server, "GET", "/api/v1/audit", &alice, None).status,
        403
    );
    // An admin may change any package.
    assert_eq!(
        npm_publish(&server, &server.admin_basic(), "alicepkg", "8.0.0").status,
        200
    );
    // and claims a new name like anyone.
    let admin = server.admin_basic();
    assert_eq!(
        npm_publish(&server, &admin, "adminpkg", "1.0.0").status,
        200
    );
    assert_eq!(owners(&server, "npm", "adminpkg"), ["user:admin"]);
}

#[test]
fn the_first_of_concurrent_publishers_owns_a_new_name() {
    let server = Server::start(&FORMATS);
    let tokens: Vec<String> = (0..6)
        .map(|i| bearer(&server.create_user(&format!("racer{i}"), "racer-password")))
        .collect();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let runs: Vec<_> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let server = &server;
                s.spawn(move || npm_publish(server, t, "racepkg", &format!("1.0.{i}")).status)
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let won: Vec<usize> = (0..6).filter(|i| statuses[*i] == 200).collect();
    assert_eq!(won.len(), 1, "statuses {statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 403),
        "{statuses:?}"
    );
    assert_eq!(
        owners(&server, "npm", "racepkg"),
        [format!("user:racer{}", won[0])]
    );
    let doc = send(ureq::get(&format!("{}/npm/racepkg", server.url))).json();
    let versions: Vec<&String> = doc["versions"].as_object().unwrap().keys().collect();
    assert_eq!(versions, [&format!("1.0.{}", won[0])]);
}

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

#[test]
fn an_oci_repository_and_a_maven_artifact_are_their_pushers() {
    let server = Server::start(&FORMATS);
    let alice = bearer(&server.create_user("alice", "alice-password"));
    let bob = bearer(&server.create_user("bob", "bob-password"));
    let push_blob = |auth: &str, name: &str, blob: &[u8]| {
        let path = format!("/v2/{name}/blobs/uploads/?digest={}", digest(blob));
        call(&server, "POST", &path, auth, Some(blob)).status
    };
    assert_eq!(push_blob(&alice, "alice/app", b"{}"), 201);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(b"{}"), "size": 2},
        "layers": [],
    })
    .to_string();
    let put_manifest = |auth: &str, name: &str| {
        let request = ureq::put(&format!("{}/v2/{name}/manifests/1.0", server.url))
            .set("Authorization", auth)
            .set("Content-Type", "application/vnd.oci.image.manifest.v1+json");
        send_with(request, Some(manifest.as_bytes())).status
    };
    assert_eq!(put_manifest(&alice, "alice/app"), 201);
    // bob pushes nothing into alice/app, and deletes nothing of it.
    assert_eq!(push_blob(&bob, "alice/app", b"bob's layer"), 403);
    assert_eq!(put_manifest(&bob, "alice/app"), 403);
    assert_eq!(
        call(&server, "DELETE", "/v2/alice/app/manifests/1.0", &bob, None).status,
        403
    );
    let still = call(&server, "GET", "/v2/alice/app/manifests/1.0", &alice, None);
    assert_eq!(still.status, 200);
    // His own repository is his.
    assert_eq!(push_blob(&bob, "bob/app", b"{}"), 201);
    assert_eq!(put_manifest(&bob, "bob/app"), 201);

    let put =
        |auth: &str, path: &str, body: &[u8]| call(&server, "PUT", path, auth, Some(body)).status;
    let pom = b"<project/>";
    assert_eq!(
        put(&alice, "/maven/com/acme/demo/1.0/demo-1.0.pom", pom),
        201
    );
    assert_eq!(put(&bob, "/maven/com/acme/demo/1.1/demo-1.1.pom", pom), 403);
    assert_eq!(put(&bob, "/maven/com/bob/demo/1.0/demo-1.0.pom", pom), 201);
    let bobs = call(
        &server,
        "GET",
        "/maven/com/acme/demo/1.1/demo-1.1.pom",
        &alice,
        None,
    );
    assert_eq!(bobs.status, 404);
}

#[test]
fn a_team_owns_a_package_for_its_members() {
    let server = Server::start(&FORMATS);
    let alice = bearer(&server.create_user("alice", "alice-password"));
    let carol = bearer(&server.create_user("carol", "carol-password"));
    let dave = bearer(&server.create_user("dave", "dave-password"));
    let created = server.admin("POST", "/api/v1/teams", Some(json!({"name": "core"})));
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(
        server
            .admin("POST", "/api/v1/teams", Some(json!({"name": "core"})))
            .status,
        409
    );
    for member in ["alice", "carol"] {
        let path = format!("/api/v1/teams/core/members/{member}");
        assert_eq!(server.admin("PUT", &path, None).status, 204);
    }
    assert_eq!(
        server
            .admin("PUT", "/api/v1/teams/core/members/nobody", None)
            .status,
        404
    );
    let teams = server.admin("GET", "/api/v1/teams", None).json();
    assert_eq!(teams[0]["members"], json!(["alice", "carol"]));

    assert_eq!(npm_publish(&server, &alice, "corepkg", "1.0.0").status, 200);
    assert_eq!(
        change_owner(&server, &alice, "PUT", "corepkg", "team:core").status,
        204
    );
    assert_eq!(
        change_owner(&server, &alice, "PUT", "corepkg", "team:none").status,
        400
    );
    assert_eq!(npm_publish(&server, &carol, "corepkg", "1.1.0").status, 200);
    assert_eq!(npm_publish(&server, &dave, "corepkg", "1.2.0").status, 403);
    // Out of the team, out of the package.
    let path = "/api/v1/teams/core/members/carol";
    assert_eq!(server.admin("DELETE", path, None).status, 204);
    assert_eq!(npm_publish(&server, &carol, "corepkg", "1.3.0").status, 403);
    assert_eq!(
        owners(&server, "npm", "corepkg"),
        ["user:alice", "team:core"]
    );
}

#[test]
fn a_disabled_user_can_no_longer_sign_in() {
    let server = Server::start(&FORMATS);
    let alice = bearer(&server.create_user("alice", "alice-password"));
    let password = wharf_tests::basic("alice", "alice-password");
    let whoami = |auth: &str| call(&server, "GET", "/npm/-/whoami", auth, None).status;
    assert_eq!(whoami(&alice), 200);
    let disable = json!({"disabled": true});
    assert_eq!(
        server
            .admin("PATCH", "/api/v1/users/alice", Some(disable))
            .status,
        204
    );
    assert_eq!(whoami(&alice), 401);
    assert_eq!(whoami(&password), 401);
    assert_eq!(
        npm_publish(&server, &alice, "alicepkg", "1.0.0").status,
        401
    );
    let users = server.admin("GET", "/api/v1/users", None).json();
    let listed = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "alice")
        .unwrap();
    assert_eq!(listed["disabled"], true);
    // Enabled again with a new password: the old one is gone.
    let change = json!({"disabled": false, "password": "new-alice-password"});
    assert_eq!(
        server
            .admin("PATCH", "/api/v1/users/alice", Some(change))
            .status,
        204
    );
    assert_eq!(whoami(&alice), 200);
    assert_eq!(whoami(&password), 401);
    assert_eq!(
        whoami(&wharf_tests::basic("alice", "new-alice-password")),
        200
    );
    let missing = server.admin(
        "PATCH",
        "/api/v1/users/nobody",
        Some(json!({"admin": true})),
    );
    assert_eq!(missing.status, 404);
}

#[test]
fn the_command_line_manages_users_and_teams() {
    let server = Server::start(&FORMATS);
    let cli = |args: &[&str], stdin: &str| server.cli(args, stdin);
    let whoami = |user: &str, password: &str| {
        let auth = wharf_tests::basic(user, password);
        call(&server, "GET", "/npm/-/whoami", &auth, None).status
    };
    assert!(cli(&["user", "add", "carol"], "carol-password\n").0);
    assert!(
        !cli(&["user", "add", "carol"], "carol-password\n").0,
        "exists"
    );
    assert!(
        !cli(&["user", "add", "dave"], "short\n").0,
        "short password"
    );
    assert!(cli(&["team", "add", "core"], "").0);
    assert!(cli(&["team", "add-member", "core", "carol"], "").0);
    assert!(!cli(&["team", "add-member", "core", "nobody"], "").0);
    let (ok, listed) = cli(&["user", "list"], "");
    assert!(
        ok && listed.lines().any(|l| l == "carol\tfalse\tfalse\tcore"),
        "{listed}"
    );
    let (_, teams) = cli(&["team", "list"], "");
    assert!(teams.lines().any(|l| l == "core\tcarol"), "{teams}");
    // Disabled before her first request: nothing of hers is cached.
    assert!(cli(&["user", "disable", "carol"], "").0);
    assert_eq!(whoami("carol", "carol-password"), 401);
    assert!(cli(&["user", "enable", "carol"], "").0);
    assert!(cli(&["user", "passwd", "carol"], "new-carol-password\n").0);
    assert_eq!(whoami("carol", "new-carol-password"), 200);
    assert!(!cli(&["user", "disable", "nobody"], "").0);
    assert!(cli(&["team", "delete", "core"], "").0);
    let (_, teams) = cli(&["team", "list"], "");
    assert_eq!(teams.trim(), "TEAM\tMEMBERS");
}
