//! Content-addressed blob store over object_store.
//!
//! Bytes are written to a temporary file under `tmp/` while every wanted
//! digest is computed beside the write (see `ingest`), and linked at
//! `blobs/<b3[0..2]>/<b3[2..4]>/<b3>` only when complete and verified: a
//! reader never sees a partial blob, and identical content is stored once. A
//! finished upload session is renamed into `tmp/` first (`adopt`), not copied.
//! The `blobs` table records the digests so later requests (checksum
//! sidecars, index files) never rehash.

use super::digest::{BlobInfo, Hasher, Want};
use super::{Db, StoreError, ingest, now_millis};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use object_store::{GetOptions, GetRange, GetResultPayload, ObjectStore, path::Path as ObjectPath};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct BlobStore {
    objects: Arc<dyn ObjectStore>,
    /// Where `objects` keeps its files: bodies are written there directly.
    root: PathBuf,
    db: Db,
}

/// A blob body to stream to a client.
pub type ByteStream = futures::stream::BoxStream<'static, std::io::Result<Bytes>>;

fn object_path(blake3: &str) -> ObjectPath {
    ObjectPath::from(format!(
        "blobs/{}/{}/{}",
        &blake3[..2],
        &blake3[2..4],
        blake3
    ))
}

fn is_blake3_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl BlobStore {
    pub fn local(dir: &std::path::Path, db: Db) -> anyhow::Result<Self> {
        // No sweep of `tmp/` here: a command run beside a live server opens
        // the store too, and must not remove the server's ingests (`serve`
        // sweeps once at start).
        std::fs::create_dir_all(dir.join("tmp"))?;
        let root = dir.canonicalize()?;
        let objects = object_store::local::LocalFileSystem::new_with_prefix(&root)?;
        Ok(BlobStore {
            objects: Arc::new(objects),
            root,
            db,
        })
    }

    pub(super) fn root(&self) -> &Path {
        &self.root
    }

    pub(super) fn db(&self) -> &Db {
        &self.db
    }

    /// Where a blob's bytes live on disk.
    pub(super) fn file_of(&self, blake3: &str) -> PathBuf {
        self.root.join(object_path(blake3).as_ref())
    }

    /// A new, not yet created, temporary file.
    fn temp(&self) -> TempObject {
        let name = ObjectPath::from(format!("tmp/{}", uuid::Uuid::new_v4()));
        TempObject {
            file: self.root.join(name.as_ref()),
        }
    }

    /// Streams `body` into the store. Refuses more than `max` bytes and, when
    /// `expect_sha256` is given, bytes with another SHA-256.
    pub async fn ingest<S, E>(
        &self,
        body: S,
        want: Want,
        expect_sha256: Option<&str>,
        max: u64,
    ) -> Result<BlobInfo, StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let want = Want {
            sha256: want.sha256 || expect_sha256.is_some(),
            ..want
        };
        let tmp = self.temp();
        let file = tokio::fs::File::create(&tmp.file).await.map_err(io)?;
        let file = file.into_std().await;
        let (_, hasher) = ingest::pipe(body, file, Hasher::new(want), 0, max).await?;
        let info = hasher.finish();
        check_sha256(&info, expect_sha256)?;
        self.publish(&tmp, &info).await?;
        Ok(info)
    }

    /// Takes a complete local file (a finished upload session) as the blob
    /// `info` describes, which the caller has verified: the file is renamed
    /// into the store, its bytes are neither read nor copied.
    pub async fn adopt(&self, file: &Path, info: &BlobInfo) -> Result<(), StoreError> {
        let tmp = self.temp();
        if let Err(e) = tokio::fs::rename(file, &tmp.file).await {
            // The uploads directory is on another filesystem: copy once.
            if e.kind() != std::io::ErrorKind::CrossesDevices {
                return Err(io(e));
            }
            tokio::fs::copy(file, &tmp.file).await.map_err(io)?;
            tokio::fs::remove_file(file).await.ok();
        }
        self.publish(&tmp, info).await
    }

    /// A temporary file the host fills itself and others may read while it
    /// grows (a pull-through download); removed when dropped, after
    /// `publish_staged` made its bytes a blob or not.
    pub fn stage(&self) -> Staged {
        Staged(self.temp())
    }

    /// Makes a complete staged file the blob `info` describes, which the
    /// caller has verified. Readers that opened the file keep reading it.
    pub async fn publish_staged(&self, staged: Staged, info: &BlobInfo) -> Result<(), StoreError> {
        self.publish(&staged.0, info).await
    }

    /// Stores small bytes generated in memory.
    pub async fn put_bytes(&self, data: Bytes, want: Want) -> Result<BlobInfo, StoreError> {
        let body = futures::stream::iter([Ok::<_, std::convert::Infallible>(data)]);
        self.ingest(body, want, None, u64::MAX).await
    }

    /// Puts a finished temporary object at its content address and records
    /// it, refreshing `stored_at` (the grace period of `gc.rs` starts again).
    async fn publish(&self, tmp: &TempObject, info: &BlobInfo) -> Result<(), StoreError> {
        let address = self.root.join(object_path(&info.blake3).as_ref());
        // Content already stored (only ever complete and verified): the copy
        // is dropped, not linked over it.
        if !exists(&address).await {
            place(tmp, &address).await?;
        }
        // Recorded in a write transaction, which a collection also holds
        // while it deletes a row and removes its file (`gc.rs`): one that
        // took this blob since the check above has removed the file by now,
        // and one that comes later takes row and file together. Either way,
        // when this commits the row names bytes in place.
        let mut tx = super::begin_write(&self.db, &format!("blob {}", info.blake3)).await?;
        // A blob may already be known with fewer digests: keep the union.
        sqlx::query(
            "INSERT INTO blobs (blake3, size, sha256, sha512, sha1, md5, blake2b256, created_at, stored_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (blake3) DO UPDATE SET
               sha256 = coalesce(blobs.sha256, excluded.sha256), sha512 = coalesce(blobs.sha512, excluded.sha512),
               sha1 = coalesce(blobs.sha1, excluded.sha1), md5 = coalesce(blobs.md5, excluded.md5),
               blake2b256 = coalesce(blobs.blake2b256, excluded.blake2b256),
               stored_at = excluded.stored_at, corrupt_at = NULL",
        )
        .bind(&info.blake3)
        .bind(info.size as i64)
        .bind(&info.sha256)
        .bind(&info.sha512)
        .bind(&info.sha1)
        .bind(&info.md5)
        .bind(&info.blake2b256)
        .bind(now_millis())
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        if !exists(&address).await {
            place(tmp, &address).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Digests recorded for a blob in service (not quarantined).
    pub async fn info(&self, blake3: &str) -> Result<Option<BlobInfo>, StoreError> {
        if !is_blake3_hex(blake3) {
            return Ok(None);
        }
        Ok(sqlx::query_as(
            "SELECT blake3, size, sha256, sha512, sha1, md5, blake2b256 FROM blobs
             WHERE blake3 = $1 AND corrupt_at IS NULL",
        )
        .bind(blake3)
        .fetch_optional(&self.db)
        .await?)
    }

    /// Reads `range` of a blob into memory (plugins reading inside archives).
    pub async fn read_range(&self, blake3: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        Ok(self.objects.get_range(&object_path(blake3), range).await?)
    }

    /// Streams a blob, or a byte range of it, to a client.
    pub async fn stream(
        &self,
        blake3: &str,
        range: Option<Range<u64>>,
    ) -> Result<ByteStream, StoreError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        let result = self.objects.get_opts(&object_path(blake3), options).await?;
        let range = result.range.clone();
        Ok(match result.payload {
            // Local files: read with large buffers instead of object_store's 8 KiB chunks.
            GetResultPayload::File(file, _) => {
                use tokio::io::{AsyncReadExt, AsyncSeekExt};
                let mut file = tokio::fs::File::from_std(file);
                file.seek(std::io::SeekFrom::Start(range.start))
                    .await
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                let reader = file.take(range.end - range.start);
                tokio_util::io::ReaderStream::with_capacity(reader, 256 * 1024).boxed()
            }
            GetResultPayload::Stream(s) => s.map(|r| r.map_err(std::io::Error::other)).boxed(),
        })
    }
}

/// Refuses content whose SHA-256 is not the one the client announced.
pub fn check_sha256(info: &BlobInfo, expected: Option<&str>) -> Result<(), StoreError> {
    match expected {
        Some(expected)
            if info.sha256.as_deref() != Some(expected.to_ascii_lowercase().as_str()) =>
        {
            Err(StoreError::DigestMismatch(format!(
                "expected sha256 {expected}, content has {}",
                info.sha256.as_deref().unwrap_or("?")
            )))
        }
        _ => Ok(()),
    }
}

impl BlobStore {
    /// Removes temporary objects untouched for `older_than`: ingests a
    /// killed process never finished. A live ingest writes as it goes.
    pub async fn sweep_temp(&self, older_than: Duration) -> std::io::Result<usize> {
        let dir = self.root.join("tmp");
        tokio::task::spawn_blocking(move || sweep(&dir, older_than))
            .await
            .map_err(std::io::Error::other)?
    }
}

fn sweep(dir: &Path, older_than: Duration) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let age = entry
            .metadata()?
            .modified()?
            .elapsed()
            .unwrap_or(Duration::ZERO);
        if age >= older_than && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

/// A temporary file being filled, see `BlobStore::stage`.
pub struct Staged(TempObject);

impl Staged {
    pub fn path(&self) -> &Path {
        &self.0.file
    }
}

/// A file under `tmp/`, removed when dropped: a failed, refused or
/// cancelled ingest leaves nothing behind, and a published one lives on
/// under its address (a second link to the same file).
struct TempObject {
    file: PathBuf,
}

impl Drop for TempObject {
    fn drop(&mut self) {
        std::fs::remove_file(&self.file).ok();
    }
}

async fn exists(file: &Path) -> bool {
    tokio::fs::try_exists(file).await.unwrap_or(false)
}

/// Links a complete temporary file at `address`, durably: the bytes on disk
/// before they are addressable (a power loss must not leave truncated bytes
/// behind a valid address), then the new name. A link, not a rename: the
/// temporary name stays until `tmp` drops, so the bytes can be placed again
/// (see `publish`). Content another ingest placed meanwhile is the same.
async fn place(tmp: &TempObject, address: &Path) -> Result<(), StoreError> {
    let (file, address) = (tmp.file.clone(), address.to_path_buf());
    let placed = tokio::task::spawn_blocking(move || {
        std::fs::File::open(&file)?.sync_all()?;
        let dir = address.parent().expect("an address has a directory");
        std::fs::create_dir_all(dir)?;
        match std::fs::hard_link(&file, &address) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        std::fs::File::open(dir)?.sync_all()
    });
    placed
        .await
        .map_err(|e| io(std::io::Error::other(e)))?
        .map_err(io)
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("blob storage: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, BlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::open_sqlite(&dir.path().join("db.sqlite"))
            .await
            .unwrap();
        let blobs = BlobStore::local(&dir.path().join("blobs"), db).unwrap();
        (dir, blobs)
    }

    fn chunks(
        data: &'static [u8],
    ) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> + Unpin {
        futures::stream::iter(
            data.chunks(3)
                .map(|c| Ok(Bytes::from_static(c)))
                .collect::<Vec<_>>(),
        )
    }

    #[tokio::test]
    async fn ingest_stores_once_and_streams_ranges() {
        let (dir, blobs) = store().await;
        let want = Want {
            sha256: true,
            ..Default::default()
        };
        let a = blobs
            .ingest(chunks(b"hello wharf"), want, None, 1 << 20)
            .await
            .unwrap();
        let b = blobs
            .ingest(chunks(b"hello wharf"), want, None, 1 << 20)
            .await
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.size, 11);
        // The second copy was dropped, not renamed over the first.
        let files = walk(&dir.path().join("blobs"));
        assert_eq!(files.len(), 1, "{files:?}");
        assert!(files[0].ends_with(object_path(&a.blake3).as_ref()));
        let body: Vec<Bytes> = blobs
            .stream(&a.blake3, Some(6..11))
            .await
            .unwrap()
            .map(|c| c.unwrap())
            .collect()
            .await;
        assert_eq!(body.concat(), b"wharf");
        assert_eq!(
            blobs.info(&a.blake3).await.unwrap().unwrap().sha256,
            a.sha256
        );
    }

    #[tokio::test]
    async fn wrong_digest_and_oversize_leave_nothing() {
        let (dir, blobs) = store().await;
        let wrong = "0".repeat(64);
        let err = blobs
            .ingest(chunks(b"data"), Want::default(), Some(&wrong), 1 << 20)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::DigestMismatch(_)));
        let err = blobs
            .ingest(chunks(b"too large"), Want::default(), None, 4)
            .await
            .unwrap_err();
        assert_eq!(err, StoreError::TooLarge(4));
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM blobs")
            .fetch_one(&blobs.db)
            .await
            .unwrap();
        assert_eq!(count, 0);
        let leftovers = walk(&dir.path().join("blobs"));
        assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
        out
    }
}
