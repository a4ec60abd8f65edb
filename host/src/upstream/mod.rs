//! Upstream fetching for proxy repositories: the HTTP client with its
//! authentication flows (`client.rs`), the pull-through that streams an
//! artifact to its clients while storing it, once per artifact however many
//! ask (`pull.rs`), and the cache of mutable metadata with its TTLs,
//! revalidation and stale-if-error (`metadata.rs`).

mod client;
mod metadata;
mod pull;

pub use client::{Client, Credentials, FetchError, Options, host_of};
pub use metadata::{AskConditionally, Cached, MetadataCache, Ttl};
pub use pull::{Ask, PullThrough, Pulled, Refusal};

#[cfg(test)]
mod tests;
