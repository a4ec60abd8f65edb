//! The host side of the WIT imports: what a plugin may call during `handle`
//! (and, through a scope that grants no route, during `merge`).
//!
//! One module per imported interface of the current contract, each a thin
//! glue over [`RequestScope`] (the policy, `capability.rs`) and the stores;
//! `v0_2.rs` and `v0_1.rs` map the older contracts onto the same calls.
//! During `classify` there is no scope and every import traps: classify
//! must be pure.

mod auth;
mod blobs;
mod catalog;
mod group;
mod log;
mod owners;
mod signing;
mod tokens;
mod upstream;
mod v0_1;
mod v0_2;

pub use blobs::BlobReader;
pub use group::{GroupAnswer, GroupRead, GroupReads};
pub use upstream::{Freshness, UpstreamResponse};

use super::body::IncomingBody;
use super::capability::RequestScope;
use super::slot::Slot;
use crate::store::StoreError;
use crate::store::digest::{self, Want};
use wasmtime::component::{Resource, ResourceTable};
use wasmtime::{ResourceLimiter, StoreLimits};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::v0_3::wharf::plugin::types as wit;

/// Largest window a plugin may read from a blob or a body in one call.
pub const MAX_READ_WINDOW: u32 = 1 << 20;

/// Per-store state.
pub struct StoreData {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    pub deadline: std::time::Instant,
    pub stderr: MemoryOutputPipe,
    pub scope: Option<RequestScope>,
    /// The slot of a `handle` call (classify runs on the warm pool's).
    pub slot: Option<Slot>,
    /// A merge's way to read its group (`group.read`).
    pub group_reads: Option<GroupReads>,
}

impl StoreData {
    pub fn new(
        memory_bytes: u64,
        deadline: std::time::Instant,
        scope: Option<RequestScope>,
    ) -> Self {
        let stderr = MemoryOutputPipe::new(16 * 1024);
        let wasi = wasmtime_wasi::WasiCtxBuilder::new()
            .stderr(stderr.clone())
            .build();
        let limits = wasmtime::StoreLimitsBuilder::new()
            .memory_size(memory_bytes as usize)
            .trap_on_grow_failure(true)
            .build();
        StoreData {
            wasi,
            table: ResourceTable::new(),
            limits,
            deadline,
            stderr,
            scope,
            slot: None,
            group_reads: None,
        }
    }

    pub fn limiter(&mut self) -> &mut dyn ResourceLimiter {
        &mut self.limits
    }

    pub fn push_body(&mut self, body: IncomingBody) -> wasmtime::Result<Resource<IncomingBody>> {
        Ok(self.table.push(body)?)
    }

    fn scope(&mut self) -> wasmtime::Result<&mut RequestScope> {
        self.scope
            .as_mut()
            .ok_or_else(|| wasmtime::Error::msg("host calls are not allowed during classify"))
    }

    /// The scope and the resource table, borrowed together.
    fn scope_and_table(&mut self) -> wasmtime::Result<(&mut RequestScope, &mut ResourceTable)> {
        let StoreData { scope, table, .. } = self;
        let scope = scope
            .as_mut()
            .ok_or_else(|| wasmtime::Error::msg("host calls are not allowed during classify"))?;
        Ok((scope, table))
    }
}

impl StoreData {
    /// Runs a host call that consumes the request body: off the plugin's
    /// clock and, when it can, without its slot (`slot.rs`). A stalled body
    /// or a slot that does not come back fails the request.
    async fn on_body<T>(
        &mut self,
        body: &Resource<IncomingBody>,
        call: impl AsyncFnOnce(&mut RequestScope, &mut IncomingBody) -> Result<T, StoreError>,
    ) -> wasmtime::Result<Result<T, StoreError>> {
        let StoreData {
            scope,
            table,
            slot,
            deadline,
            ..
        } = self;
        let scope = scope
            .as_mut()
            .ok_or_else(|| wasmtime::Error::msg("host calls are not allowed during classify"))?;
        let body = table.get_mut(body)?;
        let result = match slot.as_mut() {
            Some(slot) => {
                let result = slot.waiting(call(scope, &mut *body)).await?;
                *deadline = slot.deadline();
                result
            }
            None => call(scope, &mut *body).await,
        };
        Ok(body.settle(result)?)
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl From<StoreError> for wit::StoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => wit::StoreError::NotFound,
            StoreError::AlreadyExists => wit::StoreError::AlreadyExists,
            StoreError::Forbidden(m) => wit::StoreError::Forbidden(m),
            StoreError::DigestMismatch(m) => wit::StoreError::DigestMismatch(m),
            StoreError::TooLarge(n) => wit::StoreError::TooLarge(n),
            StoreError::Invalid(m) => wit::StoreError::Invalid(m),
            StoreError::Unavailable(m) => wit::StoreError::Unavailable(m),
        }
    }
}

impl From<wit::DigestSet> for Want {
    fn from(set: wit::DigestSet) -> Want {
        Want {
            sha256: set.contains(wit::DigestSet::SHA256),
            sha512: set.contains(wit::DigestSet::SHA512),
            sha1: set.contains(wit::DigestSet::SHA1),
            md5: set.contains(wit::DigestSet::MD5),
            blake2b256: set.contains(wit::DigestSet::BLAKE2B256),
        }
    }
}

impl From<digest::BlobInfo> for wit::BlobInfo {
    fn from(i: digest::BlobInfo) -> Self {
        wit::BlobInfo {
            digests: wit::Digests {
                blake3: i.blake3,
                sha256: i.sha256,
                sha512: i.sha512,
                sha1: i.sha1,
                md5: i.md5,
                blake2b256: i.blake2b256,
            },
            size: i.size,
        }
    }
}

/// A store result as the WIT result of the contract version `E` speaks
/// (never a trap).
fn done<T, U: From<T>, E: From<StoreError>>(
    r: Result<T, StoreError>,
) -> wasmtime::Result<Result<U, E>> {
    Ok(r.map(U::from).map_err(E::from))
}

impl wit::Host for StoreData {}
