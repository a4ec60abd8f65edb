//! Headers built from what a client or a plugin sent: nothing may inject a
//! header or a parameter, and nothing invalid may crash a response.

use wharf_tests::{PluginEntry, Server};

const OCI: PluginEntry = PluginEntry {
    format: "oci",
    extra: "",
};
const FAULTY: PluginEntry = PluginEntry {
    format: "faulty",
    extra: "",
};

fn blake3_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

#[test]
fn a_quote_in_a_repository_name_cannot_add_a_realm() {
    let server = Server::start(&[OCI]);
    // `a",realm="https://evil.example/token`, percent-encoded in the path.
    let name = "a%22,realm=%22https:%2F%2Fevil.example%2Ftoken";
    let url = format!("{}/v2/{name}/blobs/uploads/", server.url);
    let reply = wharf_tests::send_with(ureq::post(&url), Some(b""));
    assert!(
        [400, 401, 404].contains(&reply.status),
        "{} {}",
        reply.status,
        reply.text()
    );
    if let Some(challenge) = reply.header("www-authenticate") {
        assert_eq!(challenge.matches("realm=").count(), 1, "{challenge}");
        assert!(!challenge.contains("evil.example"), "{challenge}");
    }
    // A valid name still gets the scope it needs.
    let url = format!("{}/v2/org/app/blobs/uploads/", server.url);
    let reply = wharf_tests::send_with(ureq::post(&url), Some(b""));
    assert_eq!(reply.status, 401);
    let challenge = reply.header("www-authenticate").unwrap();
    assert!(
        challenge.contains("scope=\"repository:org/app:pull,push\""),
        "{challenge}"
    );
}

#[test]
fn invalid_plugin_header_values_are_dropped_on_every_path() {
    let mut server = Server::start(&[FAULTY]);
    // Bytes answers.
    let reply = server.get("/faulty/bad-reply");
    assert_eq!(reply.header("x-fine"), Some("kept"));
    assert_eq!(reply.header("x-bad-value"), None);
    assert_eq!(reply.header("x-injected"), None);

    // Blob answers: the blob responder used to panic on such a value.
    let blob = blake3_hex(b"mine");
    let post = ureq::post(&format!("{}/faulty/publish/mine/with/{blob}", server.url))
        .set("authorization", &server.admin_basic());
    assert_eq!(wharf_tests::send_with(post, Some(b"")).status, 200);
    let path = format!("/faulty/serve-badly/{blob}");
    for _ in 0..2 {
        // Fresh, then from the document cache.
        let reply = server.get(&path);
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.body, b"mine");
        assert_eq!(reply.header("x-fine"), Some("kept"));
        assert_eq!(reply.header("x-bad-value"), None);
        assert_eq!(reply.header("x-injected"), None);
        assert_eq!(reply.header("etag"), Some(format!("\"{blob}\"").as_str()));
    }
    let ranged =
        wharf_tests::send(ureq::get(&format!("{}{path}", server.url)).set("range", "bytes=1-2"));
    assert_eq!((ranged.status, ranged.body.as_slice()), (206, &b"in"[..]));
    let head = wharf_tests::send(ureq::head(&format!("{}{path}", server.url)));
    assert_eq!(head.status, 200);
    assert!(
        server.is_running(),
        "the server survived:\n{}",
        server.log()
    );
}
