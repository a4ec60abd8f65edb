//! Compression of rendered documents (packuments, index pages, metadata):
//! gzip or brotli, chosen from the client's Accept-Encoding, made once per
//! document and kept in the document cache beside it, so a warm read never
//! compresses again. Blobs (tarballs, layers) are already compressed and go
//! out as stored; the host's own API responses use tower-http's layer.

use axum::http::{HeaderMap, HeaderValue, header};
use bytes::Bytes;
use std::io::Write;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Encoding {
    Gzip,
    Brotli,
}

/// Below this a compressed body saves less than its headers cost.
const MIN_BYTES: usize = 512;

/// Documents this big are compressed on the blocking pool.
pub const BLOCKING_BYTES: usize = 256 << 10;

impl Encoding {
    pub fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Encoding::Gzip => "gzip",
            Encoding::Brotli => "br",
        })
    }

    /// The entity tag of this encoding of the representation `etag` names:
    /// a different body needs a different strong validator (RFC 9110 §8.8.3).
    pub fn etag(self, etag: &str) -> String {
        let suffix = match self {
            Encoding::Gzip => "-gzip",
            Encoding::Brotli => "-br",
        };
        match etag.strip_suffix('"') {
            Some(open) => format!("{open}{suffix}\""),
            None => format!("{etag}{suffix}"),
        }
    }

    pub fn compress(self, body: &[u8]) -> Bytes {
        let mut out = Vec::with_capacity(body.len() / 4);
        match self {
            Encoding::Gzip => {
                let mut gz =
                    flate2::write::GzEncoder::new(&mut out, flate2::Compression::default());
                gz.write_all(body).and_then(|_| gz.finish().map(drop))
            }
            Encoding::Brotli => {
                // Quality 5: most of brotli's gain at gzip's speed.
                let mut br = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                br.write_all(body).map(|_| {
                    // Taking the writer back ends the brotli stream.
                    let _ = br.into_inner();
                })
            }
        }
        .expect("compressing into memory cannot fail");
        out.into()
    }
}

/// Whether a document with these response headers is worth compressing:
/// text of some size that the plugin did not encode itself.
pub fn compressible(headers: &HeaderMap, len: usize) -> bool {
    if len < MIN_BYTES || headers.contains_key(header::CONTENT_ENCODING) {
        return false;
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    ct.contains("json") || ct.contains("xml") || ct.starts_with("text/") || ct.contains("yaml")
}

/// The encoding the client weighs highest (`q`), brotli before gzip when
/// equal; `None` for identity.
pub fn negotiate(request: &HeaderMap) -> Option<Encoding> {
    let mut best: Option<(Encoding, f32)> = None;
    let offers = request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for offer in offers {
        let mut parts = offer.split(';');
        let encoding = match parts.next().unwrap_or("").trim() {
            n if n.eq_ignore_ascii_case("gzip") || n.eq_ignore_ascii_case("x-gzip") => {
                Encoding::Gzip
            }
            n if n.eq_ignore_ascii_case("br") => Encoding::Brotli,
            _ => continue,
        };
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
            .unwrap_or(0.0);
        let better = match best {
            None => true,
            Some((_, best_q)) => q > best_q || (q == best_q && encoding == Encoding::Brotli),
        };
        if q > 0.0 && better {
            best = Some((encoding, q));
        }
    }
    best.map(|(encoding, _)| encoding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, value.parse().unwrap());
        h
    }

    #[test]
    fn negotiation_follows_weights() {
        assert_eq!(negotiate(&HeaderMap::new()), None);
        assert_eq!(negotiate(&accept("gzip, deflate")), Some(Encoding::Gzip));
        assert_eq!(
            negotiate(&accept("gzip, deflate, br")),
            Some(Encoding::Brotli)
        );
        assert_eq!(negotiate(&accept("br;q=0.5, gzip")), Some(Encoding::Gzip));
        assert_eq!(negotiate(&accept("gzip;q=0, identity")), None);
        assert_eq!(negotiate(&accept("deflate, zstd")), None);
    }

    #[test]
    fn compressed_bodies_round_trip() {
        let body = "{\"versions\":{}}".repeat(100);
        let mut plain = String::new();
        let gz = Encoding::Gzip.compress(body.as_bytes());
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, body);
        let br = Encoding::Brotli.compress(body.as_bytes());
        plain.clear();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, body);
        assert_eq!(Encoding::Gzip.etag("\"abc\""), "\"abc-gzip\"");
    }
}
