//! The request body as a host resource: bounded reads into the guest, and
//! streams that go from the socket to the blob store without entering it.
//!
//! The body enforces what the client may send whatever the plugin does with
//! it: at most `limit` bytes (refused up front when `Content-Length` says
//! more), and never `idle` without a byte while the host waits for one. A
//! body that failed stays failed, and the host, not the plugin, answers for
//! it (`settle`).

use crate::store::StoreError;
use axum::body::{BodyDataStream, HttpBody};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use std::time::Duration;

pub struct IncomingBody {
    stream: BodyDataStream,
    /// Bytes received but not yet consumed.
    pending: Bytes,
    /// The request's Content-Type (multipart needs its boundary).
    pub content_type: Option<String>,
    /// The Content-Length the client declared.
    declared: Option<u64>,
    /// Bytes the body may carry in all.
    limit: u64,
    received: u64,
    /// How long the client may send nothing while the host waits.
    idle: Duration,
    failure: Option<BodyFailure>,
}

/// Why a body could not be read to its end: the client's doing.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum BodyFailure {
    #[error("the request body stalled: no bytes for {}s", .0.as_secs())]
    Stalled(Duration),
    #[error("the request body is larger than {0} bytes")]
    TooLarge(u64),
}

impl From<BodyFailure> for StoreError {
    fn from(f: BodyFailure) -> Self {
        match f {
            BodyFailure::TooLarge(n) => StoreError::TooLarge(n),
            stalled => StoreError::Invalid(stalled.to_string()),
        }
    }
}

/// A host call on the body ended on a stalled body: the request fails with
/// 408, whatever the plugin would make of it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Stalled(pub BodyFailure);

impl IncomingBody {
    pub fn new(body: axum::body::Body, content_type: Option<String>) -> Self {
        let declared = body.size_hint().exact();
        IncomingBody {
            stream: body.into_data_stream(),
            pending: Bytes::new(),
            content_type,
            declared,
            limit: u64::MAX,
            received: 0,
            idle: Duration::MAX,
            failure: None,
        }
    }

    /// Caps the body at `limit` bytes and a pause of `idle` between bytes.
    pub fn bounded(self, limit: u64, idle: Duration) -> Self {
        IncomingBody {
            limit,
            idle,
            ..self
        }
    }

    fn fail(&mut self, f: BodyFailure) -> StoreError {
        self.failure = Some(f);
        f.into()
    }

    async fn next_chunk(&mut self) -> Result<Option<Bytes>, StoreError> {
        if !self.pending.is_empty() {
            return Ok(Some(std::mem::take(&mut self.pending)));
        }
        if let Some(f) = self.failure {
            return Err(f.into());
        }
        if self.declared.is_some_and(|n| n > self.limit) {
            return Err(self.fail(BodyFailure::TooLarge(self.limit)));
        }
        let next = match tokio::time::timeout(self.idle, self.stream.next()).await {
            Ok(next) => next,
            Err(_) => return Err(self.fail(BodyFailure::Stalled(self.idle))),
        };
        match next {
            None => Ok(None),
            Some(Ok(chunk)) => {
                self.received += chunk.len() as u64;
                if self.received > self.limit {
                    return Err(self.fail(BodyFailure::TooLarge(self.limit)));
                }
                Ok(Some(chunk))
            }
            Some(Err(e)) => Err(StoreError::Invalid(format!(
                "reading the request body failed: {e}"
            ))),
        }
    }

    /// Up to `max` bytes; empty at the end of the body. Cancel-safe: a read
    /// dropped while waiting loses nothing.
    pub async fn read(&mut self, max: usize) -> Result<Bytes, StoreError> {
        loop {
            match self.next_chunk().await? {
                None => return Ok(Bytes::new()),
                Some(chunk) if chunk.is_empty() => continue,
                Some(mut chunk) => {
                    if chunk.len() > max {
                        self.pending = chunk.split_off(max);
                    }
                    return Ok(chunk);
                }
            }
        }
    }

    /// The next `len` bytes (or the rest) as a stream; a body that ends
    /// before `len` yields an error.
    pub fn take(
        &mut self,
        len: Option<u64>,
    ) -> impl Stream<Item = Result<Bytes, StoreError>> + Unpin + Send + '_ {
        Box::pin(futures::stream::unfold(
            (self, len),
            |(body, left)| async move {
                if left == Some(0) {
                    return None;
                }
                match body.next_chunk().await {
                    Err(e) => Some((Err(e), (body, Some(0)))),
                    Ok(None) if left.is_some() => Some((
                        Err(StoreError::Invalid("request body ended early".into())),
                        (body, Some(0)),
                    )),
                    Ok(None) => None,
                    Ok(Some(mut chunk)) => {
                        let left = left.map(|n| {
                            if chunk.len() as u64 > n {
                                body.pending = chunk.split_off(n as usize);
                            }
                            n - chunk.len() as u64
                        });
                        Some((Ok(chunk), (body, left)))
                    }
                }
            },
        ))
    }

    /// The outcome of a host call that consumed this body. Parsers and the
    /// ingest pipeline wrap body errors in their own; a body that failed
    /// reports its own failure instead: too large stays a 413 the plugin
    /// renders, a stall ends the request (`Stalled`).
    pub fn settle<T>(
        &self,
        result: Result<T, StoreError>,
    ) -> Result<Result<T, StoreError>, Stalled> {
        match (self.failure, result) {
            (Some(f @ BodyFailure::Stalled(_)), _) => Err(Stalled(f)),
            (Some(f @ BodyFailure::TooLarge(_)), Err(_)) => Ok(Err(f.into())),
            (_, result) => Ok(result),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(parts: &[&'static str]) -> IncomingBody {
        let chunks: Vec<Result<Bytes, std::io::Error>> = parts
            .iter()
            .map(|p| Ok(Bytes::from_static(p.as_bytes())))
            .collect();
        IncomingBody::new(
            axum::body::Body::from_stream(futures::stream::iter(chunks)),
            None,
        )
    }

    async fn collect(b: &mut IncomingBody) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::new();
        let mut s = b.take(None);
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn framed_reads_then_exact_take() {
        let mut b = body(&["\x05\x00", "hello world", "!"]);
        assert_eq!(&b.read(2).await.unwrap()[..], b"\x05\x00");
        let first: Vec<Bytes> = b.take(Some(5)).map(|c| c.unwrap()).collect().await;
        assert_eq!(first.concat(), b"hello");
        assert_eq!(collect(&mut b).await.unwrap(), b" world!");
        assert!(b.read(10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn short_bodies_are_errors() {
        let mut b = body(&["abc"]);
        let got: Vec<_> = b.take(Some(10)).collect().await;
        assert!(got.last().unwrap().is_err());
    }

    #[tokio::test]
    async fn the_limit_holds_for_sent_and_declared_lengths() {
        let mut b = body(&["abc", "def"]).bounded(4, Duration::from_secs(5));
        assert_eq!(collect(&mut b).await, Err(StoreError::TooLarge(4)));
        let wrapped = Err(StoreError::Invalid("wrapped".into()));
        assert_eq!(
            b.settle::<()>(wrapped).unwrap(),
            Err(StoreError::TooLarge(4))
        );
        let declared = axum::body::Body::from(vec![0u8; 100]);
        let mut b = IncomingBody::new(declared, None).bounded(10, Duration::from_secs(5));
        assert_eq!(b.read(1).await, Err(StoreError::TooLarge(10)));
    }

    #[tokio::test]
    async fn a_silent_client_stalls_the_body() {
        let silent = futures::stream::pending::<Result<Bytes, std::io::Error>>();
        let body = axum::body::Body::from_stream(silent);
        let mut b = IncomingBody::new(body, None).bounded(10, Duration::from_millis(50));
        assert!(b.read(1).await.is_err());
        assert!(b.settle(Ok(())).is_err());
    }
}
