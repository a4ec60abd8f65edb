//! OpenPGP keys the host signs with for plugins (Debian's `InRelease` and
//! `Release.gpg`, Helm provenance): one key per key id, generated on first
//! use, kept in the data directory with 0600 permissions, never passed to a
//! plugin (which key ids a plugin may use is granted in
//! `plugin-registry.toml`, `signing_keys`).
//!
//! Layout: `signing-keys/<id>/<fingerprint>.asc` holds each armored secret
//! key, `signing-keys/<id>/current` the fingerprint that signs. Rotating
//! writes a new key and moves `current`; the old public keys stay in the
//! exported keyring, so signatures made before still verify, until removed.
//!
//! rpgp (`pgp`) does the OpenPGP: pure Rust, maintained, small beside
//! sequoia's dependency tree. Keys are v4 `EdDSALegacy` (Ed25519) by default,
//! the form Debian 12's `gpgv` (GnuPG 2.2) verifies; RSA 4096 for clients
//! that know no EdDSA. Signing is CPU work: callers run it on the blocking
//! pool.

use anyhow::{Context, bail, ensure};
use pgp::composed::{
    ArmorOptions, CleartextSignedMessage, DetachedSignature, KeyType, SecretKeyParamsBuilder,
    SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::{KeyDetails, Password};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Ed25519,
    Rsa4096,
}

/// A key as `wharf key list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    pub id: String,
    pub fingerprint: String,
    pub algorithm: Algorithm,
    /// Seconds since the Unix epoch.
    pub created: i64,
    /// The key that signs; the others only verify what they signed.
    pub current: bool,
}

/// Key ids: 1 to 64 of `A-Z a-z 0-9 . _ -`, a directory name.
pub fn is_valid_id(id: &str) -> bool {
    crate::auth::directory::is_valid_name(id)
}

pub struct Keyring {
    dir: PathBuf,
    /// Keys read so far, by fingerprint. `current` is read on every use, so
    /// a rotation by `wharf key rotate` counts at once in a running server.
    /// The lock also serializes generation and rotation.
    loaded: Mutex<HashMap<String, Arc<SignedSecretKey>>>,
}

impl Keyring {
    /// The keys under `dir` (created when a key is first generated).
    pub fn open(dir: PathBuf) -> Keyring {
        Keyring {
            dir,
            loaded: Mutex::default(),
        }
    }

    /// A clear-signed document of `text` (Debian's `InRelease`).
    pub fn clearsign(&self, id: &str, text: &str) -> anyhow::Result<String> {
        let key = self.signing_key(id)?;
        let message = CleartextSignedMessage::sign(
            rand08::thread_rng(),
            text,
            &key.primary_key,
            &Password::empty(),
        )?;
        Ok(message.to_armored_string(ArmorOptions::default())?)
    }

    /// An armored detached signature of `data` (`Release.gpg`, a `.prov`'s).
    pub fn sign_detached(&self, id: &str, data: &[u8]) -> anyhow::Result<String> {
        let key = self.signing_key(id)?;
        let signature = DetachedSignature::sign_binary_data(
            rand08::thread_rng(),
            &key.primary_key,
            &Password::empty(),
            HashAlgorithm::Sha256,
            data,
        )?;
        Ok(signature.to_armored_string(ArmorOptions::default())?)
    }

    /// Every public key of `id`, armored, the current one first: what
    /// clients verify with. Made on first use like the key itself.
    pub fn public_keys(&self, id: &str) -> anyhow::Result<String> {
        let current = self.signing_key(id)?;
        let mut keys = vec![current.to_public_key()];
        for key in self.load_all(id)? {
            if key.fingerprint() != current.fingerprint() {
                keys.push(key.to_public_key());
            }
        }
        // One armored block holding every key, as `gpg --export --armor`
        // writes a keyring.
        let mut armored = Vec::new();
        pgp::armor::write(
            &keys,
            pgp::armor::BlockType::PublicKey,
            &mut armored,
            None,
            true,
        )?;
        Ok(String::from_utf8(armored)?)
    }

    /// Every key of every id.
    pub fn list(&self) -> anyhow::Result<Vec<KeyInfo>> {
        let mut out = Vec::new();
        let Ok(ids) = std::fs::read_dir(&self.dir) else {
            return Ok(out);
        };
        let mut ids: Vec<String> = ids
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|id| is_valid_id(id))
            .collect();
        ids.sort();
        for id in ids {
            let current = self.current_fingerprint(&id)?;
            for key in self.load_all(&id)? {
                let fingerprint = key.fingerprint().to_string();
                out.push(KeyInfo {
                    id: id.clone(),
                    current: current.as_deref() == Some(&*fingerprint),
                    fingerprint,
                    algorithm: algorithm_of(&key),
                    created: key.created_at().as_secs() as i64,
                });
            }
        }
        Ok(out)
    }

    /// Makes a new key the one that signs for `id`; the old ones stay for
    /// verification.
    pub fn rotate(&self, id: &str, algorithm: Algorithm) -> anyhow::Result<KeyInfo> {
        ensure!(is_valid_id(id), "key ids are 1-64 of [A-Za-z0-9._-]");
        let mut loaded = self.loaded.lock().unwrap();
        let key = self.generate(id, algorithm)?;
        let info = KeyInfo {
            id: id.to_string(),
            fingerprint: key.fingerprint().to_string(),
            algorithm,
            created: key.created_at().as_secs() as i64,
            current: true,
        };
        loaded.insert(info.fingerprint.clone(), Arc::new(key));
        Ok(info)
    }

    /// Removes a key that no longer signs; `false` when there is none.
    pub fn remove(&self, id: &str, fingerprint: &str) -> anyhow::Result<bool> {
        ensure!(is_valid_id(id), "key ids are 1-64 of [A-Za-z0-9._-]");
        let _serialized = self.loaded.lock().unwrap();
        let fingerprint = fingerprint.to_ascii_lowercase();
        if self.current_fingerprint(id)?.as_deref() == Some(&*fingerprint) {
            bail!("{fingerprint} is the key that signs for {id}: rotate first");
        }
        let path = self.dir.join(id).join(format!("{fingerprint}.asc"));
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The fingerprint that signs for each key id: what a running server
    /// watches to notice a rotation made by the command line.
    pub fn current_fingerprints(&self) -> anyhow::Result<HashMap<String, String>> {
        let mut out = HashMap::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e.into()),
        };
        for entry in entries {
            let id = entry?.file_name().to_string_lossy().into_owned();
            if is_valid_id(&id)
                && let Some(fingerprint) = self.current_fingerprint(&id)?
            {
                out.insert(id, fingerprint);
            }
        }
        Ok(out)
    }

    /// The key that signs for `id`, generated (Ed25519) on first use.
    fn signing_key(&self, id: &str) -> anyhow::Result<Arc<SignedSecretKey>> {
        ensure!(is_valid_id(id), "key ids are 1-64 of [A-Za-z0-9._-]");
        let mut loaded = self.loaded.lock().unwrap();
        let key = match self.current_fingerprint(id)? {
            Some(fingerprint) => match loaded.get(&fingerprint) {
                Some(key) => return Ok(key.clone()),
                None => read_key(&self.dir.join(id).join(format!("{fingerprint}.asc")))?,
            },
            None => self.generate(id, Algorithm::Ed25519)?,
        };
        let key = Arc::new(key);
        loaded.insert(key.fingerprint().to_string(), key.clone());
        Ok(key)
    }

    fn current_fingerprint(&self, id: &str) -> anyhow::Result<Option<String>> {
        match std::fs::read_to_string(self.dir.join(id).join("current")) {
            Ok(text) => Ok(Some(text.trim().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn load_all(&self, id: &str) -> anyhow::Result<Vec<SignedSecretKey>> {
        let mut keys = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.dir.join(id)) else {
            return Ok(keys);
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "asc") {
                keys.push(read_key(&path)?);
            }
        }
        keys.sort_by_key(|k| std::cmp::Reverse(k.created_at().as_secs()));
        Ok(keys)
    }

    /// Writes a new key of `id` (0600, then renamed into place) and makes it
    /// current. Called with `loaded` locked.
    fn generate(&self, id: &str, algorithm: Algorithm) -> anyhow::Result<SignedSecretKey> {
        let key_type = match algorithm {
            Algorithm::Ed25519 => KeyType::Ed25519Legacy,
            Algorithm::Rsa4096 => KeyType::Rsa(4096),
        };
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(key_type)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id(format!("Wharf signing key {id}"));
        let key = params
            .build()
            .context("key parameters")?
            .generate(rand08::thread_rng())?;
        let dir = self.dir.join(id);
        std::fs::create_dir_all(&dir)?;
        let fingerprint = key.fingerprint().to_string();
        let armored = key.to_armored_string(ArmorOptions::default())?;
        write_private(&dir.join(format!("{fingerprint}.asc")), armored.as_bytes())?;
        write_private(&dir.join("current"), fingerprint.as_bytes())?;
        tracing::info!(key = id, %fingerprint, ?algorithm, "signing key generated");
        Ok(key)
    }
}

fn algorithm_of(key: &SignedSecretKey) -> Algorithm {
    match key.algorithm() {
        pgp::crypto::public_key::PublicKeyAlgorithm::RSA => Algorithm::Rsa4096,
        _ => Algorithm::Ed25519,
    }
}

fn read_key(path: &Path) -> anyhow::Result<SignedSecretKey> {
    use pgp::composed::Deserializable;
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let (key, _) = SignedSecretKey::from_string(&text)
        .with_context(|| format!("{} is not an OpenPGP secret key", path.display()))?;
    Ok(key)
}

/// Writes `bytes` readable by the owner only, atomically.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgp::composed::{Deserializable, SignedPublicKey};

    fn public(armored: &str) -> Vec<SignedPublicKey> {
        SignedPublicKey::from_string_many(armored)
            .unwrap()
            .0
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// What apt does: `gpgv` (when the machine has it, as every Debian with
    /// apt does) verifies the clear-signed document with the exported key.
    fn gpgv_accepts(keys: &[SignedPublicKey], signed: &str) {
        use pgp::ser::Serialize;
        let Ok(status) = std::process::Command::new("gpgv").arg("--version").output() else {
            return;
        };
        assert!(status.status.success());
        let dir = tempfile::tempdir().unwrap();
        let mut keyring = Vec::new();
        for key in keys {
            keyring.extend(key.to_bytes().unwrap());
        }
        std::fs::write(dir.path().join("keyring.gpg"), keyring).unwrap();
        std::fs::write(dir.path().join("InRelease"), signed).unwrap();
        let out = std::process::Command::new("gpgv")
            .env("GNUPGHOME", dir.path())
            .arg("--keyring")
            .arg(dir.path().join("keyring.gpg"))
            .arg(dir.path().join("InRelease"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gpgv refused: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn signs_with_a_key_made_on_first_use_and_keeps_old_keys_after_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::open(dir.path().join("keys"));
        let text = "Origin: Wharf\nSuite: stable\n";
        let signed = ring.clearsign("deb", text).unwrap();
        let (message, _) = CleartextSignedMessage::from_string(&signed).unwrap();
        let first = public(&ring.public_keys("deb").unwrap());
        assert_eq!(first.len(), 1);
        message.verify(&first[0]).unwrap();
        assert!(signed.contains(text), "{signed}");
        gpgv_accepts(&first, &signed);
        let key_file = std::fs::read_dir(dir.path().join("keys/deb"))
            .unwrap()
            .flatten()
            .find(|e| e.path().extension().is_some_and(|x| x == "asc"))
            .unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            key_file.metadata().unwrap().permissions().mode() & 0o777,
            0o600
        );

        let data = b"a chart, byte for byte";
        let (detached, _) =
            DetachedSignature::from_string(&ring.sign_detached("deb", data).unwrap()).unwrap();
        detached.verify(&first[0], &data[..]).unwrap();

        // After a rotation the new key signs; the old one stays listed.
        let new = ring.rotate("deb", Algorithm::Ed25519).unwrap();
        let both = public(&ring.public_keys("deb").unwrap());
        assert_eq!(both.len(), 2);
        assert_eq!(both[0].fingerprint().to_string(), new.fingerprint);
        let signed = ring.clearsign("deb", text).unwrap();
        let (message, _) = CleartextSignedMessage::from_string(&signed).unwrap();
        message.verify(&both[0]).unwrap();
        assert!(message.verify(&first[0]).is_err());
        let listed = ring.list().unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed.iter().filter(|k| k.current).count(), 1);
        // The signing key cannot be removed; an old one can.
        assert!(ring.remove("deb", &new.fingerprint).is_err());
        let old = first[0].fingerprint().to_string();
        assert!(ring.remove("deb", &old).unwrap());
        assert_eq!(public(&ring.public_keys("deb").unwrap()).len(), 1);
        // A fresh keyring over the same files signs with the same key.
        let again = Keyring::open(dir.path().join("keys"));
        assert_eq!(
            public(&again.public_keys("deb").unwrap())[0].fingerprint(),
            both[0].fingerprint()
        );
        assert!(ring.clearsign("../etc", text).is_err());
    }
}
