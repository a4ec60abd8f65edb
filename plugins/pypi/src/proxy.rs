//! A proxy repository: a project's simple page comes from the upstream
//! index (PEP 691 JSON when it speaks it, PEP 503 HTML otherwise), through
//! the host's metadata cache, with every file link pointing back here; a
//! file is pulled once, checked against the sha256 the page states, and
//! kept as an asset of the project, so pip installs it with the upstream
//! gone too.

use serde_json::{Value, json};
use wharf_sdk::escape::markup as escape;
use wharf_sdk::types::{DigestSet, Owner, Write};
use wharf_sdk::upstream::{self, DigestKind, Pull};
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::simple::Format;
use crate::{names, record};

/// Largest simple page read from the upstream.
const PAGE_LIMIT: usize = 32 << 20;
/// What the upstream is asked for: JSON, else HTML.
const ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1";

/// A file the upstream lists.
#[derive(Debug, PartialEq)]
struct Listed {
    filename: String,
    /// For the host: relative to the repository's upstream, or absolute.
    url: String,
    sha256: Option<String>,
    requires_python: Option<String>,
    /// `Some("")`: yanked without a reason.
    yanked: Option<String>,
}

/// `GET simple/<project>/`.
pub fn project(req: &mut Request, format: Format) -> Result<Response, HttpError> {
    let project = names::normalize(req.param("project"));
    let files = listed(&project)?;
    let url = |f: &Listed| {
        format!(
            "{}{}",
            req.base_url(),
            record::file_path(&project, &f.filename)
        )
    };
    let body = match format {
        Format::Json => {
            let files: Vec<Value> = files
                .iter()
                .map(|f| {
                    let yanked = match f.yanked.as_deref() {
                        None => json!(false),
                        Some("") => json!(true),
                        Some(reason) => json!(reason),
                    };
                    let hashes = match &f.sha256 {
                        Some(h) => json!({ "sha256": h }),
                        None => json!({}),
                    };
                    json!({
                        "filename": f.filename,
                        "url": url(f),
                        "hashes": hashes,
                        "requires-python": f.requires_python,
                        "yanked": yanked,
                    })
                })
                .collect();
            json!({ "meta": { "api-version": "1.0" }, "name": project, "files": files }).to_string()
        }
        Format::Html | Format::TextHtml => {
            let mut html = format!(
                "<!DOCTYPE html>\n<html>\n<head>\n<meta name=\"pypi:repository-version\" content=\"1.0\">\n\
                 <title>Links for {0}</title>\n</head>\n<body>\n<h1>Links for {0}</h1>\n",
                escape(&project)
            );
            for f in &files {
                let fragment = f
                    .sha256
                    .as_ref()
                    .map(|h| format!("#sha256={h}"))
                    .unwrap_or_default();
                let mut attrs = format!("href=\"{}{fragment}\"", escape(&url(f)));
                if let Some(rp) = &f.requires_python {
                    attrs.push_str(&format!(" data-requires-python=\"{}\"", escape(rp)));
                }
                if let Some(reason) = &f.yanked {
                    attrs.push_str(&format!(" data-yanked=\"{}\"", escape(reason)));
                }
                html.push_str(&format!("<a {attrs}>{}</a><br/>\n", escape(&f.filename)));
            }
            html + "</body>\n</html>\n"
        }
    };
    Ok(
        Response::bytes(200, format.content_type(), body.into_bytes())
            .cacheable(&[&project], &["accept"]),
    )
}

/// `GET files/<project>/<file>`: from the store once pulled, from the
/// upstream (streamed while it is stored) the first time.
pub fn file(req: &mut Request) -> Result<Response, HttpError> {
    let project = names::normalize(req.param("project"));
    let filename = req.param("file").to_string();
    let path = record::file_path(&project, &filename);
    if let Some(asset) = catalog::find_asset(&path)? {
        return Ok(Response::blob(&asset.blake3, &asset.content_type).cacheable(&[&project], &[]));
    }
    let listed = listed(&project)?
        .into_iter()
        .find(|f| f.filename == filename)
        .ok_or_else(|| HttpError::not_found(format!("{filename} is not a file of {project}")))?;
    let Some(sha256) = listed.sha256 else {
        return Err(HttpError::new(
            502,
            "the upstream states no sha256 for this file",
        ));
    };
    let record = Write::PutAsset((
        Owner {
            package: project.clone(),
            version: None,
        },
        upstream::pulled_asset(&path, "application/octet-stream"),
        false,
    ));
    let pulled = upstream::pull(Pull {
        url: listed.url,
        want: DigestSet::SHA256,
        expect: vec![(DigestKind::Sha256, sha256)],
        record: vec![record],
    })?;
    upstream::serve_pulled(pulled, "application/octet-stream", &filename)
}

/// The files the upstream lists for `project`.
fn listed(project: &str) -> Result<Vec<Listed>, HttpError> {
    let page = format!("simple/{project}/");
    let page_doc = upstream::document(&page, Some(ACCEPT), PAGE_LIMIT, project)?
        .ok_or_else(|| HttpError::not_found(format!("no project {project}")))?;
    let json = page_doc
        .header("content-type")
        .is_some_and(|t| t.contains("json"));
    let body = page_doc.body;
    let files = match json {
        true => from_json(&body)?,
        false => from_html(&String::from_utf8_lossy(&body)),
    };
    Ok(files
        .into_iter()
        .map(|f| Listed {
            url: for_host(&page, &f.url),
            ..f
        })
        .collect())
}

/// A link of the page at `page` as the host fetches it: an absolute or
/// root-relative URL as it is, another relative to the page.
fn for_host(page: &str, href: &str) -> String {
    match href.contains("://") || href.starts_with('/') {
        true => href.to_string(),
        false => format!("{page}{href}"),
    }
}

/// PEP 691's `files`.
fn from_json(body: &[u8]) -> Result<Vec<Listed>, HttpError> {
    let doc: Value = serde_json::from_slice(body)
        .map_err(|e| HttpError::new(502, format!("the upstream's page is not JSON: {e}")))?;
    let files = doc
        .get("files")
        .and_then(Value::as_array)
        .ok_or_else(|| HttpError::new(502, "the upstream's page lists no files"))?;
    Ok(files
        .iter()
        .filter_map(|f| {
            let text = |key: &str| f.get(key).and_then(Value::as_str).map(str::to_string);
            let yanked = match f.get("yanked") {
                Some(Value::Bool(true)) => Some(String::new()),
                Some(Value::String(reason)) => Some(reason.clone()),
                _ => None,
            };
            Some(Listed {
                filename: text("filename")?,
                url: text("url")?,
                sha256: f
                    .pointer("/hashes/sha256")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase),
                requires_python: text("requires-python"),
                yanked,
            })
        })
        .filter(|f| safe_filename(&f.filename))
        .collect())
}

/// PEP 503's anchors: the text is the file name, the href's fragment its
/// hash.
fn from_html(html: &str) -> Vec<Listed> {
    anchors(html)
        .into_iter()
        .filter_map(|(attrs, text)| {
            let attr = |name: &str| {
                attrs
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
            };
            let href = attr("href")?;
            let (url, fragment) = href.split_once('#').unwrap_or((&href, ""));
            let sha256 = fragment
                .strip_prefix("sha256=")
                .map(str::to_ascii_lowercase);
            Some(Listed {
                filename: text.trim().to_string(),
                url: url.to_string(),
                sha256,
                requires_python: attr("data-requires-python"),
                yanked: attr("data-yanked"),
            })
        })
        .filter(|f| safe_filename(&f.filename))
        .collect()
}

/// A file name that is one path segment.
fn safe_filename(name: &str) -> bool {
    !name.is_empty() && !name.contains(['/', '\\']) && name != "." && name != ".."
}

/// Every `<a …>text</a>` of `html`: its attributes (names lower-case,
/// values unescaped) and its text. One pass; malformed markup ends it.
pub fn anchors(html: &str) -> Vec<(Vec<(String, String)>, String)> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = lower[at..].find("<a") {
        let start = at + found + 2;
        if !lower[start..].starts_with(|c: char| c.is_ascii_whitespace()) {
            at = start;
            continue;
        }
        let Some((attrs, end)) = attributes(html, start) else {
            break;
        };
        let Some(close) = lower[end..].find("</a") else {
            break;
        };
        out.push((attrs, unescape(&html[end..end + close])));
        at = end + close;
    }
    out
}

/// The attributes of a tag from `from` to its `>`, and where its content starts.
pub fn attributes(html: &str, from: usize) -> Option<(Vec<(String, String)>, usize)> {
    let bytes = html.as_bytes();
    let mut attrs = Vec::new();
    let mut i = from;
    loop {
        while bytes.get(i)?.is_ascii_whitespace() {
            i += 1;
        }
        if bytes[i] == b'>' {
            return Some((attrs, i + 1));
        }
        if bytes[i] == b'/' {
            i += 1;
            continue;
        }
        let name_start = i;
        while !matches!(bytes.get(i)?, b'=' | b'>' | b'/') && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let name = html[name_start..i].to_ascii_lowercase();
        while bytes.get(i)?.is_ascii_whitespace() {
            i += 1;
        }
        if bytes[i] != b'=' {
            attrs.push((name, String::new()));
            continue;
        }
        i += 1;
        while bytes.get(i)?.is_ascii_whitespace() {
            i += 1;
        }
        let value = match bytes[i] {
            quote @ (b'"' | b'\'') => {
                let end = i + 1 + html[i + 1..].find(quote as char)?;
                let value = &html[i + 1..end];
                i = end + 1;
                value
            }
            _ => {
                let start = i;
                while !matches!(bytes.get(i)?, b'>') && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                &html[start..i]
            }
        };
        attrs.push((name, unescape(value)));
    }
}

/// The character references PEP 503 pages use.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let near = &rest.as_bytes()[..rest.len().min(12)];
        let Some(semi) = near.iter().position(|&b| b == b';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep_503_anchors_are_read_with_their_hashes_and_attributes() {
        let html = r#"<!DOCTYPE html><html><body>
            <h1>Links for demo</h1>
            <A HREF="../../packages/demo-1.0.tar.gz#sha256=ABC" data-requires-python="&gt;=3.8">demo-1.0.tar.gz</A><br/>
            <a href='https://files.example/demo-1.1-py3-none-any.whl#sha256=def' data-yanked>demo-1.1-py3-none-any.whl</a>
            <a href="x">../evil</a>
            <abbr>not a link</abbr>
        </body></html>"#;
        let files = from_html(html);
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].filename, "demo-1.0.tar.gz");
        assert_eq!(files[0].url, "../../packages/demo-1.0.tar.gz");
        assert_eq!(files[0].sha256.as_deref(), Some("abc"));
        assert_eq!(files[0].requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(files[0].yanked, None);
        assert_eq!(files[1].yanked.as_deref(), Some(""));
        assert_eq!(
            for_host("simple/demo/", &files[0].url),
            "simple/demo/../../packages/demo-1.0.tar.gz"
        );
        assert_eq!(for_host("simple/demo/", &files[1].url), files[1].url);
    }

    #[test]
    fn broken_markup_ends_the_scan_without_a_panic() {
        for html in [
            "<a href=\"x",
            "<a href=x>text",
            "<a ",
            "<a\thref='",
            "&#xffffffff;<a b=c>&amp</a>",
        ] {
            let _ = from_html(html);
        }
        assert_eq!(
            unescape("a &amp; b &#39;c&#x27; &bogus; &"),
            "a & b 'c' &bogus; &"
        );
    }
}

#[cfg(test)]
mod proxy_tests {
    use crate::Pypi;
    use sha2::Digest;
    use wharf_sdk::mock::{self, TestRequest, UPSTREAM_BASE};
    use wharf_sdk::types::{Method, ResponseBody};

    const SDIST: &[u8] = b"pretend sdist of demo 1.0";

    fn get(path: &str, accept: &str) -> wharf_sdk::Response {
        let req = TestRequest::new(Method::Get, path).header("accept", accept);
        req.send::<Pypi>().expect("classifies").1
    }

    #[test]
    fn files_are_listed_here_pulled_once_and_checked() {
        mock::reset();
        let file_url = format!("{UPSTREAM_BASE}packages/demo-1.0.tar.gz");
        let page = serde_json::json!({
            "meta": {"api-version": "1.1"}, "name": "demo",
            "files": [{"filename": "demo-1.0.tar.gz", "url": file_url,
                       "hashes": {"sha256": wharf_sdk::hex(sha2::Sha256::digest(SDIST))}}],
        });
        mock::serve_upstream("simple/demo/", 200, page.to_string());
        mock::serve_upstream(&file_url, 200, SDIST);

        let json = get("simple/demo/", "application/vnd.pypi.simple.v1+json").body_json();
        assert_eq!(
            json["files"][0]["url"],
            "http://registry.test/test/files/demo/demo-1.0.tar.gz"
        );
        let html = get("simple/demo/", "text/html");
        let html = String::from_utf8_lossy(html.body_bytes()).into_owned();
        assert!(
            html.contains("files/demo/demo-1.0.tar.gz#sha256="),
            "{html}"
        );

        let first = get("files/demo/demo-1.0.tar.gz", "*/*");
        assert_eq!(first.body_bytes(), SDIST);
        let second = get("files/demo/demo-1.0.tar.gz", "*/*");
        assert!(
            matches!(second.body, ResponseBody::Blob(_)),
            "from the store"
        );
        assert_eq!(get("files/demo/demo-9.tar.gz", "*/*").status, 404);
        assert_eq!(get("simple/other/", "text/html").status, 404);
    }
}
