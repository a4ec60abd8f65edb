//! Upstream fetching for proxy repositories: the HTTP client with its
//! authentication flows (`client.rs`) and the pull-through that streams an
//! artifact to its clients while storing it, once per artifact however many
//! ask (`pull.rs`).

mod client;
mod pull;

pub use client::{Client, Credentials, FetchError, Options, host_of};
pub use pull::{Ask, PullThrough, Pulled, Refusal};

#[cfg(test)]
mod tests;
