-- Formats stored their shapes as fake versions under contract 0.1. Under 0.2
-- they are assets: this moves rows written by the 0.1 plugins, recognised by
-- their shape, so that an upgraded registry keeps serving what it served.

-- OCI: a blob was a version 'blob:sha256:…' with one asset; now the asset
-- belongs to the image itself (version '').
UPDATE assets SET
    version = '',
    metadata = (SELECT v.metadata FROM versions v
                WHERE v.repo = assets.repo AND v.package = assets.package AND v.version = assets.version),
    added_at = (SELECT v.published_at FROM versions v
                WHERE v.repo = assets.repo AND v.package = assets.package AND v.version = assets.version)
WHERE version LIKE 'blob:sha256:%';
DELETE FROM versions WHERE version LIKE 'blob:sha256:%';

-- OCI: a manifest with a subject gets its entry in the subject's referrers list.
INSERT OR IGNORE INTO assets (repo, path, blake3, content_type, package, version, metadata, added_at)
SELECT v.repo,
       'v2/' || v.package || '/referrers/' || json_extract(v.metadata, '$.subject') || '/' || v.version,
       a.blake3, a.content_type, v.package, '',
       json_patch(json_object('mediaType', json_extract(v.metadata, '$.mediaType'),
                              'digest', v.version,
                              'size', json_extract(v.metadata, '$.size')),
                  json_object('artifactType', json_extract(v.metadata, '$.artifactType'),
                              'annotations', json(coalesce(json_extract(v.metadata, '$.annotations'), 'null')))),
       v.published_at
FROM versions v JOIN assets a
  ON a.repo = v.repo AND a.package = v.package AND a.version = v.version
 AND a.path = 'v2/' || v.package || '/manifests/' || v.version
WHERE v.version LIKE 'sha256:%' AND json_valid(v.metadata)
  AND json_extract(v.metadata, '$.subject') IS NOT NULL;

-- Maven: every file was a version '<directory version>#<file>'; now the
-- directory version is the version and each file one of its assets.
CREATE TEMP TABLE maven_files AS
SELECT id, repo, package, version AS row_version,
       substr(version, 1, instr(version, '#') - 1) AS dir_version, metadata, published_at
FROM versions
WHERE instr(version, '#') > 0 AND json_valid(metadata)
  AND json_extract(metadata, '$.file') = substr(version, instr(version, '#') + 1);
INSERT OR IGNORE INTO versions (repo, package, version, metadata, yanked, deprecated, published_at)
SELECT repo, package, dir_version, '{}', 0, NULL, min(published_at)
FROM maven_files GROUP BY repo, package, dir_version ORDER BY min(id);
UPDATE assets SET
    metadata = (SELECT f.metadata FROM maven_files f
                WHERE f.repo = assets.repo AND f.package = assets.package AND f.row_version = assets.version),
    added_at = (SELECT f.published_at FROM maven_files f
                WHERE f.repo = assets.repo AND f.package = assets.package AND f.row_version = assets.version),
    version = (SELECT f.dir_version FROM maven_files f
               WHERE f.repo = assets.repo AND f.package = assets.package AND f.row_version = assets.version)
WHERE EXISTS (SELECT 1 FROM maven_files f
              WHERE f.repo = assets.repo AND f.package = assets.package AND f.row_version = assets.version);
DELETE FROM versions WHERE id IN (SELECT id FROM maven_files);
DROP TABLE maven_files;

-- PyPI under 0.1 kept one version row per FILE: version '<release>/<filename>',
-- metadata a record with the file's facts plus the release's `name` and `info`.
-- Under 0.2 a release is one version row and its files are its assets.
CREATE TEMP TABLE pypi_files AS
SELECT id, repo, package, version AS row_version,
       json_extract(metadata, '$.version') AS release, metadata, yanked, published_at
FROM versions
WHERE instr(version, '/') > 0
  AND json_valid(metadata)
  AND json_extract(metadata, '$.packagetype') IS NOT NULL
  AND version = json_extract(metadata, '$.version') || '/' || json_extract(metadata, '$.filename');

-- One row per release, its metadata from its first file (SQLite takes the bare
-- columns from the row of min(id)).
INSERT INTO versions (repo, package, version, metadata, yanked, deprecated, published_at)
SELECT repo, package, release,
       json_object('name', json_extract(metadata, '$.name'),
                   'requires_python', json_extract(metadata, '$.requires_python'),
                   'info', json(coalesce(json_extract(metadata, '$.info'), '{}'))),
       yanked, NULL, published_at
FROM (SELECT repo, package, release, metadata, yanked, published_at, min(id) AS first
      FROM pypi_files GROUP BY repo, package, release)
ORDER BY first;

-- The file's facts on the file asset; both assets move to the release.
UPDATE assets SET
    metadata = CASE WHEN path LIKE '%.metadata' THEN '' ELSE
        (SELECT json_remove(f.metadata, '$.name', '$.version', '$.info') FROM pypi_files f
         WHERE f.repo = assets.repo AND f.package = assets.package AND f.row_version = assets.version) END,
    added_at = (SELECT f.published_at FROM pypi_files f
         WHERE f.repo = assets.repo AND f.package = assets.package AND f.row_version = assets.version),
    version = (SELECT f.release FROM pypi_files f
         WHERE f.repo = assets.repo AND f.package = assets.package AND f.row_version = assets.version)
WHERE EXISTS (SELECT 1 FROM pypi_files f
         WHERE f.repo = assets.repo AND f.package = assets.package AND f.row_version = assets.version);

DELETE FROM versions WHERE id IN (SELECT id FROM pypi_files);
DROP TABLE pypi_files;

-- Every other asset was added when its version was published.
UPDATE assets SET added_at = coalesce((SELECT v.published_at FROM versions v
    WHERE v.repo = assets.repo AND v.package = assets.package AND v.version = assets.version), 0)
WHERE added_at = 0;
