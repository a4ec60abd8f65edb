//! `signing`: the host's OpenPGP keys (`signing.rs`), for the key ids granted
//! to the plugin (`capability.rs`, `signing_key`). The work runs on the
//! blocking pool; the plugin sees signatures and public keys, never a key.

use super::StoreData;
use crate::runtime::bindings::v0_3::wharf::plugin::signing as wit;

impl StoreData {
    async fn sign(
        &mut self,
        key_id: String,
        work: impl FnOnce(&crate::signing::Keyring, &str) -> anyhow::Result<String> + Send + 'static,
    ) -> wasmtime::Result<Result<String, String>> {
        let keys = match self.scope()?.signing_key(&key_id) {
            Ok(keys) => keys,
            Err(refused) => return Ok(Err(refused)),
        };
        let signed = tokio::task::spawn_blocking(move || work(&keys, &key_id)).await?;
        Ok(signed.map_err(|e| format!("signing failed: {e:#}")))
    }
}

impl wit::Host for StoreData {
    async fn clearsign(
        &mut self,
        key_id: String,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<String, String>> {
        let Ok(text) = String::from_utf8(data) else {
            return Ok(Err("clearsign signs UTF-8 text".into()));
        };
        self.sign(key_id, move |keys, id| keys.clearsign(id, &text))
            .await
    }
    async fn sign_detached(
        &mut self,
        key_id: String,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<String, String>> {
        self.sign(key_id, move |keys, id| keys.sign_detached(id, &data))
            .await
    }
    async fn public_key(&mut self, key_id: String) -> wasmtime::Result<Result<String, String>> {
        self.sign(key_id, |keys, id| keys.public_keys(id)).await
    }
}
