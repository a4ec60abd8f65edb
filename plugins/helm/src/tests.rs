//! helm's and ChartMuseum clients' requests, replayed against the mock host.

use serde_json::{Value, json};
use std::io::Write;
use wharf_sdk::Response;
use wharf_sdk::mock::{self, TestRequest};
use wharf_sdk::types::{Action, Method, Route};
use yaml_rust2::YamlLoader;

use crate::Helm;
use crate::chart::{self, split_file};

fn send(req: TestRequest) -> (Route, Response) {
    req.send::<Helm>().expect("the request classifies")
}

pub(crate) fn get(path: &str) -> Response {
    send(TestRequest::new(Method::Get, path)).1
}

pub(crate) fn text(r: &Response) -> String {
    String::from_utf8_lossy(r.body_bytes()).into_owned()
}

pub fn chart_yaml(name: &str, version: &str) -> String {
    format!(
        "apiVersion: v2\nname: {name}\nversion: {version}\ndescription: A chart\ntype: application\nappVersion: 1.10\nkeywords:\n- web\nmaintainers:\n- name: Ann\n  email: ann@example.com\ndependencies:\n- name: redis\n  version: ~18.0.0\n  repository: https://charts.example.com\n  enabled: yes\n  import-values:\n  - data\n  - child: a\n    parent: b\nannotations:\n  category: Web\nunknownField: dropped\n"
    )
}

/// A chart archive: `files` under `folder/`, gzipped.
pub fn tgz(folder: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("{folder}/{path}"), *data)
            .unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

pub fn chart(name: &str, version: &str) -> Vec<u8> {
    let yaml = chart_yaml(name, version);
    tgz(
        name,
        &[
            ("Chart.yaml", yaml.as_bytes()),
            ("values.yaml", b"replicas: 1\n"),
            ("templates/cm.yaml", b"kind: ConfigMap\n"),
        ],
    )
}

pub(crate) fn sha256_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    wharf_sdk::hex(sha2::Sha256::digest(bytes))
}

/// A provenance file as `helm package --sign` writes it (the signature is
/// not checked here).
pub fn prov(name: &str, version: &str, sha256: &str) -> String {
    let yaml = chart_yaml(name, version).replace("\n-", "\n- -");
    format!(
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n{yaml}\n...\nfiles:\n  {name}-{version}.tgz: sha256:{sha256}\n-----BEGIN PGP SIGNATURE-----\n\nwsBcBAEBCgAQBQJn\n-----END PGP SIGNATURE-----\n"
    )
}

fn upload(bytes: Vec<u8>) -> Response {
    send(TestRequest::new(Method::Post, "api/charts").body(bytes)).1
}

fn setup() {
    mock::reset();
    mock::add_user("alice", "pw");
    mock::login_as(Some("alice"));
}

#[test]
fn upload_then_index() {
    setup();
    let bytes = chart("web", "1.0.0");
    let (route, res) = send(TestRequest::new(Method::Post, "api/charts").body(bytes.clone()));
    assert_eq!(
        (route.access[0].action, route.access[0].package.clone()),
        (Action::Write, None)
    );
    assert_eq!((res.status, res.body_json()), (201, json!({"saved": true})));
    assert_eq!(upload(chart("web", "1.2.0-rc.1")).status, 201);
    assert_eq!(upload(chart("db", "0.1.0")).status, 201);

    let res = get("index.yaml");
    assert_eq!(res.status, 200);
    assert!(res.cache.is_some(), "index.yaml is cached by the host");
    let doc = &YamlLoader::load_from_str(&text(&res)).unwrap()[0];
    assert_eq!(doc["apiVersion"].as_str(), Some("v1"));
    let web = &doc["entries"]["web"];
    assert_eq!(
        web[0]["version"].as_str(),
        Some("1.2.0-rc.1"),
        "newest first"
    );
    let entry = &web[1];
    assert_eq!(entry["version"].as_str(), Some("1.0.0"));
    assert_eq!(entry["appVersion"].as_str(), Some("1.10"), "text kept");
    assert_eq!(entry["digest"].as_str(), Some(sha256_of(&bytes).as_str()));
    assert_eq!(entry["urls"][0].as_str(), Some("charts/web-1.0.0.tgz"));
    assert_eq!(entry["keywords"][0].as_str(), Some("web"));
    assert_eq!(
        entry["maintainers"][0]["email"].as_str(),
        Some("ann@example.com")
    );
    assert_eq!(entry["dependencies"][0]["enabled"].as_bool(), Some(true));
    assert_eq!(
        entry["dependencies"][0]["import-values"][1]["parent"].as_str(),
        Some("b")
    );
    assert_eq!(entry["annotations"]["category"].as_str(), Some("Web"));
    assert!(entry["unknownField"].is_badvalue(), "Helm's fields only");
    assert!(entry["created"].as_str().unwrap().ends_with('Z'));
    assert_eq!(doc["entries"]["db"][0]["name"].as_str(), Some("db"));

    let (route, res) = send(TestRequest::new(Method::Get, "charts/web-1.0.0.tgz"));
    assert_eq!(route.access[0].package.as_deref(), Some("web"));
    assert_eq!(res.status, 200);
    assert_eq!(get("charts/web-9.9.9.tgz").status, 404);
}

#[test]
fn chartmuseum_listing_and_delete() {
    setup();
    upload(chart("web", "1.0.0"));
    upload(chart("web", "2.0.0"));
    let all = get("api/charts").body_json();
    assert_eq!(all["web"].as_array().unwrap().len(), 2);
    let list = get("api/charts/web").body_json();
    assert_eq!(list[0]["version"], "2.0.0");
    assert_eq!(get("api/charts/web/1.0.0").body_json()["version"], "1.0.0");
    assert_eq!(get("api/charts/web/latest").body_json()["version"], "2.0.0");
    let missing = get("api/charts/nothing");
    assert_eq!(
        (missing.status, missing.body_json()["error"].is_string()),
        (404, true)
    );

    let (route, res) = send(TestRequest::new(Method::Delete, "api/charts/web/2.0.0"));
    assert_eq!(route.access[0].action, Action::Delete);
    assert_eq!(
        (res.status, res.body_json()),
        (200, json!({"deleted": true}))
    );
    assert_eq!(get("api/charts/web/2.0.0").status, 404);
    assert_eq!(get("charts/web-2.0.0.tgz").status, 404);
    let res = send(TestRequest::new(Method::Delete, "api/charts/web/2.0.0")).1;
    assert_eq!(res.status, 404);
}

#[test]
fn an_existing_version_is_a_409_unless_overwrite_is_allowed_and_asked() {
    setup();
    assert_eq!(upload(chart("web", "1.0.0")).status, 201);
    let res = upload(chart("web", "1.0.0"));
    assert_eq!(res.status, 409);
    assert_eq!(res.body_json()["error"], "web-1.0.0.tgz already exists");
    // `?force` asks for delete too, and needs the repository's consent.
    let force = || TestRequest::new(Method::Post, "api/charts?force").body(chart("web", "1.0.0"));
    let (route, res) = send(force());
    assert!(route.access.iter().any(|a| a.action == Action::Delete));
    assert_eq!(res.status, 409);
    mock::with(|h| h.settings_json = r#"{"allow_overwrite": true}"#.into());
    let changed = tgz(
        "web",
        &[(
            "Chart.yaml",
            chart_yaml("web", "1.0.0")
                .replace("A chart", "Changed")
                .as_bytes(),
        )],
    );
    let res = send(TestRequest::new(Method::Post, "api/charts?force").body(changed)).1;
    assert_eq!(res.status, 201);
    assert_eq!(
        get("api/charts/web/1.0.0").body_json()["description"],
        "Changed"
    );
}

#[test]
fn bad_charts_are_refused_and_change_nothing() {
    setup();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not a tgz".to_vec(), "not a chart"),
        (
            tgz("web", &[("values.yaml", b"a: 1\n")]),
            "no {name}/Chart.yaml",
        ),
        (
            tgz(
                "other",
                &[("Chart.yaml", chart_yaml("web", "1.0.0").as_bytes())],
            ),
            "folder",
        ),
        (
            tgz(
                "web",
                &[("Chart.yaml", chart_yaml("web", "1.0").as_bytes())],
            ),
            "SemVer",
        ),
        (
            tgz(
                "web",
                &[("Chart.yaml", chart_yaml("web", "v1.0.0").as_bytes())],
            ),
            "SemVer",
        ),
        (
            tgz(
                "a.b",
                &[("Chart.yaml", chart_yaml("a.b", "1.0.0").as_bytes())],
            ),
            "chart name",
        ),
        (
            tgz("web", &[("Chart.yaml", b"name: web\nversion: 1.0.0\n")]),
            "apiVersion",
        ),
        (tgz("web", &[("Chart.yaml", b"- a list\n")]), "mapping"),
        (
            tgz(
                "web",
                &[(
                    "Chart.yaml",
                    chart_yaml("web", "1.0.0")
                        .replace("enabled: yes", "enabled: maybe")
                        .as_bytes(),
                )],
            ),
            "true or false",
        ),
        (
            tgz(
                "web",
                &[(
                    "Chart.yaml",
                    chart_yaml("web", "1.0.0")
                        .replace("description: A chart", "description: [a]")
                        .as_bytes(),
                )],
            ),
            "must be a string",
        ),
        (Vec::new(), "must be a chart"),
    ];
    for (bytes, why) in cases {
        let res = upload(bytes);
        let error = res.body_json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_eq!(res.status, 400, "{why}: {error}");
        assert!(error.contains(why), "{why}: {error}");
    }
    // Two top folders: not one chart.
    let mut two = tgz(
        "web",
        &[("Chart.yaml", chart_yaml("web", "1.0.0").as_bytes())],
    );
    two = {
        let _ = two;
        let mut tar = tar::Builder::new(Vec::new());
        for path in ["web/Chart.yaml", "evil/x"] {
            let data = chart_yaml("web", "1.0.0");
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, path, data.as_bytes()).unwrap();
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar.into_inner().unwrap()).unwrap();
        gz.finish().unwrap()
    };
    assert_eq!(upload(two).status, 400);
    assert!(mock::with(
        |h| h.catalog.versions.is_empty() && h.catalog.assets.is_empty()
    ));
}

#[test]
fn a_compression_bomb_is_a_413() {
    setup();
    let zeros = vec![0u8; 6 << 20];
    let res = upload(tgz(
        "web",
        &[
            ("Chart.yaml", chart_yaml("web", "1.0.0").as_bytes()),
            ("big", &zeros),
        ],
    ));
    assert_eq!(res.status, 413, "{}", text(&res));
    assert!(mock::with(|h| h.catalog.versions.is_empty()));
}

#[test]
fn provenance_raw_and_multipart() {
    setup();
    let bytes = chart("web", "1.0.0");
    let sha = sha256_of(&bytes);
    assert_eq!(upload(bytes).status, 201);
    let prov_text = prov("web", "1.0.0", &sha);
    // A provenance file of other bytes is refused.
    let wrong = prov("web", "1.0.0", &"0".repeat(64));
    let res = send(TestRequest::new(Method::Post, "api/prov").body(wrong)).1;
    assert_eq!(res.status, 400, "{}", text(&res));
    let res = send(TestRequest::new(Method::Post, "api/prov").body(prov_text.clone())).1;
    assert_eq!(res.status, 201, "{}", text(&res));
    assert_eq!(get("charts/web-1.0.0.tgz.prov").status, 200);
    let res = send(TestRequest::new(Method::Post, "api/prov").body(prov_text)).1;
    assert_eq!(res.status, 409);
    // For a chart not uploaded: 404.
    let res = send(TestRequest::new(Method::Post, "api/prov").body(prov("web", "3.0.0", &sha))).1;
    assert_eq!(res.status, 404);

    // Multipart: chart and prov in one form, one transaction.
    let bytes = chart("web", "2.0.0");
    let sha = sha256_of(&bytes);
    let boundary = "XyZ";
    let mut form = Vec::new();
    for (field, file, data) in [
        ("chart", "web-2.0.0.tgz", bytes.clone()),
        (
            "prov",
            "web-2.0.0.tgz.prov",
            prov("web", "2.0.0", &sha).into_bytes(),
        ),
    ] {
        form.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
        form.extend(data);
        form.extend(b"\r\n");
    }
    form.extend(format!("--{boundary}--\r\n").as_bytes());
    let req = TestRequest::new(Method::Post, "api/charts")
        .header(
            "content-type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .body(form);
    let res = send(req).1;
    assert_eq!(res.status, 201, "{}", text(&res));
    assert_eq!(get("charts/web-2.0.0.tgz.prov").status, 200);
    assert_eq!(get("charts/web-2.0.0.tgz").status, 200);
}

#[test]
fn a_mismatched_multipart_prov_stores_nothing() {
    setup();
    let bytes = chart("web", "1.0.0");
    let boundary = "b";
    let mut form = Vec::new();
    for (field, data) in [
        ("chart", bytes),
        ("prov", prov("web", "1.0.0", &"1".repeat(64)).into_bytes()),
    ] {
        form.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"f\"\r\n\r\n").as_bytes());
        form.extend(data);
        form.extend(b"\r\n");
    }
    form.extend(format!("--{boundary}--\r\n").as_bytes());
    let req = TestRequest::new(Method::Post, "api/charts")
        .header(
            "content-type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .body(form);
    assert_eq!(send(req).1.status, 400);
    assert!(mock::with(|h| h.catalog.versions.is_empty()));
}

#[test]
fn anonymous_uploads_are_refused() {
    setup();
    mock::login_as(None);
    let res = upload(chart("web", "1.0.0"));
    assert_eq!(res.status, 403, "{}", text(&res));
    assert!(res.body_json()["error"].is_string());
}

#[test]
fn a_store_outage_is_a_503() {
    setup();
    mock::with(|h| h.store_down = true);
    let res = get("index.yaml");
    assert_eq!(
        (res.status, res.body_json()["error"].is_string()),
        (503, true)
    );
}

#[test]
fn file_names_split_exactly() {
    assert_eq!(split_file("web-1.0.0.tgz"), Some(("web", "1.0.0", false)));
    assert_eq!(
        split_file("my-app-2-10.1.0-rc.1+b.2.tgz.prov"),
        Some(("my-app-2", "10.1.0-rc.1+b.2", true))
    );
    assert_eq!(
        split_file("a-1-1.0.0-1.tgz"),
        Some(("a-1", "1.0.0-1", false))
    );
    assert_eq!(split_file("web.tgz"), None);
    assert_eq!(split_file("web-1.0.0.zip"), None);
    assert!(chart::valid_name("my_chart-2"));
    assert!(!chart::valid_name("-x") && !chart::valid_name("a/b") && !chart::valid_name(".."));
}

#[test]
fn prov_parsing_undoes_dash_escaping() {
    let sha = "ab".repeat(32);
    let p = crate::prov::parse(&prov("web", "1.0.0", &sha)).unwrap();
    assert_eq!((p.name.as_str(), p.version.as_str()), ("web", "1.0.0"));
    assert!(p.matches("web", "1.0.0", &sha).is_ok());
    assert!(p.matches("web", "1.0.1", &sha).is_err());
    assert!(crate::prov::parse("hello").is_err());
}

#[test]
fn odd_chart_strings_round_trip_through_the_index() {
    setup();
    let description = "Quotes \" ' and: colons # hash\nsecond line — ünïcödé 🚀\n\ttab";
    let yaml = format!(
        "apiVersion: v2\nname: odd\nversion: 1.0.0\ndescription: {}\nhome: 'yes'\nkeywords: ['1_000', '2026-01-01', 'null']\n",
        serde_json::to_string(description).unwrap()
    );
    assert_eq!(
        upload(tgz("odd", &[("Chart.yaml", yaml.as_bytes())])).status,
        201
    );
    let doc = &YamlLoader::load_from_str(&text(&get("index.yaml"))).unwrap()[0];
    let entry = &doc["entries"]["odd"][0];
    assert_eq!(entry["description"].as_str(), Some(description));
    assert_eq!(entry["home"].as_str(), Some("yes"));
    let keywords: Vec<_> = entry["keywords"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(keywords, ["1_000", "2026-01-01", "null"]);
    let api: Value = get("api/charts/odd/1.0.0").body_json();
    assert_eq!(api["description"], description);
}
