//! Signatures by keys the host holds: the plugin hands over bytes and gets
//! armored OpenPGP back, never key material. A plugin signs only with the
//! key ids granted to it (`signing_keys` in `plugin-registry.toml`); any
//! other id is refused with a message naming the grant.

use super::imp::raw_signing as raw;

/// `text` clear-signed (a Debian `InRelease`).
pub fn clearsign(key_id: &str, text: &[u8]) -> Result<String, String> {
    raw::clearsign(key_id, text)
}

/// An armored detached signature of `data` (`Release.gpg`, a Helm `.prov`).
pub fn sign_detached(key_id: &str, data: &[u8]) -> Result<String, String> {
    raw::sign_detached(key_id, data)
}

/// The armored public keys of `key_id`, the signing one first: what
/// clients verify with (old keys stay until the operator removes them).
pub fn public_key(key_id: &str) -> Result<String, String> {
    raw::public_key(key_id)
}
