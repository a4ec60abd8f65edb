//! Turning a plugin's reply into the HTTP response: documents get an ETag,
//! a Last-Modified from the catalog's change times, 304s and a place in the
//! document cache; blobs are streamed by the host; a plugin's reason phrase
//! becomes the status line's, once made safe.

use super::{MAX_CACHED_VALUE, RepoRequest, vary_value};
use crate::doc_cache::{DocBody, DocKey, DocKeyRef, Document};
use crate::http::blob;
use crate::http::encoding::{self, Encoding};
use crate::runtime::{CacheHint, Freshness, Method, Reply, ReplyBody};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use hyper::ext::ReasonPhrase;
use std::sync::Arc;

/// Cacheable blob answers up to this size are kept in memory with the entry.
const INLINE_BLOB_BYTES: u64 = 64 << 10;

impl RepoRequest<'_> {
    /// `answered_by`: the repository whose catalog the reply came from (a
    /// group's member); `cache_as`: the key and generation of a GET/HEAD
    /// render, which a cacheable 200 document is stored under.
    pub(super) async fn respond(
        &self,
        mut reply: Reply,
        answered_by: &str,
        cache_as: Option<(DocKey, u64)>,
    ) -> Response {
        let reason = reason_phrase(reply.reason.take());
        let response = self.respond_with(reply, answered_by, cache_as).await;
        with_reason(response, reason)
    }

    async fn respond_with(
        &self,
        reply: Reply,
        answered_by: &str,
        cache_as: Option<(DocKey, u64)>,
    ) -> Response {
        let freshness = reply.freshness;
        match reply.body {
            ReplyBody::Blob(blake3) => {
                let size = match blob::lookup(&self.app.services, answered_by, &blake3).await {
                    Ok(size) => size,
                    Err(response) => return response,
                };
                // A small blob worth caching is read once and kept inline.
                let inline = match reply.cache.is_some() && size <= INLINE_BLOB_BYTES {
                    true => self
                        .app
                        .services
                        .blobs
                        .read_range(&blake3, 0..size)
                        .await
                        .ok(),
                    false => None,
                };
                let body = DocBody::Blob {
                    blake3,
                    size,
                    inline,
                };
                let times = (rendered_at(&cache_as), None);
                let mut doc = self.cached(&reply.cache, reply.status, reply.headers, body, times);
                let cache_as = upstream_bound(&mut doc, freshness, cache_as);
                self.remember(doc, cache_as.filter(|_| reply.cache.is_some()))
                    .await
            }
            ReplyBody::Empty => build(reply.status, &reply.headers, Body::empty()),
            ReplyBody::Bytes(bytes) => {
                let changed_ms = match (&reply.cache, &cache_as) {
                    (Some(hint), Some((_, rendered_at))) if reply.status == 200 => {
                        self.changed_ms(&hint.tags, *rendered_at).await
                    }
                    _ => None,
                };
                let body = DocBody::Bytes(bytes.into());
                let times = (rendered_at(&cache_as), changed_ms);
                let mut doc = self.cached(&reply.cache, reply.status, reply.headers, body, times);
                let cache_as = upstream_bound(&mut doc, freshness, cache_as);
                self.remember(doc, cache_as.filter(|_| reply.cache.is_some()))
                    .await
            }
            ReplyBody::UpstreamDocument(blake3) => {
                // The upstream's own bytes, as the metadata cache holds them.
                let size = match self.app.services.blobs.info(&blake3).await {
                    Ok(Some(info)) => info.size,
                    Ok(None) => return super::host_error(502, "the upstream answer is gone"),
                    Err(_) => return super::host_error(503, "blob store unavailable"),
                };
                let body = DocBody::Blob {
                    blake3,
                    size,
                    inline: None,
                };
                let mut doc = self.cached(&None, reply.status, reply.headers, body, (0, None));
                upstream_bound(&mut doc, freshness, None);
                self.remember(doc, None).await
            }
            ReplyBody::Pulled { length, body } => {
                let mut headers = blob::plugin_headers(&reply.headers);
                if let Some(length) = length {
                    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
                }
                let body = match self.target.method == Method::Head {
                    true => Body::empty(),
                    false => Body::from_stream(body),
                };
                response(reply.status, headers, body)
            }
        }
    }

    /// The answer as a cache entry: its validator, the request headers it
    /// varies on with the values this request had, and the response headers
    /// every hit sends, validated once here rather than on each hit.
    fn cached(
        &self,
        hint: &Option<CacheHint>,
        status: u16,
        headers: Vec<(String, String)>,
        body: DocBody,
        (rendered_at, changed_ms): (u64, Option<u64>),
    ) -> Document {
        let mut out = blob::plugin_headers(&headers);
        // A plugin's own strong validator of a document (RubyGems' compact
        // index: Bundler checks the ETag is the quoted MD5 of the body).
        let own_etag = match &body {
            DocBody::Bytes(_) => out
                .get(header::ETAG)
                .and_then(|v| v.to_str().ok())
                .filter(|v| v.len() > 2 && v.starts_with('"') && v.ends_with('"'))
                .map(str::to_string),
            DocBody::Blob { .. } => None,
        };
        let etag = match &body {
            DocBody::Bytes(_) if own_etag.is_some() => own_etag.clone().unwrap_or_default(),
            DocBody::Bytes(b) => format!("\"{}\"", &blake3::hash(b).to_hex()[..32]),
            DocBody::Blob { blake3, .. } => match out.get(header::ETAG) {
                Some(v) => String::from_utf8_lossy(v.as_bytes()).into_owned(),
                None => format!("\"{blake3}\""),
            },
        };
        // A blob always has its validator (Range, If-None-Match); a rendered
        // document when it is the answer itself.
        if (matches!(body, DocBody::Blob { .. }) || status == 200)
            && let Ok(value) = HeaderValue::from_str(&etag)
        {
            out.insert(header::ETAG, value);
        }
        // A date alone invites heuristic freshness (RFC 9111 §4.2.2): npm's
        // cache would answer a dist-tag list from before a write. Catalog
        // documents change at any moment, so clients revalidate each time.
        if status == 200 && changed_ms.is_some() && !out.contains_key(header::CACHE_CONTROL) {
            out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        }
        let vary: Vec<(String, Option<String>)> = hint.as_ref().map_or_else(Vec::new, |c| {
            let value = |h: &String| vary_value(self.headers, h);
            c.vary.iter().map(|h| (h.clone(), value(h))).collect()
        });
        // The plugin's validator names the identity bytes: a compressed
        // copy would need another, so such a document is sent as it is.
        let compressible = match &body {
            DocBody::Bytes(b) => {
                status == 200 && own_etag.is_none() && encoding::compressible(&out, b.len())
            }
            DocBody::Blob { .. } => false,
        };
        let mut vary_names: Vec<&str> = vary.iter().map(|(h, _)| h.as_str()).collect();
        if compressible {
            vary_names.push("accept-encoding");
        }
        if let Ok(names) = HeaderValue::from_str(&vary_names.join(", "))
            && !vary_names.is_empty()
        {
            // Beside any Vary of the plugin's own.
            out.append(header::VARY, names);
        }
        Document {
            status,
            etag,
            body,
            headers: out,
            tags: hint.as_ref().map(|c| c.tags.clone()).unwrap_or_default(),
            vary,
            rendered_at,
            changed_ms,
            compressible,
            encoded: Vec::new(),
            expires: None,
        }
    }

    /// Answers with `doc`, and keeps a 200 under `cache_as` (given when the
    /// plugin marked the answer cacheable).
    async fn remember(&self, doc: Document, cache_as: Option<(DocKey, u64)>) -> Response {
        let doc = Arc::new(doc);
        let ordinary = |v: &Option<String>| v.as_ref().map_or(0, String::len) <= MAX_CACHED_VALUE;
        let key = match cache_as {
            Some((key, _)) if doc.status == 200 && doc.vary.iter().all(|(_, v)| ordinary(v)) => {
                self.app.services.doc_cache.insert(key.clone(), doc.clone());
                Some(key)
            }
            _ => None,
        };
        self.document(&doc, key.as_ref().map(DocKey::borrowed).as_ref())
            .await
    }

    /// When the packages a document was rendered from last changed in any
    /// of its sources (a group's answer may be any member's, or all of
    /// theirs merged), or the documents were all dropped (a signing key
    /// rotated), Unix ms. A write since `rendered_at` may or may not be in
    /// the bytes, so such a document gets no time rather than one newer
    /// than its content.
    async fn changed_ms(&self, tags: &[String], rendered_at: u64) -> Option<u64> {
        let services = &self.app.services;
        let mut changed = None;
        for repo in self.sources {
            let last = services.catalog.last_change(repo, tags).await.ok()?;
            changed = changed.max(last);
        }
        let changed = changed?;
        let cache = &services.doc_cache;
        let unchanged = |source: &&str| cache.unchanged_since(source, tags, rendered_at);
        self.sources
            .iter()
            .all(unchanged)
            .then_some((changed.max(0) as u64).max(cache.dropped_at_ms()))
    }

    /// A cached or fresh answer: its validators, 304s, and its body (a
    /// document's bytes, compressed when the client accepts it, or the blob
    /// streamed with HEAD and Range). `cached_as`: where `doc` is cached, to
    /// keep a compressed copy beside it.
    pub(super) async fn document(
        &self,
        doc: &Arc<Document>,
        cached_as: Option<&DocKeyRef<'_>>,
    ) -> Response {
        let mut headers = doc.headers.clone();
        let bytes = match &doc.body {
            DocBody::Blob {
                blake3,
                size,
                inline,
            } => {
                let source = blob::Source {
                    blake3,
                    size: *size,
                    inline: inline.clone(),
                };
                let head_only = self.target.method == Method::Head;
                let services = &self.app.services;
                if !head_only && doc.status == 200 {
                    services.downloads.saw(blake3, crate::store::now_millis());
                }
                return blob::stream(
                    services,
                    source,
                    head_only,
                    self.headers,
                    doc.status,
                    headers,
                )
                .await;
            }
            DocBody::Bytes(bytes) => bytes,
        };
        if doc.status != 200 {
            return response(doc.status, headers, Body::from(bytes.clone()));
        }
        let last_modified = doc.changed_ms.and_then(last_modified);
        if let Some(secs) = last_modified {
            let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            let date = HeaderValue::from_str(&httpdate::fmt_http_date(at)).expect("ascii");
            headers.insert(header::LAST_MODIFIED, date);
        }
        let encoding = encoding::negotiate(self.headers).filter(|_| doc.compressible);
        let etag = encoding.map(|e| e.etag(&doc.etag));
        // A client may hold either representation.
        let held = |etag: &str| blob::not_modified(self.headers, etag, last_modified);
        if held(&doc.etag) || etag.as_deref().is_some_and(held) {
            if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
                headers.insert(header::ETAG, etag);
            }
            return response(304, headers, Body::empty());
        }
        // A single byte range of an uncompressed document (Bundler appends
        // to its copy of RubyGems' `/versions` this way).
        if encoding.is_none()
            && let Some(spec) = self
                .headers
                .get(header::RANGE)
                .and_then(|v| v.to_str().ok())
        {
            headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            let size = bytes.len() as u64;
            match blob::parse_range(spec, size) {
                Ok(Some(r)) => {
                    let content_range = format!("bytes {}-{}/{}", r.start, r.end - 1, size);
                    headers.insert(header::CONTENT_RANGE, content_range.parse().expect("ascii"));
                    let part = bytes.slice(r.start as usize..r.end as usize);
                    return response(206, headers, Body::from(part));
                }
                Ok(None) => {}
                Err(()) => {
                    let content_range = format!("bytes */{size}");
                    headers.insert(header::CONTENT_RANGE, content_range.parse().expect("ascii"));
                    return response(416, headers, Body::empty());
                }
            }
        }
        let body = match encoding {
            Some(encoding) => match self.encoded(doc, bytes, encoding, cached_as).await {
                Some(compressed) => {
                    headers.insert(header::CONTENT_ENCODING, encoding.header_value());
                    if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
                        headers.insert(header::ETAG, etag);
                    }
                    compressed
                }
                None => bytes.clone(),
            },
            None => bytes.clone(),
        };
        response(200, headers, Body::from(body))
    }

    /// The body of `doc` in `encoding`: the cached copy, or compressed now
    /// (big ones off the async workers) and kept with the cached document.
    async fn encoded(
        &self,
        doc: &Arc<Document>,
        bytes: &Bytes,
        encoding: Encoding,
        cached_as: Option<&DocKeyRef<'_>>,
    ) -> Option<Bytes> {
        if let Some((_, body)) = doc.encoded.iter().find(|(e, _)| *e == encoding) {
            return Some(body.clone());
        }
        let compressed = match bytes.len() >= encoding::BLOCKING_BYTES {
            true => {
                let bytes = bytes.clone();
                tokio::task::spawn_blocking(move || encoding.compress(&bytes))
                    .await
                    .ok()?
            }
            false => encoding.compress(bytes),
        };
        if let Some(key) = cached_as {
            let cache = &self.app.services.doc_cache;
            cache.add_encoding(key, doc, encoding, compressed.clone());
        }
        Some(compressed)
    }
}

/// A document made from upstream metadata is kept only while that metadata
/// is fresh, and one made from stale metadata says so and is not kept.
/// Returns where `doc` may be cached.
fn upstream_bound(
    doc: &mut Document,
    freshness: Freshness,
    cache_as: Option<(DocKey, u64)>,
) -> Option<(DocKey, u64)> {
    // An error is not content, stale or not.
    if freshness.stale && doc.status < 400 {
        doc.headers
            .insert(header::WARNING, HeaderValue::from_static(STALE_WARNING));
    }
    if freshness.fresh_until.is_none() {
        return cache_as;
    }
    let keep_for = freshness.keep_for()?;
    doc.expires = Some(std::time::Instant::now() + keep_for);
    cache_as
}

/// RFC 9111's obsolete but understood mark of stale content, the header
/// clients and people look for (`Warning: 110`).
const STALE_WARNING: &str = "110 - \"Response is Stale\"";

/// The generation a render started at (0: not a cacheable request).
fn rendered_at(cache_as: &Option<(DocKey, u64)>) -> u64 {
    cache_as.as_ref().map_or(0, |(_, at)| *at)
}

/// A plugin's rendering of a host decision, with the host's status.
pub(super) fn error(status: u16, mut reply: Reply) -> Response {
    let reason = reason_phrase(reply.reason.take());
    let body = match reply.body {
        ReplyBody::Bytes(b) => Body::from(b),
        _ => Body::empty(),
    };
    with_reason(build(status, &reply.headers, body), reason)
}

fn with_reason(mut response: Response, reason: Option<ReasonPhrase>) -> Response {
    if let Some(reason) = reason {
        response.extensions_mut().insert(reason);
    }
    response
}

/// `Last-Modified` (Unix seconds) of content last changed at `changed_ms`:
/// the end of that second, and only once it has passed. HTTP dates have whole
/// seconds, so a client holding date L fetched at or after L, and any later
/// change dates after L: `If-Modified-Since` never hides a change.
fn last_modified(changed_ms: u64) -> Option<u64> {
    let secs = changed_ms / 1000 + 1;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    (now >= secs).then_some(secs)
}

/// A plugin's reason phrase as one line of printable ASCII, at most 200
/// characters.
fn reason_phrase(text: Option<String>) -> Option<ReasonPhrase> {
    let text = text?;
    let phrase: String = text
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { ' ' })
        .take(200)
        .collect();
    let phrase = phrase.trim();
    (!phrase.is_empty())
        .then(|| ReasonPhrase::try_from(phrase.to_string()).ok())
        .flatten()
}

/// A response from a plugin's status and headers, which the host does not
/// trust: headers that are not valid HTTP or that frame the message (the
/// host's business) are dropped.
fn build(status: u16, headers: &[(String, String)], body: Body) -> Response {
    response(status, blob::plugin_headers(headers), body)
}

/// A response with validated headers; a plugin's status outside 200-599
/// becomes a 500.
fn response(status: u16, headers: HeaderMap, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = match StatusCode::from_u16(status) {
        Ok(s) if (200..600).contains(&status) => s,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    *response.headers_mut() = headers;
    response
}
