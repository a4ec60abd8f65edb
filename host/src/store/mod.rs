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
pub mod sql_catalog;
pub mod uploads;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, Executor, Transaction};
use std::path::Path;

/// The database: the embedded SQLite file or a PostgreSQL server, through
/// sqlx's `Any` driver. Queries are written once, in the SQL both accept,
/// with `$N` placeholders; `dialect` says where they part.
pub type Db = sqlx::AnyPool;

/// Which database a `Db` is, for the few statements written twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

pub fn dialect(db: &Db) -> Dialect {
    match db.connect_options().database_url.scheme() {
        "postgres" | "postgresql" => Dialect::Postgres,
        _ => Dialect::Sqlite,
    }
}

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
        if let sqlx::Error::Database(d) = &e {
            if d.is_unique_violation() {
                return StoreError::AlreadyExists;
            }
            // PostgreSQL's check that an asset's blob exists (SQLite's is a
            // query in the same write transaction, `sql_catalog.rs`).
            if d.is_foreign_key_violation() {
                return StoreError::Invalid("a row names one that is gone".into());
            }
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
    open(&format!("sqlite://{}?mode=rwc", path.display()), 8).await
}

/// Connects to `url` (`sqlite://…` or `postgres://…`) and migrates it.
/// Several nodes may start at once: sqlx migrates under a database lock.
pub async fn open(url: &str, max_connections: u32) -> anyhow::Result<Db> {
    install_default_drivers();
    let sqlite = url.starts_with("sqlite:");
    let db = AnyPoolOptions::new()
        .max_connections(max_connections)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if sqlite {
                    // One writer at a time, readers beside it; a writer
                    // waits for the lock instead of failing at once.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await?;
    match dialect(&db) {
        Dialect::Sqlite => sqlx::migrate!("../migrations/sqlite").run(&db).await?,
        Dialect::Postgres => sqlx::migrate!("../migrations/postgres").run(&db).await?,
    }
    Ok(db)
}

/// Begins a transaction that writes what `scope` names (a repository's
/// catalog, a blob). On SQLite it takes the database's write lock at once:
/// a deferred transaction that reads first cannot upgrade while another
/// writer holds it, and would fail instead of waiting. On PostgreSQL,
/// writers of the same scope queue on a transaction-scoped advisory lock,
/// which gives the read-then-write sequences the same order.
pub async fn begin_write(db: &Db, scope: &str) -> Result<Transaction<'static, Any>, sqlx::Error> {
    match dialect(db) {
        Dialect::Sqlite => db.begin_with("BEGIN IMMEDIATE").await,
        Dialect::Postgres => {
            let mut tx = db.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(scope)
                .execute(&mut *tx)
                .await?;
            Ok(tx)
        }
    }
}

/// A yes/no column: the integer 0 or 1 on both databases (SQLite has no
/// boolean type). Read into a `bool` field with `#[sqlx(try_from = "Flag")]`.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub struct Flag(pub i64);

impl From<Flag> for bool {
    fn from(flag: Flag) -> bool {
        flag.0 != 0
    }
}

/// The databases a store test runs against: the embedded SQLite file in
/// `dir`, and a new database of the test process's PostgreSQL cluster.
#[cfg(test)]
pub async fn test_databases(dir: &Path) -> Vec<Db> {
    let sqlite = open_sqlite(&dir.join("db.sqlite")).await.unwrap();
    let url = tokio::task::spawn_blocking(|| wharf_test_servers::postgres::shared().database())
        .await
        .unwrap();
    vec![sqlite, open(&url, 8).await.unwrap()]
}

pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
