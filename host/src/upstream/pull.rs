//! Pull-through: an upstream artifact streams to the clients that asked for
//! it while it is written to the blob store, fetched once however many
//! clients miss it at the same moment.
//!
//! The first miss for a key starts a fetch task. It writes the upstream
//! body to a staged file, hashing it beside the write, and publishes how
//! many bytes are on disk. Every client of that key, the first included,
//! reads the file up to that size and waits for more: the download is
//! neither held in memory nor waited for. Complete, and only if its SHA-256
//! is the one the metadata promised, the file becomes a blob; otherwise the
//! clients' streams end in an error (the connection is cut, so no client
//! takes a short body for a whole one) and nothing is kept, so the next
//! request fetches again. The task belongs to no client: one that goes away
//! does not cancel the others' download.

use crate::store::blobs::{BlobStore, ByteStream};
use crate::store::digest::{BlobInfo, Hasher, Want};
use crate::store::ingest;
use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncReadExt;
use tokio::sync::watch;

/// Where a fetch stands, as its readers see it.
#[derive(Clone, Debug)]
enum Progress {
    /// Waiting for the upstream's answer.
    Asking,
    /// The upstream answered with something other than the artifact.
    Refused(Refusal),
    /// This many bytes of the body are in the staged file.
    Writing {
        file: PathBuf,
        written: u64,
    },
    Done(BlobInfo),
    Failed(String),
}

/// An upstream answer that is not the artifact: its status and, for a
/// redirect-free error, nothing else worth keeping.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    Status(u16),
    Error(super::FetchError),
}

/// What a fetch task needs: the upstream's answer, when asked.
pub type Ask = BoxFuture<'static, Result<reqwest::Response, super::FetchError>>;

/// A digest the format's metadata promises for an artifact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Sha512,
    Sha1,
}

/// Digests the artifact must have, lower-case hex.
pub type Promised = Vec<(Algorithm, String)>;

/// An artifact on its way: its length when the upstream said it, the
/// bytes as they arrive, and the blob once it is stored and verified
/// (`None` if the fetch failed).
pub struct Pulled {
    pub length: Option<u64>,
    pub body: ByteStream,
    pub stored: BoxFuture<'static, Option<BlobInfo>>,
    /// This call started the fetch (the others joined it).
    pub started: bool,
}

pub struct PullThrough {
    blobs: BlobStore,
    /// Largest artifact fetched: a longer body fails its fetch.
    max_bytes: u64,
    inflight: Arc<Mutex<HashMap<String, Fetch>>>,
}

#[derive(Clone)]
struct Fetch {
    progress: watch::Receiver<Progress>,
    length: Arc<std::sync::OnceLock<Option<u64>>>,
}

impl PullThrough {
    pub fn new(blobs: BlobStore, max_bytes: u64) -> Self {
        PullThrough {
            blobs,
            max_bytes,
            inflight: Arc::default(),
        }
    }

    /// The artifact `key` names (a repository and an upstream URL), from
    /// the fetch already under way for it or from a new one that `ask`
    /// starts. `want` are the digests to record beside BLAKE3; `promised`,
    /// what the metadata states, are checked before the artifact is kept.
    pub async fn pull(
        &self,
        key: &str,
        want: Want,
        promised: Promised,
        ask: impl FnOnce() -> Ask,
    ) -> Result<Pulled, Refusal> {
        let (fetch, first) = {
            let mut inflight = self.inflight.lock().unwrap();
            match inflight.get(key) {
                Some(fetch) => (fetch.clone(), false),
                None => {
                    let (tx, rx) = watch::channel(Progress::Asking);
                    let fetch = Fetch {
                        progress: rx,
                        length: Arc::default(),
                    };
                    inflight.insert(key.to_string(), fetch.clone());
                    let task = Task {
                        key: key.to_string(),
                        blobs: self.blobs.clone(),
                        max_bytes: self.max_bytes,
                        inflight: self.inflight.clone(),
                        progress: Arc::new(tx),
                        length: fetch.length.clone(),
                    };
                    tokio::spawn(task.run(ask(), want, promised));
                    (fetch, true)
                }
            }
        };
        let mut progress = fetch.progress.clone();
        let started = progress
            .wait_for(|p| !matches!(p, Progress::Asking))
            .await
            .map(|p| p.clone())
            .unwrap_or_else(|_| Progress::Failed("the fetch stopped".into()));
        match started {
            Progress::Refused(refusal) => Err(refusal),
            Progress::Failed(m) => Err(Refusal::Error(super::FetchError::Protocol(m))),
            _ => Ok(Pulled {
                length: fetch.length.get().copied().flatten(),
                body: follow(self.blobs.clone(), progress.clone()),
                stored: Box::pin(async move {
                    let end = progress
                        .wait_for(|p| matches!(p, Progress::Done(_) | Progress::Failed(_)))
                        .await
                        .ok()?;
                    match &*end {
                        Progress::Done(info) => Some(info.clone()),
                        _ => None,
                    }
                }),
                started: first,
            }),
        }
    }
}

struct Task {
    key: String,
    blobs: BlobStore,
    max_bytes: u64,
    inflight: Arc<Mutex<HashMap<String, Fetch>>>,
    progress: Arc<watch::Sender<Progress>>,
    length: Arc<std::sync::OnceLock<Option<u64>>>,
}

impl Task {
    async fn run(self, ask: Ask, want: Want, promised: Promised) {
        let outcome = self.fetch(ask, want, promised).await;
        // Out of the table first: a request arriving after the end starts
        // afresh (a failure is retried; a success is in the store).
        self.inflight.lock().unwrap().remove(&self.key);
        let end = match outcome {
            Ok(info) => Progress::Done(info),
            Err(Some(refusal)) => Progress::Refused(refusal),
            Err(None) => return,
        };
        self.progress.send_replace(end);
    }

    /// The stored artifact, or why not: a refusal before any byte, or
    /// `None` once the failure has been published to the readers.
    async fn fetch(
        &self,
        ask: Ask,
        want: Want,
        promised: Promised,
    ) -> Result<BlobInfo, Option<Refusal>> {
        let response = ask.await.map_err(|e| Some(Refusal::Error(e)))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(Some(Refusal::Status(response.status().as_u16())));
        }
        let length = response.content_length();
        if length.is_some_and(|l| l > self.max_bytes) {
            return Err(Some(Refusal::Error(super::FetchError::Protocol(format!(
                "the artifact is larger than {} bytes",
                self.max_bytes
            )))));
        }
        let _ = self.length.set(length);
        let fail = |message: String| {
            self.progress.send_replace(Progress::Failed(message));
            None
        };
        let staged = self.blobs.stage();
        let file = match std::fs::File::create(staged.path()) {
            Ok(file) => file,
            Err(e) => return Err(fail(format!("blob storage: {e}"))),
        };
        let path = staged.path().to_path_buf();
        self.progress.send_replace(Progress::Writing {
            file: path.clone(),
            written: 0,
        });
        let progress = self.progress.clone();
        let report = move |written| {
            progress.send_replace(Progress::Writing {
                file: path.clone(),
                written,
            });
        };
        let promises = |a| promised.iter().any(|(b, _)| *b == a);
        let want = Want {
            sha256: want.sha256 || promises(Algorithm::Sha256),
            sha512: want.sha512 || promises(Algorithm::Sha512),
            sha1: want.sha1 || promises(Algorithm::Sha1),
            ..want
        };
        let body = response
            .bytes_stream()
            .map(|r| r.map_err(|e| e.without_url()));
        let piped =
            ingest::pipe_reporting(body, file, Hasher::new(want), 0, self.max_bytes, report).await;
        let info = match piped {
            Ok((_, hasher)) => hasher.finish(),
            Err(e) => return Err(fail(format!("fetching from the upstream: {e}"))),
        };
        if length.is_some_and(|l| l != info.size) {
            return Err(fail(format!(
                "the upstream sent {} bytes of the {} it announced",
                info.size,
                length.unwrap_or_default()
            )));
        }
        if let Some(broken) = broken_promise(&info, &promised) {
            return Err(fail(format!(
                "the upstream's artifact is not the promised one: {broken}"
            )));
        }
        if let Err(e) = self.blobs.publish_staged(staged, &info).await {
            return Err(fail(e.to_string()));
        }
        Ok(info)
    }
}

/// The first promised digest the bytes do not have, described.
fn broken_promise(info: &BlobInfo, promised: &Promised) -> Option<String> {
    promised.iter().find_map(|(algorithm, expected)| {
        let actual = match algorithm {
            Algorithm::Sha256 => &info.sha256,
            Algorithm::Sha512 => &info.sha512,
            Algorithm::Sha1 => &info.sha1,
        };
        let actual = actual.as_deref().unwrap_or("?");
        (!actual.eq_ignore_ascii_case(expected))
            .then(|| format!("expected {algorithm:?} {expected}, the bytes have {actual}"))
    })
}

/// Bytes read from the staged file per step.
const STEP: u64 = 256 * 1024;

/// The artifact's bytes as the fetch writes them: from the staged file
/// while it grows (all but the last byte), from the store once it is a
/// blob (the rest, or all of it for a reader that arrives after the staged
/// file moved), an error if the fetch fails.
fn follow(blobs: BlobStore, progress: watch::Receiver<Progress>) -> ByteStream {
    struct Reader {
        blobs: BlobStore,
        progress: watch::Receiver<Progress>,
        file: Option<tokio::fs::File>,
        offset: u64,
        stored: Option<ByteStream>,
    }
    let reader = Reader {
        blobs,
        progress,
        file: None,
        offset: 0,
        stored: None,
    };
    futures::stream::unfold(reader, |mut r| async move {
        loop {
            if let Some(stored) = &mut r.stored {
                return stored.next().await.map(|chunk| (chunk, r));
            }
            let now = r.progress.borrow_and_update().clone();
            let (path, available) = match &now {
                // The last byte waits for the verdict on the digests: a
                // client never holds all of an artifact that is refused.
                Progress::Writing { file, written } => (Some(file), written.saturating_sub(1)),
                Progress::Done(info) => (None, info.size),
                Progress::Failed(m) => return Some((Err(std::io::Error::other(m.clone())), r)),
                Progress::Asking | Progress::Refused(_) => {
                    return Some((Err(std::io::Error::other("the fetch stopped")), r));
                }
            };
            if r.offset < available {
                if r.file.is_none() {
                    match path {
                        Some(path) => match tokio::fs::File::open(path).await {
                            Ok(file) => r.file = Some(file),
                            // Moved into the store meanwhile: wait for Done.
                            Err(_) => {
                                if r.progress.changed().await.is_err() {
                                    return Some((Err(stopped()), r));
                                }
                                continue;
                            }
                        },
                        None => {
                            // Complete, and the staged file is gone: the
                            // rest comes from the store.
                            let Progress::Done(info) = &now else {
                                unreachable!("no file only when done")
                            };
                            let rest = r.offset..info.size;
                            match r.blobs.stream(&info.blake3, Some(rest)).await {
                                Ok(stream) => r.stored = Some(stream),
                                Err(e) => {
                                    return Some((Err(std::io::Error::other(e.to_string())), r));
                                }
                            }
                            continue;
                        }
                    }
                }
                let file = r.file.as_mut().expect("opened above");
                let want = (available - r.offset).min(STEP) as usize;
                let mut buf = vec![0; want];
                // Sequential: the file was opened at offset 0.
                if let Err(e) = file.read_exact(&mut buf).await {
                    return Some((Err(e), r));
                }
                r.offset += want as u64;
                return Some((Ok(Bytes::from(buf)), r));
            }
            if matches!(now, Progress::Done(_)) {
                return None;
            }
            if r.progress.changed().await.is_err() {
                // The task ended without a word: it was dropped (shutdown).
                return Some((Err(stopped()), r));
            }
        }
    })
    .boxed()
}

fn stopped() -> std::io::Error {
    std::io::Error::other("the upstream fetch stopped")
}
