//! Persistence: the SQL catalog, content-addressed blobs and their garbage
//! collection, resumable uploads.

pub mod blobs;
pub mod cargo_owners;
pub mod catalog;
pub mod digest;
pub mod downloads;
pub mod gc;
pub mod ingest;
pub mod scrub;
pub mod sqlite_catalog;
pub mod uploads;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::str::FromStr;

pub type Db = sqlx::SqlitePool;

/// Errors of the stores, in the vocabulary plugins see.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    AlreadyExists,
    /// The request's route or the caller does not allow this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("digest mismatch: {0}")]
    DigestMismatch(String),
    #[error("larger than {0} bytes")]
    TooLarge(u64),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(d) = &e
            && d.is_unique_violation()
        {
            return StoreError::AlreadyExists;
        }
        tracing::error!(error = %e, "database error");
        StoreError::Unavailable("database error".into())
    }
}

impl From<object_store::Error> for StoreError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => StoreError::NotFound,
            e => {
                tracing::error!(error = %e, "blob store error");
                StoreError::Unavailable("blob store error".into())
            }
        }
    }
}

/// Opens (creating if needed) the embedded SQLite database and migrates it.
pub async fn open_sqlite(path: &Path) -> anyhow::Result<Db> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(10));
    let db = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    sqlx::migrate!("../migrations/sqlite").run(&db).await?;
    Ok(db)
}

pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
