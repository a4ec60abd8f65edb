//! The simple repository API: `simple/` and `simple/<project>/` as PEP 503
//! HTML or PEP 691 JSON, chosen by `Accept`, with PEP 592 yanks, PEP 658/714
//! core metadata and PEP 700 `versions`, `size` and `upload-time`.

use serde_json::{Value, json};
use wharf_sdk::escape::markup as escape;
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::names;
use crate::record::{self, Release, YankReasons};

const JSON: &str = "application/vnd.pypi.simple.v1+json";
const HTML: &str = "application/vnd.pypi.simple.v1+html";
const API_VERSION: &str = "1.1";

#[derive(Debug, PartialEq, Clone, Copy)]
pub enum Format {
    Json,
    Html,
    /// Plain `text/html`, PEP 503's original content type.
    TextHtml,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => JSON,
            Format::Html => HTML,
            Format::TextHtml => "text/html; charset=utf-8",
        }
    }
}

/// The best format `accept` allows (PEP 691 negotiation); `None` → 406.
/// Without a header, or with only wildcards, it is plain HTML.
pub fn negotiate(accept: Option<&str>) -> Option<Format> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(Format::TextHtml);
    };
    let mut best: Option<(f32, usize, Format)> = None;
    for (i, item) in accept.split(',').enumerate() {
        let mut params = item.split(';');
        let media = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = params
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let format = match media.as_str() {
            JSON | "application/vnd.pypi.simple.latest+json" => Format::Json,
            HTML | "application/vnd.pypi.simple.latest+html" => Format::Html,
            "text/html" | "text/*" | "*/*" => Format::TextHtml,
            _ => continue,
        };
        // Highest q wins; among equals, the first listed.
        if q > 0.0 && best.is_none_or(|(bq, _, _)| q > bq) {
            best = Some((q, i, format));
        }
    }
    best.map(|(_, _, f)| f)
}

fn format_of(req: &Request) -> Result<Format, HttpError> {
    negotiate(req.header("accept")).ok_or_else(|| {
        HttpError::new(
            406,
            format!("acceptable content types: {JSON}, {HTML}, text/html"),
        )
    })
}

fn respond(format: Format, body: String, tags: &[&str]) -> Response {
    // The host adds `Vary: accept` from the cache hint.
    Response::bytes(200, format.content_type(), body.into_bytes()).cacheable(tags, &["accept"])
}

/// `GET simple/`: every project.
pub fn index(req: &mut Request) -> Result<Response, HttpError> {
    let format = format_of(req)?;
    let mut projects: Vec<String> = Vec::new();
    loop {
        let after = projects.last().map(String::as_str);
        let page = catalog::list_packages(None, after, catalog::PAGE)?;
        let done = page.len() < catalog::PAGE as usize;
        projects.extend(page);
        if done {
            break;
        }
    }
    Ok(respond(format, render_index(format, &projects), &["*"]))
}

pub fn render_index(format: Format, projects: &[String]) -> String {
    if format == Format::Json {
        let projects: Vec<Value> = projects.iter().map(|p| json!({ "name": p })).collect();
        return json!({ "meta": { "api-version": API_VERSION }, "projects": projects }).to_string();
    }
    let mut html = head("Simple index");
    for p in projects {
        let p = escape(p);
        html.push_str(&format!("<a href=\"{p}/\">{p}</a><br/>\n"));
    }
    html + "</body>\n</html>\n"
}

/// `GET simple/<project>/`: the files of a project. Other spellings of the
/// name, and the URL without its trailing slash, redirect to the normalized URL.
pub fn project(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("project");
    let project = names::normalize(name);
    if name != project || !req.head.raw_path.ends_with('/') {
        let location = format!("{}simple/{project}/", req.base_url());
        return Ok(Response::empty(301).header("location", &location));
    }
    let format = format_of(req)?;
    if req.is_proxy() {
        return crate::proxy::project(req, format);
    }
    let releases = record::releases(&project)?;
    if releases.is_empty() {
        return Err(HttpError::not_found(format!("no project {project}")));
    }
    let body = render_project(
        format,
        &project,
        &releases,
        &YankReasons::load(&project)?,
        req.base_url(),
    );
    Ok(respond(format, body, &[&project]))
}

pub fn render_project(
    format: Format,
    project: &str,
    releases: &[Release],
    reasons: &YankReasons,
    base_url: &str,
) -> String {
    let files = record::files_by_upload(releases);
    let url = |filename: &str| format!("{base_url}{}", record::file_path(project, filename));
    if format == Format::Json {
        let files: Vec<Value> = files
            .iter()
            .map(|(release, f)| {
                let d = &f.dist;
                let metadata = match &d.core_metadata_sha256 {
                    Some(h) => json!({ "sha256": h }),
                    None => json!(false),
                };
                let yanked = match (release.yanked, reasons.get(&release.version)) {
                    (false, _) => json!(false),
                    (true, "") => json!(true),
                    (true, reason) => json!(reason),
                };
                json!({
                    "filename": d.filename,
                    "url": url(&d.filename),
                    "hashes": { "sha256": d.sha256 },
                    "requires-python": d.requires_python,
                    "core-metadata": metadata,
                    "dist-info-metadata": metadata,
                    "yanked": yanked,
                    "size": d.size,
                    "upload-time": record::iso8601(f.uploaded_at),
                })
            })
            .collect();
        return json!({
            "meta": { "api-version": API_VERSION },
            "name": project,
            "versions": record::versions(releases),
            "files": files,
        })
        .to_string();
    }
    let mut html = head(&format!("Links for {}", escape(project)));
    html.push_str(&format!("<h1>Links for {}</h1>\n", escape(project)));
    for (release, f) in files {
        let d = &f.dist;
        let mut attrs = format!("href=\"{}#sha256={}\"", escape(&url(&d.filename)), d.sha256);
        if let Some(rp) = &d.requires_python {
            attrs.push_str(&format!(" data-requires-python=\"{}\"", escape(rp)));
        }
        if let Some(h) = &d.core_metadata_sha256 {
            attrs.push_str(&format!(
                " data-dist-info-metadata=\"sha256={h}\" data-core-metadata=\"sha256={h}\""
            ));
        }
        if release.yanked {
            attrs.push_str(&format!(
                " data-yanked=\"{}\"",
                escape(reasons.get(&release.version))
            ));
        }
        html.push_str(&format!("<a {attrs}>{}</a><br/>\n", escape(&d.filename)));
    }
    html + "</body>\n</html>\n"
}

fn head(title: &str) -> String {
    page_head(API_VERSION, title)
}

/// The start of an HTML page of repository API `version`, up to `<body>`.
pub fn page_head(version: &str, title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta name=\"pypi:repository-version\" content=\"{}\">\n<title>{title}</title>\n</head>\n<body>\n",
        escape(version)
    )
}
