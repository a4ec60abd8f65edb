//! `signing`: host-held keys. None is configured yet.

use super::StoreData;
use crate::runtime::bindings::v0_3::wharf::plugin::signing as wit;

fn not_configured(key_id: &str) -> wasmtime::Result<Result<String, String>> {
    Ok(Err(format!("signing key {key_id:?} is not configured")))
}

impl wit::Host for StoreData {
    async fn clearsign(
        &mut self,
        key_id: String,
        _data: Vec<u8>,
    ) -> wasmtime::Result<Result<String, String>> {
        not_configured(&key_id)
    }
    async fn sign_detached(
        &mut self,
        key_id: String,
        _data: Vec<u8>,
    ) -> wasmtime::Result<Result<String, String>> {
        not_configured(&key_id)
    }
    async fn public_key(&mut self, key_id: String) -> wasmtime::Result<Result<String, String>> {
        not_configured(&key_id)
    }
}
