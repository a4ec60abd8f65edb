-- Proxy repositories' cache of their upstreams' mutable metadata
-- (`upstream/metadata.rs`): one row per repository and request, the body a
-- blob. Immutable artifacts are recorded in the catalog instead.
CREATE TABLE upstream_cache (
    repo          TEXT NOT NULL,
    key           TEXT NOT NULL,
    status        INTEGER NOT NULL,
    content_type  TEXT,
    blake3        TEXT,
    etag          TEXT,
    last_modified TEXT,
    fetched_at    INTEGER NOT NULL,
    retry_at      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (repo, key)
);
