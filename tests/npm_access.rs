//! npm's account commands, end to end: the real `npm` CLI against a running
//! wharf for `npm owner ls|add|rm` (the host's package owners), `npm token
//! list|create|revoke` (the host's API tokens) and `npm logout`.

use serde_json::json;
use wharf_tests::npm::{NpmUser, package};
use wharf_tests::{PluginEntry, Server, npm_publish_body, send, send_with};

fn npm_server() -> Server {
    Server::start(&[PluginEntry {
        format: "npm",
        extra: "",
    }])
}

/// `GET -/whoami` with a bearer token: who it proves, or the refusal.
fn whoami(server: &Server, token: &str) -> (u16, serde_json::Value) {
    let request = ureq::get(&format!("{}/npm/-/whoami", server.url))
        .set("authorization", &format!("Bearer {token}"));
    let reply = send(request);
    (reply.status, reply.json())
}

fn owners_listed(alice: &NpmUser, dir: &std::path::Path) -> Vec<String> {
    let out = alice.ok(dir, &["owner", "ls", "wharf-e2e-owned"]);
    out.lines().map(str::to_string).collect()
}

#[test]
fn npm_owner_commands_change_who_may_publish() {
    let server = npm_server();
    server.create_user("alice", "alice-password");
    server.create_user("bob", "bob-password");
    let (alice, bob) = (NpmUser::new(&server), NpmUser::new(&server));
    alice.login("login", "alice", "alice-password");
    bob.login("login", "bob", "bob-password");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    alice.ok(
        &package(w, "wharf-e2e-owned", "1.0.0", json!({})),
        &["publish"],
    );

    // bob may not publish alice's package: 403 in npm's error shape.
    let next = package(w, "wharf-e2e-owned", "1.1.0", json!({}));
    let refused = bob.fails(&next, &["publish"]);
    assert!(
        refused.contains("403") && refused.contains("bob is not an owner of wharf-e2e-owned"),
        "{refused}"
    );
    let raw = ureq::put(&format!("{}/npm/wharf-e2e-owned", server.url))
        .set("authorization", &format!("Bearer {}", bob.token().unwrap()));
    let body = npm_publish_body("wharf-e2e-owned", "1.1.0", b"bob's", b"bob's");
    let raw = send_with(raw, Some(&body));
    assert_eq!(raw.status, 403);
    assert_eq!(
        raw.json(),
        json!({ "error": "bob is not an owner of wharf-e2e-owned" })
    );

    assert_eq!(owners_listed(&alice, w), ["alice <>"]);
    let added = alice.ok(w, &["owner", "add", "bob", "wharf-e2e-owned"]);
    assert_eq!(added.trim(), "+ bob (wharf-e2e-owned)");
    assert_eq!(owners_listed(&alice, w), ["alice <>", "bob <>"]);
    assert_eq!(owners_listed(&bob, w), ["alice <>", "bob <>"]);
    bob.ok(&next, &["publish"]);
    let versions = bob.ok(w, &["view", "wharf-e2e-owned", "versions", "--json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&versions).unwrap(),
        json!(["1.0.0", "1.1.0"])
    );

    // Only existing users become owners.
    let ghost = alice.fails(w, &["owner", "add", "ghost", "wharf-e2e-owned"]);
    assert!(ghost.contains("404") && ghost.contains("ghost"), "{ghost}");

    // Taken back: bob is refused again, and may not add himself.
    let removed = alice.ok(w, &["owner", "rm", "bob", "wharf-e2e-owned"]);
    assert_eq!(removed.trim(), "- bob (wharf-e2e-owned)");
    assert_eq!(owners_listed(&alice, w), ["alice <>"]);
    let later = package(w, "wharf-e2e-owned", "1.2.0", json!({}));
    let refused = bob.fails(&later, &["publish"]);
    assert!(refused.contains("not an owner"), "{refused}");
    let sneaky = bob.fails(w, &["owner", "add", "bob", "wharf-e2e-owned"]);
    assert!(sneaky.contains("403"), "{sneaky}");
    assert_eq!(owners_listed(&alice, w), ["alice <>"]);

    // Owners changed through the admin API show at once too, a team's
    // ownerships going with the team.
    server.create_team("core", &["bob"]);
    let change = json!({ "repository": "npm", "package": "wharf-e2e-owned", "owner": "team:core" });
    assert_eq!(
        server.admin("PUT", "/api/v1/owners", Some(change)).status,
        204
    );
    assert_eq!(owners_listed(&alice, w), ["alice <>", "team:core <>"]);
    bob.ok(&later, &["publish"]);
    assert_eq!(
        server.admin("DELETE", "/api/v1/teams/core", None).status,
        204
    );
    assert_eq!(owners_listed(&alice, w), ["alice <>"]);

    // Every change is in the audit log, with who made it.
    let audit = server
        .admin("GET", "/api/v1/audit?repository=npm", None)
        .json();
    let changes: Vec<(String, String, String)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("owner-"))
        .map(|e| {
            let field = |k: &str| e[k].as_str().unwrap_or("").to_string();
            (field("actor"), field("action"), field("outcome"))
        })
        .collect();
    let entry = |actor: &str, action: &str, outcome: &str| {
        (actor.to_string(), action.to_string(), outcome.to_string())
    };
    assert_eq!(
        changes,
        [
            entry("alice", "owner-remove", "ok"),
            entry("alice", "owner-add", "ok")
        ]
    );
    let refusals = audit["entries"].as_array().unwrap().iter().filter(|e| {
        e["actor"] == "bob"
            && e["target"] == "wharf-e2e-owned"
            && e["outcome"]
                .as_str()
                .is_some_and(|o| o.starts_with("denied: bob is not an owner"))
    });
    // Three publishes (two by npm, one raw) and his attempt to add himself.
    assert_eq!(refusals.count(), 4, "{audit}");
}

/// The secret `npm token create` printed.
fn created(out: &str) -> String {
    out.lines()
        .find_map(|l| l.trim().strip_prefix("Created token "))
        .unwrap_or_else(|| panic!("no token in:\n{out}"))
        .trim()
        .to_string()
}

#[test]
fn npm_token_commands_and_logout_manage_api_tokens() {
    let server = npm_server();
    server.create_user("alice", "alice-password");
    let alice = NpmUser::new(&server);
    alice.login("login", "alice", "alice-password");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();

    let ci = created(&alice.ok(
        w,
        &[
            "token",
            "create",
            "--password",
            "alice-password",
            "--name",
            "ci",
        ],
    ));
    assert_eq!(whoami(&server, &ci), (200, json!({ "username": "alice" })));
    // npm 11 asks for a read-only token this way (`--read-only` is npm 10's).
    let ro = created(&alice.ok(
        w,
        &[
            "token",
            "create",
            "--password=alice-password",
            "--packages-and-scopes-permission=read-only",
        ],
    ));
    assert_eq!(whoami(&server, &ro).0, 200);
    let publish = ureq::put(&format!("{}/npm/ro-publish", server.url))
        .set("authorization", &format!("Bearer {ro}"));
    let body = npm_publish_body("ro-publish", "1.0.0", b"x", b"x");
    assert_eq!(send_with(publish, Some(&body)).status, 403);

    let wrong = alice.fails(w, &["token", "create", "--password", "not-hers"]);
    assert!(wrong.contains("incorrect password"), "{wrong}");

    // The admin-made token, the login's, ci and ro: listed without secrets.
    let listed: serde_json::Value =
        serde_json::from_str(&alice.ok(w, &["token", "list", "--json"])).unwrap();
    let listed = listed.as_array().unwrap().clone();
    let names: Vec<&str> = listed.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["", "npm login", "ci", "npm token"]);
    assert_eq!(
        listed
            .iter()
            .map(|t| t["readonly"].clone())
            .collect::<Vec<_>>(),
        [json!(false), json!(false), json!(false), json!(true)]
    );
    let shown = serde_json::to_string(&listed).unwrap();
    assert!(
        !shown.contains(&ci[6..]) && !shown.contains(&ro[6..]),
        "{shown}"
    );
    let human = alice.ok(w, &["token", "list"]);
    let id = listed[2]["id"].as_str().unwrap();
    assert!(human.contains(&format!("with id {id} name ci")), "{human}");

    // Revoked by the id npm shows, and by the secret itself: refused next.
    let out = alice.ok(w, &["token", "revoke", id]);
    assert_eq!(out.trim(), "Removed 1 token");
    assert_eq!(whoami(&server, &ci).0, 401);
    let out = alice.ok(w, &["token", "revoke", &ro]);
    assert_eq!(out.trim(), "Removed 1 token");
    assert_eq!(whoami(&server, &ro).0, 401);
    let listed: serde_json::Value =
        serde_json::from_str(&alice.ok(w, &["token", "list", "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);

    // `npm logout` revokes the token it used.
    let login = alice.token().expect("npm kept its login token");
    assert_eq!(whoami(&server, &login).0, 200);
    alice.ok(w, &["logout"]);
    assert_eq!(alice.token(), None);
    let (status, error) = whoami(&server, &login);
    assert_eq!(status, 401);
    assert!(error["error"].is_string(), "{error}");
    let after = alice.fails(w, &["whoami"]);
    assert!(
        after.contains("ENEEDAUTH") || after.contains("401"),
        "{after}"
    );
}
