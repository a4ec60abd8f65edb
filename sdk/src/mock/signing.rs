//! Signing keys of the mock host: deterministic fake armored blocks, so a
//! test can check what was signed, by which key id and which rotation of
//! it, without OpenPGP. Like the host, only granted key ids sign.

use super::with;
use sha2::{Digest, Sha256};

/// Grants `key_id` to the plugin under test (`signing_keys`).
pub fn grant_signing_key(key_id: &str) {
    with(|h| {
        h.signing_keys.entry(key_id.to_string()).or_insert(1);
    });
}

/// Rotates a granted key: later signatures name the next generation.
pub fn rotate_signing_key(key_id: &str) {
    with(|h| *h.signing_keys.entry(key_id.to_string()).or_insert(0) += 1);
}

/// The fake fingerprint a key id signs with now: `<id>-<generation>`.
fn current(key_id: &str) -> Result<String, String> {
    with(|h| match h.signing_keys.get(key_id) {
        Some(generation) => Ok(format!("{key_id}-{generation}")),
        None => Err(format!(
            "signing key {key_id:?} is not granted to this plugin (signing_keys in plugin-registry.toml)"
        )),
    })
}

fn signature(fingerprint: &str, data: &[u8]) -> String {
    let digest = crate::hex(Sha256::digest(data));
    format!(
        "-----BEGIN PGP SIGNATURE-----\n\nmock {fingerprint} sha256:{digest}\n-----END PGP SIGNATURE-----\n"
    )
}

pub fn clearsign(key_id: &str, text: &[u8]) -> Result<String, String> {
    let fingerprint = current(key_id)?;
    let text = String::from_utf8_lossy(text);
    let mut out = String::from("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n");
    for line in text.lines() {
        // Dash-escaping, as OpenPGP clear-signing does.
        if line.starts_with('-') {
            out.push_str("- ");
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&signature(&fingerprint, text.as_bytes()));
    Ok(out)
}

pub fn sign_detached(key_id: &str, data: &[u8]) -> Result<String, String> {
    Ok(signature(&current(key_id)?, data))
}

pub fn public_key(key_id: &str) -> Result<String, String> {
    let fingerprint = current(key_id)?;
    Ok(format!(
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmock {fingerprint}\n-----END PGP PUBLIC KEY BLOCK-----\n"
    ))
}
