//! The ingest pipeline: a body streams to a file while its digests are
//! computed on other threads.
//!
//! Hashing is the expensive part of an upload (SHA-256 costs more CPU than
//! the page-cache write), and done inline it takes turns with the write on
//! one task. Here the async side only receives the body and hands each batch
//! (a `Bytes` clone, no copy) to worker threads through bounded channels: one
//! per digest and one writing the file. So the digests run beside each other
//! and beside the write, and the channels bound what is in flight to a few
//! MiB whatever the body's size.

use super::StoreError;
use super::digest::{Hasher, Want};
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use std::io::Write;
use std::path::Path;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

/// Chunks at least this large go to the workers as they are; smaller ones
/// (a slow client's) are gathered into `GATHER`-sized batches first, so the
/// per-batch costs (a channel send per worker, a write) stay small.
const DIRECT: usize = 64 * 1024;
const GATHER: usize = 256 * 1024;
/// Batches queued per worker before the body waits for it.
const QUEUE: usize = 8;

/// A thread of the blocking pool consuming batches from a bounded channel.
struct Worker<T> {
    tx: mpsc::Sender<Bytes>,
    done: tokio::task::JoinHandle<std::io::Result<T>>,
}

impl<T: Send + 'static> Worker<T> {
    fn start<F>(mut state: T, mut consume: F) -> Self
    where
        F: FnMut(&mut T, &[u8]) -> std::io::Result<()> + Send + 'static,
    {
        let (tx, mut rx) = mpsc::channel::<Bytes>(QUEUE);
        // Ends when the sender is dropped (at `finish`, or when the request
        // is cancelled), or at the first error, which `finish` reports.
        let done = tokio::task::spawn_blocking(move || {
            while let Some(batch) = rx.blocking_recv() {
                consume(&mut state, &batch)?;
            }
            Ok(state)
        });
        Worker { tx, done }
    }

    /// Queues `batch`; waits while the worker is `QUEUE` batches behind.
    async fn send(&self, batch: Bytes) -> Result<(), ()> {
        self.tx.send(batch).await.map_err(|_| ())
    }

    /// Waits until the worker has consumed everything queued.
    async fn finish(self) -> Result<T, StoreError> {
        drop(self.tx);
        match self.done.await {
            Ok(Ok(state)) => Ok(state),
            Ok(Err(e)) => Err(io(e)),
            Err(_) => Err(StoreError::Unavailable("an ingest worker failed".into())),
        }
    }
}

/// Digests computed on worker threads, one per algorithm.
pub struct Hashing {
    workers: Vec<Worker<Hasher>>,
}

impl Hashing {
    /// Starts one worker per algorithm of `hasher`, resuming its state.
    pub fn start(hasher: Hasher) -> Self {
        let workers = hasher
            .split()
            .into_iter()
            .map(|part| {
                Worker::start(part, |h, batch| {
                    h.update(batch);
                    Ok(())
                })
            })
            .collect();
        Hashing { workers }
    }

    pub async fn update(&mut self, batch: Bytes) -> Result<(), StoreError> {
        for worker in &self.workers {
            if worker.send(batch.clone()).await.is_err() {
                // Hashing cannot fail: the worker panicked.
                return Err(StoreError::Unavailable("a hashing worker failed".into()));
            }
        }
        Ok(())
    }

    /// Waits for the workers to hash what is queued and joins their states.
    pub async fn finish(self) -> Result<Hasher, StoreError> {
        let mut parts = Vec::with_capacity(self.workers.len());
        for worker in self.workers {
            parts.push(worker.finish().await?);
        }
        Ok(Hasher::join(parts))
    }
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

/// Writes `body` at the current position of `file`, which already holds
/// `start` bytes, advancing `hasher` (which has seen those) by every byte
/// written. Refuses to let the file grow past `max` bytes. Returns the new
/// size and the advanced hasher. On error the file may hold a partial write:
/// the caller removes or truncates it.
pub async fn pipe<S, E>(
    body: S,
    file: std::fs::File,
    hasher: Hasher,
    start: u64,
    max: u64,
) -> Result<(u64, Hasher), StoreError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    pipe_reporting(body, file, hasher, start, max, |_| {}).await
}

/// `pipe`, telling `written` the file's size after each write, from the
/// writing thread: readers may then read the file up to that size while it
/// grows (a pull-through download served as it arrives).
pub async fn pipe_reporting<S, E>(
    mut body: S,
    file: std::fs::File,
    hasher: Hasher,
    start: u64,
    max: u64,
    written: impl Fn(u64) + Send + 'static,
) -> Result<(u64, Hasher), StoreError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let writer = Worker::start((file, start), move |(f, size), batch| {
        f.write_all(batch)?;
        *size += batch.len() as u64;
        written(*size);
        Ok(())
    });
    let mut digests = Digests::Inline(hasher);
    let mut gathered = BytesMut::new();
    let mut size = start;
    let mut batches = Vec::with_capacity(2);
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| StoreError::Invalid(format!("reading the body failed: {e}")))?;
        size += chunk.len() as u64;
        if size > max {
            return Err(StoreError::TooLarge(max));
        }
        if chunk.len() >= DIRECT {
            if !gathered.is_empty() {
                batches.push(gathered.split().freeze());
            }
            batches.push(chunk);
        } else {
            gathered.extend_from_slice(&chunk);
            if gathered.len() >= GATHER {
                // `BytesMut` reuses this allocation once the batch is dropped.
                batches.push(gathered.split().freeze());
            }
        }
        for batch in batches.drain(..) {
            digests.update(batch.clone(), false).await?;
            if writer.send(batch).await.is_err() {
                // The write failed: `finish` has its error.
                return Err(writer.finish().await.err().unwrap_or_else(io_gone));
            }
        }
    }
    if !gathered.is_empty() {
        let rest = gathered.freeze();
        digests.update(rest.clone(), true).await?;
        writer.send(rest).await.ok();
    }
    writer.finish().await?;
    Ok((size, digests.finish().await?))
}

fn io_gone() -> StoreError {
    StoreError::Unavailable("blob storage: the writer stopped".into())
}

/// Advances `hasher` by the first `len` bytes of the file at `path`: the
/// fallback when the running digests of an upload were lost (a restart).
pub async fn hash_file(path: &Path, len: u64, hasher: Hasher) -> Result<Hasher, StoreError> {
    let file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut chunks = tokio_util::io::ReaderStream::with_capacity(file.take(len), GATHER);
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
        let data = data(3 * GATHER + 12_345);
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
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        // Direct chunks and gathered ones, interleaved.
        let body = futures::stream::iter(
            tail.chunks(65_536)
                .enumerate()
                .flat_map(|(i, c)| {
                    if i % 2 == 0 {
                        c.chunks(c.len())
                    } else {
                        c.chunks(1000)
                    }
                })
                .map(|c| Ok::<_, std::convert::Infallible>(Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        );
        let (size, hasher) = pipe(body, file, resumed, head.len() as u64, u64::MAX)
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
        let file = std::fs::File::create(dir.path().join("f")).unwrap();
        let body =
            futures::stream::iter([Ok::<_, std::convert::Infallible>(Bytes::from(data.clone()))]);
        let (_, hasher) = pipe(body, file, Hasher::new(ALL), 0, u64::MAX)
            .await
            .unwrap();
        assert_eq!(hasher.finish(), serial(&data));
    }
}
