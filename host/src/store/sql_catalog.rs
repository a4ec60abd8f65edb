//! The catalog in SQL (the embedded SQLite or PostgreSQL): writes as
//! batches in one transaction, single lookups and pages of at most
//! `MAX_PAGE` rows.

use super::catalog::*;
use super::{Db, StoreError, begin_write, now_millis};
use sqlx::Any;

const VERSION_COLUMNS: &str = "package, version, metadata, yanked, deprecated, published_at";
const ASSET_COLUMNS: &str = "path, blake3, content_type, metadata, added_at";

/// How an [`Owner`] is stored in the `assets` table.
trait OwnerColumn {
    fn version_column(&self) -> &str;
}

impl OwnerColumn for Owner {
    /// '' for an asset of the package itself.
    fn version_column(&self) -> &str {
        self.version.as_deref().unwrap_or("")
    }
}

type Tx = sqlx::Transaction<'static, Any>;

/// The catalog in the server's database.
#[derive(Clone)]
pub struct SqlCatalog {
    db: Db,
}

impl SqlCatalog {
    pub fn new(db: Db) -> Self {
        SqlCatalog { db }
    }
}

#[async_trait::async_trait]
impl Catalog for SqlCatalog {
    async fn apply(&self, repo: &str, writes: &[Write]) -> Result<(), StoreError> {
        // Writes read first (a tag's version, an asset's owner): one
        // repository's batches run one at a time (`begin_write`).
        let mut tx = begin_write(&self.db, &format!("catalog {repo}")).await?;
        let now = now_millis();
        for w in writes {
            apply_one(&mut tx, repo, w, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn has_package(&self, repo: &str, package: &str) -> Result<bool, StoreError> {
        let hit: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM versions WHERE repo = $1 AND package = $2
             UNION ALL SELECT 1 FROM assets WHERE repo = $1 AND package = $2 LIMIT 1",
        )
        .bind(repo)
        .bind(package)
        .fetch_optional(&self.db)
        .await?;
        Ok(hit.is_some())
    }

    async fn get_version(
        &self,
        repo: &str,
        package: &str,
        version: &str,
    ) -> Result<Option<VersionRow>, StoreError> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM versions WHERE repo = $1 AND package = $2 AND version = $3"
        );
        Ok(sqlx::query_as(&sql)
            .bind(repo)
            .bind(package)
            .bind(version)
            .fetch_optional(&self.db)
            .await?)
    }

    async fn list_versions(
        &self,
        repo: &str,
        package: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<VersionRow>, StoreError> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM versions WHERE repo = $1 AND package = $2
             AND id > coalesce((SELECT id FROM versions WHERE repo = $1 AND package = $2 AND version = $3), $4)
             ORDER BY id LIMIT $5"
        );
        // An unknown cursor lists nothing rather than starting over.
        let floor = if after.is_some() { i64::MAX } else { -1 };
        Ok(sqlx::query_as(&sql)
            .bind(repo)
            .bind(package)
            .bind(after)
            .bind(floor)
            .bind(limit.min(MAX_PAGE) as i64)
            .fetch_all(&self.db)
            .await?)
    }

    async fn find_asset(&self, repo: &str, path: &str) -> Result<Option<Asset>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ASSET_COLUMNS} FROM assets WHERE repo = $1 AND path = $2"
        ))
        .bind(repo)
        .bind(path)
        .fetch_optional(&self.db)
        .await?)
    }

    async fn list_assets(
        &self,
        repo: &str,
        owner: &Owner,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Asset>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ASSET_COLUMNS} FROM assets WHERE repo = $1 AND package = $2 AND version = $3
             AND path LIKE $4 ESCAPE '\\' AND path > $5 ORDER BY path LIMIT $6"
        ))
        .bind(repo)
        .bind(&owner.package)
        .bind(owner.version_column())
        .bind(format!("{}%", like_escape(prefix.unwrap_or(""))))
        .bind(after.unwrap_or(""))
        .bind(limit.min(MAX_PAGE) as i64)
        .fetch_all(&self.db)
        .await?)
    }

    async fn repo_has_blob(&self, repo: &str, blake3: &str) -> Result<bool, StoreError> {
        let hit: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM assets WHERE repo = $1 AND blake3 = $2 LIMIT 1")
                .bind(repo)
                .bind(blake3)
                .fetch_optional(&self.db)
                .await?;
        Ok(hit.is_some())
    }

    async fn get_tag(
        &self,
        repo: &str,
        package: &str,
        tag: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT version FROM tags WHERE repo = $1 AND package = $2 AND tag = $3",
        )
        .bind(repo)
        .bind(package)
        .bind(tag)
        .fetch_optional(&self.db)
        .await?)
    }

    async fn list_tags(
        &self,
        repo: &str,
        package: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT tag, version FROM tags WHERE repo = $1 AND package = $2 AND tag > $3 ORDER BY tag LIMIT $4",
        )
        .bind(repo)
        .bind(package)
        .bind(after.unwrap_or(""))
        .bind(limit.min(MAX_PAGE) as i64)
        .fetch_all(&self.db)
        .await?)
    }

    async fn list_packages(
        &self,
        repo: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        // A package with assets of its own and no version yet (an OCI
        // repository holding only mounted blobs) is listed too.
        Ok(sqlx::query_scalar(
            "SELECT package FROM versions WHERE repo = $1 AND package LIKE $2 ESCAPE '\\' AND package > $3
             UNION SELECT package FROM assets WHERE repo = $1 AND version = '' AND package LIKE $2 ESCAPE '\\' AND package > $3
             ORDER BY package LIMIT $4",
        )
        .bind(repo)
        .bind(format!("{}%", like_escape(prefix.unwrap_or(""))))
        .bind(after.unwrap_or(""))
        .bind(limit as i64)
        .fetch_all(&self.db)
        .await?)
    }

    async fn search(
        &self,
        repo: &str,
        text: &str,
        offset: u32,
        limit: u32,
    ) -> Result<(u64, Vec<VersionRow>), StoreError> {
        let pattern = format!("%{}%", like_escape(&text.to_lowercase()));
        let latest = "SELECT v.* FROM versions v JOIN (SELECT max(id) AS id FROM versions WHERE repo = $1 GROUP BY package) l ON v.id = l.id
                      WHERE lower(v.package) LIKE $2 ESCAPE '\\' OR lower(v.metadata) LIKE $2 ESCAPE '\\'";
        let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM ({latest}) AS latest"))
            .bind(repo)
            .bind(&pattern)
            .fetch_one(&self.db)
            .await?;
        let rows = sqlx::query_as(&format!(
            "SELECT {VERSION_COLUMNS} FROM ({latest}) AS latest ORDER BY package LIMIT $3 OFFSET $4"
        ))
        .bind(repo)
        .bind(&pattern)
        .bind(limit as i64)
        .bind(offset as i64)
        .fetch_all(&self.db)
        .await?;
        Ok((total as u64, rows))
    }

    async fn record_change(&self, repo: &str, packages: &[&str]) -> Result<(), StoreError> {
        let now = now_millis();
        let mut tx = begin_write(&self.db, &format!("changes {repo}")).await?;
        for package in packages.iter().copied().chain(["*"]) {
            sqlx::query("INSERT INTO changes (repo, package, changed_at) VALUES ($1, $2, $3) ON CONFLICT (repo, package) DO UPDATE SET changed_at = CASE WHEN excluded.changed_at > changes.changed_at THEN excluded.changed_at ELSE changes.changed_at END")
                .bind(repo)
                .bind(package)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn last_change(
        &self,
        repo: &str,
        packages: &[String],
    ) -> Result<Option<i64>, StoreError> {
        if packages.is_empty() {
            return Ok(None);
        }
        let placeholders: Vec<String> = (2..packages.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT max(changed_at) FROM changes WHERE repo = $1 AND package IN ({})",
            placeholders.join(", ")
        );
        let query = packages
            .iter()
            .fold(sqlx::query_scalar(&sql).bind(repo), |q, p| q.bind(p));
        Ok(query.fetch_one(&self.db).await?)
    }

    async fn kv_get(
        &self,
        repo: &str,
        package: Option<&str>,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT value FROM package_kv WHERE repo = $1 AND package = $2 AND key = $3",
        )
        .bind(repo)
        .bind(package.unwrap_or(""))
        .bind(key)
        .fetch_optional(&self.db)
        .await?)
    }

    async fn version_facts(
        &self,
        repo: &str,
        package: &str,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<VersionFacts>, StoreError> {
        let of_version = "a.repo = v.repo AND a.package = v.package AND a.version = v.version";
        Ok(sqlx::query_as(&format!(
            "SELECT v.version, v.published_at,
               (SELECT max(a.last_download_at) FROM assets a WHERE {of_version}) AS last_download_at,
               CAST(coalesce((SELECT sum(b.size) FROM assets a JOIN blobs b ON b.blake3 = a.blake3
                         WHERE {of_version}), 0) AS BIGINT) AS bytes,
               CASE WHEN EXISTS (SELECT 1 FROM tags a WHERE {of_version}) THEN 1 ELSE 0 END AS tagged
             FROM versions v WHERE v.repo = $1 AND v.package = $2
             ORDER BY v.id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(repo)
        .bind(package)
        .bind(limit.min(MAX_PAGE) as i64)
        .bind(offset as i64)
        .fetch_all(&self.db)
        .await?)
    }
}

async fn apply_one(tx: &mut Tx, repo: &str, w: &Write, now: i64) -> Result<(), StoreError> {
    match w {
        Write::Publish(p) => {
            let v = &p.version;
            sqlx::query("INSERT INTO versions (repo, package, version, metadata, yanked, deprecated, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(repo)
                .bind(&v.package)
                .bind(&v.version)
                .bind(&v.metadata)
                .bind(i64::from(v.yanked))
                .bind(&v.deprecated)
                .bind(now)
                .execute(&mut **tx)
                .await?;
            let owner = Owner {
                package: v.package.clone(),
                version: Some(v.version.clone()),
            };
            for a in &p.assets {
                insert_asset(tx, repo, &owner, a, now).await?;
            }
            for tag in &p.tags {
                upsert_tag(&mut **tx, repo, &v.package, tag, &v.version).await?;
            }
        }
        Write::PutAsset {
            owner,
            asset,
            replace,
        } => {
            if let Some(version) = &owner.version {
                require_version(tx, repo, &owner.package, version).await?;
            }
            if *replace {
                // Only an asset of the same owner may be swapped.
                sqlx::query(
                    "DELETE FROM assets WHERE repo = $1 AND path = $2 AND package = $3 AND version = $4",
                )
                .bind(repo)
                .bind(&asset.path)
                .bind(&owner.package)
                .bind(owner.version_column())
                .execute(&mut **tx)
                .await?;
            }
            insert_asset(tx, repo, owner, asset, now).await?;
        }
        Write::RemoveAsset { package, path } => {
            let r =
                sqlx::query("DELETE FROM assets WHERE repo = $1 AND path = $2 AND package = $3")
                    .bind(repo)
                    .bind(path)
                    .bind(package)
                    .execute(&mut **tx)
                    .await?;
            found(r.rows_affected())?;
        }
        Write::SetYanked {
            package,
            version,
            yanked,
        } => {
            let r = sqlx::query(
                "UPDATE versions SET yanked = $1 WHERE repo = $2 AND package = $3 AND version = $4",
            )
            .bind(i64::from(*yanked))
            .bind(repo)
            .bind(package)
            .bind(version)
            .execute(&mut **tx)
            .await?;
            found(r.rows_affected())?;
        }
        Write::SetDeprecated {
            package,
            version,
            message,
        } => {
            let r = sqlx::query(
                "UPDATE versions SET deprecated = $1 WHERE repo = $2 AND package = $3 AND version = $4",
            )
            .bind(message)
            .bind(repo)
            .bind(package)
            .bind(version)
            .execute(&mut **tx)
            .await?;
            found(r.rows_affected())?;
        }
        Write::SetTag {
            package,
            tag,
            version,
        } => {
            require_version(tx, repo, package, version).await?;
            upsert_tag(&mut **tx, repo, package, tag, version).await?;
        }
        Write::RemoveTag { package, tag } => {
            let r = sqlx::query("DELETE FROM tags WHERE repo = $1 AND package = $2 AND tag = $3")
                .bind(repo)
                .bind(package)
                .bind(tag)
                .execute(&mut **tx)
                .await?;
            found(r.rows_affected())?;
        }
        Write::DeleteVersion { package, version } => {
            let r = sqlx::query(
                "DELETE FROM versions WHERE repo = $1 AND package = $2 AND version = $3",
            )
            .bind(repo)
            .bind(package)
            .bind(version)
            .execute(&mut **tx)
            .await?;
            found(r.rows_affected())?;
            for table in ["assets", "tags"] {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE repo = $1 AND package = $2 AND version = $3"
                ))
                .bind(repo)
                .bind(package)
                .bind(version)
                .execute(&mut **tx)
                .await?;
            }
        }
        Write::DeletePackage { package } => {
            let mut removed = 0;
            for table in ["versions", "assets", "tags", "package_kv"] {
                removed += sqlx::query(&format!(
                    "DELETE FROM {table} WHERE repo = $1 AND package = $2"
                ))
                .bind(repo)
                .bind(package)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            }
            found(removed)?;
        }
        Write::KvPut {
            package,
            key,
            value,
        } => {
            sqlx::query("INSERT INTO package_kv (repo, package, key, value) VALUES ($1, $2, $3, $4) ON CONFLICT (repo, package, key) DO UPDATE SET value = excluded.value")
                .bind(repo)
                .bind(package.as_deref().unwrap_or(""))
                .bind(key)
                .bind(value)
                .execute(&mut **tx)
                .await?;
        }
        Write::KvInsert {
            package,
            key,
            value,
        } => {
            sqlx::query(
                "INSERT INTO package_kv (repo, package, key, value) VALUES ($1, $2, $3, $4)",
            )
            .bind(repo)
            .bind(package.as_deref().unwrap_or(""))
            .bind(key)
            .bind(value)
            .execute(&mut **tx)
            .await?;
        }
        Write::KvDelete { package, key } => {
            sqlx::query("DELETE FROM package_kv WHERE repo = $1 AND package = $2 AND key = $3")
                .bind(repo)
                .bind(package.as_deref().unwrap_or(""))
                .bind(key)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

async fn insert_asset(
    tx: &mut Tx,
    repo: &str,
    owner: &Owner,
    a: &Asset,
    now: i64,
) -> Result<(), StoreError> {
    let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM blobs WHERE blake3 = $1")
        .bind(&a.blake3)
        .fetch_optional(&mut **tx)
        .await?;
    if known.is_none() {
        return Err(StoreError::Invalid(format!(
            "asset {} names an unknown blob",
            a.path
        )));
    }
    sqlx::query("INSERT INTO assets (repo, path, blake3, content_type, package, version, metadata, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(repo)
        .bind(&a.path)
        .bind(&a.blake3)
        .bind(&a.content_type)
        .bind(&owner.package)
        .bind(owner.version_column())
        .bind(&a.metadata)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn require_version(
    tx: &mut Tx,
    repo: &str,
    package: &str,
    version: &str,
) -> Result<(), StoreError> {
    let hit: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM versions WHERE repo = $1 AND package = $2 AND version = $3",
    )
    .bind(repo)
    .bind(package)
    .bind(version)
    .fetch_optional(&mut **tx)
    .await?;
    hit.map(|_| ()).ok_or(StoreError::NotFound)
}

fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

async fn upsert_tag<'e>(
    db: impl sqlx::Executor<'e, Database = Any>,
    repo: &str,
    package: &str,
    tag: &str,
    version: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO tags (repo, package, tag, version) VALUES ($1, $2, $3, $4) ON CONFLICT (repo, package, tag) DO UPDATE SET version = excluded.version")
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

    /// A catalog on each database (`test_databases`), with one blob stored.
    async fn setups() -> Vec<(tempfile::TempDir, SqlCatalog, String)> {
        let dir = tempfile::tempdir().unwrap();
        let databases = crate::store::test_databases(dir.path()).await;
        let mut dirs =
            std::iter::once(dir).chain(std::iter::repeat_with(|| tempfile::tempdir().unwrap()));
        let mut setups = Vec::new();
        for db in databases {
            let dir = dirs.next().unwrap();
            let blobs = BlobStore::local(&dir.path().join("blobs"), db.clone()).unwrap();
            let blob = blobs
                .put_bytes("tarball".into(), Want::default())
                .await
                .unwrap();
            setups.push((dir, SqlCatalog::new(db), blob.blake3));
        }
        setups
    }

    fn asset(path: String, blake3: &str) -> Asset {
        Asset {
            path,
            blake3: blake3.into(),
            content_type: "application/octet-stream".into(),
            metadata: String::new(),
            added_at: 0,
        }
    }

    fn publication(package: &str, version: &str, blake3: &str) -> Write {
        Write::Publish(Publication {
            version: VersionRow {
                package: package.into(),
                version: version.into(),
                metadata: format!("{{\"description\":\"the {package} package\"}}"),
                yanked: false,
                deprecated: None,
                published_at: 0,
            },
            assets: vec![asset(format!("{package}/-/{version}.tgz"), blake3)],
            tags: vec!["latest".into()],
        })
    }

    #[tokio::test]
    async fn a_batch_is_all_or_nothing() {
        for (_d, cat, blob) in setups().await {
            cat.apply("npm", &[publication("left-pad", "1.0.0", &blob)])
                .await
                .unwrap();
            assert_eq!(
                cat.apply("npm", &[publication("left-pad", "1.0.0", &blob)])
                    .await,
                Err(StoreError::AlreadyExists)
            );
            // The second write fails (unknown blob): the first is rolled back.
            let batch = [
                publication("right-pad", "1.0.0", &blob),
                publication("right-pad", "2.0.0", &"f".repeat(64)),
            ];
            assert!(matches!(
                cat.apply("npm", &batch).await,
                Err(StoreError::Invalid(_))
            ));
            assert!(!cat.has_package("npm", "right-pad").await.unwrap());
            assert_eq!(
                cat.get_tag("npm", "left-pad", "latest").await.unwrap(),
                Some("1.0.0".into())
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
    }

    #[tokio::test]
    async fn versions_and_tags_are_paged() {
        for (_d, cat, blob) in setups().await {
            for v in ["1.0.0", "1.1.0", "2.0.0"] {
                cat.apply("npm", &[publication("a", v, &blob)])
                    .await
                    .unwrap();
            }
            let page = |after: Option<&'static str>| {
                let cat = cat.clone();
                async move {
                    cat.list_versions("npm", "a", after, 2)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|r| r.version)
                        .collect::<Vec<_>>()
                }
            };
            assert_eq!(page(None).await, ["1.0.0", "1.1.0"]);
            assert_eq!(page(Some("1.1.0")).await, ["2.0.0"]);
            assert!(page(Some("9.9.9")).await.is_empty());
            cat.apply(
                "npm",
                &[Write::SetTag {
                    package: "a".into(),
                    tag: "beta".into(),
                    version: "1.1.0".into(),
                }],
            )
            .await
            .unwrap();
            assert_eq!(
                cat.list_tags("npm", "a", Some("beta"), 10).await.unwrap(),
                vec![("latest".to_string(), "2.0.0".to_string())]
            );
            let missing = Write::SetTag {
                package: "a".into(),
                tag: "x".into(),
                version: "7.0.0".into(),
            };
            assert_eq!(
                cat.apply("npm", &[missing]).await,
                Err(StoreError::NotFound)
            );
        }
    }

    #[tokio::test]
    async fn assets_of_a_package_and_replacement() {
        for (_d, cat, blob) in setups().await {
            let owner = Owner {
                package: "app".into(),
                version: None,
            };
            let put = |path: &str, replace: bool| Write::PutAsset {
                owner: owner.clone(),
                asset: asset(path.into(), &blob),
                replace,
            };
            cat.apply("oci", &[put("v2/app/blobs/sha256:1", false)])
                .await
                .unwrap();
            assert!(cat.has_package("oci", "app").await.unwrap());
            assert_eq!(
                cat.apply("oci", &[put("v2/app/blobs/sha256:1", false)])
                    .await,
                Err(StoreError::AlreadyExists)
            );
            cat.apply("oci", &[put("v2/app/blobs/sha256:1", true)])
                .await
                .unwrap();
            cat.apply("oci", &[put("v2/app/referrers/x/1", false)])
                .await
                .unwrap();
            let listed = cat
                .list_assets("oci", &owner, Some("v2/app/blobs/"), None, 10)
                .await
                .unwrap();
            assert_eq!(listed.len(), 1);
            assert!(listed[0].added_at > 0);
            // Another package cannot take the path over, even with replace.
            let thief = Write::PutAsset {
                owner: Owner {
                    package: "other".into(),
                    version: None,
                },
                asset: asset("v2/app/blobs/sha256:1".into(), &blob),
                replace: true,
            };
            assert_eq!(
                cat.apply("oci", &[thief]).await,
                Err(StoreError::AlreadyExists)
            );
            cat.apply(
                "oci",
                &[Write::DeletePackage {
                    package: "app".into(),
                }],
            )
            .await
            .unwrap();
            assert!(!cat.has_package("oci", "app").await.unwrap());
        }
    }

    #[tokio::test]
    async fn delete_version_takes_assets_and_tags() {
        for (_d, cat, blob) in setups().await {
            for v in ["1.0.0", "2.0.0"] {
                cat.apply("npm", &[publication("a", v, &blob)])
                    .await
                    .unwrap();
            }
            let delete = || Write::DeleteVersion {
                package: "a".into(),
                version: "2.0.0".into(),
            };
            cat.apply("npm", &[delete()]).await.unwrap();
            assert_eq!(
                cat.list_versions("npm", "a", None, 10).await.unwrap().len(),
                1
            );
            assert!(
                cat.list_tags("npm", "a", None, 10)
                    .await
                    .unwrap()
                    .is_empty()
            );
            assert!(
                cat.find_asset("npm", "a/-/2.0.0.tgz")
                    .await
                    .unwrap()
                    .is_none()
            );
            assert_eq!(
                cat.apply("npm", &[delete()]).await,
                Err(StoreError::NotFound)
            );
        }
    }

    #[tokio::test]
    async fn kv_belongs_to_a_package() {
        for (_d, cat, _) in setups().await {
            let put = Write::KvPut {
                package: Some("a".into()),
                key: "owners".into(),
                value: b"[]".to_vec(),
            };
            cat.apply("cargo", &[put]).await.unwrap();
            assert_eq!(
                cat.kv_get("cargo", Some("a"), "owners").await.unwrap(),
                Some(b"[]".to_vec())
            );
            assert_eq!(cat.kv_get("cargo", None, "owners").await.unwrap(), None);
            let insert = Write::KvInsert {
                package: Some("a".into()),
                key: "owners".into(),
                value: b"[\"mallory\"]".to_vec(),
            };
            assert_eq!(
                cat.apply("cargo", &[insert]).await,
                Err(StoreError::AlreadyExists)
            );
            assert_eq!(
                cat.kv_get("cargo", Some("a"), "owners").await.unwrap(),
                Some(b"[]".to_vec())
            );
        }
    }

    #[tokio::test]
    async fn search_and_listing() {
        for (_d, cat, blob) in setups().await {
            for (p, v) in [
                ("alpha", "1.0.0"),
                ("alpha", "1.1.0"),
                ("beta", "1.0.0"),
                ("al_pha", "1.0.0"),
            ] {
                cat.apply("npm", &[publication(p, v, &blob)]).await.unwrap();
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

    /// Writers that read first (a tag checks its version) wait for each
    /// other instead of failing with SQLITE_BUSY.
    #[tokio::test]
    async fn concurrent_writers_all_succeed() {
        for (_d, cat, blob) in setups().await {
            cat.apply("oci", &[publication("app", "sha256:1", &blob)])
                .await
                .unwrap();
            let writers = (0..16).map(|i| {
                let cat = cat.clone();
                tokio::spawn(async move {
                    let tag = Write::SetTag {
                        package: "app".into(),
                        tag: format!("t{i}"),
                        version: "sha256:1".into(),
                    };
                    cat.apply("oci", &[tag]).await
                })
            });
            for writer in writers.collect::<Vec<_>>() {
                assert_eq!(writer.await.unwrap(), Ok(()));
            }
            assert_eq!(
                cat.list_tags("oci", "app", None, 100).await.unwrap().len(),
                17
            );
        }
    }

    /// A registry written by the 0.1 plugins keeps serving after the
    /// upgrade: their fake versions become versions and assets.
    #[tokio::test]
    async fn rows_of_contract_0_1_formats_are_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("db.sqlite").display()
        );
        let db = sqlx::SqlitePool::connect(&url).await.unwrap();
        let all = sqlx::migrate!("../migrations/sqlite");
        let before_0_2 = sqlx::migrate::Migrator {
            migrations: std::borrow::Cow::Owned(all.migrations[..2].to_vec()),
            ignore_missing: false,
            locking: true,
            no_tx: false,
        };
        before_0_2.run(&db).await.unwrap();
        let rows = r#"
            INSERT INTO blobs VALUES ('b1', 1, NULL, NULL, NULL, NULL, 0), ('b2', 1, NULL, NULL, NULL, NULL, 0);
            INSERT INTO versions (repo, package, version, metadata, published_at) VALUES
              ('oci', 'app', 'blob:sha256:aa', '{"size":1}', 10),
              ('oci', 'app', 'sha256:mm', '{"mediaType":"m","size":9,"subject":"sha256:ss","annotations":null}', 20),
              ('maven', 'g:a', '1.0#a-1.0.jar', '{"version":"1.0","file":"a-1.0.jar"}', 30),
              ('pypi', 'demo', '1.0/demo-1.0.tar.gz', '{"name":"Demo","version":"1.0","filename":"demo-1.0.tar.gz","packagetype":"sdist","info":{"summary":"s"}}', 40);
            INSERT INTO assets (repo, path, blake3, content_type, package, version) VALUES
              ('oci', 'v2/app/blobs/sha256:aa', 'b1', 'x', 'app', 'blob:sha256:aa'),
              ('oci', 'v2/app/manifests/sha256:mm', 'b2', 'm', 'app', 'sha256:mm'),
              ('maven', 'g/a/1.0/a-1.0.jar', 'b1', 'x', 'g:a', '1.0#a-1.0.jar'),
              ('pypi', 'files/demo/demo-1.0.tar.gz', 'b2', 'x', 'demo', '1.0/demo-1.0.tar.gz');
            INSERT INTO kv VALUES ('npm', 'package:left-pad', x'7b7d'), ('cargo', 'owners:serde', x'5b5d');
        "#;
        sqlx::raw_sql(rows).execute(&db).await.unwrap();
        db.close().await;
        let db = crate::store::open_sqlite(&dir.path().join("db.sqlite"))
            .await
            .unwrap();
        let cat = SqlCatalog::new(db);
        let package = |p: &str| Owner {
            package: p.into(),
            version: None,
        };
        // OCI: the blob belongs to the image; the manifest is listed as a referrer.
        assert!(
            cat.list_versions("oci", "app", None, 10)
                .await
                .unwrap()
                .len()
                == 1
        );
        let own = cat
            .list_assets("oci", &package("app"), None, None, 10)
            .await
            .unwrap();
        let paths: Vec<&str> = own.iter().map(|a| a.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "v2/app/blobs/sha256:aa",
                "v2/app/referrers/sha256:ss/sha256:mm"
            ]
        );
        assert_eq!(own[0].metadata, r#"{"size":1}"#);
        // Maven and PyPI: the directory version and the release are versions,
        // their files its assets.
        for (repo, pkg, version) in [("maven", "g:a", "1.0"), ("pypi", "demo", "1.0")] {
            assert!(cat.get_version(repo, pkg, version).await.unwrap().is_some());
            let owner = Owner {
                package: pkg.into(),
                version: Some(version.into()),
            };
            let files = cat.list_assets(repo, &owner, None, None, 10).await.unwrap();
            assert_eq!(files.len(), 1, "{repo}");
            assert!(files[0].added_at > 0);
            assert_eq!(
                cat.list_versions(repo, pkg, None, 10).await.unwrap().len(),
                1
            );
        }
        let release = cat
            .get_version("pypi", "demo", "1.0")
            .await
            .unwrap()
            .unwrap();
        assert!(
            release.metadata.contains(r#""summary":"s""#),
            "{}",
            release.metadata
        );
        // kv: per package.
        assert_eq!(
            cat.kv_get("npm", Some("left-pad"), "package")
                .await
                .unwrap(),
            Some(b"{}".to_vec())
        );
        assert_eq!(
            cat.kv_get("cargo", Some("serde"), "owners").await.unwrap(),
            Some(b"[]".to_vec())
        );
    }
}
