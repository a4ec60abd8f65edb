//! The cache of an upstream's mutable metadata (packuments, simple pages,
//! `maven-metadata.xml`, `index.yaml`, …): answers within the TTL without
//! asking; after it, revalidates with the upstream's own validators (ETag,
//! Last-Modified), so a new upstream version shows within the TTL; when the
//! upstream fails, serves the last good answer marked stale
//! (stale-if-error), and asks again after the negative TTL rather than at
//! every request. A 404 or a failure is remembered only for the negative
//! TTL: never taken as the answer for longer. Concurrent misses of one
//! entry ask the upstream once.
//!
//! Bodies are blobs (a packument can be tens of MiB); the table
//! `upstream_cache` holds status, validators and the body's address, so
//! every server sharing the database shares the cache.

use super::FetchError;
use crate::store::blobs::BlobStore;
use crate::store::digest::Want;
use crate::store::{Db, StoreError, now_millis};
use futures::StreamExt;
use futures::future::BoxFuture;
use reqwest::header::{self, HeaderMap, HeaderValue};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An answer of the upstream, as cached.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached {
    pub status: u16,
    pub content_type: Option<String>,
    /// The body of a 200, stored.
    pub blake3: Option<String>,
    /// The upstream failed; this is the last good answer.
    pub stale: bool,
    /// When the upstream gave (or confirmed) it, Unix milliseconds: it is
    /// fresh for the TTL from then.
    pub fetched_at: i64,
}

/// How long answers stay fresh.
#[derive(Debug, Clone, Copy)]
pub struct Ttl {
    /// A 200.
    pub fresh: Duration,
    /// A 404, a failure, or the pause before a failed upstream is asked again.
    pub negative: Duration,
}

/// Sends the request with these extra (conditional) headers.
pub type AskConditionally = Box<
    dyn Fn(HeaderMap) -> BoxFuture<'static, Result<reqwest::Response, FetchError>> + Send + Sync,
>;

#[derive(sqlx::FromRow)]
struct Row {
    status: i64,
    content_type: Option<String>,
    blake3: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    fetched_at: i64,
    /// When a failed revalidation may be tried again (stale-if-error).
    retry_at: i64,
}

pub struct MetadataCache {
    db: Db,
    blobs: BlobStore,
    /// Largest metadata body kept.
    max_bytes: u64,
    /// One revalidation per entry at a time.
    busy: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl MetadataCache {
    pub fn new(db: Db, blobs: BlobStore, max_bytes: u64) -> Self {
        MetadataCache {
            db,
            blobs,
            max_bytes,
            busy: Mutex::default(),
        }
    }

    /// The answer for `key` (the upstream URL and the request headers that
    /// shape the answer, such as npm's `Accept`) in `repo`: cached while
    /// fresh, from `ask` otherwise. An upstream that fails with nothing
    /// cached is a 502; an error is the database's.
    pub async fn get(
        &self,
        repo: &str,
        key: &str,
        ttl: Ttl,
        ask: AskConditionally,
    ) -> Result<Cached, FetchError> {
        let lock = self.lock(repo, key);
        let _turn = lock.lock().await;
        let result = self.get_locked(repo, key, ttl, ask).await;
        drop(_turn);
        self.release(repo, key, lock);
        result
    }

    async fn get_locked(
        &self,
        repo: &str,
        key: &str,
        ttl: Ttl,
        ask: AskConditionally,
    ) -> Result<Cached, FetchError> {
        let now = now_millis();
        let row = self.row(repo, key).await?;
        if let Some(row) = &row {
            let life = match row.status {
                200 => ttl.fresh,
                _ => ttl.negative,
            };
            if now - row.fetched_at < life.as_millis() as i64 {
                return Ok(answer(row, false));
            }
            if row.status == 200 && now < row.retry_at {
                // The upstream failed a moment ago: not asked again yet.
                return Ok(answer(row, true));
            }
        }
        let good = row
            .as_ref()
            .filter(|r| r.status == 200 && r.blake3.is_some());
        let mut conditional = HeaderMap::new();
        if let Some(good) = good {
            if let Some(etag) = good
                .etag
                .as_deref()
                .and_then(|v| HeaderValue::from_str(v).ok())
            {
                conditional.insert(header::IF_NONE_MATCH, etag);
            }
            if let Some(date) = good
                .last_modified
                .as_deref()
                .and_then(|v| HeaderValue::from_str(v).ok())
            {
                conditional.insert(header::IF_MODIFIED_SINCE, date);
            }
        }
        let response = ask(conditional).await;
        let failed = |why: FetchError| async move {
            match good {
                Some(good) => {
                    tracing::warn!(repo, error = %why, "an upstream failed; serving its last answer");
                    self.retry_later(repo, key, now + ttl.negative.as_millis() as i64)
                        .await?;
                    Ok(answer(good, true))
                }
                None => {
                    // Nothing to fall back on: the upstream's failure is
                    // the answer, a 502, for the negative TTL.
                    tracing::warn!(repo, error = %why, "an upstream failed");
                    self.store(repo, key, 502, None, None, &HeaderMap::new(), now)
                        .await?;
                    Ok(Cached {
                        status: 502,
                        content_type: None,
                        blake3: None,
                        stale: false,
                        fetched_at: now,
                    })
                }
            }
        };
        let response = match response {
            Ok(response) => response,
            Err(why) => return failed(why).await,
        };
        match response.status().as_u16() {
            304 if good.is_some() => {
                let good = good.expect("checked");
                self.touch(repo, key, now).await?;
                Ok(Cached {
                    fetched_at: now,
                    ..answer(good, false)
                })
            }
            200 => {
                let headers = response.headers().clone();
                let content_type = headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let body = response
                    .bytes_stream()
                    .map(|r| r.map_err(|e| e.without_url()));
                let info = match self
                    .blobs
                    .ingest(body, Want::default(), None, self.max_bytes)
                    .await
                {
                    Ok(info) => info,
                    Err(e) => return failed(FetchError::Protocol(e.to_string())).await,
                };
                let blake3 = Some(info.blake3);
                self.store(
                    repo,
                    key,
                    200,
                    content_type.as_deref(),
                    blake3.as_deref(),
                    &headers,
                    now,
                )
                .await?;
                Ok(Cached {
                    status: 200,
                    content_type,
                    blake3,
                    stale: false,
                    fetched_at: now,
                })
            }
            status @ (404 | 410) => {
                self.store(repo, key, status, None, None, &HeaderMap::new(), now)
                    .await?;
                Ok(Cached {
                    status,
                    content_type: None,
                    blake3: None,
                    stale: false,
                    fetched_at: now,
                })
            }
            status => {
                failed(FetchError::Protocol(format!(
                    "the upstream answered {status}"
                )))
                .await
            }
        }
    }

    fn lock(&self, repo: &str, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut busy = self.busy.lock().unwrap();
        busy.entry(format!("{repo}\n{key}")).or_default().clone()
    }

    /// Forgets the entry's lock once nobody waits on it.
    fn release(&self, repo: &str, key: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut busy = self.busy.lock().unwrap();
        let name = format!("{repo}\n{key}");
        // Ours and the table's: nobody else holds or waits for it.
        if Arc::strong_count(&lock) == 2 {
            busy.remove(&name);
        }
    }

    async fn row(&self, repo: &str, key: &str) -> Result<Option<Row>, FetchError> {
        sqlx::query_as(
            "SELECT status, content_type, blake3, etag, last_modified, fetched_at, retry_at
             FROM upstream_cache WHERE repo = $1 AND key = $2",
        )
        .bind(repo)
        .bind(key)
        .fetch_optional(&self.db)
        .await
        .map_err(store)
    }

    #[allow(clippy::too_many_arguments)]
    async fn store(
        &self,
        repo: &str,
        key: &str,
        status: u16,
        content_type: Option<&str>,
        blake3: Option<&str>,
        headers: &HeaderMap,
        now: i64,
    ) -> Result<(), FetchError> {
        let validator = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        sqlx::query(
            "INSERT INTO upstream_cache (repo, key, status, content_type, blake3, etag, last_modified, fetched_at, retry_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)
             ON CONFLICT (repo, key) DO UPDATE SET status = excluded.status,
               content_type = excluded.content_type, blake3 = excluded.blake3, etag = excluded.etag,
               last_modified = excluded.last_modified, fetched_at = excluded.fetched_at, retry_at = 0",
        )
        .bind(repo)
        .bind(key)
        .bind(i64::from(status))
        .bind(content_type)
        .bind(blake3)
        .bind(validator(header::ETAG))
        .bind(validator(header::LAST_MODIFIED))
        .bind(now)
        .execute(&self.db)
        .await
        .map_err(store)?;
        Ok(())
    }

    /// Still the upstream's answer (a 304): fresh again from `now`.
    async fn touch(&self, repo: &str, key: &str, now: i64) -> Result<(), FetchError> {
        sqlx::query(
            "UPDATE upstream_cache SET fetched_at = $1, retry_at = 0 WHERE repo = $2 AND key = $3",
        )
        .bind(now)
        .bind(repo)
        .bind(key)
        .execute(&self.db)
        .await
        .map_err(store)?;
        Ok(())
    }

    async fn retry_later(&self, repo: &str, key: &str, at: i64) -> Result<(), FetchError> {
        sqlx::query("UPDATE upstream_cache SET retry_at = $1 WHERE repo = $2 AND key = $3")
            .bind(at)
            .bind(repo)
            .bind(key)
            .execute(&self.db)
            .await
            .map_err(store)?;
        Ok(())
    }
}

fn answer(row: &Row, stale: bool) -> Cached {
    Cached {
        status: row.status as u16,
        content_type: row.content_type.clone(),
        blake3: row.blake3.clone(),
        stale,
        fetched_at: row.fetched_at,
    }
}

fn store(e: sqlx::Error) -> FetchError {
    FetchError::Protocol(StoreError::from(e).to_string())
}
