-- Contract 0.2: assets carry their own metadata and time, and may belong to a
-- package itself (version '': an OCI repository's blobs); kv entries belong
-- to a package ('' = the repository).
ALTER TABLE assets ADD COLUMN metadata TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN added_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX assets_by_blob ON assets (repo, blake3);
CREATE INDEX assets_by_owner ON assets (repo, package, version, path);

CREATE TABLE package_kv (
    repo    TEXT NOT NULL,
    package TEXT NOT NULL,
    key     TEXT NOT NULL,
    value   BLOB NOT NULL,
    PRIMARY KEY (repo, package, key)
);
-- 0.1 plugins kept per-package state under prefixed repository keys.
INSERT INTO package_kv (repo, package, key, value)
SELECT repo,
       CASE
           WHEN key LIKE 'package:%' THEN substr(key, 9)
           WHEN key LIKE 'owners:%' THEN substr(key, 8)
           WHEN key LIKE 'canonical:%' THEN substr(key, 11)
           WHEN instr(key, ':') = 0 THEN key
           ELSE ''
       END,
       CASE
           WHEN key LIKE 'package:%' THEN 'package'
           WHEN key LIKE 'owners:%' THEN 'owners'
           WHEN key LIKE 'canonical:%' THEN 'canonical'
           WHEN instr(key, ':') = 0 THEN 'yank-reasons'
           ELSE key
       END,
       value
FROM kv;
DROP TABLE kv;

-- Failed writes record no change; tags are read one at a time.
CREATE INDEX versions_by_package ON versions (repo, package, id);

-- BLAKE2b-256 joins the digests the host computes while bytes stream in.
ALTER TABLE blobs ADD COLUMN blake2b256 TEXT;
