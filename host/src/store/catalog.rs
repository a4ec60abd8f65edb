//! The host-owned catalog: versions, their assets, tags and format state
//! (kv) per repository. Format metadata rides along as JSON text.
//!
//! Writes arrive as a list of [`Write`]s applied in one transaction; reads
//! are single lookups or pages, never a whole repository.

use super::StoreError;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VersionRow {
    pub package: String,
    pub version: String,
    pub metadata: String,
    #[sqlx(try_from = "super::Flag")]
    pub yanked: bool,
    pub deprecated: Option<String>,
    pub published_at: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Asset {
    pub path: String,
    pub blake3: String,
    pub content_type: String,
    pub metadata: String,
    pub added_at: i64,
}

/// What an asset belongs to: a version, or the package itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Owner {
    pub package: String,
    pub version: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Publication {
    pub version: VersionRow,
    pub assets: Vec<Asset>,
    pub tags: Vec<String>,
}

/// One catalog change; a list of them is applied in one transaction.
#[derive(Debug, Clone)]
pub enum Write {
    Publish(Publication),
    PutAsset {
        owner: Owner,
        asset: Asset,
        replace: bool,
    },
    RemoveAsset {
        package: String,
        path: String,
    },
    SetYanked {
        package: String,
        version: String,
        yanked: bool,
    },
    SetDeprecated {
        package: String,
        version: String,
        message: Option<String>,
    },
    SetTag {
        package: String,
        tag: String,
        version: String,
    },
    RemoveTag {
        package: String,
        tag: String,
    },
    DeleteVersion {
        package: String,
        version: String,
    },
    DeletePackage {
        package: String,
    },
    KvPut {
        package: Option<String>,
        key: String,
        value: Vec<u8>,
    },
    /// A kv entry that must not exist yet.
    KvInsert {
        package: Option<String>,
        key: String,
        value: Vec<u8>,
    },
    KvDelete {
        package: Option<String>,
        key: String,
    },
}

impl Write {
    /// The package the write changes (`None`: repository-wide state).
    pub fn package(&self) -> Option<&str> {
        match self {
            Write::Publish(p) => Some(&p.version.package),
            Write::PutAsset { owner, .. } => Some(&owner.package),
            Write::RemoveAsset { package, .. }
            | Write::SetYanked { package, .. }
            | Write::SetDeprecated { package, .. }
            | Write::SetTag { package, .. }
            | Write::RemoveTag { package, .. }
            | Write::DeleteVersion { package, .. }
            | Write::DeletePackage { package } => Some(package),
            Write::KvPut { package, .. }
            | Write::KvInsert { package, .. }
            | Write::KvDelete { package, .. } => package.as_deref(),
        }
    }

    /// The write with `blake3` in every asset that names no blob (what a
    /// pull records before the blob exists).
    pub fn with_blob(mut self, blake3: &str) -> Write {
        let assets: Vec<&mut Asset> = match &mut self {
            Write::Publish(p) => p.assets.iter_mut().collect(),
            Write::PutAsset { asset, .. } => vec![asset],
            _ => Vec::new(),
        };
        for asset in assets.into_iter().filter(|a| a.blake3.is_empty()) {
            asset.blake3 = blake3.to_string();
        }
        self
    }

    /// The blobs the write makes servable.
    pub fn blobs(&self) -> Vec<&str> {
        match self {
            Write::Publish(p) => p.assets.iter().map(|a| a.blake3.as_str()).collect(),
            Write::PutAsset { asset, .. } => vec![asset.blake3.as_str()],
            _ => Vec::new(),
        }
    }
}

/// What retention weighs of one version (`retention.rs`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VersionFacts {
    pub version: String,
    pub published_at: i64,
    /// The latest download of any of its files, if one was noted.
    pub last_download_at: Option<i64>,
    /// The sizes of its files, added up.
    pub bytes: i64,
    /// Whether a tag points at it.
    #[sqlx(try_from = "super::Flag")]
    pub tagged: bool,
}

/// Largest page a list call returns.
pub const MAX_PAGE: u32 = 1_000;

/// The catalog's storage. SQLite (`sql_catalog.rs`) is the embedded
/// default; a PostgreSQL backend implements the same trait. Every method is
/// scoped to one repository; lists return at most [`MAX_PAGE`] rows.
#[async_trait::async_trait]
pub trait Catalog: Send + Sync {
    /// Applies `writes` in order in one transaction: all or nothing.
    async fn apply(&self, repo: &str, writes: &[Write]) -> Result<(), StoreError>;

    async fn has_package(&self, repo: &str, package: &str) -> Result<bool, StoreError>;

    async fn get_version(
        &self,
        repo: &str,
        package: &str,
        version: &str,
    ) -> Result<Option<VersionRow>, StoreError>;

    /// Oldest first: up to `limit` versions published after `after`.
    async fn list_versions(
        &self,
        repo: &str,
        package: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<VersionRow>, StoreError>;

    async fn find_asset(&self, repo: &str, path: &str) -> Result<Option<Asset>, StoreError>;

    /// Assets of `owner` under `prefix`, by path, after the path `after`.
    async fn list_assets(
        &self,
        repo: &str,
        owner: &Owner,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Asset>, StoreError>;

    /// Whether any asset of `repo` serves this blob (plugins may only open those).
    async fn repo_has_blob(&self, repo: &str, blake3: &str) -> Result<bool, StoreError>;

    async fn get_tag(
        &self,
        repo: &str,
        package: &str,
        tag: &str,
    ) -> Result<Option<String>, StoreError>;

    /// Tags by name after `after`, with the versions they point at.
    async fn list_tags(
        &self,
        repo: &str,
        package: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError>;

    async fn list_packages(
        &self,
        repo: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError>;

    /// The latest version of each package whose name or latest metadata
    /// contains `text` (case-insensitive), with the total number of hits.
    async fn search(
        &self,
        repo: &str,
        text: &str,
        offset: u32,
        limit: u32,
    ) -> Result<(u64, Vec<VersionRow>), StoreError>;

    /// Records that `packages`, and so the repository ("*"), changed now.
    async fn record_change(&self, repo: &str, packages: &[&str]) -> Result<(), StoreError>;

    /// When any of `packages` last changed (Unix milliseconds), if recorded.
    async fn last_change(&self, repo: &str, packages: &[String])
    -> Result<Option<i64>, StoreError>;

    async fn kv_get(
        &self,
        repo: &str,
        package: Option<&str>,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// The versions of `package`, newest published first, skipping
    /// `offset`, with what retention weighs.
    async fn version_facts(
        &self,
        repo: &str,
        package: &str,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<VersionFacts>, StoreError>;
}
