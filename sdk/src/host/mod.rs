//! Host capabilities as plain functions.
//!
//! In a `wasm32` build these are the WIT imports themselves; in a native build
//! they have the same signatures and call the thread-local [`crate::mock`] host.

#[cfg(target_arch = "wasm32")]
#[path = "wasm.rs"]
mod imp;

#[cfg(not(target_arch = "wasm32"))]
#[path = "native.rs"]
mod imp;

pub use imp::{auth, blobs, catalog, log};
