//! API tokens with a lifecycle, end to end: named, listed without their
//! secret, revoked at once (despite the credential cache), expiring, and
//! restricted (read-only, some repositories, some package patterns), made
//! by the API and by `wharf token`; a disabled user's tokens are refused.
//!
//! A restricted token lacking a permission gets 403, like a user lacking it:
//! the credential is valid, and no other credential its client could fetch
//! with it would do more (only a registry token's 401 sends Docker clients
//! for another token).

use serde_json::{Value, json};
use sha2::Digest;
use std::process::Command;
use std::time::{Duration, Instant};
use wharf_tests::{PluginEntry, Reply, Server, basic, npm_publish_body, run, send_with};

fn start() -> Server {
    let plugin = |format| PluginEntry { format, extra: "" };
    Server::start(&[plugin("npm"), plugin("oci")])
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn call(server: &Server, method: &str, path: &str, auth: &str, body: Option<&[u8]>) -> Reply {
    let mut request = ureq::request(method, &format!("{}{path}", server.url));
    if !auth.is_empty() {
        request = request.set("Authorization", auth);
    }
    if body.is_some() {
        request = request.set("Content-Type", "application/json");
    }
    send_with(request, body)
}

/// `POST /api/v1/tokens` as `auth` with `body`.
fn create(server: &Server, auth: &str, body: Value) -> Reply {
    call(
        server,
        "POST",
        "/api/v1/tokens",
        auth,
        Some(body.to_string().as_bytes()),
    )
}

/// A new token's secret and id.
fn created(server: &Server, auth: &str, body: Value) -> (String, String) {
    let r = create(server, auth, body);
    assert_eq!(r.status, 201, "{}", r.text());
    let r = r.json();
    (
        r["token"].as_str().unwrap().into(),
        r["id"].as_str().unwrap().into(),
    )
}

fn list(server: &Server, auth: &str) -> Reply {
    call(server, "GET", "/api/v1/tokens", auth, None)
}

fn npm_publish(server: &Server, auth: &str, name: &str, version: &str) -> Reply {
    let tarball = format!("{name}@{version}").into_bytes();
    let body = npm_publish_body(name, version, &tarball, &tarball);
    call(server, "PUT", &format!("/npm/{name}"), auth, Some(&body))
}

/// Whether the npm package exists, as the admin sees it.
fn npm_status(server: &Server, name: &str) -> u16 {
    call(
        server,
        "GET",
        &format!("/npm/{name}"),
        &server.admin_basic(),
        None,
    )
    .status
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn a_named_token_is_listed_used_and_revoked_at_once() {
    let server = start();
    // Today's call, no body: still a token.
    let plain = server.create_user("alice", "alice-password");
    let alice = basic("alice", "alice-password");
    let r = create(
        &server,
        &alice,
        json!({ "name": "laptop", "expires_in_days": 1 }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let made = r.json();
    let (secret, id) = (
        made["token"].as_str().unwrap(),
        made["id"].as_str().unwrap(),
    );
    assert_eq!(made["name"], "laptop");
    let day_ahead = now_millis() + 86_400_000;
    let expires = made["expires_at"].as_i64().unwrap();
    assert!(
        (day_ahead - 60_000..=day_ahead).contains(&expires),
        "{made}"
    );

    let r = list(&server, &alice);
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    assert!(!text.contains(secret) && !text.contains(&plain), "{text}");
    assert!(!text.contains(&hex::encode(sha2::Sha256::digest(secret))));
    let tokens = r.json();
    assert_eq!(tokens.as_array().unwrap().len(), 2, "{tokens}");
    let listed = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap();
    assert_eq!(listed["name"], "laptop");
    assert_eq!(listed["user"], "alice");
    assert_eq!(listed["expires_at"], expires);
    assert!(listed["created_at"].as_i64().unwrap() <= now_millis());
    assert!(listed["last_used_at"].is_null());
    assert_eq!(
        listed["restrictions"],
        json!({ "read_only": false, "repositories": null, "packages": null })
    );

    // It works on npm; its use is recorded (off the request's path).
    let token = bearer(secret);
    assert_eq!(
        npm_publish(&server, &token, "laptop-pkg", "1.0.0").status,
        200
    );
    assert_eq!(
        call(&server, "GET", "/npm/laptop-pkg", &token, None).status,
        200
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let tokens = list(&server, &alice).json();
        let mine = tokens.as_array().unwrap().iter().find(|t| t["id"] == id);
        if mine.unwrap()["last_used_at"].as_i64().is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "last_used_at never set: {tokens}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Others neither see nor revoke it; an admin sees it.
    server.create_user("bob", "bob-password");
    let bob = basic("bob", "bob-password");
    assert_eq!(
        call(&server, "GET", "/api/v1/tokens?user=alice", &bob, None).status,
        403
    );
    let path = format!("/api/v1/tokens/{id}");
    assert_eq!(call(&server, "DELETE", &path, &bob, None).status, 404);
    let admin = server.admin_basic();
    let theirs = call(&server, "GET", "/api/v1/tokens?user=alice", &admin, None);
    assert_eq!(theirs.json().as_array().unwrap().len(), 2);
    assert_eq!(
        call(&server, "GET", "/api/v1/tokens?user=nobody", &admin, None).status,
        404
    );
    assert_eq!(call(&server, "GET", "/api/v1/tokens", "", None).status, 401);

    // Revoked: the very next request is refused, though it was cached.
    assert_eq!(call(&server, "DELETE", &path, &alice, None).status, 204);
    let refused = call(&server, "GET", "/npm/laptop-pkg", &token, None);
    assert_eq!(refused.status, 401, "{}", refused.text());
    assert_eq!(
        npm_publish(&server, &token, "laptop-pkg", "2.0.0").status,
        401
    );
    assert_eq!(list(&server, &token).status, 401);
    assert_eq!(call(&server, "DELETE", &path, &alice, None).status, 404);
    assert_eq!(list(&server, &alice).json().as_array().unwrap().len(), 1);
    // The other token is untouched.
    assert_eq!(list(&server, &bearer(&plain)).status, 200);

    // `npm login` mints a token named after the format.
    let login = json!({ "name": "alice", "password": "alice-password" }).to_string();
    let path = "/npm/-/user/org.couchdb.user:alice";
    let r = call(&server, "PUT", path, "", Some(login.as_bytes()));
    assert_eq!(r.status, 201, "{}", r.text());
    let tokens = list(&server, &alice).json();
    let names: Vec<&str> = tokens
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["", "npm login"]);

    let api = call(&server, "GET", "/api-docs", "", None).json();
    for (path, method) in [
        ("/api/v1/tokens", "post"),
        ("/api/v1/tokens", "get"),
        ("/api/v1/tokens/{id}", "delete"),
    ] {
        assert!(api["paths"][path][method].is_object(), "{path} {method}");
    }
}

#[test]
fn restricted_tokens_do_only_what_they_say() {
    let server = start();
    server.create_user("alice", "alice-password");
    let alice = basic("alice", "alice-password");
    assert_eq!(
        npm_publish(&server, &alice, "acme-core", "1.0.0").status,
        200
    );

    // Read-only: reads, publishes nothing.
    let (secret, _) = created(
        &server,
        &alice,
        json!({ "name": "farm", "read_only": true }),
    );
    let farm = bearer(&secret);
    assert_eq!(
        call(&server, "GET", "/npm/acme-core", &farm, None).status,
        200
    );
    let r = npm_publish(&server, &farm, "farm-pkg", "1.0.0");
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        npm_publish(&server, &farm, "acme-core", "1.0.1").status,
        403
    );
    assert_eq!(npm_status(&server, "farm-pkg"), 404);
    let versions = call(&server, "GET", "/npm/acme-core", &alice, None).json();
    assert_eq!(versions["versions"].as_object().unwrap().len(), 1);

    // Package patterns: `acme-*` publishes acme-lib, not other-lib.
    let (secret, _) = created(
        &server,
        &alice,
        json!({ "name": "ci", "packages": ["acme-*"] }),
    );
    let ci = bearer(&secret);
    assert_eq!(npm_publish(&server, &ci, "acme-lib", "1.0.0").status, 200);
    let r = npm_publish(&server, &ci, "other-lib", "1.0.0");
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(npm_status(&server, "other-lib"), 404);
    assert_eq!(npm_status(&server, "acme-lib"), 200);

    // Repository `npm`: nothing on the OCI registry, directly or by a
    // registry token minted with it.
    let (secret, _) = created(&server, &alice, json!({ "repositories": ["npm"] }));
    let npm_only = bearer(&secret);
    assert_eq!(
        npm_publish(&server, &npm_only, "npm-only", "1.0.0").status,
        200
    );
    let blob = b"a layer".to_vec();
    let digest = format!("sha256:{:x}", sha2::Sha256::digest(&blob));
    let push = format!("/v2/alice/app/blobs/uploads/?digest={digest}");
    let r = call(&server, "POST", &push, &npm_only, Some(&blob));
    assert_eq!(r.status, 403, "{}", r.text());
    let scope = "/auth/token?service=wharf&scope=repository:alice/app:pull,push";
    let jwt = call(&server, "GET", scope, &npm_only, None).json();
    let jwt = bearer(jwt["token"].as_str().unwrap());
    assert_eq!(call(&server, "POST", &push, &jwt, Some(&blob)).status, 401);
    let stored = format!("/v2/alice/app/blobs/{digest}");
    let admin = server.admin_basic();
    assert_eq!(call(&server, "HEAD", &stored, &admin, None).status, 404);
    // Alice herself may push there.
    assert_eq!(
        call(&server, "POST", &push, &alice, Some(&blob)).status,
        201
    );

    // A restricted token makes no tokens, nor changes accounts or others'
    // tokens; it may revoke itself.
    assert_eq!(create(&server, &ci, json!({})).status, 403);
    assert_eq!(
        create(&server, &farm, json!({ "read_only": true })).status,
        403
    );
    let user = json!({ "name": "mallory", "password": "mallory-password" });
    let admin_ci = created(&server, &admin, json!({ "packages": ["*"] })).0;
    let r = call(
        &server,
        "POST",
        "/api/v1/users",
        &bearer(&admin_ci),
        Some(user.to_string().as_bytes()),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(list(&server, &ci).status, 200);
    let tokens = list(&server, &alice).json();
    // create_user's, farm, ci, npm_only.
    assert_eq!(tokens.as_array().unwrap().len(), 4, "{tokens}");
    let farm_id = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "farm")
        .unwrap()["id"]
        .as_str()
        .unwrap();
    let ci_id = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ci")
        .unwrap()["id"]
        .as_str()
        .unwrap();
    let revoke = |id: &str, auth: &str| {
        call(
            &server,
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            auth,
            None,
        )
        .status
    };
    assert_eq!(revoke(farm_id, &ci), 403);
    assert_eq!(revoke(ci_id, &ci), 204);
    assert_eq!(npm_publish(&server, &ci, "acme-lib", "2.0.0").status, 401);
    assert_eq!(
        call(&server, "GET", "/npm/acme-core", &farm, None).status,
        200
    );
}

#[test]
fn expired_tokens_and_disabled_users_are_refused() {
    let server = start();
    server.create_user("alice", "alice-password");
    let alice = basic("alice", "alice-password");
    let past = create(&server, &alice, json!({ "expires_at": now_millis() - 1 }));
    assert_eq!(past.status, 400, "{}", past.text());
    let typo = create(&server, &alice, json!({ "readonly": true }));
    assert_eq!(typo.status, 400, "{}", typo.text());

    let soon = now_millis() + 1_000;
    let (secret, _) = created(&server, &alice, json!({ "expires_at": soon }));
    let token = bearer(&secret);
    // Used (and cached) while valid, refused once past its expiry.
    assert_eq!(npm_publish(&server, &token, "brief", "1.0.0").status, 200);
    std::thread::sleep(Duration::from_millis(
        (soon - now_millis()).max(0) as u64 + 1_000,
    ));
    let r = npm_publish(&server, &token, "brief", "2.0.0");
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(call(&server, "GET", "/npm/brief", &token, None).status, 401);
    let doc = call(&server, "GET", "/npm/brief", &alice, None).json();
    assert_eq!(doc["versions"].as_object().unwrap().len(), 1);

    // A disabled user: tokens and password refused at once, though used
    // (and cached) a moment ago.
    let carol = server.create_user("carol", "carol-password");
    let carol_basic = basic("carol", "carol-password");
    assert_eq!(list(&server, &bearer(&carol)).status, 200);
    assert_eq!(list(&server, &carol_basic).status, 200);
    let change = json!({ "disabled": true }).to_string();
    let admin = server.admin_basic();
    let r = call(
        &server,
        "PATCH",
        "/api/v1/users/carol",
        &admin,
        Some(change.as_bytes()),
    );
    assert!(r.status < 300, "{} {}", r.status, r.text());
    let r = npm_publish(&server, &bearer(&carol), "carols", "1.0.0");
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(npm_status(&server, "carols"), 404);
    assert_eq!(list(&server, &carol_basic).status, 401);
    // Made in the database, the same change reaches a token not cached yet.
    let made = json!({ "name": "dave", "password": "dave-password" }).to_string();
    let r = call(
        &server,
        "POST",
        "/api/v1/users",
        &admin,
        Some(made.as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let (ok, dave, err) = wharf(&server, &["token", "create", "--user", "dave"]);
    assert!(ok, "{err}");
    server.sql("UPDATE users SET disabled = 1 WHERE name = 'dave'");
    let r = npm_publish(&server, &bearer(dave.trim()), "daves", "1.0.0");
    assert_eq!(r.status, 401, "{}", r.text());
}

#[test]
fn a_password_reset_can_revoke_every_token() {
    let server = start();
    let first = bearer(&server.create_user("erin", "erin-password"));
    let second = bearer(&server.create_user("erin2", "erin2-password"));
    let r = ureq::post(&format!("{}/api/v1/tokens", server.url))
        .set("Authorization", &basic("erin", "erin-password"))
        .call()
        .unwrap();
    let another = bearer(r.into_json::<Value>().unwrap()["token"].as_str().unwrap());
    for token in [&first, &another, &second] {
        assert_eq!(list(&server, token).status, 200);
    }
    let reset = json!({"password": "erin-new-password", "revoke_tokens": true});
    let r = server.admin("PATCH", "/api/v1/users/erin", Some(reset));
    assert_eq!(r.status, 204, "{}", r.text());
    for token in [&first, &another] {
        assert_eq!(list(&server, token).status, 401);
    }
    assert_eq!(list(&server, &basic("erin", "erin-password")).status, 401);
    assert_eq!(
        list(&server, &basic("erin", "erin-new-password")).status,
        200
    );
    // Another user's tokens are untouched.
    assert_eq!(list(&server, &second).status, 200);
}

#[test]
fn the_command_line_creates_lists_and_revokes() {
    let server = start();
    server.create_user("alice", "alice-password");
    let wharf = |args: &[&str]| wharf(&server, args);
    let (ok, secret, err) = wharf(&[
        "token",
        "create",
        "--user",
        "alice",
        "--name",
        "ci-acme",
        "--expires-in-days",
        "7",
        "--repository",
        "npm",
        "--package",
        "@acme/*",
    ]);
    assert!(ok, "{err}");
    let secret = secret.trim().to_string();
    let ci = bearer(&secret);
    assert_eq!(npm_publish(&server, &ci, "@acme/web", "1.0.0").status, 200);
    assert_eq!(npm_publish(&server, &ci, "@evil/web", "1.0.0").status, 403);

    let (ok, listed, err) = wharf(&["token", "list", "--user", "alice"]);
    assert!(ok, "{err}");
    let line = listed
        .lines()
        .find(|l| l.contains("ci-acme"))
        .expect(&listed);
    assert!(
        line.contains("repositories npm; packages @acme/*"),
        "{line}"
    );
    assert!(!listed.contains(&secret), "{listed}");
    let id = line.split('\t').next().unwrap();
    assert_eq!(id.len(), 16);

    // Revoked before any use: nothing cached, refused at once.
    let (ok, spare, _) = wharf(&["token", "create", "--user", "alice", "--read-only"]);
    assert!(ok);
    let (_, listed, _) = wharf(&["token", "list"]);
    let spare_id = listed
        .lines()
        .find(|l| l.contains("read-only"))
        .and_then(|l| l.split('\t').next())
        .expect(&listed)
        .to_string();
    let (ok, _, err) = wharf(&["token", "revoke", &spare_id]);
    assert!(ok, "{err}");
    let r = npm_publish(&server, &bearer(spare.trim()), "spare-pkg", "1.0.0");
    assert_eq!(r.status, 401, "{}", r.text());
    let (ok, _, _) = wharf(&["token", "revoke", &spare_id]);
    assert!(!ok, "an unknown id is an error");
    // A token the running server has verified and cached: the command line's
    // revocation reaches it within a second or so.
    let (ok, _, err) = wharf(&["token", "revoke", id]);
    assert!(ok, "{err}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while npm_publish(&server, &ci, "@acme/late", "1.0.0").status != 401 {
        assert!(Instant::now() < deadline, "the revoked token still works");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (ok, _, err) = wharf(&["token", "create", "--user", "nobody"]);
    assert!(!ok && err.contains("nobody"), "{err}");
}

/// Runs `wharf <args>` on the server's data directory.
fn wharf(server: &Server, args: &[&str]) -> (bool, String, String) {
    run(Command::new(wharf_tests::wharf_binary())
        .args(args)
        .env("WHARF_DATA_DIR", server.dir.path().join("data"))
        .env("WHARF_LOG", "warn"))
}
