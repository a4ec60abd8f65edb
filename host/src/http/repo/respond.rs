//! Turning a plugin's reply into the HTTP response: documents get an ETag,
//! a Last-Modified from the catalog's change times, 304s and a place in the
//! document cache; blobs are streamed by the host; a plugin's reason phrase
//! becomes the status line's, once made safe.

use super::{RepoRequest, header_str};
use crate::docs::{DocKey, Document};
use crate::http::blob;
use crate::runtime::{Method, Reply, ReplyBody};
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use hyper::ext::ReasonPhrase;

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
        let head_only = self.head.method == Method::Head;
        match reply.body {
            ReplyBody::Blob(blake3) => {
                blob::serve(
                    &self.app.services,
                    &self.repo.name,
                    &blake3,
                    head_only,
                    self.headers,
                    reply.status,
                    reply.headers,
                )
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
                let doc = Document {
                    status: reply.status,
                    etag: format!("\"{}\"", &blake3::hash(&bytes).to_hex()[..32]),
                    body: bytes.into(),
                    headers: reply.headers,
                    tags: reply
                        .cache
                        .as_ref()
                        .map(|c| c.tags.clone())
                        .unwrap_or_default(),
                    vary: reply
                        .cache
                        .as_ref()
                        .map(|c| {
                            c.vary
                                .iter()
                                .map(|h| {
                                    (h.clone(), header_str(self.headers, h).map(str::to_string))
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    rendered_at: cache_as.as_ref().map_or(0, |(_, at)| *at),
                    changed_ms,
                };
                let response = self.document(&doc);
                if let (Some(_), Some((key, _))) = (&reply.cache, cache_as)
                    && doc.status == 200
                {
                    self.app.services.docs.insert(key, doc);
                }
                response
            }
        }
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
            .docs
            .unchanged_since(&self.repo.name, tags, rendered_at)
            .then_some(changed.max(0) as u64)
    }

    pub(super) fn document(&self, doc: &Document) -> Response {
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
                headers.push((
                    "vary".into(),
                    doc.vary
                        .iter()
                        .map(|(h, _)| h.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                ));
            }
            if blob::not_modified(self.headers, &doc.etag, last_modified) {
                return build(304, &headers, Body::empty());
            }
        }
        build(doc.status, &headers, Body::from(doc.body.clone()))
    }
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

fn build(status: u16, headers: &[(String, String)], body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(n, v);
        }
    }
    response
}
