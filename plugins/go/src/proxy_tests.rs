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

/// The checksum database of the proxy's `sumdb` setting, at its own URL.
mod sumdb {
    use super::*;

    const DB: &str = "http://sumdb.test/base";
    const LOOKUP: &str = "lookup/example.com/!hello/greet@v1.0.0";
    const RECORD: &str = "7\nexample.com/Hello/greet v1.0.0 h1:x=\n\ngo.sum database tree\n";

    /// A proxy relaying `sum.test` from [`DB`], which knows one record, a
    /// full tile and a partial one.
    fn database() {
        upstream();
        mock::with(|h| {
            h.settings_json = format!(r#"{{"sumdb": [{{"name": "sum.test", "url": "{DB}/"}}]}}"#)
        });
        mock::serve_upstream(&format!("{DB}/{LOOKUP}"), 200, RECORD);
        mock::serve_upstream(&format!("{DB}/tile/8/0/000"), 200, vec![1; 256 * 32]);
        mock::serve_upstream(&format!("{DB}/tile/8/0/001.p/3"), 200, vec![2; 3 * 32]);
        mock::serve_upstream(&format!("{DB}/tile/8/data/001.p/3"), 200, "records\n");
        mock::serve_upstream(&format!("{DB}/latest"), 200, "go.sum database tree\n");
    }

    fn asked_for(path: &str) -> usize {
        let url = format!("{DB}/{path}");
        mock::with(|h| {
            h.upstream
                .as_ref()
                .unwrap()
                .asked
                .iter()
                .filter(|u| **u == url)
                .count()
        })
    }

    fn text(response: &wharf_sdk::Response) -> String {
        String::from_utf8_lossy(response.body_bytes()).into_owned()
    }

    #[test]
    fn only_a_named_database_of_a_proxy_is_supported() {
        mock::reset();
        let hosted = get("sumdb/sum.golang.org/supported");
        assert_eq!(hosted.status, 404, "a hosted repository relays nothing");
        upstream();
        assert_eq!(get("sumdb/sum.golang.org/supported").status, 404, "unset");
        database();
        assert_eq!(get("sumdb/sum.test/supported").status, 200);
        for path in [
            "sumdb/sum.golang.org/supported".to_string(),
            "sumdb/sum.golang.org/tile/8/0/000".into(),
            format!("sumdb/sum.golang.org/{LOOKUP}"),
            "sumdb/sum.tes/latest".into(),
        ] {
            let missing = get(&path);
            assert_eq!(missing.status, 404, "{path}");
            assert!(text(&missing).starts_with("not found"), "{path}");
        }
        assert_eq!(asked(), 0, "supported asks nobody");
    }

    #[test]
    fn lookups_and_full_tiles_are_pulled_once_and_kept() {
        database();
        let lookup = get(&format!("sumdb/sum.test/{LOOKUP}"));
        assert_eq!((lookup.status, text(&lookup)), (200, RECORD.to_string()));
        let tile = get("sumdb/sum.test/tile/8/0/000");
        assert_eq!((tile.status, tile.body_bytes().len()), (200, 256 * 32));
        let kept = mock::with(|h| {
            ["lookup/example.com/!hello/greet@v1.0.0", "tile/8/0/000"].map(|p| {
                h.catalog
                    .assets
                    .contains_key(&format!("sumdb/sum.test/{p}"))
            })
        });
        assert_eq!(kept, [true, true]);

        mock::take_upstream_down();
        for path in [
            format!("sumdb/sum.test/{LOOKUP}"),
            "sumdb/sum.test/tile/8/0/000".into(),
        ] {
            let again = get(&path);
            assert!(
                matches!(again.body, ResponseBody::Blob(_)),
                "{path} from the store"
            );
            assert!(again.cache.is_some(), "{path} is the host's to cache");
        }
        assert_eq!((asked_for(LOOKUP), asked_for("tile/8/0/000")), (1, 1));
    }

    #[test]
    fn partial_tiles_and_latest_go_through_the_metadata_cache() {
        database();
        for _ in 0..2 {
            let tile = get("sumdb/sum.test/tile/8/0/001.p/3");
            assert_eq!((tile.status, tile.body_bytes()), (200, &[2; 96][..]));
            assert_eq!(
                tile.header_value("content-type"),
                Some("application/octet-stream")
            );
        }
        assert_eq!(asked_for("tile/8/0/001.p/3"), 2, "fetched, not kept");
        let data = get("sumdb/sum.test/tile/8/data/001.p/3");
        assert_eq!(text(&data), "records\n");
        assert_eq!(
            text(&get("sumdb/sum.test/latest")),
            "go.sum database tree\n"
        );
        let nothing_kept = mock::with(|h| {
            !h.catalog
                .assets
                .contains_key("sumdb/sum.test/tile/8/0/001.p/3")
        });
        assert!(nothing_kept);

        // Gone: the last good answer (stale, the host says so).
        mock::take_upstream_down();
        assert_eq!(get("sumdb/sum.test/tile/8/0/001.p/3").status, 200);
        assert_eq!(get("sumdb/sum.test/tile/8/0/002.p/3").status, 502);
    }

    #[test]
    fn what_the_database_lacks_or_garbles_is_not_passed_on() {
        database();
        mock::serve_upstream(&format!("{DB}/tile/8/0/001.p/4"), 200, vec![0; 100]);
        mock::serve_upstream(
            &format!("{DB}/tile/8/data/002.p/1"),
            200,
            vec![b'a'; 9 << 10],
        );
        for (path, status) in [
            ("lookup/example.com/other@v1.0.0", 404),
            ("tile/8/0/005", 404),
            ("tile/8/0/001.p/4", 502),
            ("tile/8/data/002.p/1", 502),
        ] {
            let answer = get(&format!("sumdb/sum.test/{path}"));
            assert_eq!(answer.status, status, "{path}: {}", text(&answer));
            assert_eq!(
                answer.header_value("content-type"),
                Some("text/plain; charset=utf-8")
            );
        }
        let kept = mock::with(|h| h.catalog.assets.contains_key("sumdb/sum.test/tile/8/0/005"));
        assert!(!kept, "a refusal is not kept");
    }

    /// Only canonical paths of the configured database go upstream: no
    /// other host, no `..`, no encoded separators, no tile too large.
    #[test]
    fn malformed_paths_are_refused_before_any_upstream_request() {
        database();
        let malformed = [
            "tile/8/0/0",
            "tile/8/0/0000",
            "tile/8/0/+00",
            "tile/08/0/000",
            "tile/9/0/000",
            "tile/0/0/000",
            "tile/30/0/000",
            "tile/8/64/000",
            "tile/8/-1/000",
            "tile/8/data",
            "tile/8/0/000.p/0",
            "tile/8/0/000.p/256",
            "tile/8/0/000.p/01",
            "tile/8/0/000.p",
            "tile/8/0/001/000",
            "tile/8/0/x001",
            "tile/8/0/x000/001",
            "tile/8/0/x001/x002/x003/x004/x005/x006/x007/008",
            "tile/8/0/x999/x999/x999/x999/x999/x999/999",
            "tile/8/0/%2e%2e/000",
            "tile/8/0/000%2F..%2F..%2Flatest",
            "lookup/example.com/Hello/greet@v1.0.0",
            "lookup/example.com/!hello/greet@v1.0",
            "lookup/example.com/!hello/greet@V1.0.0",
            "lookup/example.com/!hello/greet@v1.0.0@v1.0.0",
            "lookup/example.com/!hello/greet",
            "lookup/example.com/%2e%2e/greet@v1.0.0",
            "lookup/example.com/..%2F..%2Flatest@v1.0.0",
            "lookup/http:%2F%2Fevil.test@v1.0.0",
            "lookup/evil.test%2Fx%3Fy@v1.0.0",
            "lookup/example.com/greet@v1.0.0%2F..%2F..",
            "lookup/example.com/greet@v1.0.0/go.mod",
        ];
        for path in malformed {
            let answer = get(&format!("sumdb/sum.test/{path}"));
            assert!(
                answer.status == 400 || answer.status == 404,
                "{path}: {} {}",
                answer.status,
                text(&answer)
            );
            assert_eq!(
                answer.header_value("content-type"),
                Some("text/plain; charset=utf-8"),
                "{path}"
            );
        }
        assert_eq!(asked(), 0, "nothing went upstream");
    }

    #[test]
    fn canonical_paths_of_every_kind_are_relayed_as_written() {
        database();
        for path in [
            "tile/8/1/000.p/1",
            "tile/8/0/x001/x234/067",
            "tile/8/0/x001/x234/067.p/255",
            "tile/8/data/x001/000",
            "tile/1/63/000.p/1",
            "lookup/gopkg.in/yaml.v3@v3.0.1",
            "lookup/example.com/m/v2@v2.0.0-20240101120000-abcdef123456",
            "lookup/example.com/old@v2.0.0+incompatible",
            "lookup/example.com/!hello/greet@v1.0.0-!r!c1",
        ] {
            get(&format!("sumdb/sum.test/{path}"));
            assert_eq!(asked_for(path), 1, "{path}");
        }
    }

    #[test]
    fn the_url_defaults_to_the_name_and_a_bad_one_is_the_operators_error() {
        upstream();
        mock::with(|h| h.settings_json = r#"{"sumdb": [{"name": "sum.golang.org"}]}"#.into());
        // A query is not the database's: it stays here.
        get("sumdb/sum.golang.org/tile/8/0/000?next=https://evil.test/");
        let asked_last =
            mock::with(|h| h.upstream.as_ref().unwrap().asked.last().cloned().unwrap());
        assert_eq!(asked_last, "https://sum.golang.org/tile/8/0/000");

        for settings in [
            r#"{"sumdb": [{"name": "sum.test", "url": "ftp://x/"}]}"#,
            r#"{"sumdb": [{"name": "sum.test", "url": "https://u:p@x/"}]}"#,
            r#"{"sumdb": [{"name": "sum.test", "url": "https://x/?a="}]}"#,
            r#"{"sumdb": [{"name": "sum.test", "key": "x"}]}"#,
            r#"{"sumdb": {"name": "sum.test"}}"#,
        ] {
            mock::with(|h| h.settings_json = settings.into());
            assert_eq!(get("sumdb/sum.test/supported").status, 500, "{settings}");
        }
    }
}
