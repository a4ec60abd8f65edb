//! Upstream fetching for proxy repositories: the HTTP client with its
//! authentication flows (`client.rs`), the pull-through that streams an
//! artifact to its clients while storing it, once per artifact however many
//! ask (`pull.rs`), and the cache of mutable metadata with its TTLs,
//! revalidation and stale-if-error (`metadata.rs`). Plugins reach them
//! through the `upstream` interface (`runtime/imports/upstream.rs`).

mod client;
mod metadata;
mod pull;

pub use client::{Client, Credentials, FetchError, Options, certificates, host_of};
pub use metadata::{AskConditionally, Cached, MetadataCache, Ttl};
pub use pull::{Algorithm, Ask, Promised, PullThrough, Pulled, Refusal};

use crate::config::Settings;
use crate::store::Db;
use crate::store::blobs::BlobStore;
use reqwest::Url;
use std::sync::Arc;

/// Largest upstream metadata document kept (a popular npm packument is
/// tens of MiB).
const MAX_METADATA_BYTES: u64 = 256 << 20;

/// What every proxy repository fetches with.
pub struct Upstream {
    pub client: Arc<Client>,
    pub pulls: PullThrough,
    pub metadata: MetadataCache,
}

impl Upstream {
    pub fn new(settings: &Settings, db: Db, blobs: BlobStore) -> anyhow::Result<Upstream> {
        let options = Options {
            ca_bundles: settings.upstream_ca_bundle.iter().cloned().collect(),
            ..Options::default()
        };
        Ok(Upstream {
            client: Arc::new(Client::new(&options)?),
            pulls: PullThrough::new(blobs.clone(), settings.upstream_max_artifact_bytes),
            metadata: MetadataCache::new(db, blobs, MAX_METADATA_BYTES),
        })
    }
}

/// One proxy repository's upstream, as its requests use it.
#[derive(Clone)]
pub struct Target {
    /// Relative URLs of a plugin resolve against it.
    pub base: Url,
    /// Its own client, when it trusts a CA bundle of its own; else the
    /// server's.
    pub client: Option<Arc<Client>>,
    pub credentials: Option<Credentials>,
    pub ttl: Ttl,
}

#[cfg(test)]
mod tests;
