//! Every kind of caller of the matrix, and how each gets its credentials.
//!
//! The users: `owner` (first publisher of every matrix package), `nonowner`
//! (may write anything, owns nothing), `outsider` (may write only packages
//! named `elsewhere…`), `reader` (reads only), `gone` (disabled after it got
//! a registry token); and the bootstrap `admin`. Every user reads; anonymous
//! callers read nothing (`anonymous_read = false`).

use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wharf_tests::{Server, basic};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Caller {
    Anonymous,
    WrongPassword,
    RevokedToken,
    ExpiredToken,
    ReadOnlyToken,
    Reader,
    WriterOutsideThePattern,
    NonOwnerWriter,
    Owner,
    Admin,
    RegistryJwtForAnotherRepository,
    RegistryJwtForThisOne,
    ExpiredRegistryJwt,
    RegistryJwtOfADisabledUser,
}

pub const CALLERS: [Caller; 14] = [
    Caller::Anonymous,
    Caller::WrongPassword,
    Caller::RevokedToken,
    Caller::ExpiredToken,
    Caller::ReadOnlyToken,
    Caller::Reader,
    Caller::WriterOutsideThePattern,
    Caller::NonOwnerWriter,
    Caller::Owner,
    Caller::Admin,
    Caller::RegistryJwtForAnotherRepository,
    Caller::RegistryJwtForThisOne,
    Caller::ExpiredRegistryJwt,
    Caller::RegistryJwtOfADisabledUser,
];

pub const USERS: [&str; 5] = ["owner", "nonowner", "outsider", "reader", "gone"];

pub fn password(user: &str) -> String {
    format!("{user}-password")
}

/// Replaces the default grant (every user writes everything) by the
/// matrix's: everyone signed in reads; owner, nonowner and gone write and
/// delete anything; outsider only packages named `elsewhere…`.
pub fn grant(server: &Server) {
    let all = server.admin("GET", "/api/v1/permissions", None).json();
    for p in all.as_array().unwrap() {
        let path = format!("/api/v1/permissions/{}", p["id"]);
        assert_eq!(server.admin("DELETE", &path, None).status, 204);
    }
    let grants = [
        json!({"principal": "users", "repository": "*", "actions": ["read"]}),
        json!({"principal": "user:owner", "repository": "*", "actions": ["write", "delete"]}),
        json!({"principal": "user:nonowner", "repository": "*", "actions": ["write", "delete"]}),
        json!({"principal": "user:gone", "repository": "*", "actions": ["write", "delete"]}),
        json!({"principal": "user:outsider", "repository": "*",
               "include": ["elsewhere*", "org.elsewhere:*"], "actions": ["write", "delete"]}),
    ];
    for g in grants {
        let r = server.admin("POST", "/api/v1/permissions", Some(g));
        assert_eq!(r.status, 201, "{}", r.text());
    }
}

/// An API token of `user` made with `request`.
fn api_token(server: &Server, user: &str, request: serde_json::Value) -> serde_json::Value {
    let r = ureq::post(&format!("{}/api/v1/tokens", server.url))
        .set("Authorization", &basic(user, &password(user)))
        .send_json(request)
        .expect("a new token");
    r.into_json().unwrap()
}

/// A registry token of `user` for `repository:<name>:pull,push,delete`.
fn registry_jwt(server: &Server, user: &str, name: &str) -> String {
    let path = format!("/auth/token?service=wharf&scope=repository:{name}:pull,push,delete");
    let r = ureq::get(&format!("{}{path}", server.url))
        .set("Authorization", &basic(user, &password(user)))
        .call()
        .expect("a registry token");
    let token: serde_json::Value = r.into_json().unwrap();
    token["token"].as_str().unwrap().to_string()
}

/// A registry token for `name` that expired ten minutes ago, signed with
/// the server's own key (as a token the server issued earlier would be).
fn expired_jwt(server: &Server, user: &str, name: &str) -> String {
    let key = std::fs::read_to_string(server.dir.path().join("data/registry-token.key")).unwrap();
    let secret = hex::decode(key.trim()).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "iss": "wharf", "aud": "wharf", "sub": user,
        "iat": now - 900, "exp": now - 600,
        "repository": "oci",
        "access": [{"type": "repository", "name": name, "actions": ["pull", "push", "delete"]}],
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&secret),
    )
    .unwrap()
}

/// Every caller's `Authorization` header (`None`: anonymous). `oci_name` is
/// the OCI repository the registry tokens are for.
pub fn credentials(server: &Server, oci_name: &str) -> Vec<(Caller, Option<String>)> {
    let bearer = |token: &str| Some(format!("Bearer {token}"));
    let secret = |t: &serde_json::Value| t["token"].as_str().unwrap().to_string();
    let revoked = api_token(server, "owner", json!({"name": "revoked"}));
    let path = format!("/api/v1/tokens/{}", revoked["id"].as_str().unwrap());
    assert_eq!(server.admin("DELETE", &path, None).status, 204);
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let expiring = api_token(server, "owner", json!({"expires_at": now_ms + 1500}));
    let read_only = api_token(server, "owner", json!({"read_only": true}));
    let for_gone = registry_jwt(server, "gone", oci_name);
    let disable = json!({"disabled": true});
    assert_eq!(
        server
            .admin("PATCH", "/api/v1/users/gone", Some(disable))
            .status,
        204
    );
    let callers = vec![
        (Caller::Anonymous, None),
        (
            Caller::WrongPassword,
            Some(basic("owner", "not-the-password")),
        ),
        (Caller::RevokedToken, bearer(&secret(&revoked))),
        (Caller::ExpiredToken, bearer(&secret(&expiring))),
        (Caller::ReadOnlyToken, bearer(&secret(&read_only))),
        (Caller::Reader, Some(basic("reader", &password("reader")))),
        (
            Caller::WriterOutsideThePattern,
            Some(basic("outsider", &password("outsider"))),
        ),
        (
            Caller::NonOwnerWriter,
            Some(basic("nonowner", &password("nonowner"))),
        ),
        (Caller::Owner, Some(basic("owner", &password("owner")))),
        (Caller::Admin, Some(server.admin_basic())),
        (
            Caller::RegistryJwtForAnotherRepository,
            bearer(&registry_jwt(server, "owner", "elsewhere/app")),
        ),
        (
            Caller::RegistryJwtForThisOne,
            bearer(&registry_jwt(server, "owner", oci_name)),
        ),
        (
            Caller::ExpiredRegistryJwt,
            bearer(&expired_jwt(server, "owner", oci_name)),
        ),
        (Caller::RegistryJwtOfADisabledUser, bearer(&for_gone)),
    ];
    // The expiring token has expired by the time the matrix runs.
    let left = (now_ms + 1600).saturating_sub(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    );
    std::thread::sleep(Duration::from_millis(left));
    callers
}
