//! Streams a stored blob to a client: HEAD, a single byte Range,
//! ETag / If-None-Match and Content-Length. The bytes never enter a plugin.

use super::host_error;
use crate::services::Services;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use std::ops::Range;

/// Serves `blake3` as the plugin asked, but only if an asset of `repo` refers
/// to it: a plugin cannot serve content of another repository by its address.
pub async fn serve(
    services: &Services,
    repo: &str,
    blake3: &str,
    head_only: bool,
    request: &HeaderMap,
    status: u16,
    headers: Vec<(String, String)>,
) -> Response {
    let info = match services.catalog.repo_has_blob(repo, blake3).await {
        Ok(true) => services.blobs.info(blake3).await,
        Ok(false) => Ok(None),
        Err(e) => Err(e),
    };
    let info = match info {
        Ok(Some(info)) => info,
        Ok(None) => {
            tracing::error!(
                repo,
                blake3,
                "a plugin served a blob this repository does not hold"
            );
            return host_error(500, "the referenced content is missing");
        }
        Err(_) => return host_error(503, "blob store unavailable"),
    };
    let mut builder = Response::builder();
    let mut etag = format!("\"{blake3}\"");
    for (name, value) in &headers {
        if name.eq_ignore_ascii_case("etag") {
            etag = value.clone();
        }
        builder = builder.header(name.as_str(), value.as_str());
    }
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("etag")) {
        builder = builder.header(header::ETAG, &etag);
    }
    builder = builder.header(header::ACCEPT_RANGES, "bytes");
    if if_none_match(request, &etag) {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .unwrap();
    }
    let (status, range) = match request.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(spec) => match parse_range(spec, info.size) {
            Ok(Some(r)) => {
                builder = builder.header(
                    header::CONTENT_RANGE,
                    format!("bytes {}-{}/{}", r.start, r.end - 1, info.size),
                );
                (StatusCode::PARTIAL_CONTENT, Some(r))
            }
            Ok(None) => (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), None),
            Err(()) => {
                return builder
                    .status(StatusCode::RANGE_NOT_SATISFIABLE)
                    .header(header::CONTENT_RANGE, format!("bytes */{}", info.size))
                    .body(Body::empty())
                    .unwrap();
            }
        },
        None => (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), None),
    };
    let length = range.as_ref().map_or(info.size, |r| r.end - r.start);
    builder = builder
        .status(status)
        .header(header::CONTENT_LENGTH, length);
    if head_only {
        return builder.body(Body::empty()).unwrap();
    }
    match services.blobs.stream(blake3, range).await {
        Ok(stream) => builder.body(Body::from_stream(stream)).unwrap(),
        Err(_) => host_error(503, "blob store unavailable"),
    }
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
fn parse_range(spec: &str, size: u64) -> Result<Option<Range<u64>>, ()> {
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
