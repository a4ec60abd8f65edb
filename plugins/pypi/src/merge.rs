//! A group's pages made of its members': a project that a hosted member
//! and a proxy both hold lists the files of both, so pip sees every
//! version. Members come in the group's order and the first wins a file
//! name two of them hold (its hash, its attributes, its link), which is
//! also the file the group serves: a file is the first member's that has
//! it.
//!
//! - `simple/<project>/`, PEP 691 JSON: the files of all, each name once;
//!   `meta.api-version` the lowest a member spoke; PEP 700 `versions` the
//!   union when every member listed them, left out otherwise (a proxy's
//!   page has none, and a partial list would be a wrong one).
//! - `simple/<project>/`, PEP 503 HTML: the anchors of all, each file name
//!   once, with the attributes its member gave it.
//! - `simple/`: every member's projects, once each.
//! - `pypi/<project>/json`: `releases` of all, a version the first
//!   member's; `info` and `urls` of the latest release, chosen as each
//!   member chose its own.

use serde_json::{Map, Value, json};
use std::collections::HashSet;
use wharf_sdk::escape::markup as escape;
use wharf_sdk::types::MemberAnswer;
use wharf_sdk::{HttpError, Request, Response};

use crate::{names, proxy, record, simple};

/// `GET simple/<project>/`, JSON or HTML as the members rendered it.
pub fn project(req: &Request, answers: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let content_type = content_type(&answers[0]);
    let body = match content_type.contains("json") {
        true => project_json(objects(&answers)?)?,
        false => {
            let project = names::normalize(req.param("project"));
            project_html(&project, &pages(&answers))
        }
    };
    Ok(Response::bytes(200, &content_type, body.into_bytes()))
}

/// `GET simple/`, JSON or HTML as the members rendered it.
pub fn index(_: &Request, answers: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let content_type = content_type(&answers[0]);
    let body = match content_type.contains("json") {
        true => {
            let docs = objects(&answers)?;
            let version = lowest_json_version(&docs);
            let mut names: Vec<String> = Vec::new();
            let mut seen: HashSet<&str> = HashSet::new();
            for doc in &docs {
                let projects = doc.get("projects").and_then(Value::as_array);
                for name in projects
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["name"].as_str())
                {
                    if seen.insert(name) {
                        names.push(name.to_string());
                    }
                }
            }
            names.sort();
            let projects: Vec<Value> = names.iter().map(|name| json!({ "name": name })).collect();
            let mut merged = docs.into_iter().next().expect("a merge has two answers");
            merged.insert("meta".into(), json!({ "api-version": version }));
            merged.insert("projects".into(), Value::Array(projects));
            Value::Object(merged).to_string()
        }
        false => {
            let pages = pages(&answers);
            let mut links = links(&pages);
            links.sort_by(|a, b| a.1.cmp(&b.1));
            let mut html = simple::page_head(&lowest_html_version(&pages), "Simple index");
            for (attrs, text) in links {
                html.push_str(&anchor(&attrs, &text));
            }
            html + "</body>\n</html>\n"
        }
    };
    Ok(Response::bytes(200, &content_type, body.into_bytes()))
}

/// `GET pypi/<project>/json`.
pub fn json_api(_: &Request, answers: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let docs = objects(&answers)?;
    // The latest as each member picked its own (json_api::project): the
    // newest final release that is not yanked, else the newest not yanked,
    // else the newest; the first member's among equals.
    let rank = |doc: &Map<String, Value>| {
        let info = doc.get("info");
        let version = info.and_then(|i| i["version"].as_str()).unwrap_or("");
        let yanked = info.and_then(|i| i["yanked"].as_bool()).unwrap_or(false);
        let class = match (yanked, record::is_prerelease(version)) {
            (false, false) => 2,
            (false, true) => 1,
            (true, _) => 0,
        };
        (class, record::version_key(version))
    };
    let mut latest = 0;
    for (i, doc) in docs.iter().enumerate().skip(1) {
        if rank(doc) > rank(&docs[latest]) {
            latest = i;
        }
    }
    let mut releases: Vec<(String, Value)> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for doc in &docs {
        let theirs = doc.get("releases").and_then(Value::as_object);
        for (version, files) in theirs.into_iter().flatten() {
            if seen.insert(version) {
                releases.push((version.clone(), files.clone()));
            }
        }
    }
    releases.sort_by_key(|(v, _)| record::version_key(v));
    let serial = docs
        .iter()
        .filter_map(|d| d.get("last_serial").and_then(Value::as_u64))
        .max();
    let mut merged = docs[0].clone();
    for member in ["info", "urls"] {
        if let Some(value) = docs[latest].get(member) {
            merged.insert(member.into(), value.clone());
        }
    }
    merged.insert(
        "releases".into(),
        Value::Object(releases.into_iter().collect()),
    );
    merged.insert("last_serial".into(), json!(serial.unwrap_or(0)));
    Ok(Response::json(200, &Value::Object(merged)))
}

/// The files of every PEP 691 page, each name once.
fn project_json(docs: Vec<Map<String, Value>>) -> Result<String, HttpError> {
    let version = lowest_json_version(&docs);
    let mut files: Vec<Value> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut known: HashSet<&str> = HashSet::new();
    let mut versions: Option<Vec<String>> = Some(Vec::new());
    for doc in &docs {
        let listed = doc.get("files").and_then(Value::as_array);
        for file in listed.into_iter().flatten() {
            let Some(name) = file.get("filename").and_then(Value::as_str) else {
                continue;
            };
            if seen.insert(name) {
                files.push(file.clone());
            }
        }
        match (doc.get("versions").and_then(Value::as_array), &mut versions) {
            (Some(theirs), Some(all)) => {
                for v in theirs.iter().filter_map(Value::as_str) {
                    if known.insert(v) {
                        all.push(v.to_string());
                    }
                }
            }
            _ => versions = None,
        }
    }
    let mut merged = docs.into_iter().next().expect("a merge has two answers");
    merged.insert("meta".into(), json!({ "api-version": version }));
    merged.insert("files".into(), Value::Array(files));
    match versions {
        Some(mut versions) => {
            versions.sort_by_key(|v| record::version_key(v));
            merged.insert("versions".into(), json!(versions));
        }
        None => {
            merged.remove("versions");
        }
    }
    Ok(Value::Object(merged).to_string())
}

/// The anchors of every PEP 503 page, each file name once.
fn project_html(project: &str, pages: &[String]) -> String {
    let title = format!("Links for {}", escape(project));
    let mut html = simple::page_head(&lowest_html_version(pages), &title);
    html.push_str(&format!("<h1>{title}</h1>\n"));
    for (attrs, text) in links(pages) {
        html.push_str(&anchor(&attrs, &text));
    }
    html + "</body>\n</html>\n"
}

type Link = (Vec<(String, String)>, String);

/// Every page's anchors in member order, each text (a file or project
/// name) once.
fn links(pages: &[String]) -> Vec<Link> {
    let mut links: Vec<Link> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for page in pages {
        for (attrs, text) in proxy::anchors(page) {
            let text = text.trim().to_string();
            if !text.is_empty() && seen.insert(text.clone()) {
                links.push((attrs, text));
            }
        }
    }
    links
}

fn anchor(attrs: &[(String, String)], text: &str) -> String {
    let attrs: String = attrs
        .iter()
        .map(|(name, value)| format!(" {}=\"{}\"", escape(name), escape(value)))
        .collect();
    format!("<a{attrs}>{}</a><br/>\n", escape(text))
}

/// The lowest `pypi:repository-version` the pages declare (PEP 629); "1.0"
/// for a page without one.
fn lowest_html_version(pages: &[String]) -> String {
    let declared = |page: &String| {
        let lower = page.to_ascii_lowercase();
        let mut at = 0;
        while let Some(found) = lower[at..].find("<meta") {
            let start = at + found + "<meta".len();
            let (attrs, end) = proxy::attributes(page, start)?;
            let attr = |name: &str| attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v);
            if attr("name").is_some_and(|n| n == "pypi:repository-version") {
                return attr("content").cloned();
            }
            at = end;
        }
        None
    };
    lowest(
        pages
            .iter()
            .map(|p| declared(p).unwrap_or_else(|| "1.0".into())),
    )
}

fn lowest_json_version(docs: &[Map<String, Value>]) -> String {
    let declared = |doc: &Map<String, Value>| {
        let version = doc.get("meta").and_then(|m| m["api-version"].as_str());
        version.unwrap_or("1.0").to_string()
    };
    lowest(docs.iter().map(declared))
}

/// The lowest of `major.minor` versions.
fn lowest(versions: impl Iterator<Item = String>) -> String {
    let key = |v: &String| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    versions
        .min_by_key(key)
        .unwrap_or_else(|| "1.0".to_string())
}

fn content_type(answer: &MemberAnswer) -> String {
    answer
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map_or("text/html; charset=utf-8", |(_, value)| value)
        .to_string()
}

fn pages(answers: &[MemberAnswer]) -> Vec<String> {
    answers
        .iter()
        .map(|a| String::from_utf8_lossy(&a.body).into_owned())
        .collect()
}

fn objects(answers: &[MemberAnswer]) -> Result<Vec<Map<String, Value>>, HttpError> {
    answers
        .iter()
        .map(|answer| match serde_json::from_slice(&answer.body) {
            Ok(Value::Object(doc)) => Ok(doc),
            _ => Err(HttpError::new(
                502,
                format!(
                    "{} answered with a page that is not a JSON object",
                    answer.repository
                ),
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_sdk::mock::{self, TestRequest};
    use wharf_sdk::types::{Merged, Method};

    const JSON: &str = "application/vnd.pypi.simple.v1+json";

    fn merge(path: &str, answers: Vec<MemberAnswer>) -> Merged {
        TestRequest::new(Method::Get, path).merge::<crate::Pypi>(answers)
    }

    fn answer(repository: &str, content_type: &str, body: String) -> MemberAnswer {
        mock::member_answer(repository, content_type, body)
    }

    fn text(merged: &Merged) -> String {
        String::from_utf8(merged.body.clone()).unwrap()
    }

    fn file(name: &str, member: &str) -> Value {
        json!({
            "filename": name,
            "url": format!("http://registry.test/pypi-all/files/demo/{name}"),
            "hashes": { "sha256": member },
        })
    }

    #[test]
    fn json_pages_list_every_file_once_the_first_members_first() {
        let hosted = json!({
            "meta": { "api-version": "1.1" }, "name": "demo", "versions": ["2.0", "1.0"],
            "files": [file("demo-1.0.tar.gz", "hosted"), file("demo-2.0.tar.gz", "hosted")],
        });
        let proxy = json!({
            "meta": { "api-version": "1.0" }, "name": "demo",
            "files": [file("demo-0.9.tar.gz", "proxy"), file("demo-1.0.tar.gz", "proxy")],
        });
        let answers = vec![
            answer("pypi", JSON, hosted.to_string()),
            answer("pypi-proxy", JSON, proxy.to_string()),
        ];
        let merged = merge("simple/demo/", answers);
        assert_eq!(merged.status, 200);
        let doc: Value = serde_json::from_slice(&merged.body).unwrap();
        let files: Vec<(&str, &str)> = doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["filename"].as_str().unwrap(),
                    f["hashes"]["sha256"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            files,
            [
                ("demo-1.0.tar.gz", "hosted"),
                ("demo-2.0.tar.gz", "hosted"),
                ("demo-0.9.tar.gz", "proxy")
            ]
        );
        assert_eq!(doc["meta"]["api-version"], "1.0");
        assert!(doc.get("versions").is_none(), "{doc}");
        assert_eq!(doc["name"], "demo");

        // Both speak PEP 700: the versions of both, in order.
        let other = json!({
            "meta": { "api-version": "1.1" }, "name": "demo", "versions": ["0.9", "1.10"],
            "files": [file("demo-0.9.tar.gz", "other")],
        });
        let answers = vec![
            answer("pypi", JSON, hosted.to_string()),
            answer("pypi-other", JSON, other.to_string()),
        ];
        let doc: Value = serde_json::from_slice(&merge("simple/demo/", answers).body).unwrap();
        assert_eq!(doc["versions"], json!(["0.9", "1.0", "1.10", "2.0"]));
        assert_eq!(doc["meta"]["api-version"], "1.1");
    }

    #[test]
    fn html_pages_list_every_anchor_once_with_its_members_attributes() {
        let page = |version: &str, anchors: &str| {
            format!(
                "<!DOCTYPE html><html><head><meta name=\"pypi:repository-version\" content=\"{version}\">\
                 <title>Links for demo</title></head><body><h1>Links for demo</h1>{anchors}</body></html>"
            )
        };
        let hosted = page(
            "1.1",
            "<a href=\"http://registry.test/pypi-all/files/demo/demo-1.0.tar.gz#sha256=aa\" \
             data-requires-python=\"&gt;=3.8\" data-core-metadata=\"sha256=cc\">demo-1.0.tar.gz</a><br/>",
        );
        let proxy = page(
            "1.0",
            "<a href=\"http://registry.test/pypi-all/files/demo/demo-1.0.tar.gz#sha256=bb\">demo-1.0.tar.gz</a>\
             <a href=\"http://registry.test/pypi-all/files/demo/demo-0.9.tar.gz#sha256=dd\" data-yanked>demo-0.9.tar.gz</a>",
        );
        let html = "text/html; charset=utf-8";
        let answers = vec![
            answer("pypi", html, hosted),
            answer("pypi-proxy", html, proxy),
        ];
        let merged = merge("simple/Demo/", answers);
        assert_eq!(merged.status, 200);
        let page = text(&merged);
        assert!(page.contains("content=\"1.0\""), "{page}");
        assert!(page.contains("<title>Links for demo</title>"), "{page}");
        let listed = proxy::anchors(&page);
        assert_eq!(listed.len(), 2, "{page}");
        assert_eq!(listed[0].1, "demo-1.0.tar.gz");
        assert_eq!(
            listed[0].0,
            [
                (
                    "href".to_string(),
                    "http://registry.test/pypi-all/files/demo/demo-1.0.tar.gz#sha256=aa"
                        .to_string()
                ),
                ("data-requires-python".to_string(), ">=3.8".to_string()),
                ("data-core-metadata".to_string(), "sha256=cc".to_string()),
            ]
        );
        assert_eq!(listed[1].1, "demo-0.9.tar.gz");
        assert!(
            listed[1]
                .0
                .contains(&("data-yanked".to_string(), String::new()))
        );
    }

    #[test]
    fn the_index_lists_every_members_projects_once() {
        let doc = |names: &[&str]| {
            let projects: Vec<Value> = names.iter().map(|n| json!({ "name": n })).collect();
            json!({ "meta": { "api-version": "1.1" }, "projects": projects }).to_string()
        };
        let answers = vec![
            answer("a", JSON, doc(&["b", "d"])),
            answer("b", JSON, doc(&["a", "b"])),
        ];
        let merged: Value = serde_json::from_slice(&merge("simple/", answers).body).unwrap();
        assert_eq!(
            merged["projects"],
            json!([{ "name": "a" }, { "name": "b" }, { "name": "d" }])
        );

        let html = |names: &[&str]| {
            let mut page = simple::page_head("1.1", "Simple index");
            for n in names {
                page.push_str(&format!("<a href=\"{n}/\">{n}</a><br/>\n"));
            }
            page + "</body>\n</html>\n"
        };
        let answers = vec![
            answer("a", "text/html", html(&["b", "d"])),
            answer("b", "text/html", html(&["a", "b"])),
        ];
        let merged = text(&merge("simple/", answers));
        assert_eq!(merged, html(&["a", "b", "d"]));
    }

    #[test]
    fn the_json_api_lists_every_release_and_the_latest_of_all() {
        let doc = |latest: &str, yanked: bool, releases: &[(&str, &str)], serial: u64| {
            let releases: Map<String, Value> = releases
                .iter()
                .map(|(v, member)| {
                    (
                        v.to_string(),
                        json!([{ "filename": format!("demo-{v}.tar.gz"), "member": member }]),
                    )
                })
                .collect();
            json!({
                "info": { "name": "demo", "version": latest, "yanked": yanked },
                "releases": releases,
                "urls": [{ "filename": format!("demo-{latest}.tar.gz") }],
                "last_serial": serial,
            })
            .to_string()
        };
        let json = "application/json";
        let a = doc("1.0", false, &[("1.0", "a"), ("2.0rc1", "a")], 3);
        let b = doc("1.5", false, &[("1.0", "b"), ("1.5", "b")], 7);
        let answers = vec![answer("a", json, a.clone()), answer("b", json, b)];
        let merged: Value = serde_json::from_slice(&merge("pypi/demo/json", answers).body).unwrap();
        let releases: Vec<&String> = merged["releases"].as_object().unwrap().keys().collect();
        let mut sorted = releases.clone();
        sorted.sort_by_key(|v| record::version_key(v));
        assert_eq!(sorted, ["1.0", "1.5", "2.0rc1"]);
        assert_eq!(merged["releases"]["1.0"][0]["member"], "a");
        assert_eq!(merged["info"]["version"], "1.5");
        assert_eq!(merged["urls"][0]["filename"], "demo-1.5.tar.gz");
        assert_eq!(merged["last_serial"], 7);

        // A yanked latest loses to a release that is not.
        let c = doc("3.0", true, &[("3.0", "c")], 1);
        let answers = vec![answer("c", json, c), answer("a", json, a)];
        let merged: Value = serde_json::from_slice(&merge("pypi/demo/json", answers).body).unwrap();
        assert_eq!(merged["info"]["version"], "1.0");
        assert_eq!(merged["releases"]["3.0"][0]["member"], "c");
    }

    #[test]
    fn a_member_page_that_is_not_json_is_a_bad_gateway_in_pypi_shape() {
        let answers = vec![
            answer("pypi", JSON, json!({ "files": [] }).to_string()),
            answer("pypi-proxy", JSON, "<html>".into()),
        ];
        let merged = merge("simple/demo/", answers);
        assert_eq!(merged.status, 502);
        assert!(text(&merged).contains("pypi-proxy"), "{}", text(&merged));
    }
}
