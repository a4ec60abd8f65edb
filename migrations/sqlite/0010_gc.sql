-- Garbage collection of unreferenced blobs (`host/src/store/gc.rs`).

-- When a blob was last stored: storing content that is already there
-- refreshes it, so the grace period protects every request that stored
-- the blob and has not referenced it yet, not only the first one.
ALTER TABLE blobs ADD COLUMN stored_at INTEGER NOT NULL DEFAULT 0;
UPDATE blobs SET stored_at = created_at;

-- The collection looks references up by address alone.
CREATE INDEX assets_by_blake3 ON assets (blake3);
CREATE INDEX upstream_cache_by_blake3 ON upstream_cache (blake3);

-- A named job that one process at a time may run, whichever node it is on:
-- taken when free or expired, renewed while the job runs, released after.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
