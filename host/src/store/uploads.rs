//! Resumable uploads that span requests (OCI chunked pushes).
//!
//! Bytes are appended to a file per session in the data directory and the
//! session row records the committed size, so a session survives a restart.
//! Each append also advances the session's running BLAKE3 and SHA-256 (the
//! OCI digest), computed beside the write (see `ingest`) and kept in memory,
//! so `finish` neither reads the file back nor copies it: it takes the
//! digests and renames the file into the blob store. When the running state
//! is missing (the process restarted) or lacks a digest `finish` asks for,
//! the file is read once instead.
//!
//! The appends, finish and abort of one session run one at a time (a lock per
//! session): two concurrent appends cannot interleave their bytes, and finish
//! cannot rename a file an append is still writing.

use super::blobs::{BlobStore, check_sha256};
use super::digest::{BlobInfo, Hasher, Want};
use super::{Db, StoreError, ingest, now_millis};
use bytes::Bytes;
use futures::Stream;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncSeekExt;
use tokio::sync::OwnedMutexGuard;

/// The digests kept while appending, beside BLAKE3: what OCI verifies.
const RUNNING: Want = Want {
    sha256: true,
    sha512: false,
    sha1: false,
    md5: false,
    blake2b256: false,
};

/// A session's lock, guarding the running digests of its committed bytes
/// (`None` until the first append after a start or a restart).
type Session = Arc<tokio::sync::Mutex<Option<Hasher>>>;

#[derive(Clone)]
pub struct Uploads {
    dir: PathBuf,
    db: Db,
    sessions: Arc<Mutex<HashMap<String, Session>>>,
}

impl Uploads {
    pub fn new(dir: PathBuf, db: Db) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Uploads {
            dir,
            db,
            sessions: Default::default(),
        })
    }

    fn file(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    pub async fn start(&self, repo: &str) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        tokio::fs::File::create(self.file(&id)).await.map_err(io)?;
        sqlx::query("INSERT INTO uploads (id, repo, size, updated_at) VALUES ($1, $2, 0, $3)")
            .bind(&id)
            .bind(repo)
            .bind(now_millis())
            .execute(&self.db)
            .await?;
        Ok(id)
    }

    pub async fn offset(&self, repo: &str, id: &str) -> Result<u64, StoreError> {
        let size: Option<i64> =
            sqlx::query_scalar("SELECT size FROM uploads WHERE id = $1 AND repo = $2")
                .bind(id)
                .bind(repo)
                .fetch_optional(&self.db)
                .await?;
        size.map(|s| s as u64).ok_or(StoreError::NotFound)
    }

    fn session(&self, id: &str) -> Session {
        let mut sessions = self.sessions.lock().unwrap();
        sessions.entry(id.to_owned()).or_default().clone()
    }

    /// Locks session `id` of `repo` and reads its committed size under the lock.
    async fn lock(
        &self,
        repo: &str,
        id: &str,
    ) -> Result<(OwnedMutexGuard<Option<Hasher>>, u64), StoreError> {
        let session = self.session(id).lock_owned().await;
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT repo, size FROM uploads WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.db)
                .await?;
        match row {
            Some((owner, size)) if owner == repo => Ok((session, size as u64)),
            Some(_) => Err(StoreError::NotFound),
            None => {
                // Ids are never reused, so nobody can need this lock again.
                self.sessions.lock().unwrap().remove(id);
                Err(StoreError::NotFound)
            }
        }
    }

    /// Appends a chunk; refuses it unless it starts at `expect_offset`. A
    /// concurrent append to the same session waits for this one, then sees
    /// the new offset.
    pub async fn append<S, E>(
        &self,
        repo: &str,
        id: &str,
        body: S,
        expect_offset: Option<u64>,
        max: u64,
    ) -> Result<u64, StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let (mut running, size) = self.lock(repo, id).await?;
        if expect_offset.is_some_and(|o| o != size) {
            return Err(StoreError::Invalid(format!("upload is at offset {size}")));
        }
        let path = self.file(id);
        // Resume the running digests on a copy: the session keeps its state
        // unless this append commits. A restart lost them: rebuild them once.
        let hasher = match &*running {
            Some(h) if h.size() == size => h.clone(),
            _ => ingest::hash_file(&path, size, Hasher::new(RUNNING)).await?,
        };
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .await
            .map_err(io)?;
        // Drop anything past the committed size left by an interrupted append.
        file.set_len(size).await.map_err(io)?;
        file.seek(std::io::SeekFrom::End(0)).await.map_err(io)?;
        let file = file.into_std().await;
        let (written, hasher) = ingest::pipe(body, file, hasher, size, max).await?;
        sqlx::query("UPDATE uploads SET size = $1, updated_at = $2 WHERE id = $3")
            .bind(written as i64)
            .bind(now_millis())
            .bind(id)
            .execute(&self.db)
            .await?;
        *running = Some(hasher);
        Ok(written)
    }

    /// Verifies the session's bytes and moves them into the blob store.
    pub async fn finish(
        &self,
        repo: &str,
        id: &str,
        blobs: &BlobStore,
        want: Want,
        expect_sha256: Option<&str>,
    ) -> Result<BlobInfo, StoreError> {
        let want = Want {
            sha256: want.sha256 || expect_sha256.is_some(),
            ..want
        };
        let (running, size) = self.lock(repo, id).await?;
        let path = self.file(id);
        // An interrupted append may have left bytes past the committed size.
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .await
            .map_err(io)?;
        file.set_len(size).await.map_err(io)?;
        drop(file);
        let hasher = match &*running {
            Some(h) if h.size() == size && h.covers(want) => h.clone(),
            // Lost in a restart, or a digest not kept while appending.
            _ => ingest::hash_file(&path, size, Hasher::new(want)).await?,
        };
        let info = hasher.finish();
        // A mismatch leaves the session as it was.
        check_sha256(&info, expect_sha256)?;
        blobs.adopt(&path, &info).await?;
        self.delete(repo, id, i64::MAX).await;
        Ok(info)
    }

    pub async fn abort(&self, repo: &str, id: &str) {
        if let Ok(_session) = self.lock(repo, id).await {
            self.delete(repo, id, i64::MAX).await;
        }
    }

    /// Removes the session if it was last touched before `cutoff`; the
    /// caller holds its lock.
    async fn delete(&self, repo: &str, id: &str, cutoff: i64) -> bool {
        let deleted =
            sqlx::query("DELETE FROM uploads WHERE id = $1 AND repo = $2 AND updated_at < $3")
                .bind(id)
                .bind(repo)
                .bind(cutoff)
                .execute(&self.db)
                .await;
        if !deleted.is_ok_and(|r| r.rows_affected() > 0) {
            return false;
        }
        // Already gone when `finish` moved it into the blob store.
        tokio::fs::remove_file(self.file(id)).await.ok();
        self.sessions.lock().unwrap().remove(id);
        true
    }

    /// Removes sessions untouched for `max_age`, skipping any a request is
    /// working on.
    pub async fn reap(&self, max_age: std::time::Duration) -> Result<usize, StoreError> {
        let cutoff = now_millis() - max_age.as_millis() as i64;
        let stale: Vec<(String, String)> =
            sqlx::query_as("SELECT id, repo FROM uploads WHERE updated_at < $1")
                .bind(cutoff)
                .fetch_all(&self.db)
                .await?;
        let mut reaped = 0;
        for (id, repo) in &stale {
            let Ok(_session) = self.session(id).try_lock_owned() else {
                continue;
            };
            if self.delete(repo, id, cutoff).await {
                reaped += 1;
            }
        }
        Ok(reaped)
    }
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("upload storage: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use std::os::unix::fs::MetadataExt;

    struct Fixture {
        dir: tempfile::TempDir,
        db: Db,
        blobs: BlobStore,
        uploads: Uploads,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::open_sqlite(&dir.path().join("db.sqlite"))
            .await
            .unwrap();
        let blobs = BlobStore::local(&dir.path().join("objects"), db.clone()).unwrap();
        let uploads = Uploads::new(dir.path().join("uploads"), db.clone()).unwrap();
        Fixture {
            dir,
            db,
            blobs,
            uploads,
        }
    }

    fn body(data: &[u8]) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin + use<> {
        let chunks: Vec<_> = data
            .chunks(40_000)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        futures::stream::iter(chunks)
    }

    /// A body that yields `n` chunks of `byte`, pausing before each.
    fn slow(byte: u8, n: usize) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
        Box::pin(futures::stream::iter(0..n).then(move |_| async move {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            Ok(Bytes::from(vec![byte; 1000]))
        }))
    }

    fn data(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn digests(data: &[u8]) -> BlobInfo {
        let mut h = Hasher::new(RUNNING);
        h.update(data);
        h.finish()
    }

    fn blob_file(f: &Fixture, blake3: &str) -> PathBuf {
        f.dir
            .path()
            .join("objects/blobs")
            .join(&blake3[..2])
            .join(&blake3[2..4])
            .join(blake3)
    }

    #[tokio::test]
    async fn finish_takes_the_running_digests_and_renames_the_file() {
        let f = fixture().await;
        let data = data(1_300_000, 7);
        let id = f.uploads.start("r").await.unwrap();
        let mut offset = 0;
        for part in [&data[..1], &data[1..600_001], &data[600_001..]] {
            offset = f
                .uploads
                .append("r", &id, body(part), Some(offset), u64::MAX)
                .await
                .unwrap();
        }
        assert_eq!(offset, data.len() as u64);
        // Overwrite the session file in place with other bytes of the same
        // length: a finish that re-read it would compute their digests (and
        // refuse the expected sha256), one that copied it would change inode.
        let session_file = f.uploads.file(&id);
        let inode = std::fs::metadata(&session_file).unwrap().ino();
        let other = vec![0u8; data.len()];
        std::fs::write(&session_file, &other).unwrap();
        assert_eq!(std::fs::metadata(&session_file).unwrap().ino(), inode);

        let expected = digests(&data);
        let sha256 = expected.sha256.clone().unwrap().to_ascii_uppercase();
        let info = f
            .uploads
            .finish("r", &id, &f.blobs, Want::default(), Some(&sha256))
            .await
            .unwrap();
        assert_eq!(info, expected);
        let stored = blob_file(&f, &info.blake3);
        assert_eq!(std::fs::metadata(&stored).unwrap().ino(), inode);
        assert_eq!(std::fs::read(&stored).unwrap(), other);
        assert!(!session_file.exists());
        assert_eq!(f.uploads.offset("r", &id).await, Err(StoreError::NotFound));
        assert!(f.uploads.sessions.lock().unwrap().is_empty());
        assert_eq!(f.blobs.info(&info.blake3).await.unwrap(), Some(info));
    }

    #[tokio::test]
    async fn after_a_restart_finish_reads_the_file_once() {
        let f = fixture().await;
        let data = data(700_000, 3);
        let id = f.uploads.start("r").await.unwrap();
        f.uploads
            .append("r", &id, body(&data[..100]), None, u64::MAX)
            .await
            .unwrap();
        // A new process: the running digests are gone, the session is not.
        let restarted = Uploads::new(f.dir.path().join("uploads"), f.db.clone()).unwrap();
        restarted
            .append("r", &id, body(&data[100..]), Some(100), u64::MAX)
            .await
            .unwrap();
        let restarted = Uploads::new(f.dir.path().join("uploads"), f.db.clone()).unwrap();
        let want = Want {
            md5: true,
            ..Default::default()
        };
        let info = restarted
            .finish("r", &id, &f.blobs, want, None)
            .await
            .unwrap();
        let mut all = Hasher::new(want);
        all.update(&data);
        assert_eq!(info, all.finish());
        assert_eq!(std::fs::read(blob_file(&f, &info.blake3)).unwrap(), data);
    }

    #[tokio::test]
    async fn refused_chunks_and_digests_leave_the_session_as_it_was() {
        let f = fixture().await;
        let id = f.uploads.start("r").await.unwrap();
        f.uploads
            .append("r", &id, body(b"hello "), None, 10)
            .await
            .unwrap();
        let err = f
            .uploads
            .append("r", &id, body(b"too large"), None, 10)
            .await
            .unwrap_err();
        assert_eq!(err, StoreError::TooLarge(10));
        assert_eq!(f.uploads.offset("r", &id).await, Ok(6));
        let err = f
            .uploads
            .append("r", &id, body(b"x"), Some(3), 10)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)));
        assert_eq!(
            f.uploads.offset("other", &id).await,
            Err(StoreError::NotFound)
        );
        f.uploads
            .append("r", &id, body(b"wharf"), Some(6), 20)
            .await
            .unwrap();
        let wrong = "0".repeat(64);
        let err = f
            .uploads
            .finish("r", &id, &f.blobs, Want::default(), Some(&wrong))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::DigestMismatch(_)));
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM blobs")
            .fetch_one(&f.db)
            .await
            .unwrap();
        assert_eq!(count, 0);
        // The partial write of the refused chunk is not part of the blob.
        let expected = digests(b"hello wharf");
        let info = f
            .uploads
            .finish(
                "r",
                &id,
                &f.blobs,
                Want::default(),
                expected.sha256.as_deref(),
            )
            .await
            .unwrap();
        assert_eq!(info, expected);
        assert_eq!(
            std::fs::read(blob_file(&f, &info.blake3)).unwrap(),
            b"hello wharf"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_to_one_session_never_interleave() {
        let f = fixture().await;
        let id = f.uploads.start("r").await.unwrap();
        let (a, b) = tokio::join!(
            f.uploads.append("r", &id, slow(b'a', 20), None, u64::MAX),
            f.uploads.append("r", &id, slow(b'b', 20), None, u64::MAX),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.max(b), 40_000);
        assert_eq!(a.min(b), 20_000);
        let bytes = std::fs::read(f.uploads.file(&id)).unwrap();
        let (first, second) = bytes.split_at(20_000);
        assert!(first.iter().all(|&x| x == first[0]), "interleaved");
        assert!(second.iter().all(|&x| x == second[0] && x != first[0]));

        // Both claim the same offset: one lands, the other is refused whole.
        let (a, b) = tokio::join!(
            f.uploads
                .append("r", &id, slow(b'c', 20), Some(40_000), u64::MAX),
            f.uploads
                .append("r", &id, slow(b'd', 20), Some(40_000), u64::MAX),
        );
        assert!(a.is_ok() != b.is_ok(), "{a:?} {b:?}");
        let refused = a.err().or(b.err()).unwrap();
        assert_eq!(
            refused,
            StoreError::Invalid("upload is at offset 60000".into())
        );
        let mut expected = bytes.clone();
        let bytes = std::fs::read(f.uploads.file(&id)).unwrap();
        expected.extend(std::iter::repeat_n(bytes[40_000], 20_000));
        assert_eq!(bytes, expected);
        let info = f
            .uploads
            .finish("r", &id, &f.blobs, Want::default(), None)
            .await
            .unwrap();
        assert_eq!(info, digests(&expected));
    }
}
