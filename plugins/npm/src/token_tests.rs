//! `npm token list|create|revoke` and `npm logout` replayed against the
//! mock host, in the shapes npm 10 (npm-profile) and npm 11 send.

use serde_json::{Value, json};
use wharf_sdk::mock::{self, TestRequest};
use wharf_sdk::tokens::TokenSpec;
use wharf_sdk::types::{Action, Method};

use crate::tests::{delete, get, send, start};

fn post(path: &str, body: &Value) -> wharf_sdk::Response {
    send(TestRequest::new(Method::Post, path).body(body.to_string())).1
}

fn error(response: &wharf_sdk::Response) -> String {
    response.body_json()["error"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn keys() -> Vec<String> {
    let listed = get("-/npm/v1/tokens").body_json();
    let objects = listed["objects"].as_array().unwrap();
    objects
        .iter()
        .map(|t| t["key"].as_str().unwrap().to_string())
        .collect()
}

fn spec(name: &str, read_only: bool) -> TokenSpec {
    TokenSpec {
        name: name.into(),
        read_only,
        expires_at: None,
        packages: None,
    }
}

#[test]
fn each_route_declares_its_access() {
    let route = |method: Method, path: &str| {
        let route = TestRequest::new(method, path)
            .send::<crate::Npm>()
            .unwrap()
            .0;
        let access: Vec<_> = route
            .access
            .iter()
            .map(|a| (a.action, a.package.clone()))
            .collect();
        (route.id, access)
    };
    assert_eq!(
        route(Method::Get, "-/npm/v1/tokens?page=1"),
        ("tokens".into(), vec![(Action::Read, None)])
    );
    assert_eq!(
        route(Method::Post, "-/npm/v1/tokens"),
        ("token-create".into(), vec![(Action::Write, None)])
    );
    assert_eq!(
        route(Method::Delete, "-/npm/v1/tokens/token/abc"),
        ("token-revoke".into(), vec![(Action::Write, None)])
    );
    assert_eq!(
        route(Method::Delete, "-/user/token/wharf_abc"),
        ("logout".into(), vec![])
    );
}

#[test]
fn tokens_are_created_listed_and_revoked() {
    start();
    mock::add_user("alice", "alice-pw");
    assert_eq!(
        get("-/npm/v1/tokens").body_json(),
        json!({ "objects": [], "total": 0, "urls": {} })
    );

    // npm 10: {password, readonly, cidr_whitelist}.
    let made = post(
        "-/npm/v1/tokens",
        &json!({ "password": "alice-pw", "readonly": true, "cidr_whitelist": [] }),
    );
    assert_eq!(made.status, 201, "{}", error(&made));
    let made = made.body_json();
    let secret = made["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("wharf_"), "{made}");
    assert_eq!(made["readonly"], true);
    assert!(made["created"].as_str().unwrap().ends_with('Z'));
    // npm 11: {name, password, expires, packages_and_scopes_permission}.
    let made = post(
        "-/npm/v1/tokens",
        &json!({ "name": "ci", "password": "alice-pw", "expires": 7, "packages_and_scopes_permission": "read-write" }),
    );
    assert_eq!(made.status, 201, "{}", error(&made));
    let made = made.body_json();
    assert_eq!(
        (made["name"].clone(), made["readonly"].clone()),
        (json!("ci"), json!(false))
    );
    assert!(made["expires"].as_str().unwrap().ends_with('Z'));

    let listed = get("-/npm/v1/tokens").body_json();
    assert_eq!(listed["total"], 2);
    let first = &listed["objects"][0];
    assert_eq!(first["readonly"], true);
    assert_eq!(first["name"], "npm token");
    // The listing never holds a secret: `token` is the prefix all share.
    assert_eq!(first["token"], "wharf_");
    assert!(!listed.to_string().contains(&secret));

    // Revoked by key (what `npm token list` shows, shortened), or by the
    // secret itself.
    let by_key = keys()[1].clone();
    assert_eq!(
        delete(&format!("-/npm/v1/tokens/token/{by_key}")).status,
        204
    );
    assert_eq!(
        delete(&format!("-/npm/v1/tokens/token/{secret}")).status,
        204
    );
    assert!(keys().is_empty());
    let gone = delete(&format!("-/npm/v1/tokens/token/{by_key}"));
    assert_eq!(gone.status, 404);
    assert_eq!(error(&gone), format!("you have no token {by_key}"));
}

#[test]
fn the_list_pages_the_way_npm_follows_it() {
    start();
    for i in 0..3 {
        mock::with(|h| h.issue_token("alice", &spec(&format!("t{i}"), false)));
    }
    mock::with(|h| h.issue_token("bob", &spec("not alice's", false)));
    let first = get("-/npm/v1/tokens?perPage=2").body_json();
    assert_eq!(first["total"], 3);
    assert_eq!(first["objects"].as_array().unwrap().len(), 2);
    let next = first["urls"]["next"].as_str().unwrap();
    assert_eq!(next, "/-/npm/v1/tokens?page=1&perPage=2");
    let second = get(next).body_json();
    assert_eq!(second["objects"][0]["name"], "t2");
    assert_eq!(second["urls"], json!({}));
}

#[test]
fn a_token_is_made_only_with_the_right_password_and_a_free_token() {
    start();
    mock::add_user("alice", "alice-pw");
    let wrong = post("-/npm/v1/tokens", &json!({ "password": "nope" }));
    assert_eq!(
        (wrong.status, error(&wrong)),
        (403, "incorrect password".into())
    );
    let cidr = post(
        "-/npm/v1/tokens",
        &json!({ "password": "alice-pw", "cidr_whitelist": ["10.0.0.0/8"] }),
    );
    assert_eq!(cidr.status, 400);
    assert!(error(&cidr).contains("cidr_whitelist"), "{}", error(&cidr));
    // A read-only token makes no token, even with the password.
    mock::login_with_token("alice", &spec("ro", true));
    let refused = post("-/npm/v1/tokens", &json!({ "password": "alice-pw" }));
    assert_eq!(refused.status, 403, "{}", error(&refused));
    assert_eq!(mock::with(|h| h.tokens.len()), 1);
    mock::login_as(None);
    assert_eq!(get("-/npm/v1/tokens").status, 401);
    assert_eq!(
        post("-/npm/v1/tokens", &json!({ "password": "x" })).status,
        401
    );
}

#[test]
fn logout_revokes_the_token_of_the_request() {
    start();
    let other = mock::with(|h| h.issue_token("alice", &spec("laptop", false)));
    // A read-only token may log itself out (the route needs no access).
    let used = mock::login_with_token("alice", &spec("npm login", true));
    let out = delete(&format!("-/user/token/{}", used.secret));
    assert_eq!(out.status, 200);
    assert_eq!(out.body_json(), json!({ "ok": true }));
    let left: Vec<String> = mock::with(|h| h.tokens.iter().map(|t| t.info.id.clone()).collect());
    assert_eq!(left, vec![other.info.id]);
    // Signed in with a password: no token to log out.
    mock::login_as(Some("alice"));
    let no_token = delete("-/user/token/wharf_whatever");
    assert_eq!(no_token.status, 400);
    assert!(error(&no_token).contains("not authenticated with an API token"));
    mock::login_as(None);
    assert_eq!(delete("-/user/token/wharf_whatever").status, 401);
}
