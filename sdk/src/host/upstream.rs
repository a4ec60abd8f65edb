//! Upstream content, for proxy repositories. The host fetches, caches,
//! authenticates and verifies; the plugin names what to fetch, rewrites
//! what it reads and answers with what it pulled. Outside a proxy
//! repository, or to a host the operator did not grant, every call is
//! `not-granted`.

#[cfg(target_arch = "wasm32")]
use crate::bindings::wharf::plugin::upstream as raw;
#[cfg(not(target_arch = "wasm32"))]
use crate::mock::upstream as raw;

pub use crate::bindings::wharf::plugin::upstream::{DigestKind, UpstreamError};
use crate::bindings::wharf::plugin::upstream::{PullRequest, UpstreamRequest};
use crate::types::{Asset, DigestSet, StoreError, Write};
use crate::{HttpError, Response};

/// Bytes asked of the host per read.
const WINDOW: u32 = 256 * 1024;

/// An upstream answer: metadata to read, or an artifact to answer with
/// ([`crate::Response::upstream`]).
pub struct Upstream(pub(crate) raw::UpstreamResponse);

impl Upstream {
    pub fn status(&self) -> u16 {
        self.0.status()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.0
            .headers()
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The upstream failed: this is the last good answer the host kept.
    /// The host marks the client's answer stale by itself.
    pub fn stale(&self) -> bool {
        self.0.stale()
    }

    /// The whole body, refused past `max` bytes.
    pub fn read_all(&self, max: usize) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::new();
        loop {
            let chunk = self.0.read(WINDOW)?;
            if chunk.is_empty() {
                return Ok(out);
            }
            if out.len() + chunk.len() > max {
                return Err(StoreError::TooLarge(max as u64));
            }
            out.extend_from_slice(&chunk);
        }
    }
}

/// Mutable metadata at `url` (relative to the repository's upstream, or
/// absolute on a granted host), through the host's cache. `accept` is the
/// only request header that goes upstream.
pub fn fetch(url: &str, accept: Option<&str>) -> Result<Upstream, UpstreamError> {
    let request = UpstreamRequest {
        method: "GET".into(),
        url: url.into(),
        headers: accept
            .map(|a| vec![("accept".to_string(), a.to_string())])
            .unwrap_or_default(),
    };
    raw::fetch(&request).map(Upstream)
}

/// An upstream document read whole: its body, and its answer's headers.
pub struct Document {
    pub body: Vec<u8>,
    answer: Upstream,
}

impl Document {
    pub fn header(&self, name: &str) -> Option<String> {
        self.answer.header(name)
    }
}

/// The upstream's document at `url` (metadata, through the host's cache),
/// read whole up to `limit` bytes when it answers 200; `None` when it has no
/// such thing (404, 410, or 451: withheld, which cargo reads as absent too). Any other answer, or a body past `limit`, is a
/// 502 naming `what`; an unreachable upstream a 502 (504 on a timeout).
pub fn document(
    url: &str,
    accept: Option<&str>,
    limit: usize,
    what: &str,
) -> Result<Option<Document>, HttpError> {
    let answer = fetch(url, accept)?;
    match answer.status() {
        200 => {}
        404 | 410 | 451 => return Ok(None),
        status => {
            return Err(HttpError::new(
                502,
                format!("the upstream answered {status} for {what}"),
            ));
        }
    }
    let body = answer
        .read_all(limit)
        .map_err(|e| HttpError::new(502, format!("reading the upstream's {what}: {e:?}")))?;
    Ok(Some(Document { body, answer }))
}

/// An immutable artifact to serve and keep.
pub struct Pull {
    pub url: String,
    /// Digests to compute beside BLAKE3.
    pub want: DigestSet,
    /// What the metadata promises, hex; bytes that differ are not kept.
    pub expect: Vec<(DigestKind, String)>,
    /// How the artifact enters the catalog once stored: assets with an
    /// empty `blake3` stand for it.
    pub record: Vec<Write>,
}

/// Starts (or joins) the one fetch of an artifact. A 200 is answered with
/// [`crate::Response::upstream`]; another status is the upstream's refusal.
pub fn pull(p: Pull) -> Result<Upstream, UpstreamError> {
    raw::pull(&p.into_request()).map(Upstream)
}

/// [`pull`] with an `Accept` header, for a URL with several
/// representations (an OCI manifest by digest).
pub fn pull_accepting(p: Pull, accept: &str) -> Result<Upstream, UpstreamError> {
    raw::pull_accepting(&p.into_request(), accept).map(Upstream)
}

impl Pull {
    fn into_request(self) -> PullRequest {
        PullRequest {
            url: self.url,
            want: self.want,
            expect: self.expect,
            record: self.record,
        }
    }
}

/// The answer to a client with an upstream answer about `what` (an
/// artifact pulled, or metadata passed on unread): a 200 as it arrives,
/// a 404 or 410 as "not found", anything else as a 502.
pub fn serve_pulled(
    pulled: Upstream,
    content_type: &str,
    what: &str,
) -> Result<Response, HttpError> {
    match pulled.status() {
        200 => Ok(Response::upstream(pulled, content_type)),
        404 | 410 => Err(HttpError::not_found(format!("{what} is gone upstream"))),
        status => Err(HttpError::new(
            502,
            format!("the upstream answered {status} for {what}"),
        )),
    }
}

/// The asset at `path` that a pull records: its blob, left empty here, is
/// the pulled one, filled in by the host once stored.
pub fn pulled_asset(path: &str, content_type: &str) -> Asset {
    Asset {
        path: path.to_string(),
        blake3: String::new(),
        content_type: content_type.to_string(),
        metadata_json: String::new(),
        added_at: 0,
    }
}

/// The error as one line, for the client.
pub fn describe(e: &UpstreamError) -> String {
    match e {
        UpstreamError::NotGranted(m) => format!("upstream not allowed: {m}"),
        UpstreamError::Timeout => "the upstream did not answer in time".into(),
        UpstreamError::Connect(m) => format!("the upstream failed: {m}"),
        UpstreamError::TooLarge(n) => format!("the upstream answer is larger than {n} bytes"),
    }
}
