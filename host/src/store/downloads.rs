//! When assets were last downloaded, without a write per request: a
//! download notes its blob in memory, and the notes are written to
//! `assets.last_download_at` in one transaction every minute (and before a
//! retention plan reads them). Retention needs days, not milliseconds, so a
//! crash losing the last minute's notes costs nothing.
//!
//! A note is per blob: every asset served from those bytes counts as
//! downloaded (the same file in two repositories is rare, and then both
//! were in use).

use super::{Db, StoreError};
use std::collections::HashMap;
use std::sync::Mutex;

/// Notes kept between two flushes at most: beyond, a download is not
/// noted (a flood of distinct blobs cannot grow memory without end).
const MAX_NOTES: usize = 100_000;

pub struct Downloads {
    db: Db,
    /// BLAKE3 → when it was last served (Unix milliseconds).
    notes: Mutex<HashMap<String, i64>>,
}

impl Downloads {
    pub fn new(db: Db) -> Downloads {
        Downloads {
            db,
            notes: Mutex::new(HashMap::new()),
        }
    }

    /// Notes that a client was sent the blob `blake3` at `at`.
    pub fn saw(&self, blake3: &str, at: i64) {
        let mut notes = self.notes.lock().expect("not poisoned");
        if let Some(seen) = notes.get_mut(blake3) {
            *seen = (*seen).max(at);
        } else if notes.len() < MAX_NOTES {
            notes.insert(blake3.to_string(), at);
        }
    }

    /// Writes the notes to the catalog; on failure they are kept for the
    /// next flush.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        let notes = std::mem::take(&mut *self.notes.lock().expect("not poisoned"));
        if notes.is_empty() {
            return Ok(0);
        }
        let written = self.write(&notes).await;
        if written.is_err() {
            let mut kept = self.notes.lock().expect("not poisoned");
            for (blake3, at) in notes {
                let seen = kept.entry(blake3).or_insert(at);
                *seen = (*seen).max(at);
            }
        }
        written
    }

    async fn write(&self, notes: &HashMap<String, i64>) -> Result<usize, StoreError> {
        let mut tx = self.db.begin().await?;
        for (blake3, at) in notes {
            sqlx::query(
                "UPDATE assets SET last_download_at = $1 WHERE blake3 = $2 \
                 AND (last_download_at IS NULL OR last_download_at < $3)",
            )
            .bind(at)
            .bind(blake3)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(notes.len())
    }
}
