//! Crate owners the cargo plugin kept itself (the kv entry `owners` of each
//! crate, a JSON list of logins, first publisher first) until contract 0.3
//! let it use the host's, moved into `package_owners` at start-up.
//!
//! Not an SQL migration: which repositories are cargo's is configuration
//! (`[[repository]]` entries with `format = "cargo"`, and the zero-config
//! `cargo`), not data, and another format's plugin may keep an `owners`
//! entry of its own meaning. Each entry is deleted in the transaction that
//! moves it, so a restart finds nothing left to do; owners the host already
//! has are kept (the lists are merged).

use crate::auth::directory::is_valid_name;
use crate::config::Settings;
use crate::store::{Db, now_millis};

/// The kv key the cargo plugin kept its owners under.
const KEY: &str = "owners";
const FORMAT: &str = "cargo";

/// The repositories the cargo plugin serves.
fn cargo_repositories(settings: &Settings) -> Vec<String> {
    let mut names: Vec<String> = settings
        .repositories
        .iter()
        .filter(|r| r.format == FORMAT)
        .map(|r| r.name.clone())
        .collect();
    // The zero-config repository named after the format, unless configured
    // as another format's.
    if !settings.repositories.iter().any(|r| r.name == FORMAT) {
        names.push(FORMAT.to_string());
    }
    names
}

/// Moves every cargo repository's kv owners into the host's; returns how
/// many crates' owners moved.
pub async fn move_to_host(db: &Db, settings: &Settings) -> anyhow::Result<u64> {
    let mut moved = 0;
    for repo in cargo_repositories(settings) {
        moved += move_repository(db, &repo).await?;
    }
    Ok(moved)
}

async fn move_repository(db: &Db, repo: &str) -> anyhow::Result<u64> {
    let mut tx = crate::store::begin_write(db, &format!("owners {repo}")).await?;
    let rows: Vec<(String, Vec<u8>)> =
        sqlx::query_as("SELECT package, value FROM package_kv WHERE repo = $1 AND key = $2")
            .bind(repo)
            .bind(KEY)
            .fetch_all(&mut *tx)
            .await?;
    let now = now_millis();
    let mut moved = 0;
    for (package, value) in rows {
        let Ok(logins) = serde_json::from_slice::<Vec<String>>(&value) else {
            // Left in place for an operator to look at, never half-read.
            tracing::warn!(
                repo,
                package,
                "unreadable cargo owners left in the kv space"
            );
            continue;
        };
        for (i, login) in logins.iter().enumerate() {
            if !is_valid_name(login) {
                tracing::warn!(
                    repo,
                    package,
                    login,
                    "an owner that is no user name was not moved"
                );
                continue;
            }
            // Later owners later: the first publisher stays first.
            sqlx::query(
                "INSERT INTO package_owners (repo, package, principal, added_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(repo)
            .bind(&package)
            .bind(format!("user:{login}"))
            .bind(now + i as i64)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM package_kv WHERE repo = $1 AND package = $2 AND key = $3")
            .bind(repo)
            .bind(&package)
            .bind(KEY)
            .execute(&mut *tx)
            .await?;
        moved += 1;
    }
    tx.commit().await?;
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn put_kv(db: &Db, repo: &str, package: &str, key: &str, value: &str) {
        sqlx::query("INSERT INTO package_kv (repo, package, key, value) VALUES ($1, $2, $3, $4)")
            .bind(repo)
            .bind(package)
            .bind(key)
            .bind(value.as_bytes())
            .execute(db)
            .await
            .unwrap();
    }

    async fn owners(db: &Db, repo: &str, package: &str) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT principal FROM package_owners WHERE repo = $1 AND package = $2
             ORDER BY added_at, principal",
        )
        .bind(repo)
        .bind(package)
        .fetch_all(db)
        .await
        .unwrap()
    }

    async fn kv_keys(db: &Db) -> Vec<(String, String, String)> {
        sqlx::query_as("SELECT repo, package, key FROM package_kv ORDER BY repo, package, key")
            .fetch_all(db)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn cargo_kv_owners_move_once_and_nothing_else_does() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::open_sqlite(&dir.path().join("db.sqlite"))
            .await
            .unwrap();
        let repository = crate::repositories::RepositorySpec::hosted;
        let settings = Settings {
            repositories: vec![repository("crates", "cargo"), repository("web", "npm")],
            ..Settings::default()
        };
        put_kv(&db, "cargo", "demo", "owners", r#"["alice","bob"]"#).await;
        put_kv(&db, "cargo", "demo-x", "canonical", "demo_x").await;
        put_kv(&db, "crates", "serde", "owners", r#"["carol"]"#).await;
        put_kv(&db, "crates", "broken", "owners", "not json").await;
        // Another format's entry of the same name is not cargo's.
        put_kv(&db, "web", "left-pad", "owners", r#"["mallory"]"#).await;
        // An owner the host already has is kept, and not doubled.
        sqlx::query(
            "INSERT INTO package_owners (repo, package, principal, added_at) VALUES ('cargo', 'demo', 'user:bob', 1)",
        )
        .execute(&db)
        .await
        .unwrap();

        assert_eq!(move_to_host(&db, &settings).await.unwrap(), 2);
        assert_eq!(
            owners(&db, "cargo", "demo").await,
            ["user:bob", "user:alice"]
        );
        assert_eq!(owners(&db, "crates", "serde").await, ["user:carol"]);
        assert!(owners(&db, "web", "left-pad").await.is_empty());
        let left = |repo: &str, package: &str, key: &str| {
            (repo.to_string(), package.to_string(), key.to_string())
        };
        assert_eq!(
            kv_keys(&db).await,
            [
                left("cargo", "demo-x", "canonical"),
                left("crates", "broken", "owners"),
                left("web", "left-pad", "owners"),
            ]
        );
        // Nothing left to do on the next start.
        assert_eq!(move_to_host(&db, &settings).await.unwrap(), 0);
        assert_eq!(owners(&db, "cargo", "demo").await.len(), 2);
    }
}
