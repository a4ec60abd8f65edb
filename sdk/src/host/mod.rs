//! Host capabilities as plain functions.
//!
//! In a `wasm32` build the raw calls are the WIT imports themselves; in a
//! native build they have the same signatures and call the thread-local
//! [`crate::mock`] host. [`catalog`] adds the conveniences every format wants
//! (single writes, paging through a whole list) on top of either;
//! [`owners`] and [`tokens`] give principals and token specs their types;
//! [`signing`] asks the host for signatures; [`upstream`] fetches what a
//! proxy repository serves; [`group`] reads a group's other answers during
//! a merge.

#[cfg(target_arch = "wasm32")]
#[path = "wasm.rs"]
mod imp;

#[cfg(not(target_arch = "wasm32"))]
#[path = "native.rs"]
mod imp;

pub mod catalog;
pub mod group;
pub mod owners;
pub mod signing;
pub mod tokens;
pub mod upstream;

pub use imp::{auth, blobs, log};
