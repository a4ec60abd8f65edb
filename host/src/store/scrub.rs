//! Bytes on disk can rot, or be changed behind Wharf's back. A blob is
//! checked by hashing its file and comparing with its BLAKE3 address; one
//! that does not match, or is gone, is quarantined: its file moves to
//! `quarantine/`, its row is marked, and every download of it answers 5xx
//! instead of wrong bytes, until the same content is stored again.
//! `wharf fsck` checks everything once; `spawn_scrubber` does it forever,
//! a little at a time.

use super::blobs::BlobStore;
use super::{StoreError, now_millis};
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, PartialEq, Eq)]
pub enum Health {
    Sound,
    Corrupt,
    Missing,
}

impl BlobStore {
    /// Hashes a blob's file at no more than `bytes_per_sec` (0: no limit).
    pub async fn verify(&self, blake3: &str, bytes_per_sec: u64) -> Result<Health, StoreError> {
        let file = self.file_of(blake3);
        let want = blake3.to_string();
        tokio::task::spawn_blocking(move || hash_file(&file, &want, bytes_per_sec))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }

    /// Takes a blob out of service: its file (if any) to `quarantine/`.
    pub async fn quarantine(&self, blake3: &str) -> Result<(), StoreError> {
        let file = self.file_of(blake3);
        let kept = self.root().join("quarantine").join(blake3);
        let moved = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(kept.parent().unwrap())?;
            match std::fs::rename(&file, &kept) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        moved.map_err(|e| StoreError::Unavailable(format!("quarantining {blake3}: {e}")))?;
        sqlx::query("UPDATE blobs SET corrupt_at = $1, scrubbed_at = $2 WHERE blake3 = $3")
            .bind(now_millis())
            .bind(now_millis())
            .bind(blake3)
            .execute(self.db())
            .await?;
        Ok(())
    }

    async fn scrubbed(&self, blake3: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE blobs SET scrubbed_at = $1 WHERE blake3 = $2")
            .bind(now_millis())
            .bind(blake3)
            .execute(self.db())
            .await?;
        Ok(())
    }

    /// Checks one blob, quarantining it when it is not sound.
    pub async fn scrub(&self, blake3: &str, bytes_per_sec: u64) -> Result<Health, StoreError> {
        let health = self.verify(blake3, bytes_per_sec).await?;
        match health {
            Health::Sound => self.scrubbed(blake3).await?,
            Health::Corrupt | Health::Missing => {
                tracing::error!(
                    blake3,
                    ?health,
                    "a stored blob failed its check; quarantined"
                );
                self.quarantine(blake3).await?;
            }
        }
        Ok(health)
    }

    /// Blobs in service, least recently checked first.
    pub async fn due_for_scrub(&self, limit: i64) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT blake3, size FROM blobs WHERE corrupt_at IS NULL
             ORDER BY scrubbed_at IS NOT NULL, scrubbed_at, blake3 LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.db())
        .await?)
    }

    /// Blobs in service after `after`, by address (fsck's walk).
    pub async fn page(&self, after: &str, limit: i64) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT blake3, size FROM blobs WHERE corrupt_at IS NULL AND blake3 > $1
             ORDER BY blake3 LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(self.db())
        .await?)
    }

    /// Bytes of the blobs in service.
    pub async fn bytes_in_service(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT CAST(coalesce(sum(size), 0) AS BIGINT) FROM blobs WHERE corrupt_at IS NULL",
        )
        .fetch_one(self.db())
        .await?)
    }

    pub async fn corrupt_count(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM blobs WHERE corrupt_at IS NOT NULL")
                .fetch_one(self.db())
                .await?,
        )
    }

    /// Assets that name a blob the store does not have.
    pub async fn dangling_assets(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM assets a LEFT JOIN blobs b ON b.blake3 = a.blake3 WHERE b.blake3 IS NULL",
        )
        .fetch_one(self.db())
        .await?)
    }
}

fn hash_file(file: &PathBuf, want: &str, bytes_per_sec: u64) -> Result<Health, StoreError> {
    let mut f = match std::fs::File::open(file) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Health::Missing),
        Err(e) => return Err(StoreError::Unavailable(e.to_string())),
    };
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let started = std::time::Instant::now();
    let mut done = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        done += n as u64;
        if bytes_per_sec > 0 {
            // Stay under the rate: sleep until `done` bytes were due.
            let due = Duration::from_secs_f64(done as f64 / bytes_per_sec as f64);
            if let Some(ahead) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(ahead);
            }
        }
    }
    Ok(match hasher.finalize().to_hex().as_str() == want {
        true => Health::Sound,
        false => Health::Corrupt,
    })
}
