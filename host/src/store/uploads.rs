//! Resumable uploads that span requests (OCI chunked pushes).
//!
//! Bytes are appended to a file per session in the data directory and the
//! session row records the committed size, so a session survives a restart.
//! `finish` streams the file into the blob store, which verifies and dedups.

use super::blobs::BlobStore;
use super::digest::{BlobInfo, Want};
use super::{Db, StoreError, now_millis};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use std::path::PathBuf;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

#[derive(Clone)]
pub struct Uploads {
    dir: PathBuf,
    db: Db,
}

impl Uploads {
    pub fn new(dir: PathBuf, db: Db) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Uploads { dir, db })
    }

    fn file(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    pub async fn start(&self, repo: &str) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        tokio::fs::File::create(self.file(&id)).await.map_err(io)?;
        sqlx::query("INSERT INTO uploads (id, repo, size, updated_at) VALUES (?, ?, 0, ?)")
            .bind(&id)
            .bind(repo)
            .bind(now_millis())
            .execute(&self.db)
            .await?;
        Ok(id)
    }

    pub async fn offset(&self, repo: &str, id: &str) -> Result<u64, StoreError> {
        let size: Option<i64> =
            sqlx::query_scalar("SELECT size FROM uploads WHERE id = ? AND repo = ?")
                .bind(id)
                .bind(repo)
                .fetch_optional(&self.db)
                .await?;
        size.map(|s| s as u64).ok_or(StoreError::NotFound)
    }

    /// Appends a chunk; refuses it unless it starts at `expect_offset`.
    pub async fn append<S, E>(
        &self,
        repo: &str,
        id: &str,
        mut body: S,
        expect_offset: Option<u64>,
        max: u64,
    ) -> Result<u64, StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let size = self.offset(repo, id).await?;
        if expect_offset.is_some_and(|o| o != size) {
            return Err(StoreError::Invalid(format!("upload is at offset {size}")));
        }
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(self.file(id))
            .await
            .map_err(io)?;
        // Drop anything past the committed size left by an interrupted append.
        file.set_len(size).await.map_err(io)?;
        file.seek(std::io::SeekFrom::End(0)).await.map_err(io)?;
        let mut written = size;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                StoreError::Invalid(format!("reading the request body failed: {e}"))
            })?;
            written += chunk.len() as u64;
            if written > max {
                return Err(StoreError::TooLarge(max));
            }
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        sqlx::query("UPDATE uploads SET size = ?, updated_at = ? WHERE id = ?")
            .bind(written as i64)
            .bind(now_millis())
            .bind(id)
            .execute(&self.db)
            .await?;
        Ok(written)
    }

    pub async fn finish(
        &self,
        repo: &str,
        id: &str,
        blobs: &BlobStore,
        want: Want,
        expect_sha256: Option<&str>,
    ) -> Result<BlobInfo, StoreError> {
        let size = self.offset(repo, id).await?;
        let file = tokio::fs::File::open(self.file(id)).await.map_err(io)?;
        use tokio::io::AsyncReadExt;
        let stream = tokio_util::io::ReaderStream::with_capacity(file.take(size), 256 * 1024);
        let info = blobs.ingest(stream, want, expect_sha256, u64::MAX).await?;
        self.abort(repo, id).await;
        Ok(info)
    }

    pub async fn abort(&self, repo: &str, id: &str) {
        let deleted = sqlx::query("DELETE FROM uploads WHERE id = ? AND repo = ?")
            .bind(id)
            .bind(repo)
            .execute(&self.db)
            .await;
        if deleted.is_ok_and(|r| r.rows_affected() > 0) {
            tokio::fs::remove_file(self.file(id)).await.ok();
        }
    }

    /// Removes sessions untouched for `max_age`.
    pub async fn reap(&self, max_age: std::time::Duration) -> Result<usize, StoreError> {
        let cutoff = now_millis() - max_age.as_millis() as i64;
        let stale: Vec<(String, String)> =
            sqlx::query_as("SELECT id, repo FROM uploads WHERE updated_at < ?")
                .bind(cutoff)
                .fetch_all(&self.db)
                .await?;
        for (id, repo) in &stale {
            self.abort(repo, id).await;
        }
        Ok(stale.len())
    }
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("upload storage: {e}"))
}
