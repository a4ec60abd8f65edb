//! `owners`: a package's owners, listed and changed under the policy
//! (`capability/owners.rs`).

use super::{StoreData, done};
use crate::runtime::bindings::v0_3::wharf::plugin::owners as wit;
use crate::runtime::bindings::v0_3::wharf::plugin::types::StoreError;

type Res<T> = wasmtime::Result<Result<T, StoreError>>;

impl wit::Host for StoreData {
    async fn list(&mut self, package: String) -> Res<Vec<String>> {
        done(self.scope()?.owners(&package).await)
    }

    async fn change(&mut self, package: String, add: Vec<String>, remove: Vec<String>) -> Res<()> {
        done(self.scope()?.change_owners(&package, &add, &remove).await)
    }

    async fn exists(&mut self, principal: String) -> Res<bool> {
        done(self.scope()?.principal_exists(&principal).await)
    }
}
