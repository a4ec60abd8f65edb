//! `ingest-json-base64`: a JSON body whose string values at some locations
//! are base64 payloads (npm's publish carries each tarball in
//! `_attachments.<file>.data`).
//!
//! The body streams through: a blocking thread tokenizes it (`walk.rs`),
//! decodes each payload as it passes (`decode.rs`) and hands the bytes over
//! to the blob store's ingest pipeline running on this task; the rest of the
//! document, each payload replaced by `{"$blob": "<blake3>"}`, is what the
//! plugin gets, charged to its read budget and bounded by it. What is held
//! at once is a few channel slots, whatever the size of the payloads.
//!
//! Patterns are RFC 6901 pointers where a `*` segment matches any key.

mod decode;
pub(super) mod walk;

use super::body::IncomingBody;
use super::capability::RequestScope;
use crate::store::StoreError;
use crate::store::digest::{BlobInfo, Want};
use bytes::{Buf, Bytes};
use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};

/// Body chunks queued for the tokenizer.
const INPUT_QUEUE: usize = 4;
/// Decoded pieces of a payload queued for the blob store.
const PAYLOAD_QUEUE: usize = 4;

type Piece = Result<Bytes, StoreError>;

/// One payload on its way to the store; `stored` answers its address.
struct Payload {
    pieces: mpsc::Receiver<Piece>,
    stored: oneshot::Sender<Result<String, StoreError>>,
}

/// Streams `body` through; returns the rewritten document and the stored
/// payloads in document order.
pub async fn ingest(
    scope: &mut RequestScope,
    body: &mut IncomingBody,
    patterns: &[String],
    want: Want,
) -> Result<(String, Vec<BlobInfo>), StoreError> {
    let services = scope.services.clone();
    let (input, input_rx) = mpsc::channel::<Bytes>(INPUT_QUEUE);
    let (payloads_tx, mut payloads) = mpsc::channel::<Payload>(1);
    let (patterns, limit) = (patterns.to_vec(), scope.read_left);
    let walker = tokio::task::spawn_blocking(move || {
        let input = ChannelRead {
            chunks: input_rx,
            chunk: Bytes::new(),
        };
        let mut sink = ChannelSink {
            payloads: payloads_tx,
            current: None,
        };
        walk::rewrite(input, &patterns, limit, &mut sink)
    });
    let feed = async move {
        let mut chunks = body.take(None);
        while let Some(chunk) = chunks.next().await {
            if input.send(chunk?).await.is_err() {
                break; // the walk ended early: its result says why
            }
        }
        Ok::<_, StoreError>(())
    };
    let store = async {
        let mut stored = Vec::new();
        while let Some(p) = payloads.recv().await {
            let mut pieces = p.pieces;
            let pieces = futures::stream::poll_fn(move |cx| pieces.poll_recv(cx));
            let max = services.settings.max_body_bytes;
            let info = services.blobs.ingest(pieces, want, None, max).await;
            let _ = p.stored.send(
                info.as_ref()
                    .map(|i| i.blake3.clone())
                    .map_err(|e| e.clone()),
            );
            stored.push(info?);
        }
        Ok::<_, StoreError>(stored)
    };
    let (fed, stored, walked) = tokio::join!(feed, store, walker);
    let walked = walked.map_err(|_| StoreError::Unavailable("the JSON reader failed".into()))?;
    // The first cause: the body, then the document, then the store.
    fed?;
    let doc = match walked {
        Err(e) if e == gone() => return Err(stored.err().unwrap_or(e)),
        walked => walked?,
    };
    let stored = stored?;
    scope.charge(doc.len())?;
    let stored = stored.into_iter().map(|i| scope.stored(i)).collect();
    Ok((doc, stored))
}

/// The body as the tokenizer's `Read`, on the blocking thread.
struct ChannelRead {
    chunks: mpsc::Receiver<Bytes>,
    chunk: Bytes,
}

impl std::io::Read for ChannelRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.chunk = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}

/// Hands payloads to the store task, one channel each, started by their
/// first piece.
struct ChannelSink {
    payloads: mpsc::Sender<Payload>,
    current: Option<Started>,
}

/// The payload being sent: its pieces, and where its address will come.
struct Started {
    pieces: mpsc::Sender<Piece>,
    stored: oneshot::Receiver<Result<String, StoreError>>,
}

/// The store task stopped listening: it has the error.
fn gone() -> StoreError {
    StoreError::Unavailable("the blob store stopped taking the payload".into())
}

impl ChannelSink {
    fn current(&mut self) -> Result<&mpsc::Sender<Piece>, StoreError> {
        if self.current.is_none() {
            let (pieces_tx, pieces) = mpsc::channel(PAYLOAD_QUEUE);
            let (stored, stored_rx) = oneshot::channel();
            let payload = Payload { pieces, stored };
            self.payloads.blocking_send(payload).map_err(|_| gone())?;
            self.current = Some(Started {
                pieces: pieces_tx,
                stored: stored_rx,
            });
        }
        Ok(&self.current.as_ref().expect("set above").pieces)
    }
}

impl walk::Sink for ChannelSink {
    fn chunk(&mut self, bytes: Vec<u8>) -> Result<(), StoreError> {
        let piece = Ok(Bytes::from(bytes));
        self.current()?.blocking_send(piece).map_err(|_| gone())
    }

    fn end(&mut self) -> Result<String, StoreError> {
        self.current()?;
        let Started { pieces, stored } = self.current.take().expect("started above");
        drop(pieces);
        stored.blocking_recv().map_err(|_| gone())?
    }

    fn abort(&mut self, why: StoreError) {
        if let Some(started) = self.current.take() {
            let _ = started.pieces.blocking_send(Err(why));
        }
    }
}

impl Drop for ChannelSink {
    /// A payload cut short must not be stored as if it were whole.
    fn drop(&mut self) {
        walk::Sink::abort(
            self,
            StoreError::Invalid("the document ended inside a payload".into()),
        );
    }
}
