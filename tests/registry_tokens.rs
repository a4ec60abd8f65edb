//! Registry tokens stay in scope, end to end: a JWT from `/auth/token` is
//! good only on the OCI routes of the repositories and actions it names, for
//! a user that still exists; never on `/api/v1`, at `/auth/token`, or on
//! another format. And `skopeo delete`, which asks for `*`, works.

use wharf_tests::oci::{
    call, digest, image, manifest_status, push_blob, push_image, put_manifest, skopeo,
};
use wharf_tests::{PluginEntry, Reply, Server, basic, npm_publish_body, send_with};

fn start() -> Server {
    let plugin = |format| PluginEntry { format, extra: "" };
    Server::start(&[plugin("oci"), plugin("npm")])
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A registry token from `/auth/token` for `scope`, as `auth` (none when empty).
fn token(server: &Server, auth: &str, scope: &str) -> String {
    let r = call(
        server,
        "GET",
        &format!("/auth/token?service=wharf&scope={scope}"),
        auth,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["token"].as_str().unwrap().to_string()
}

fn assert_unauthorized(r: &Reply) {
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(
        r.header("www-authenticate").is_some(),
        "a 401 has a challenge"
    );
}

/// skopeo reads the manifest, then deletes it by digest, with one token for
/// `repository:<name>:*`: `*` is pull, push and delete, as in distribution.
#[test]
fn skopeo_deletes_a_tag_with_a_users_credentials() {
    let server = start();
    server.create_user("dave", "dave-password");
    let dave = basic("dave", "dave-password");
    let gone = push_image(&server, &dave, "org/gone", "v1");
    push_image(&server, &dave, "org/kept", "v1");
    let host = server.url.trim_start_matches("http://");
    let target = format!("docker://{host}/org/gone:v1");
    let home = tempfile::tempdir().unwrap();

    // Anonymous callers get pull only: the delete is refused, the tag stays.
    let args = ["delete", "--tls-verify=false", "--no-creds", &target];
    let (ok, _, err) = skopeo(home.path(), &args);
    assert!(!ok, "an anonymous delete must fail");
    assert!(err.contains("401") || err.contains("unauthorized"), "{err}");
    assert_eq!(manifest_status(&server, "org/gone", "v1"), 200);

    let args = [
        "delete",
        "--tls-verify=false",
        "--creds",
        "dave:dave-password",
    ];
    let (ok, out, err) = skopeo(home.path(), &[&args[..], &[target.as_str()]].concat());
    assert!(ok, "skopeo delete failed\nstdout:\n{out}\nstderr:\n{err}");
    assert_eq!(manifest_status(&server, "org/gone", "v1"), 404);
    assert_eq!(manifest_status(&server, "org/gone", &gone), 404);
    assert_eq!(manifest_status(&server, "org/kept", "v1"), 200);
}

/// A pull token of `app` reads `app` and nothing else: no push or delete
/// on it, no API token, no wider token, and no npm package named `app`.
#[test]
fn a_pull_token_is_good_for_pulls_only() {
    let server = start();
    server.create_user("alice", "alice-password");
    let alice = basic("alice", "alice-password");
    let pushed = push_image(&server, &alice, "app", "v1");
    let pull = bearer(&token(&server, &alice, "repository:app:pull"));

    let r = call(&server, "GET", "/v2/app/manifests/v1", &pull, None);
    assert_eq!(r.status, 200, "{}", r.text());

    // Push and delete on `app`: 401, naming the scope the client needs.
    let (config, layer, manifest) = image("never");
    let r = push_blob(&server, &pull, "app", &layer);
    assert_unauthorized(&r);
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .ends_with(",scope=\"repository:app:pull,push\""),
        "{:?}",
        r.header("www-authenticate")
    );
    let r = put_manifest(&server, &pull, "app", "v2", &manifest);
    assert_unauthorized(&r);
    let path = format!("/v2/app/manifests/{pushed}");
    let r = call(&server, "DELETE", &path, &pull, None);
    assert_unauthorized(&r);
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .ends_with(",scope=\"repository:app:delete\""),
        "{:?}",
        r.header("www-authenticate")
    );
    let r = call(&server, "DELETE", "/v2/app/manifests/v1", &pull, None);
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .ends_with(",scope=\"repository:app:pull,push,delete\""),
        "a tag delete also writes: {:?}",
        r.header("www-authenticate")
    );
    for blob in [&config, &layer] {
        let path = format!("/v2/app/blobs/{}", digest(blob));
        assert_eq!(call(&server, "GET", &path, &alice, None).status, 404);
    }
    assert_eq!(manifest_status(&server, "app", "v2"), 404);
    assert_eq!(manifest_status(&server, "app", "v1"), 200);
    assert_eq!(manifest_status(&server, "app", &pushed), 200);

    // Not a credential of the admin API: no permanent token from it.
    let tokens = server.sql("SELECT count(*) FROM tokens");
    let r = call(&server, "POST", "/api/v1/tokens", &pull, None);
    assert_unauthorized(&r);
    assert_eq!(server.sql("SELECT count(*) FROM tokens"), tokens);

    // Not a credential of the token endpoint: no wider token from it.
    let path = "/auth/token?service=wharf&scope=repository:app:push,delete";
    let r = call(&server, "GET", path, &pull, None);
    assert_unauthorized(&r);
    assert!(r.json()["token"].is_null());

    // Not on another format, whatever the token allows on `app`.
    let all = bearer(&token(&server, &alice, "repository:app:*"));
    let publish = npm_publish_body("app", "1.0.0", b"tarball bytes", b"tarball bytes");
    for jwt in [&pull, &all] {
        let request = ureq::put(&format!("{}/npm/app", server.url))
            .set("Content-Type", "application/json")
            .set("Authorization", jwt);
        assert_unauthorized(&send_with(request, Some(&publish)));
        let r = call(&server, "GET", "/npm/-/whoami", jwt, None);
        assert_unauthorized(&r);
    }
    assert_eq!(server.get("/npm/app").status, 404);
    assert_eq!(server.get("/npm/app/-/app-1.0.0.tgz").status, 404);
    // Alice herself may publish it: the refusal was the token's.
    let request = ureq::put(&format!("{}/npm/app", server.url))
        .set("Content-Type", "application/json")
        .set("Authorization", &alice);
    let r = send_with(request, Some(&publish));
    assert!(r.status < 300, "{} {}", r.status, r.text());
}

/// A token for `a` reaches neither reads nor writes of `b`.
#[test]
fn a_token_for_one_repository_is_refused_on_another() {
    let server = start();
    server.create_user("bea", "bea-password");
    let bea = basic("bea", "bea-password");
    push_image(&server, &bea, "org/a", "v1");
    let b = push_image(&server, &bea, "org/b", "v1");
    let jwt = bearer(&token(&server, &bea, "repository:org/a:*"));

    assert_eq!(
        call(&server, "GET", "/v2/org/a/manifests/v1", &jwt, None).status,
        200
    );
    let r = call(&server, "GET", "/v2/org/b/manifests/v1", &jwt, None);
    assert_unauthorized(&r);
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .ends_with(",scope=\"repository:org/b:pull\"")
    );
    let (_, layer, manifest) = image("into b");
    assert_unauthorized(&push_blob(&server, &jwt, "org/b", &layer));
    assert_unauthorized(&put_manifest(&server, &jwt, "org/b", "v2", &manifest));
    let path = format!("/v2/org/b/manifests/{b}");
    assert_unauthorized(&call(&server, "DELETE", &path, &jwt, None));

    let path = format!("/v2/org/b/blobs/{}", digest(&layer));
    assert_eq!(call(&server, "GET", &path, &bea, None).status, 404);
    assert_eq!(manifest_status(&server, "org/b", "v2"), 404);
    assert_eq!(manifest_status(&server, "org/b", &b), 200);
}

/// A token outlives nothing: once its user is gone, it is refused at once,
/// though its signature and lifetime are still good.
#[test]
fn a_token_of_a_deleted_user_is_refused() {
    let server = start();
    server.create_user("dora", "dora-password");
    let dora = basic("dora", "dora-password");
    let jwt = bearer(&token(&server, &dora, "repository:org/d:pull,push"));
    let r = push_blob(&server, &jwt, "org/d", b"first blob");
    assert_eq!(r.status, 201, "{}", r.text());

    // There is no admin path to delete a user yet: the database it is.
    server
        .sql("DELETE FROM tokens WHERE user_name = 'dora'; DELETE FROM users WHERE name = 'dora';");
    let r = push_blob(&server, &jwt, "org/d", b"second blob");
    assert_unauthorized(&r);
    let path = format!("/v2/org/d/blobs/{}", digest(b"first blob"));
    assert_unauthorized(&call(&server, "GET", &path, &jwt, None));
    let admin = server.admin_basic();
    assert_eq!(call(&server, "GET", &path, &admin, None).status, 200);
    let path = format!("/v2/org/d/blobs/{}", digest(b"second blob"));
    assert_eq!(call(&server, "GET", &path, &admin, None).status, 404);
}
