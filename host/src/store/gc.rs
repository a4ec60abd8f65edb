//! Garbage collection: blobs nothing references are deleted, row and file.
//!
//! A blob is referenced by a catalog asset (`assets`, of any repository) or
//! by a proxy's cached upstream document (`upstream_cache`). Nothing else
//! keeps one: a plugin reads only blobs its own request stored or its
//! repository's assets name (`runtime/capability.rs`), and upload sessions
//! hold bytes under `uploads/`, not blobs. Quarantined blobs are left alone:
//! their rows are what `wharf fsck` and the corrupt-blob gauge report, until
//! the same content is stored again or an operator deals with them.
//!
//! A blob a request has stored but not yet referenced is unreferenced too:
//! only blobs not stored for the grace period are candidates (`stored_at`,
//! refreshed by every store of the same content).
//!
//! Against a concurrent write that references a blob being collected (a
//! second publish of the same bytes) the argument is SQLite's single writer:
//! - a candidate's row is deleted in a write transaction whose DELETE
//!   re-checks, in the same statement, that it is old and unreferenced, and
//!   its file is removed before that transaction commits;
//! - a catalog write that names a blob checks that its row exists in its own
//!   write transaction (`insert_asset` in `sql_catalog.rs`).
//!
//! The two transactions are ordered. If the publish commits first, the
//! DELETE sees its asset and keeps the blob. If the collection commits
//! first, the publish finds no row and fails cleanly with a store error. A
//! store of the same bytes (`BlobStore::publish`) writes the row and puts
//! the file back if it is missing in one write transaction: the collection's
//! delete of row and file comes wholly before it or wholly after it, so no
//! row names a missing file and no file outlives its row.
//!
//! A lease in the database lets one collection run at a time on any node;
//! it saves duplicate work, the safety above does not depend on it.

use super::blobs::BlobStore;
use super::{StoreError, now_millis};
use crate::telemetry;
use std::time::Duration;

/// Of a row of `blobs`: nothing names it.
const UNREFERENCED: &str = "NOT EXISTS (SELECT 1 FROM assets a WHERE a.blake3 = blobs.blake3)
     AND NOT EXISTS (SELECT 1 FROM upstream_cache u WHERE u.blake3 = blobs.blake3)";

/// Candidates examined per query; the lease is renewed after each page.
const PAGE: i64 = 500;

const LEASE: &str = "gc";
/// Long enough for a page of deletes; a holder that dies frees it this soon.
const LEASE_TTL: Duration = Duration::from_secs(600);

/// What one run collected, or would collect.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Collected {
    pub blobs: u64,
    pub bytes: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Deleted (or, for a dry run, would delete).
    Done(Collected),
    /// Another run holds the lease: nothing was done.
    Busy { holder: String },
}

/// One collection of blobs unreferenced and not stored for `grace`. A dry
/// run deletes nothing, and needs no lease.
pub async fn run(blobs: &BlobStore, grace: Duration, dry_run: bool) -> Result<Outcome, StoreError> {
    let before = now_millis() - grace.as_millis() as i64;
    if dry_run {
        return Ok(Outcome::Done(unreferenced(blobs, before, None).await?));
    }
    let result = leased(blobs, before).await;
    let label = match &result {
        Ok(Outcome::Done(c)) => {
            tracing::info!(
                blobs = c.blobs,
                bytes = c.bytes,
                "garbage collection removed unreferenced blobs"
            );
            "ok"
        }
        Ok(Outcome::Busy { holder }) => {
            tracing::info!(%holder, "garbage collection skipped: another run holds the lease");
            "busy"
        }
        Err(e) => {
            tracing::warn!(error = %e, "garbage collection failed");
            "failed"
        }
    };
    metrics::counter!(telemetry::GC_RUNS, "result" => label).increment(1);
    result
}

/// Collects under the lease, if it can be taken.
async fn leased(blobs: &BlobStore, before: i64) -> Result<Outcome, StoreError> {
    let holder = format!("pid {} run {}", std::process::id(), uuid::Uuid::new_v4());
    if !lease(blobs, &holder).await? {
        let holder = sqlx::query_scalar("SELECT holder FROM leases WHERE name = $1")
            .bind(LEASE)
            .fetch_optional(blobs.db())
            .await?
            .unwrap_or_default();
        return Ok(Outcome::Busy { holder });
    }
    let result = unreferenced(blobs, before, Some(&holder)).await;
    // Released whatever happened (an expired lease is free anyway).
    let released = sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
        .bind(LEASE)
        .bind(&holder)
        .execute(blobs.db())
        .await;
    if let Err(e) = released {
        tracing::warn!(error = %e, "releasing the garbage collection lease failed");
    }
    Ok(Outcome::Done(result?))
}

/// Walks the candidates stored before `before` by address; deletes each
/// under `lease` (its holder), or only adds them up without one.
async fn unreferenced(
    blobs: &BlobStore,
    before: i64,
    lease: Option<&str>,
) -> Result<Collected, StoreError> {
    let mut collected = Collected::default();
    let mut after = String::new();
    loop {
        let page: Vec<(String, i64)> = sqlx::query_as(&format!(
            "SELECT blake3, size FROM blobs WHERE blake3 > $1 AND stored_at <= $2
             AND corrupt_at IS NULL AND {UNREFERENCED} ORDER BY blake3 LIMIT $3"
        ))
        .bind(&after)
        .bind(before)
        .bind(PAGE)
        .fetch_all(blobs.db())
        .await?;
        let Some((last, _)) = page.last() else {
            return Ok(collected);
        };
        after = last.clone();
        for (blake3, size) in page {
            let deleted = match lease {
                None => false,
                Some(_) => delete(blobs, &blake3, before).await?,
            };
            if deleted {
                metrics::counter!(telemetry::GC_RECLAIMED_BLOBS).increment(1);
                metrics::counter!(telemetry::GC_RECLAIMED_BYTES).increment(size as u64);
            }
            if deleted || lease.is_none() {
                collected.blobs += 1;
                collected.bytes += size as u64;
            }
        }
        if let Some(holder) = lease
            && !renew(blobs, holder).await?
        {
            return Err(StoreError::Unavailable(
                "the garbage collection lease expired".into(),
            ));
        }
    }
}

/// Deletes a blob if it is still old and unreferenced (see the module's
/// comment); whether it did.
async fn delete(blobs: &BlobStore, blake3: &str, before: i64) -> Result<bool, StoreError> {
    let mut tx = super::begin_write(blobs.db(), &format!("blob {blake3}")).await?;
    let gone = sqlx::query(&format!(
        "DELETE FROM blobs WHERE blake3 = $1 AND stored_at <= $2 AND corrupt_at IS NULL AND {UNREFERENCED}"
    ))
    .bind(blake3)
    .bind(before)
    .execute(&mut *tx)
    .await;
    let gone = match gone {
        Ok(done) => done.rows_affected() == 1,
        // PostgreSQL: an asset naming the blob committed while this waited
        // for its row; the foreign key keeps it.
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    if gone {
        // Under the write lock: no store of these bytes can record them
        // until the file is gone (`BlobStore::publish` then puts it back).
        match tokio::fs::remove_file(blobs.file_of(blake3)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(StoreError::Unavailable(format!(
                    "removing blob {blake3}: {e}"
                )));
            }
            _ => {}
        }
    }
    tx.commit().await?;
    Ok(gone)
}

/// Takes the lease if it is free or expired.
async fn lease(blobs: &BlobStore, holder: &str) -> Result<bool, StoreError> {
    let now = now_millis();
    let taken = sqlx::query(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE leases.expires_at <= $4",
    )
    .bind(LEASE)
    .bind(holder)
    .bind(now + LEASE_TTL.as_millis() as i64)
    .bind(now)
    .execute(blobs.db())
    .await?;
    Ok(taken.rows_affected() == 1)
}

/// Extends the lease; false when it was lost (expired and taken).
async fn renew(blobs: &BlobStore, holder: &str) -> Result<bool, StoreError> {
    let renewed = sqlx::query("UPDATE leases SET expires_at = $1 WHERE name = $2 AND holder = $3")
        .bind(now_millis() + LEASE_TTL.as_millis() as i64)
        .bind(LEASE)
        .bind(holder)
        .execute(blobs.db())
        .await?;
    Ok(renewed.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;
    use crate::store::catalog::{Asset, Catalog, Owner, Write};
    use crate::store::digest::Want;
    use crate::store::sql_catalog::SqlCatalog;

    struct Fixture {
        _dir: tempfile::TempDir,
        db: Db,
        blobs: BlobStore,
        catalog: SqlCatalog,
    }

    /// On the embedded SQLite database.
    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::open_sqlite(&dir.path().join("db.sqlite"))
            .await
            .unwrap();
        Fixture::new(dir, db)
    }

    /// One on each database (`test_databases`).
    async fn fixtures() -> Vec<Fixture> {
        let dir = tempfile::tempdir().unwrap();
        let databases = crate::store::test_databases(dir.path()).await;
        let mut dirs =
            std::iter::once(dir).chain(std::iter::repeat_with(|| tempfile::tempdir().unwrap()));
        databases
            .into_iter()
            .map(|db| Fixture::new(dirs.next().unwrap(), db))
            .collect()
    }

    impl Fixture {
        fn new(dir: tempfile::TempDir, db: Db) -> Fixture {
            let blobs = BlobStore::local(&dir.path().join("objects"), db.clone()).unwrap();
            Fixture {
                _dir: dir,
                catalog: SqlCatalog::new(db.clone()),
                db,
                blobs,
            }
        }

        async fn put(&self, bytes: &'static str) -> String {
            let info = self.blobs.put_bytes(bytes.into(), Want::default());
            info.await.unwrap().blake3
        }

        /// As if stored two hours ago.
        async fn age(&self, blake3: &str) {
            sqlx::query("UPDATE blobs SET stored_at = stored_at - 7200000 WHERE blake3 = $1")
                .bind(blake3)
                .execute(&self.db)
                .await
                .unwrap();
        }

        async fn put_asset(&self, path: &str, blake3: &str) -> Result<(), StoreError> {
            let write = Write::PutAsset {
                owner: Owner {
                    package: "p".into(),
                    version: None,
                },
                asset: Asset {
                    path: path.into(),
                    blake3: blake3.into(),
                    content_type: "text/plain".into(),
                    metadata: String::new(),
                    added_at: 0,
                },
                replace: false,
            };
            self.catalog.apply("raw", &[write]).await
        }

        async fn stored(&self, blake3: &str) -> (bool, bool) {
            let row = self.blobs.info(blake3).await.unwrap().is_some();
            (row, self.blobs.file_of(blake3).exists())
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    fn done(blobs: u64, bytes: u64) -> Outcome {
        Outcome::Done(Collected { blobs, bytes })
    }

    #[tokio::test]
    async fn only_old_unreferenced_blobs_in_service_are_collected() {
        for f in fixtures().await {
            let asset = f.put("named by an asset").await;
            let cached = f.put("a cached upstream document").await;
            let young = f.put("stored a moment ago").await;
            let garbage = f.put("garbage").await;
            let quarantined = f.put("quarantined").await;
            for blob in [&asset, &cached, &garbage, &quarantined] {
                f.age(blob).await;
            }
            f.put_asset("p/file.txt", &asset).await.unwrap();
            sqlx::query("INSERT INTO upstream_cache (repo, key, status, blake3, fetched_at) VALUES ('proxy', 'k', 200, $1, 0)")
                .bind(&cached)
                .execute(&f.db)
                .await
                .unwrap();
            f.blobs.quarantine(&quarantined).await.unwrap();

            assert_eq!(run(&f.blobs, HOUR, true).await, Ok(done(1, 7)));
            assert_eq!(f.stored(&garbage).await, (true, true), "a dry run deletes");
            assert_eq!(run(&f.blobs, HOUR, false).await, Ok(done(1, 7)));
            assert_eq!(f.stored(&garbage).await, (false, false));
            for kept in [&asset, &cached, &young] {
                assert_eq!(f.stored(kept).await, (true, true));
            }
            let corrupt = f.blobs.corrupt_count().await.unwrap();
            assert_eq!(corrupt, 1, "a quarantined blob stays reported");
            assert_eq!(run(&f.blobs, HOUR, false).await, Ok(done(0, 0)));
            // Storing the bytes again restarts the grace period.
            let again = f.put("garbage").await;
            assert_eq!(f.stored(&again).await, (true, true));
            assert_eq!(run(&f.blobs, HOUR, true).await, Ok(done(0, 0)));
            assert_eq!(run(&f.blobs, Duration::ZERO, true).await, Ok(done(2, 26)));
        }
    }

    #[tokio::test]
    async fn a_publish_after_the_collection_fails_cleanly() {
        for f in fixtures().await {
            let blob = f.put("old bytes").await;
            f.age(&blob).await;
            assert_eq!(run(&f.blobs, HOUR, false).await, Ok(done(1, 9)));
            // Its writer checks the row in its own transaction.
            let refused = f.put_asset("p/late.txt", &blob).await;
            assert!(
                matches!(refused, Err(StoreError::Invalid(_))),
                "{refused:?}"
            );
            assert!(
                f.catalog
                    .find_asset("raw", "p/late.txt")
                    .await
                    .unwrap()
                    .is_none()
            );
            // Referenced before the collection: kept.
            let blob = f.put("other old bytes").await;
            f.age(&blob).await;
            f.put_asset("p/early.txt", &blob).await.unwrap();
            assert_eq!(run(&f.blobs, HOUR, false).await, Ok(done(0, 0)));
            assert_eq!(f.stored(&blob).await, (true, true));
        }
    }

    /// A candidate referenced (or stored again) after it was listed is not
    /// deleted: the DELETE checks again.
    #[tokio::test]
    async fn the_delete_checks_again() {
        for f in fixtures().await {
            let (named, restored) = (f.put("named late").await, f.put("stored late").await);
            f.age(&named).await;
            f.age(&restored).await;
            let before = now_millis() - HOUR.as_millis() as i64;
            f.put_asset("p/late.txt", &named).await.unwrap();
            f.put("stored late").await;
            for blob in [&named, &restored] {
                assert!(!delete(&f.blobs, blob, before).await.unwrap());
                assert_eq!(f.stored(blob).await, (true, true));
            }
        }
    }

    /// A store of bytes the collection is deleting: it found the file,
    /// then the collection removed it and committed before the store's
    /// transaction. The store puts the file back.
    #[tokio::test]
    async fn a_store_racing_the_collection_keeps_its_bytes() {
        let f = fixture().await;
        let blob = f.put("contended").await;
        f.age(&blob).await;
        // The collection's transaction, by hand, holding the write lock.
        let mut tx = f.db.begin_with("BEGIN IMMEDIATE").await.unwrap();
        let store = {
            let blobs = f.blobs.clone();
            tokio::spawn(async move { blobs.put_bytes("contended".into(), Want::default()).await })
        };
        // The store sees the file and waits on the lock for its upsert.
        tokio::time::sleep(Duration::from_millis(300)).await;
        sqlx::query("DELETE FROM blobs WHERE blake3 = $1")
            .bind(&blob)
            .execute(&mut *tx)
            .await
            .unwrap();
        std::fs::remove_file(f.blobs.file_of(&blob)).unwrap();
        tx.commit().await.unwrap();
        store.await.unwrap().unwrap();
        assert_eq!(f.stored(&blob).await, (true, true));
        let bytes = f.blobs.read_range(&blob, 0..9).await.unwrap();
        assert_eq!(&bytes[..], b"contended");
    }

    #[tokio::test]
    async fn one_run_at_a_time() {
        for f in fixtures().await {
            let blob = f.put("garbage").await;
            f.age(&blob).await;
            assert!(lease(&f.blobs, "another node").await.unwrap());
            let busy = run(&f.blobs, HOUR, false).await.unwrap();
            assert_eq!(
                busy,
                Outcome::Busy {
                    holder: "another node".into()
                }
            );
            assert_eq!(f.stored(&blob).await, (true, true));
            // A dry run needs no lease.
            assert_eq!(run(&f.blobs, HOUR, true).await, Ok(done(1, 7)));
            // An expired lease is free; a run releases the lease it took.
            sqlx::query("UPDATE leases SET expires_at = 0")
                .execute(&f.db)
                .await
                .unwrap();
            assert_eq!(run(&f.blobs, HOUR, false).await, Ok(done(1, 7)));
            let leases: i64 = sqlx::query_scalar("SELECT count(*) FROM leases")
                .fetch_one(&f.db)
                .await
                .unwrap();
            assert_eq!(leases, 0);
        }
    }
}
