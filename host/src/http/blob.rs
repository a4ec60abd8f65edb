//! Streams a stored blob to a client: HEAD, a single byte Range,
//! ETag / If-None-Match and Content-Length. The bytes never enter a plugin.

use super::host_error;
use crate::services::Services;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use std::ops::Range;

/// The size of `blake3`, if an asset of `repo` refers to it: a plugin
/// cannot serve content of another repository by its address.
pub async fn lookup(services: &Services, repo: &str, blake3: &str) -> Result<u64, Response> {
    let info = match services.catalog.repo_has_blob(repo, blake3).await {
        Ok(true) => services.blobs.info(blake3).await,
        Ok(false) => Ok(None),
        Err(e) => Err(e),
    };
    match info {
        Ok(Some(info)) => Ok(info.size),
        Ok(None) => {
            tracing::error!(
                repo,
                blake3,
                "a plugin served a blob this repository does not hold"
            );
            Err(host_error(500, "the referenced content is missing"))
        }
        Err(_) => Err(host_error(503, "blob store unavailable")),
    }
}

/// A blob to answer with: its address and size, and its bytes when the
/// document cache keeps them in memory.
pub struct Source<'a> {
    pub blake3: &'a str,
    pub size: u64,
    pub inline: Option<bytes::Bytes>,
}

/// Streams a blob of known size with the plugin's status and headers
/// (already validated: `plugin_headers`), answering HEAD, Range and
/// If-None-Match.
pub async fn stream(
    services: &Services,
    Source {
        blake3,
        size,
        inline,
    }: Source<'_>,
    head_only: bool,
    request: &HeaderMap,
    status: u16,
    mut out: HeaderMap,
) -> Response {
    let etag = match out.get(header::ETAG).and_then(|v| v.to_str().ok()) {
        Some(etag) => etag.to_string(),
        None => format!("\"{blake3}\""),
    };
    if !out.contains_key(header::ETAG) {
        out.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex"));
    }
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let respond = |status: StatusCode, mut headers: HeaderMap, body: Body| {
        let mut response = Response::new(body);
        *response.status_mut() = status;
        std::mem::swap(response.headers_mut(), &mut headers);
        response
    };
    if if_none_match(request, &etag) {
        return respond(StatusCode::NOT_MODIFIED, out, Body::empty());
    }
    let plugin_status = match StatusCode::from_u16(status) {
        Ok(s) if (200..600).contains(&status) => s,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let (status, range) = match request.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(spec) => match parse_range(spec, size) {
            Ok(Some(r)) => {
                let content_range = format!("bytes {}-{}/{}", r.start, r.end - 1, size);
                out.insert(header::CONTENT_RANGE, content_range.parse().expect("ascii"));
                (StatusCode::PARTIAL_CONTENT, Some(r))
            }
            Ok(None) => (plugin_status, None),
            Err(()) => {
                let content_range = format!("bytes */{size}");
                out.insert(header::CONTENT_RANGE, content_range.parse().expect("ascii"));
                return respond(StatusCode::RANGE_NOT_SATISFIABLE, out, Body::empty());
            }
        },
        None => (plugin_status, None),
    };
    let length = range.as_ref().map_or(size, |r| r.end - r.start);
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if head_only {
        return respond(status, out, Body::empty());
    }
    if let Some(bytes) = inline {
        let part = range.map_or(bytes.clone(), |r| {
            bytes.slice(r.start as usize..r.end as usize)
        });
        return respond(status, out, Body::from(part));
    }
    // Boxed: opening a file is the cold path beside inline bytes.
    match Box::pin(services.blobs.stream(blake3, range)).await {
        Ok(stream) => respond(status, out, Body::from_stream(stream)),
        Err(_) => host_error(503, "blob store unavailable"),
    }
}

/// The prefix of the headers a member's answer carries for a group's merge
/// only (contract 0.3.2, `merger`): never sent to a client.
pub const MERGE_ONLY: &str = "wharf-merge-";

/// Headers a plugin set, minus those that are not valid HTTP, those that
/// frame the message, which only the host may set, and the merge-only ones.
pub fn plugin_headers(headers: &[(String, String)]) -> HeaderMap {
    const FRAMING: &[HeaderName] = &[
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
        header::UPGRADE,
        header::TRAILER,
    ];
    let mut out = HeaderMap::new();
    for (name, value) in headers {
        let merge_only = name
            .get(..MERGE_ONLY.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(MERGE_ONLY));
        if merge_only {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) && !FRAMING.contains(&name)
        {
            out.append(name, value);
        }
    }
    out
}

/// RFC 9110 §13.2.2: `If-None-Match` decides when present; otherwise
/// `If-Modified-Since` against the document's date (whole seconds).
pub fn not_modified(request: &HeaderMap, etag: &str, last_modified: Option<u64>) -> bool {
    if request.contains_key(header::IF_NONE_MATCH) {
        return if_none_match(request, etag);
    }
    let since = request
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    matches!((last_modified, since), (Some(modified), Some(since)) if modified <= since.as_secs())
}

fn if_none_match(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        })
}

/// One `bytes=` range; `Ok(None)` for forms served as the full body
/// (several ranges, other units), `Err` when unsatisfiable.
pub fn parse_range(spec: &str, size: u64) -> Result<Option<Range<u64>>, ()> {
    let Some(set) = spec.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if set.contains(',') {
        return Ok(None);
    }
    let (a, b) = set.split_once('-').ok_or(())?;
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let suffix: u64 = b.parse().map_err(|_| ())?;
        if suffix == 0 {
            return Err(());
        }
        size.saturating_sub(suffix)..size
    } else {
        let start: u64 = a.parse().map_err(|_| ())?;
        let end = if b.is_empty() {
            size
        } else {
            b.parse::<u64>()
                .map_err(|_| ())?
                .saturating_add(1)
                .min(size)
        };
        start..end
    };
    if range.start >= size || range.is_empty() {
        Err(())
    } else {
        Ok(Some(range))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-4", 10), Ok(Some(0..5)));
        assert_eq!(parse_range("bytes=5-", 10), Ok(Some(5..10)));
        assert_eq!(parse_range("bytes=-3", 10), Ok(Some(7..10)));
        assert_eq!(parse_range("bytes=8-100", 10), Ok(Some(8..10)));
        assert_eq!(parse_range("bytes=10-", 10), Err(()));
        assert_eq!(parse_range("bytes=0-1,3-4", 10), Ok(None));
        assert_eq!(parse_range("items=0-1", 10), Ok(None));
    }

    #[test]
    fn merge_only_and_framing_headers_never_reach_a_client() {
        let set = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            plugin_headers(&pairs)
        };
        let out = set(&[
            ("content-type", "text/plain"),
            ("wharf-merge-document", "<metadata>one line</metadata>"),
            ("Wharf-Merge-Other", "x"),
            ("content-length", "3"),
            ("x-bad", "a\nb"),
            ("wharf-mergeable", "kept"),
        ]);
        let names: Vec<&str> = out.keys().map(|n| n.as_str()).collect();
        assert_eq!(names, ["content-type", "wharf-mergeable"]);
    }

    #[test]
    fn conditional_requests() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, value.parse().unwrap());
            }
            map
        };
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        let at = 784111777;
        let since = headers(&[("if-modified-since", date)]);
        assert!(not_modified(&since, "\"a\"", Some(at)));
        assert!(not_modified(&since, "\"a\"", Some(at - 1)));
        assert!(!not_modified(&since, "\"a\"", Some(at + 1)));
        assert!(!not_modified(&since, "\"a\"", None));
        // If-None-Match decides when present, whatever the date says.
        let both = headers(&[("if-none-match", "W/\"b\""), ("if-modified-since", date)]);
        assert!(!not_modified(&both, "\"a\"", Some(at)));
        assert!(not_modified(&both, "\"b\"", Some(at + 1)));
    }
}
