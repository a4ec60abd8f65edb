//! What request handling shares: settings, stores, auth and the document cache.

use crate::audit::Audit;
use crate::auth::Auth;
use crate::config::Settings;
use crate::doc_cache::DocumentCache;
use crate::store::sql_catalog::SqlCatalog;
use crate::store::{blobs::BlobStore, catalog::Catalog, uploads::Uploads};
use anyhow::Context;
use std::sync::Arc;

pub struct Services {
    pub settings: Settings,
    pub catalog: Arc<dyn Catalog>,
    pub blobs: BlobStore,
    pub uploads: Uploads,
    pub auth: Auth,
    pub audit: Audit,
    pub doc_cache: DocumentCache,
    /// The OpenPGP keys plugins sign with, never see.
    pub keys: Arc<crate::signing::Keyring>,
    /// Repositories of `wharf.toml` and of the admin API.
    pub repositories: crate::repositories::Repositories,
    /// What proxy repositories fetch with.
    pub upstream: crate::upstream::Upstream,
    /// When assets were last downloaded, written in batches.
    pub downloads: crate::store::downloads::Downloads,
}

impl Services {
    pub async fn open(settings: Settings) -> anyhow::Result<Services> {
        std::fs::create_dir_all(&settings.data_dir)?;
        let db = crate::store::open(&settings.database_url(), settings.database_max_connections)
            .await
            .context("opening the database")?;
        crate::repositories::check(&settings.repositories, None)
            .map_err(|e| anyhow::anyhow!("[[repository]] in the settings: {e}"))?;
        let moved = crate::store::cargo_owners::move_to_host(&db, &settings).await?;
        if moved > 0 {
            tracing::info!(
                crates = moved,
                "cargo's own crate owners are now the host's"
            );
        }
        let blobs = BlobStore::local(&settings.blob_root()?, db.clone())?;
        Ok(Services {
            catalog: Arc::new(SqlCatalog::new(db.clone())),
            upstream: crate::upstream::Upstream::new(&settings, db.clone(), blobs.clone())?,
            blobs,
            uploads: Uploads::new(settings.data_path("uploads"), db.clone())?,
            audit: Audit::new(db.clone()),
            downloads: crate::store::downloads::Downloads::new(db.clone()),
            repositories: crate::repositories::Repositories::new(
                settings.repositories.clone(),
                db.clone(),
            ),
            auth: Auth::new(
                db,
                settings.anonymous_read,
                crate::registry_token::TokenKeys::load_or_create(
                    &settings.data_path("registry-token.key"),
                )?,
            )
            .await?
            .with_backoff(settings.login_backoff()),
            doc_cache: DocumentCache::new(settings.document_cache_bytes),
            keys: Arc::new(crate::signing::Keyring::open(
                settings.data_path("signing-keys"),
            )),
            settings,
        })
    }
}
