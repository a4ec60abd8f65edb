//! The caller's own API tokens: list, create (with the caller's password),
//! revoke. A token's secret is seen once, in what [`create`] returns.

use super::imp::raw_tokens as raw;
use crate::types::StoreError;

pub use crate::bindings::wharf::plugin::tokens::{CreateError, NewToken, TokenInfo, TokenSpec};

/// Most tokens one [`list`] call returns.
pub const PAGE: u32 = 100;

/// Up to `limit` (at most [`PAGE`]) of the caller's tokens from `offset`,
/// oldest first, and how many there are in all.
pub fn list(offset: u32, limit: u32) -> Result<(u64, Vec<TokenInfo>), StoreError> {
    raw::list(offset, limit)
}

/// A new token for the caller, proved by their password. Needs a route
/// that writes; a restricted token makes none.
pub fn create(password: &str, spec: &TokenSpec) -> Result<NewToken, CreateError> {
    raw::create(password, spec)
}

/// Revokes one of the caller's tokens, by public id or by secret;
/// `not-found` when the caller has no such token.
pub fn revoke(token: &str) -> Result<(), StoreError> {
    raw::revoke(token)
}

/// Revokes the token this request authenticated with (a logout).
pub fn revoke_current() -> Result<(), StoreError> {
    raw::revoke_current()
}
