//! The ingest pipeline: a body streams to a file while its digests are
//! computed on other threads.
//!
//! Hashing is the expensive part of an upload (SHA-256 costs more CPU than
//! the page-cache write), and done inline it takes turns with the write on
//! one task. Here the async side gathers the body into `BATCH`-sized buffers,
//! hands each one (a `Bytes` clone, no copy) to one worker thread per digest
//! through a bounded channel, and writes it to the file; so the digests run
//! beside each other and beside the write. The channels bound what is in
//! flight to a few MiB whatever the body's size.

use super::StoreError;
use super::digest::{Hasher, Want};
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Bytes handed to the hashers and to the file at a time: large enough that
/// the per-batch costs (a channel send per digest, a write) vanish, and that
/// BLAKE3 gets inputs wide enough for its SIMD.
const BATCH: usize = 512 * 1024;
/// Batches queued per digest worker before the body waits for it.
const QUEUE: usize = 4;

/// Digests computed on worker threads (the blocking pool), one per algorithm.
pub struct Hashing {
    workers: Vec<(mpsc::Sender<Bytes>, tokio::task::JoinHandle<Hasher>)>,
}

impl Hashing {
    /// Starts one worker per algorithm of `hasher`, resuming its state.
    pub fn start(hasher: Hasher) -> Self {
        let workers = hasher
            .split()
            .into_iter()
            .map(|mut part| {
                let (tx, mut rx) = mpsc::channel::<Bytes>(QUEUE);
                // Ends when the sender is dropped: at `finish`, or when the
                // request is cancelled and the `Hashing` with it.
                let worker = tokio::task::spawn_blocking(move || {
                    while let Some(batch) = rx.blocking_recv() {
                        part.update(&batch);
                    }
                    part
                });
                (tx, worker)
            })
            .collect();
        Hashing { workers }
    }

    /// Queues `batch` for every worker; waits while a worker is `QUEUE` behind.
    pub async fn update(&mut self, batch: Bytes) -> Result<(), StoreError> {
        for (tx, _) in &self.workers {
            tx.send(batch.clone()).await.map_err(|_| worker_failed())?;
        }
        Ok(())
    }

    /// Waits for the workers to hash what is queued and joins their states.
    pub async fn finish(self) -> Result<Hasher, StoreError> {
        let mut parts = Vec::with_capacity(self.workers.len());
        for (tx, worker) in self.workers {
            drop(tx);
            parts.push(worker.await.map_err(|_| worker_failed())?);
        }
        Ok(Hasher::join(parts))
    }
}

fn worker_failed() -> StoreError {
    StoreError::Unavailable("a hashing worker failed".into())
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("blob storage: {e}"))
}

/// Small bodies are hashed inline: a body that never fills a batch costs
/// less to hash than to hand to threads. The first full batch moves the
/// state to the workers.
enum Digests {
    Inline(Hasher),
    Workers(Hashing),
}

impl Digests {
    async fn update(&mut self, batch: Bytes, last: bool) -> Result<(), StoreError> {
        if let Digests::Inline(h) = self {
            if last {
                h.update(&batch);
                return Ok(());
            }
            let h = std::mem::replace(h, Hasher::new(Want::default()));
            *self = Digests::Workers(Hashing::start(h));
        }
        let Digests::Workers(workers) = self else {
            unreachable!("moved to the workers above")
        };
        workers.update(batch).await
    }

    async fn finish(self) -> Result<Hasher, StoreError> {
        match self {
            Digests::Inline(h) => Ok(h),
            Digests::Workers(w) => w.finish().await,
        }
    }
}

/// Writes `body` at the end of `file`, which already holds `start` bytes,
/// advancing `hasher` (which has seen those) by every byte written. Refuses
/// to let the file grow past `max` bytes. Returns the new size and the
/// advanced hasher. On error the file may hold a partial write: the caller
/// removes or truncates it.
pub async fn pipe<S, E>(
    mut body: S,
    file: &mut tokio::fs::File,
    hasher: Hasher,
    start: u64,
    max: u64,
) -> Result<(u64, Hasher), StoreError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut digests = Digests::Inline(hasher);
    let mut pending = BytesMut::new();
    let mut size = start;
    while let Some(chunk) = body.next().await {
        let chunk = chunk
            .map_err(|e| StoreError::Invalid(format!("reading the request body failed: {e}")))?;
        size += chunk.len() as u64;
        if size > max {
            return Err(StoreError::TooLarge(max));
        }
        let batch = if pending.is_empty() && chunk.len() >= BATCH {
            chunk
        } else {
            pending.extend_from_slice(&chunk);
            if pending.len() < BATCH {
                continue;
            }
            // `BytesMut` reuses this allocation once the batch is dropped.
            pending.split().freeze()
        };
        digests.update(batch.clone(), false).await?;
        // tokio's `File` copies the batch and writes it on the blocking pool;
        // this returns at once and the next write waits for that one.
        file.write_all(&batch).await.map_err(io)?;
    }
    if !pending.is_empty() {
        let rest = pending.freeze();
        digests.update(rest.clone(), true).await?;
        file.write_all(&rest).await.map_err(io)?;
    }
    // Waits for the last write and reports its error.
    file.flush().await.map_err(io)?;
    Ok((size, digests.finish().await?))
}

/// Advances `hasher` by the first `len` bytes of the file at `path`: the
/// fallback when the running digests of an upload were lost (a restart).
pub async fn hash_file(path: &Path, len: u64, hasher: Hasher) -> Result<Hasher, StoreError> {
    let file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut chunks = tokio_util::io::ReaderStream::with_capacity(file.take(len), BATCH);
    let mut digests = Digests::Inline(hasher);
    let mut read = 0;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(io)?;
        read += chunk.len() as u64;
        digests.update(chunk, read == len).await?;
    }
    if read != len {
        return Err(StoreError::Unavailable(format!(
            "{} holds {read} bytes, expected {len}",
            path.display()
        )));
    }
    digests.finish().await
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Want = Want {
        sha256: true,
        sha512: true,
        sha1: true,
        md5: true,
        blake2b256: true,
    };

    /// Deterministic, incompressible-looking bytes.
    fn data(len: usize) -> Vec<u8> {
        let mut x = 0x9e3779b97f4a7c15u64;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn serial(data: &[u8]) -> crate::store::digest::BlobInfo {
        let mut h = Hasher::new(ALL);
        h.update(data);
        h.finish()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parallel_hashing_matches_the_serial_hasher() {
        // Odd chunk sizes, crossing batch boundaries, several batches.
        let data = data(3 * BATCH + 12_345);
        let mut hashing = Hashing::start(Hasher::new(ALL));
        for chunk in data.chunks(100_003) {
            hashing.update(Bytes::copy_from_slice(chunk)).await.unwrap();
        }
        assert_eq!(hashing.finish().await.unwrap().finish(), serial(&data));

        // Through `pipe`, resuming a state that has already seen a prefix.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let (head, tail) = data.split_at(7_777);
        let mut resumed = Hasher::new(ALL);
        resumed.update(head);
        std::fs::write(&path, head).unwrap();
        let mut file = tokio::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .await
            .unwrap();
        let body = futures::stream::iter(
            tail.chunks(65_536)
                .map(|c| Ok::<_, std::convert::Infallible>(Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        );
        let (size, hasher) = pipe(body, &mut file, resumed, head.len() as u64, u64::MAX)
            .await
            .unwrap();
        assert_eq!(size, data.len() as u64);
        assert_eq!(hasher.finish(), serial(&data));
        assert_eq!(std::fs::read(&path).unwrap(), data);

        // The read-back fallback agrees too.
        let reread = hash_file(&path, size, Hasher::new(ALL)).await.unwrap();
        assert_eq!(reread.finish(), serial(&data));
    }

    #[tokio::test]
    async fn small_bodies_hash_inline_with_the_same_result() {
        let data = data(1000);
        let dir = tempfile::tempdir().unwrap();
        let mut file = tokio::fs::File::create(dir.path().join("f")).await.unwrap();
        let body =
            futures::stream::iter([Ok::<_, std::convert::Infallible>(Bytes::from(data.clone()))]);
        let (_, hasher) = pipe(body, &mut file, Hasher::new(ALL), 0, u64::MAX)
            .await
            .unwrap();
        assert_eq!(hasher.finish(), serial(&data));
    }
}
