//! Turning a plugin's reply into the HTTP response: documents get an ETag,
//! a Last-Modified from the catalog's change times, 304s and a place in the
//! document cache; blobs are streamed by the host; a plugin's reason phrase
//! becomes the status line's, once made safe.

use super::{RepoRequest, vary_value};
use crate::doc_cache::{DocBody, DocKey, Document};
use crate::http::blob;
use crate::runtime::{CacheHint, Method, Reply, ReplyBody};
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use hyper::ext::ReasonPhrase;

/// Cacheable blob answers up to this size are kept in memory with the entry.
const INLINE_BLOB_BYTES: u64 = 64 << 10;

impl RepoRequest<'_> {
    /// `cache_as`: the key and generation of a GET/HEAD render, which a
    /// cacheable 200 document is stored under.
    pub(super) async fn respond(
        &self,
        mut reply: Reply,
        cache_as: Option<(DocKey, u64)>,
    ) -> Response {
        let reason = reason_phrase(reply.reason.take());
        with_reason(self.respond_with(reply, cache_as).await, reason)
    }

    async fn respond_with(&self, reply: Reply, cache_as: Option<(DocKey, u64)>) -> Response {
        match reply.body {
            ReplyBody::Blob(blake3) => {
                let size = match blob::lookup(&self.app.services, &self.repo.name, &blake3).await {
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
                let doc = self.cached(&reply.cache, reply.status, reply.headers, body, times);
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
                let doc = self.cached(&reply.cache, reply.status, reply.headers, body, times);
                self.remember(doc, cache_as.filter(|_| reply.cache.is_some()))
                    .await
            }
        }
    }

    /// The answer as a cache entry: its validator, and the request headers
    /// it varies on with the values this request had.
    fn cached(
        &self,
        hint: &Option<CacheHint>,
        status: u16,
        headers: Vec<(String, String)>,
        body: DocBody,
        (rendered_at, changed_ms): (u64, Option<u64>),
    ) -> Document {
        let etag = match &body {
            DocBody::Bytes(b) => format!("\"{}\"", &blake3::hash(b).to_hex()[..32]),
            DocBody::Blob { blake3, .. } => headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("etag"))
                .map_or_else(|| format!("\"{blake3}\""), |(_, v)| v.clone()),
        };
        let vary = hint.as_ref().map(|c| {
            let value = |h: &String| vary_value(self.headers, h);
            c.vary.iter().map(|h| (h.clone(), value(h))).collect()
        });
        Document {
            status,
            etag,
            body,
            headers,
            tags: hint.as_ref().map(|c| c.tags.clone()).unwrap_or_default(),
            vary: vary.unwrap_or_default(),
            rendered_at,
            changed_ms,
        }
    }

    /// Answers with `doc`, and keeps a 200 under `cache_as` (given when the
    /// plugin marked the answer cacheable).
    async fn remember(&self, doc: Document, cache_as: Option<(DocKey, u64)>) -> Response {
        let response = self.document(&doc).await;
        if let Some((key, _)) = cache_as
            && doc.status == 200
        {
            self.app.services.doc_cache.insert(key, doc);
        }
        response
    }

    /// When the packages a document was rendered from last changed (Unix
    /// ms). A write since `rendered_at` may or may not be in the bytes, so
    /// such a document gets no time rather than one newer than its content.
    async fn changed_ms(&self, tags: &[String], rendered_at: u64) -> Option<u64> {
        let services = &self.app.services;
        let changed = services
            .catalog
            .last_change(&self.repo.name, tags)
            .await
            .ok()??;
        services
            .doc_cache
            .unchanged_since(&self.repo.name, tags, rendered_at)
            .then_some(changed.max(0) as u64)
    }

    /// A cached or fresh answer: its validators, 304s, and its body (a
    /// document's bytes, or the blob streamed with HEAD and Range).
    pub(super) async fn document(&self, doc: &Document) -> Response {
        if let DocBody::Blob {
            blake3,
            size,
            inline,
        } = &doc.body
        {
            let head_only = self.head.method == Method::Head;
            let services = &self.app.services;
            let (status, headers) = (doc.status, &doc.headers);
            let mut headers = headers.clone();
            if !doc.vary.is_empty() {
                headers.push(("vary".into(), vary_names(doc)));
            }
            let source = blob::Source {
                blake3,
                size: *size,
                inline: inline.clone(),
            };
            return blob::stream(services, source, head_only, self.headers, status, &headers).await;
        }
        let mut headers = doc.headers.clone();
        if doc.status == 200 {
            headers.push(("etag".into(), doc.etag.clone()));
            let last_modified = doc.changed_ms.and_then(last_modified);
            if let Some(secs) = last_modified {
                let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
                headers.push(("last-modified".into(), httpdate::fmt_http_date(at)));
            }
            // A date alone invites heuristic freshness (RFC 9111 §4.2.2): npm's
            // cache would answer a dist-tag list from before a write. Catalog
            // documents change at any moment, so clients revalidate each time.
            let plugin_set = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
            if doc.changed_ms.is_some() && !plugin_set("cache-control") {
                headers.push(("cache-control".into(), "no-cache".into()));
            }
            if !doc.vary.is_empty() {
                headers.push(("vary".into(), vary_names(doc)));
            }
            if blob::not_modified(self.headers, &doc.etag, last_modified) {
                return build(304, &headers, Body::empty());
            }
        }
        let body = match &doc.body {
            DocBody::Bytes(bytes) => Body::from(bytes.clone()),
            DocBody::Blob { .. } => Body::empty(),
        };
        build(doc.status, &headers, body)
    }
}

/// The generation a render started at (0: not a cacheable request).
fn rendered_at(cache_as: &Option<(DocKey, u64)>) -> u64 {
    cache_as.as_ref().map_or(0, |(_, at)| *at)
}

fn vary_names(doc: &Document) -> String {
    let names: Vec<&str> = doc.vary.iter().map(|(h, _)| h.as_str()).collect();
    names.join(", ")
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
/// trust: a status outside 200-599 becomes a 500, and headers that are not
/// valid HTTP or that frame the message (the host's business) are dropped.
fn build(status: u16, headers: &[(String, String)], body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = match StatusCode::from_u16(status) {
        Ok(s) if (200..600).contains(&status) => s,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    *response.headers_mut() = blob::plugin_headers(headers);
    response
}
