-- Bytes checked against their address: when, and when found corrupt or
-- missing (such a blob is served to nobody until stored again).
ALTER TABLE blobs ADD COLUMN scrubbed_at INTEGER;
ALTER TABLE blobs ADD COLUMN corrupt_at INTEGER;
CREATE INDEX blobs_by_scrubbed_at ON blobs (scrubbed_at);
