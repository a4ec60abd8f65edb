//! The host-owned catalog: versions, assets, tags and a small key-value space
//! per repository. Format metadata rides along as JSON text.

use super::{Db, StoreError, now_millis};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VersionRow {
    pub package: String,
    pub version: String,
    pub metadata: String,
    pub yanked: bool,
    pub deprecated: Option<String>,
    pub published_at: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Asset {
    pub path: String,
    pub blake3: String,
    pub content_type: String,
}

#[derive(Debug, Clone)]
pub struct Publication {
    pub version: VersionRow,
    pub assets: Vec<Asset>,
    pub tags: Vec<String>,
}

const VERSION_COLUMNS: &str = "package, version, metadata, yanked, deprecated, published_at";

#[derive(Clone)]
pub struct Catalog {
    db: Db,
}

impl Catalog {
    pub fn new(db: Db) -> Self {
        Catalog { db }
    }

    /// Makes a version, its assets and its tags visible in one transaction.
    pub async fn publish(&self, repo: &str, p: &Publication) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        let v = &p.version;
        sqlx::query("INSERT INTO versions (repo, package, version, metadata, yanked, deprecated, published_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(repo)
            .bind(&v.package)
            .bind(&v.version)
            .bind(&v.metadata)
            .bind(v.yanked)
            .bind(&v.deprecated)
            .bind(now_millis())
            .execute(&mut *tx)
            .await?;
        for a in &p.assets {
            let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM blobs WHERE blake3 = ?")
                .bind(&a.blake3)
                .fetch_optional(&mut *tx)
                .await?;
            if known.is_none() {
                return Err(StoreError::Invalid(format!(
                    "asset {} names an unknown blob",
                    a.path
                )));
            }
            sqlx::query("INSERT INTO assets (repo, path, blake3, content_type, package, version) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(repo)
                .bind(&a.path)
                .bind(&a.blake3)
                .bind(&a.content_type)
                .bind(&v.package)
                .bind(&v.version)
                .execute(&mut *tx)
                .await?;
        }
        for tag in &p.tags {
            upsert_tag(&mut *tx, repo, &v.package, tag, &v.version).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_version(
        &self,
        repo: &str,
        package: &str,
        version: &str,
    ) -> Result<Option<VersionRow>, StoreError> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM versions WHERE repo = ? AND package = ? AND version = ?"
        );
        Ok(sqlx::query_as(&sql)
            .bind(repo)
            .bind(package)
            .bind(version)
            .fetch_optional(&self.db)
            .await?)
    }

    /// Oldest first.
    pub async fn list_versions(
        &self,
        repo: &str,
        package: &str,
    ) -> Result<Vec<VersionRow>, StoreError> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM versions WHERE repo = ? AND package = ? ORDER BY id"
        );
        Ok(sqlx::query_as(&sql)
            .bind(repo)
            .bind(package)
            .fetch_all(&self.db)
            .await?)
    }

    pub async fn set_yanked(
        &self,
        repo: &str,
        package: &str,
        version: &str,
        yanked: bool,
    ) -> Result<(), StoreError> {
        let r = sqlx::query(
            "UPDATE versions SET yanked = ? WHERE repo = ? AND package = ? AND version = ?",
        )
        .bind(yanked)
        .bind(repo)
        .bind(package)
        .bind(version)
        .execute(&self.db)
        .await?;
        found(r.rows_affected())
    }

    pub async fn set_deprecated(
        &self,
        repo: &str,
        package: &str,
        version: &str,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        let r = sqlx::query(
            "UPDATE versions SET deprecated = ? WHERE repo = ? AND package = ? AND version = ?",
        )
        .bind(message)
        .bind(repo)
        .bind(package)
        .bind(version)
        .execute(&self.db)
        .await?;
        found(r.rows_affected())
    }

    /// Removes a version with its assets and the tags that point at it.
    pub async fn delete_version(
        &self,
        repo: &str,
        package: &str,
        version: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        let r = sqlx::query("DELETE FROM versions WHERE repo = ? AND package = ? AND version = ?")
            .bind(repo)
            .bind(package)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        found(r.rows_affected())?;
        for table in ["assets", "tags"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE repo = ? AND package = ? AND version = ?"
            ))
            .bind(repo)
            .bind(package)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_package(&self, repo: &str, package: &str) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        let r = sqlx::query("DELETE FROM versions WHERE repo = ? AND package = ?")
            .bind(repo)
            .bind(package)
            .execute(&mut *tx)
            .await?;
        found(r.rows_affected())?;
        for table in ["assets", "tags"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE repo = ? AND package = ?"
            ))
            .bind(repo)
            .bind(package)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn find_asset(&self, repo: &str, path: &str) -> Result<Option<Asset>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT path, blake3, content_type FROM assets WHERE repo = ? AND path = ?",
        )
        .bind(repo)
        .bind(path)
        .fetch_optional(&self.db)
        .await?)
    }

    /// Whether any asset of `repo` serves this blob (plugins may only open those).
    pub async fn repo_has_blob(&self, repo: &str, blake3: &str) -> Result<bool, StoreError> {
        let hit: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM assets WHERE repo = ? AND blake3 = ? LIMIT 1")
                .bind(repo)
                .bind(blake3)
                .fetch_optional(&self.db)
                .await?;
        Ok(hit.is_some())
    }

    pub async fn list_tags(
        &self,
        repo: &str,
        package: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT tag, version FROM tags WHERE repo = ? AND package = ? ORDER BY tag",
        )
        .bind(repo)
        .bind(package)
        .fetch_all(&self.db)
        .await?)
    }

    pub async fn set_tag(
        &self,
        repo: &str,
        package: &str,
        tag: &str,
        version: &str,
    ) -> Result<(), StoreError> {
        if self.get_version(repo, package, version).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        upsert_tag(&self.db, repo, package, tag, version).await
    }

    pub async fn remove_tag(&self, repo: &str, package: &str, tag: &str) -> Result<(), StoreError> {
        let r = sqlx::query("DELETE FROM tags WHERE repo = ? AND package = ? AND tag = ?")
            .bind(repo)
            .bind(package)
            .bind(tag)
            .execute(&self.db)
            .await?;
        found(r.rows_affected())
    }

    pub async fn list_packages(
        &self,
        repo: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let pattern = format!(
            "{}%",
            prefix
                .unwrap_or("")
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT package FROM versions WHERE repo = ? AND package LIKE ? ESCAPE '\\' AND package > ? ORDER BY package LIMIT ?",
        )
        .bind(repo)
        .bind(pattern)
        .bind(after.unwrap_or(""))
        .bind(limit as i64)
        .fetch_all(&self.db)
        .await?)
    }

    /// The latest version of each package whose name or latest metadata
    /// contains `text` (case-insensitive), with the total number of hits.
    pub async fn search(
        &self,
        repo: &str,
        text: &str,
        offset: u32,
        limit: u32,
    ) -> Result<(u64, Vec<VersionRow>), StoreError> {
        let pattern = format!(
            "%{}%",
            text.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let latest = "SELECT v.* FROM versions v JOIN (SELECT max(id) AS id FROM versions WHERE repo = ? GROUP BY package) l ON v.id = l.id
                      WHERE lower(v.package) LIKE ?2 ESCAPE '\\' OR lower(v.metadata) LIKE ?2 ESCAPE '\\'";
        let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM ({latest})"))
            .bind(repo)
            .bind(&pattern)
            .fetch_one(&self.db)
            .await?;
        let rows = sqlx::query_as(&format!(
            "SELECT {VERSION_COLUMNS} FROM ({latest}) ORDER BY package LIMIT ?3 OFFSET ?4"
        ))
        .bind(repo)
        .bind(&pattern)
        .bind(limit as i64)
        .bind(offset as i64)
        .fetch_all(&self.db)
        .await?;
        Ok((total as u64, rows))
    }

    /// Records that `package`, and so the repository ("*"), changed now.
    pub async fn record_change(&self, repo: &str, package: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO changes (repo, package, changed_at) VALUES (?1, ?2, ?3), (?1, '*', ?3) ON CONFLICT (repo, package) DO UPDATE SET changed_at = max(changed_at, excluded.changed_at)")
            .bind(repo)
            .bind(package)
            .bind(now_millis())
            .execute(&self.db)
            .await?;
        Ok(())
    }

    /// When any of `packages` last changed (Unix milliseconds), if recorded.
    pub async fn last_change(
        &self,
        repo: &str,
        packages: &[String],
    ) -> Result<Option<i64>, StoreError> {
        let packages = serde_json::to_string(packages).unwrap_or_default();
        Ok(sqlx::query_scalar(
            "SELECT max(changed_at) FROM changes WHERE repo = ? AND package IN (SELECT value FROM json_each(?))",
        )
        .bind(repo)
        .bind(packages)
        .fetch_one(&self.db)
        .await?)
    }

    pub async fn kv_get(&self, repo: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM kv WHERE repo = ? AND key = ?")
                .bind(repo)
                .bind(key)
                .fetch_optional(&self.db)
                .await?,
        )
    }

    pub async fn kv_put(&self, repo: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO kv (repo, key, value) VALUES (?, ?, ?) ON CONFLICT (repo, key) DO UPDATE SET value = excluded.value")
            .bind(repo)
            .bind(key)
            .bind(value)
            .execute(&self.db)
            .await?;
        Ok(())
    }
}

async fn upsert_tag<'e>(
    db: impl sqlx::SqliteExecutor<'e>,
    repo: &str,
    package: &str,
    tag: &str,
    version: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO tags (repo, package, tag, version) VALUES (?, ?, ?, ?) ON CONFLICT (repo, package, tag) DO UPDATE SET version = excluded.version")
        .bind(repo)
        .bind(package)
        .bind(tag)
        .bind(version)
        .execute(db)
        .await?;
    Ok(())
}

fn found(rows: u64) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{blobs::BlobStore, digest::Want};

    async fn setup() -> (tempfile::TempDir, Catalog, String) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::open_sqlite(&dir.path().join("db.sqlite"))
            .await
            .unwrap();
        let blobs = BlobStore::local(&dir.path().join("blobs"), db.clone()).unwrap();
        let blob = blobs
            .put_bytes("tarball".into(), Want::default())
            .await
            .unwrap();
        (dir, Catalog::new(db), blob.blake3)
    }

    fn publication(package: &str, version: &str, blake3: &str) -> Publication {
        Publication {
            version: VersionRow {
                package: package.into(),
                version: version.into(),
                metadata: format!("{{\"description\":\"the {package} package\"}}"),
                yanked: false,
                deprecated: None,
                published_at: 0,
            },
            assets: vec![Asset {
                path: format!("{package}/-/{version}.tgz"),
                blake3: blake3.into(),
                content_type: "application/octet-stream".into(),
            }],
            tags: vec!["latest".into()],
        }
    }

    #[tokio::test]
    async fn publish_is_all_or_nothing() {
        let (_d, cat, blob) = setup().await;
        cat.publish("npm", &publication("left-pad", "1.0.0", &blob))
            .await
            .unwrap();
        assert_eq!(
            cat.publish("npm", &publication("left-pad", "1.0.0", &blob))
                .await,
            Err(StoreError::AlreadyExists)
        );
        let bad = publication("right-pad", "1.0.0", &"f".repeat(64));
        assert!(matches!(
            cat.publish("npm", &bad).await,
            Err(StoreError::Invalid(_))
        ));
        assert!(
            cat.list_versions("npm", "right-pad")
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            cat.list_tags("npm", "left-pad").await.unwrap(),
            vec![("latest".into(), "1.0.0".into())]
        );
        assert!(
            cat.find_asset("npm", "left-pad/-/1.0.0.tgz")
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            cat.find_asset("other", "left-pad/-/1.0.0.tgz")
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn delete_version_takes_assets_and_tags() {
        let (_d, cat, blob) = setup().await;
        cat.publish("npm", &publication("a", "1.0.0", &blob))
            .await
            .unwrap();
        cat.publish("npm", &publication("a", "2.0.0", &blob))
            .await
            .unwrap();
        cat.delete_version("npm", "a", "2.0.0").await.unwrap();
        assert_eq!(cat.list_versions("npm", "a").await.unwrap().len(), 1);
        assert!(cat.list_tags("npm", "a").await.unwrap().is_empty());
        assert!(
            cat.find_asset("npm", "a/-/2.0.0.tgz")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            cat.delete_version("npm", "a", "2.0.0").await,
            Err(StoreError::NotFound)
        );
    }

    #[tokio::test]
    async fn search_and_listing() {
        let (_d, cat, blob) = setup().await;
        for (p, v) in [
            ("alpha", "1.0.0"),
            ("alpha", "1.1.0"),
            ("beta", "1.0.0"),
            ("al_pha", "1.0.0"),
        ] {
            cat.publish("npm", &publication(p, v, &blob)).await.unwrap();
        }
        let (total, rows) = cat.search("npm", "ALPHA", 0, 10).await.unwrap();
        assert_eq!(total, 1);
        assert_eq!(rows[0].version, "1.1.0");
        let (total, _) = cat.search("npm", "package", 0, 1).await.unwrap();
        assert_eq!(total, 3);
        assert_eq!(
            cat.list_packages("npm", Some("al_"), None, 10)
                .await
                .unwrap(),
            vec!["al_pha"]
        );
        assert_eq!(
            cat.list_packages("npm", None, Some("alpha"), 10)
                .await
                .unwrap(),
            vec!["beta"]
        );
    }
}
