-- When an asset's bytes were last served to a client (Unix milliseconds),
-- for retention rules ("not downloaded for 90 days"). Written in batches
-- by `store/downloads.rs`, never on the request path (the index on
-- `assets (blake3)` they look assets up by is 0010's).
ALTER TABLE assets ADD COLUMN last_download_at INTEGER;
