-- When an asset's bytes were last served to a client (Unix milliseconds),
-- for retention rules ("not downloaded for 90 days"). Written in batches
-- by `store/downloads.rs`, never on the request path.
ALTER TABLE assets ADD COLUMN last_download_at INTEGER;
-- Downloads are noted by blob, in every repository.
CREATE INDEX IF NOT EXISTS assets_by_blake3 ON assets (blake3);
