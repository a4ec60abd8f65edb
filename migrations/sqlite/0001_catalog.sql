-- Content-addressed blobs: the address is BLAKE3; other digests are filled in
-- when a format asks for them.
CREATE TABLE blobs (
    blake3     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    sha256     TEXT,
    sha512     TEXT,
    sha1       TEXT,
    md5        TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX blobs_by_sha256 ON blobs (sha256);

-- One row per published version; `id` orders versions oldest first.
CREATE TABLE versions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    repo         TEXT NOT NULL,
    package      TEXT NOT NULL,
    version      TEXT NOT NULL,
    metadata     TEXT NOT NULL,
    yanked       INTEGER NOT NULL DEFAULT 0,
    deprecated   TEXT,
    published_at INTEGER NOT NULL,
    UNIQUE (repo, package, version)
);

-- Repository-relative paths served from blobs.
CREATE TABLE assets (
    repo         TEXT NOT NULL,
    path         TEXT NOT NULL,
    blake3       TEXT NOT NULL REFERENCES blobs (blake3),
    content_type TEXT NOT NULL,
    package      TEXT NOT NULL,
    version      TEXT NOT NULL,
    PRIMARY KEY (repo, path)
);
CREATE INDEX assets_by_version ON assets (repo, package, version);

CREATE TABLE tags (
    repo    TEXT NOT NULL,
    package TEXT NOT NULL,
    tag     TEXT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (repo, package, tag)
);

CREATE TABLE kv (
    repo  TEXT NOT NULL,
    key   TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (repo, key)
);

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    admin         INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

-- API tokens are stored as SHA-256 of the token: they are 256-bit random
-- values, so a slow password hash adds nothing.
CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    user_name  TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);

-- Resumable uploads (OCI chunked pushes); bytes live in the data directory.
CREATE TABLE uploads (
    id         TEXT PRIMARY KEY,
    repo       TEXT NOT NULL,
    size       INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);
