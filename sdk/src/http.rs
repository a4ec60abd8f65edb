//! Typed request and response helpers around the WIT records.

use crate::body::Body;
use crate::router::Params;
use crate::types::{CacheHint, Caller, Method, RepoInfo, RequestHead, ResponseBody, WitResponse};
use percent_encoding::percent_decode_str;

/// One request in phase two, after the host authorized its route.
pub struct Request {
    pub repo: RepoInfo,
    pub head: RequestHead,
    pub caller: Caller,
    pub route: String,
    pub params: Params,
    pub body: Option<Body>,
}

impl Request {
    pub fn method(&self) -> Method {
        self.head.method
    }

    /// A request header (names are lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.head.headers, name)
    }

    /// A decoded query parameter.
    pub fn query(&self, key: &str) -> Option<String> {
        query_pairs(self.head.raw_query.as_deref().unwrap_or(""))
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// A decoded path parameter; panics on a name the route pattern lacks
    /// (a programming error the plugin's tests catch).
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name)
    }

    /// The externally visible base URL of the repository, with trailing slash.
    pub fn base_url(&self) -> &str {
        &self.repo.base_url
    }

    /// Whether the repository is a proxy: its content comes from the
    /// upstream (`crate::upstream`), not from publishes.
    pub fn is_proxy(&self) -> bool {
        matches!(self.repo.kind, crate::types::RepoKind::Proxy)
    }

    /// The user the host authenticated, if any.
    pub fn user(&self) -> Option<&str> {
        self.caller.user.as_deref()
    }

    /// Takes the request body (routes declared with a body have one).
    pub fn take_body(&mut self) -> Result<Body, HttpError> {
        self.body
            .take()
            .ok_or_else(|| HttpError::bad_request("a request body is required"))
    }
}

pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Decoded `key=value` pairs of a query string (`+` is a space).
pub fn query_pairs(raw: &str) -> impl Iterator<Item = (String, String)> + '_ {
    raw.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k), decode(v))
    })
}

fn decode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// A response under construction.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: ResponseBody,
    pub cache: Option<CacheHint>,
    /// The status line's reason phrase, when not the standard one.
    pub reason: Option<String>,
}

impl Response {
    pub fn empty(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: ResponseBody::Empty,
            cache: None,
            reason: None,
        }
    }

    pub fn bytes(status: u16, content_type: &str, bytes: Vec<u8>) -> Self {
        Response::empty(status)
            .header("content-type", content_type)
            .with_body(ResponseBody::Bytes(bytes))
    }

    /// Plain text, UTF-8.
    pub fn text(status: u16, text: impl Into<String>) -> Self {
        Response::bytes(
            status,
            "text/plain; charset=utf-8",
            text.into().into_bytes(),
        )
    }

    /// An error as one line of plain text, the message or the status's
    /// default: the shape of formats whose clients print the body as it is
    /// (go, twine, gem, mvn's debug log).
    pub fn text_error(status: u16, message: &str) -> Self {
        Response::text(status, format!("{}\n", default_message(status, message)))
    }

    pub fn json(status: u16, value: &impl serde::Serialize) -> Self {
        let bytes = serde_json::to_vec(value).expect("serializable value");
        Response::bytes(status, "application/json", bytes)
    }

    /// Let the host stream a stored blob (with HEAD, Range and ETag).
    pub fn blob(blake3: &str, content_type: &str) -> Self {
        Response::empty(200)
            .header("content-type", content_type)
            .with_body(ResponseBody::Blob(blake3.to_string()))
    }

    /// Answer with an upstream response: a pulled artifact streams to the
    /// client as it arrives; fetched metadata is sent as the upstream gave it.
    pub fn upstream(answer: crate::upstream::Upstream, content_type: &str) -> Self {
        let response = Response::empty(answer.status()).header("content-type", content_type);
        #[cfg(target_arch = "wasm32")]
        let body = ResponseBody::Upstream(answer.0);
        #[cfg(not(target_arch = "wasm32"))]
        let body = ResponseBody::Bytes(answer.0.into_bytes());
        response.with_body(body)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    /// The status line's reason phrase (HTTP/1.1), for clients that print it
    /// instead of the body; the host keeps its first line, as printable ASCII.
    pub fn reason(mut self, phrase: &str) -> Self {
        self.reason = Some(phrase.to_string());
        self
    }

    /// Mark the document as a pure function of the catalog entries of `tags`
    /// (package names, or "*"), varying on the request headers in `vary`.
    pub fn cacheable(mut self, tags: &[&str], vary: &[&str]) -> Self {
        self.cache = Some(CacheHint {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            vary: vary.iter().map(|v| v.to_ascii_lowercase()).collect(),
        });
        self
    }

    fn with_body(mut self, body: ResponseBody) -> Self {
        self.body = body;
        self
    }

    /// The bytes of a `bytes` body (tests).
    pub fn body_bytes(&self) -> &[u8] {
        match &self.body {
            ResponseBody::Bytes(b) => b,
            _ => &[],
        }
    }

    /// The body parsed as JSON (tests).
    pub fn body_json(&self) -> serde_json::Value {
        serde_json::from_slice(self.body_bytes()).unwrap_or(serde_json::Value::Null)
    }

    pub fn header_value(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    pub fn into_wit(self) -> WitResponse {
        WitResponse {
            status: self.status,
            reason: self.reason,
            headers: self.headers,
            body: self.body,
            cache: self.cache,
        }
    }
}

/// The message of an error document when the host gave none.
pub fn default_message(status: u16, message: &str) -> &str {
    match (message.is_empty(), status) {
        (false, _) => message,
        (true, 401) => "authentication required",
        (true, 403) => "forbidden",
        (true, 404) => "not found",
        (true, 503) => "temporarily unavailable",
        (true, _) => "request failed",
    }
}

/// An error a handler returns; the router renders it with the format's error shape.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpError {
    pub status: u16,
    pub message: String,
}

impl HttpError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        HttpError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(409, message)
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

/// A handler's error can travel inside a `std::io::Error` (a blob read under
/// a decoder) and be recovered by the caller.
impl std::error::Error for HttpError {}

impl From<crate::types::StoreError> for HttpError {
    fn from(e: crate::types::StoreError) -> Self {
        use crate::types::StoreError::*;
        match e {
            NotFound => HttpError::not_found("not found"),
            AlreadyExists => HttpError::conflict("already exists"),
            Forbidden(m) => HttpError::forbidden(m),
            DigestMismatch(m) => HttpError::bad_request(format!("digest mismatch: {m}")),
            TooLarge(max) => HttpError::new(413, format!("body larger than {max} bytes")),
            Invalid(m) => HttpError::bad_request(m),
            Unavailable(m) => HttpError::new(503, m),
        }
    }
}

/// An upstream that failed or may not be reached is a bad gateway; one
/// that did not answer in time, a gateway timeout.
impl From<crate::upstream::UpstreamError> for HttpError {
    fn from(e: crate::upstream::UpstreamError) -> Self {
        let status = match e {
            crate::upstream::UpstreamError::Timeout => 504,
            _ => 502,
        };
        HttpError::new(status, crate::upstream::describe(&e))
    }
}

impl From<serde_json::Error> for HttpError {
    fn from(e: serde_json::Error) -> Self {
        HttpError::bad_request(format!("invalid JSON: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::UpstreamError;

    #[test]
    fn an_upstream_that_fails_is_a_bad_gateway_and_a_slow_one_a_timeout() {
        assert_eq!(HttpError::from(UpstreamError::Timeout).status, 504);
        let refused = HttpError::from(UpstreamError::Connect("refused".into()));
        assert_eq!(refused.status, 502);
        assert!(refused.message.contains("refused"));
    }
}
