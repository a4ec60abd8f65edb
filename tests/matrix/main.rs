//! The authorization matrix, end to end: every format × {read, write,
//! delete, admin} × every kind of caller (`callers.rs`) → the status the
//! host must answer. After the whole matrix, each format serves exactly the
//! versions the allowed calls left, every allowed write byte for byte, and
//! no refused write is served or referenced by the catalog.

mod callers;
mod formats;

use callers::{CALLERS, Caller, USERS, password};
use formats::{FORMATS, Upload, blake3_hex, live_versions};
use std::collections::BTreeSet;
use wharf_tests::oci::push_blob;
use wharf_tests::{PluginEntry, Server, basic, send_with};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Read,
    Write,
    Delete,
    Admin,
}

const ACTS: [Act; 4] = [Act::Read, Act::Write, Act::Delete, Act::Admin];

/// The status `caller` must get for `act` on `format`'s package.
fn expected(format: &str, act: Act, caller: Caller) -> u16 {
    use Caller::*;
    // Maven's protocol has no delete: the route does not exist, for anyone.
    if format == "maven" && act == Act::Delete {
        return 405;
    }
    let allowed = match (format, act) {
        (_, Act::Read) => 200,
        ("oci" | "maven" | "go" | "composer" | "raw" | "helm" | "deb", Act::Write) => 201,
        ("oci", Act::Delete) => 202,
        ("raw", Act::Delete) => 204,
        (_, Act::Admin) => 204,
        // npm, PyPI, cargo, and RubyGems' push and yank answer 200.
        _ => 200,
    };
    match caller {
        // No valid credential: authenticate first.
        Anonymous
        | WrongPassword
        | RevokedToken
        | ExpiredToken
        | ExpiredRegistryJwt
        | RegistryJwtOfADisabledUser
        | RegistryJwtForAnotherRepository => 401,
        // A registry token is a credential only on the OCI routes of its
        // repository, and never on the admin API.
        RegistryJwtForThisOne => match (format, act) {
            ("oci", Act::Read | Act::Write | Act::Delete) => allowed,
            _ => 401,
        },
        // Valid credentials, not enough permission or not an owner.
        ReadOnlyToken | Reader | WriterOutsideThePattern | NonOwnerWriter => match act {
            Act::Read => 200,
            _ => 403,
        },
        Owner | Admin => allowed,
    }
}

/// The version a caller's write publishes, and the one its delete removes.
fn written(caller: Caller) -> String {
    version(2, caller)
}
fn deleted(caller: Caller) -> String {
    version(1, caller)
}
/// `major.n.0`, `n` the caller's place in the table (OCI: the same, as tags).
fn version(major: usize, caller: Caller) -> String {
    let n = CALLERS.iter().position(|c| *c == caller).unwrap() + 1;
    format!("{major}.{n}.0")
}

fn start() -> Server {
    let plugins: Vec<PluginEntry> = FORMATS
        .iter()
        .map(|format| PluginEntry { format, extra: "" })
        .collect();
    let env = [
        ("WHARF_ANONYMOUS_READ", "false"),
        // Wrong passwords are part of the matrix, not a guessing attack.
        ("WHARF_LOGIN_FREE_FAILURES", "1000"),
        ("WHARF_LOGIN_FREE_FAILURES_PER_ADDRESS", "1000"),
    ];
    Server::start_with_env(&plugins, &env)
}

/// `owner` publishes the base version and every version a delete targets.
fn publish_as_owner(server: &Server, format: &str) {
    let owner = basic("owner", &password("owner"));
    if format == "oci" {
        for blob in formats::oci_shared_blobs() {
            let r = push_blob(server, &owner, formats::package("oci"), &blob);
            assert_eq!(r.status, 201, "{}", r.text());
        }
    }
    let versions = std::iter::once("1.0.0".to_string()).chain(CALLERS.iter().map(|c| deleted(*c)));
    for version in versions {
        let upload = formats::publish(format, &version);
        let status = upload.call.send(server, Some(&owner));
        assert!((200..300).contains(&status), "{format} {version}: {status}");
    }
}

#[test]
fn every_format_every_action_every_caller() {
    let server = start();
    for user in USERS {
        let new = serde_json::json!({"name": user, "password": password(user)});
        let r = server.admin("POST", "/api/v1/users", Some(new));
        assert_eq!(r.status, 201, "{}", r.text());
    }
    callers::grant(&server);
    for format in FORMATS {
        publish_as_owner(&server, format);
    }
    let credentials = callers::credentials(&server, formats::package("oci"));

    let mut wrong = Vec::new();
    let mut writes: Vec<(Upload, bool)> = Vec::new();
    let mut live: Vec<(&str, BTreeSet<String>)> = Vec::new();
    for format in FORMATS {
        let mut versions: BTreeSet<String> = std::iter::once("1.0.0".to_string())
            .chain(CALLERS.iter().map(|c| deleted(*c)))
            .collect();
        for (caller, auth) in &credentials {
            for act in ACTS {
                let want = expected(format, act, *caller);
                let got = match act {
                    Act::Read => formats::read(format).send(&server, auth.as_deref()),
                    Act::Write => {
                        let upload = formats::publish(format, &written(*caller));
                        let got = upload.call.send(&server, auth.as_deref());
                        if got == want && (200..300).contains(&got) {
                            versions.insert(written(*caller));
                        }
                        writes.push((upload, (200..300).contains(&got)));
                        got
                    }
                    Act::Delete => match formats::delete(format, &deleted(*caller)) {
                        Some(call) => {
                            let got = call.send(&server, auth.as_deref());
                            if got == want && (200..300).contains(&got) {
                                versions.remove(&deleted(*caller));
                            }
                            got
                        }
                        None => {
                            let path = format!("{}/delete-me", formats::read(format).path);
                            let request = ureq::delete(&format!("{}{path}", server.url));
                            let request = match auth {
                                Some(a) => request.set("Authorization", a),
                                None => request,
                            };
                            send_with(request, None).status
                        }
                    },
                    Act::Admin => formats::administer(format).send(&server, auth.as_deref()),
                };
                if got != want {
                    wrong.push(format!(
                        "{format:6} {act:?} by {caller:?}: {got}, expected {want}"
                    ));
                }
            }
        }
        live.push((format, versions));
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cells wrong:\n{}",
        wrong.len(),
        FORMATS.len() * ACTS.len() * CALLERS.len(),
        wrong.join("\n")
    );

    // Each format serves exactly the versions the allowed calls left.
    for (format, versions) in live {
        assert_eq!(live_versions(&server, format), versions, "{format}");
    }
    // Every allowed write is served byte for byte; a refused one is neither
    // served nor referenced by any asset of the catalog.
    for (upload, allowed) in &writes {
        let request = ureq::get(&format!("{}{}", server.url, upload.artifact))
            .set("Authorization", &server.admin_basic())
            .set("Accept", wharf_tests::oci::OCI_MANIFEST);
        let served = send_with(request, None);
        let referenced = server.sql(&format!(
            "SELECT count(*) FROM assets WHERE blake3 = '{}'",
            blake3_hex(&upload.bytes)
        ));
        match allowed {
            true => {
                assert_eq!(served.status, 200, "{}", upload.artifact);
                assert!(served.body == upload.bytes, "{} differs", upload.artifact);
                assert_ne!(referenced, "0", "{}", upload.artifact);
            }
            false => {
                assert_eq!(served.status, 404, "{} is served", upload.artifact);
                assert_eq!(referenced, "0", "{} is in the catalog", upload.artifact);
            }
        }
    }
}
