//! The request body as a host resource: bounded reads into the guest, and
//! streams that go from the socket to the blob store without entering it.

use crate::store::StoreError;
use axum::body::BodyDataStream;
use bytes::Bytes;
use futures::{Stream, StreamExt};

pub struct IncomingBody {
    stream: BodyDataStream,
    /// Bytes received but not yet consumed.
    pending: Bytes,
    /// The request's Content-Type (multipart needs its boundary).
    pub content_type: Option<String>,
}

impl IncomingBody {
    pub fn new(body: axum::body::Body, content_type: Option<String>) -> Self {
        IncomingBody {
            stream: body.into_data_stream(),
            pending: Bytes::new(),
            content_type,
        }
    }

    async fn next_chunk(&mut self) -> Result<Option<Bytes>, StoreError> {
        if !self.pending.is_empty() {
            return Ok(Some(std::mem::take(&mut self.pending)));
        }
        match self.stream.next().await {
            None => Ok(None),
            Some(Ok(chunk)) => Ok(Some(chunk)),
            Some(Err(e)) => Err(StoreError::Invalid(format!(
                "reading the request body failed: {e}"
            ))),
        }
    }

    /// Up to `max` bytes; empty at the end of the body.
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

    /// The whole rest of the body, refusing more than `max` bytes.
    pub async fn collect(&mut self, max: u64) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::new();
        let mut stream = self.take(None);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if (out.len() + chunk.len()) as u64 > max {
                return Err(StoreError::TooLarge(max));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
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

    #[tokio::test]
    async fn framed_reads_then_exact_take() {
        let mut b = body(&["\x05\x00", "hello world", "!"]);
        assert_eq!(&b.read(2).await.unwrap()[..], b"\x05\x00");
        let first: Vec<Bytes> = b.take(Some(5)).map(|c| c.unwrap()).collect().await;
        assert_eq!(first.concat(), b"hello");
        assert_eq!(b.collect(100).await.unwrap(), b" world!");
        assert!(b.read(10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn short_bodies_and_limits_are_errors() {
        let mut b = body(&["abc"]);
        let got: Vec<_> = b.take(Some(10)).collect().await;
        assert!(got.last().unwrap().is_err());
        assert_eq!(
            body(&["abcdef"]).collect(3).await,
            Err(StoreError::TooLarge(3))
        );
    }
}
