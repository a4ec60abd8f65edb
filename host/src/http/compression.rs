//! gzip/br for the host's own API answers. Repository documents are
//! compressed by `encoding`, once per document; blobs not at all.

use axum::http::{StatusCode, header};
use tower_http::compression::{CompressionLayer, predicate::Predicate};

#[derive(Clone, Copy)]
pub struct MetadataOnly;

impl Predicate for MetadataOnly {
    fn should_compress<B: axum::body::HttpBody>(&self, response: &axum::http::Response<B>) -> bool {
        let ct = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let textual = ct.contains("json")
            || ct.contains("xml")
            || ct.starts_with("text/")
            || ct.contains("yaml");
        let big_enough = response.body().size_hint().exact().is_none_or(|n| n >= 512);
        textual && big_enough && response.status() != StatusCode::PARTIAL_CONTENT
    }
}

pub fn layer() -> CompressionLayer<MetadataOnly> {
    CompressionLayer::new()
        .gzip(true)
        .br(true)
        .compress_when(MetadataOnly)
}
