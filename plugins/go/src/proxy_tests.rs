//! A proxy repository against the mock host's upstream: the list, latest
//! and info are the upstream's; a go.mod or zip is pulled once and kept,
//! and serves with the upstream gone.

use wharf_sdk::mock::{self, TestRequest};
use wharf_sdk::types::{Method, ResponseBody};

use crate::Go;

const ESCAPED: &str = "example.com/!hello/greet";
const ZIP: &[u8] = b"pretend zip of greet v1.0.0";
const GO_MOD: &str = "module example.com/Hello/greet\n";
const INFO: &str = r#"{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}"#;

fn get(path: &str) -> wharf_sdk::Response {
    TestRequest::new(Method::Get, path)
        .send::<Go>()
        .expect("classifies")
        .1
}

fn upstream() {
    mock::reset();
    mock::serve_upstream(&format!("{ESCAPED}/@v/list"), 200, "v1.0.0\n");
    mock::serve_upstream(&format!("{ESCAPED}/@latest"), 200, INFO);
    mock::serve_upstream(&format!("{ESCAPED}/@v/v1.0.0.info"), 200, INFO);
    mock::serve_upstream(&format!("{ESCAPED}/@v/v1.0.0.mod"), 200, GO_MOD);
    mock::serve_upstream(&format!("{ESCAPED}/@v/v1.0.0.zip"), 200, ZIP);
}

fn asked() -> usize {
    mock::with(|h| h.upstream.as_ref().map_or(0, |u| u.asked.len()))
}

#[test]
fn the_documents_are_the_upstreams() {
    upstream();
    assert_eq!(get(&format!("{ESCAPED}/@v/list")).body_bytes(), b"v1.0.0\n");
    assert_eq!(
        get(&format!("{ESCAPED}/@latest")).body_bytes(),
        INFO.as_bytes()
    );
    let info = get(&format!("{ESCAPED}/@v/v1.0.0.info"));
    assert_eq!(info.body_json()["Time"], "2024-01-02T03:04:05Z");
}

#[test]
fn files_are_pulled_once_recorded_and_served_with_the_upstream_gone() {
    upstream();
    let module = get(&format!("{ESCAPED}/@v/v1.0.0.mod"));
    assert_eq!(
        (module.status, module.body_bytes()),
        (200, GO_MOD.as_bytes())
    );
    let zip = get(&format!("{ESCAPED}/@v/v1.0.0.zip"));
    assert_eq!((zip.status, zip.body_bytes()), (200, ZIP));
    let row = mock::with(|h| {
        h.catalog
            .version("example.com/Hello/greet", "v1.0.0")
            .cloned()
    });
    assert!(row.is_some(), "the version is recorded");

    let before = asked();
    for ext in ["mod", "zip"] {
        let again = get(&format!("{ESCAPED}/@v/v1.0.0.{ext}"));
        assert!(
            matches!(again.body, ResponseBody::Blob(_)),
            "{ext} from the store"
        );
    }
    assert_eq!(asked(), before, "the upstream is not asked again");

    // Gone, with nothing of it cached: the catalog answers.
    mock::with(|h| h.upstream.as_mut().unwrap().answers.clear());
    mock::take_upstream_down();
    let list = get(&format!("{ESCAPED}/@v/list"));
    assert_eq!(list.body_bytes(), b"v1.0.0\n");
    assert!(list.cache.is_none(), "not kept past the upstream's return");
    assert!(
        list.headers
            .iter()
            .any(|(n, v)| n == "warning" && v.starts_with("110"))
    );
    assert_eq!(
        get(&format!("{ESCAPED}/@latest")).body_json()["Version"],
        "v1.0.0"
    );
    assert_eq!(get(&format!("{ESCAPED}/@v/v1.0.0.info")).status, 200);
    assert_eq!(get(&format!("{ESCAPED}/@v/v1.0.0.zip")).status, 200);
    assert_eq!(get("example.com/other/@v/list").status, 502);
}

#[test]
fn not_found_stays_plain_text_for_the_go_command() {
    upstream();
    for path in [
        "example.com/other/@v/list".to_string(),
        "example.com/other/@latest".to_string(),
        format!("{ESCAPED}/@v/v9.9.9.zip"),
        format!("{ESCAPED}/@v/v9.9.9.info"),
        // A major version the path cannot have is not asked upstream.
        format!("{ESCAPED}/@v/v2.0.0.mod"),
        format!("{ESCAPED}/@v/V1.0.0.mod"),
    ] {
        let missing = get(&path);
        assert_eq!(missing.status, 404, "{path}");
        assert!(
            String::from_utf8_lossy(missing.body_bytes()).starts_with("not found"),
            "{path}"
        );
    }
    assert!(mock::with(|h| h
        .upstream
        .as_ref()
        .unwrap()
        .asked
        .iter()
        .all(|u| !u.contains("v2.0.0"))));
}
