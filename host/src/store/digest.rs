//! The digests formats need, computed in one pass over the bytes (split
//! across threads by `ingest` for large bodies).

use sha2::Digest;

type Blake2b256 = blake2::Blake2b<blake2::digest::consts::U32>;

/// Digests beyond BLAKE3 a caller wants.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Want {
    pub sha256: bool,
    pub sha512: bool,
    pub sha1: bool,
    pub md5: bool,
    pub blake2b256: bool,
}

/// Lower-case hex digests and the size of a blob.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow)]
pub struct BlobInfo {
    pub blake3: String,
    pub sha256: Option<String>,
    pub sha512: Option<String>,
    pub sha1: Option<String>,
    pub md5: Option<String>,
    pub blake2b256: Option<String>,
    #[sqlx(try_from = "i64")]
    pub size: u64,
}

/// One algorithm's running state.
#[derive(Clone)]
enum State {
    // Boxed: BLAKE3's state (its chaining-value stack) is ~2 KiB.
    Blake3(Box<blake3::Hasher>),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
    Sha1(sha1::Sha1),
    Md5(md5::Md5),
    Blake2b256(Blake2b256),
}

impl State {
    fn update(&mut self, data: &[u8]) {
        match self {
            State::Blake3(h) => {
                h.update(data);
            }
            State::Sha256(h) => h.update(data),
            State::Sha512(h) => h.update(data),
            State::Sha1(h) => h.update(data),
            State::Md5(h) => h.update(data),
            State::Blake2b256(h) => h.update(data),
        }
    }

    fn finish(self, info: &mut BlobInfo) {
        match self {
            State::Blake3(h) => info.blake3 = h.finalize().to_hex().to_string(),
            State::Sha256(h) => info.sha256 = Some(hex::encode(h.finalize())),
            State::Sha512(h) => info.sha512 = Some(hex::encode(h.finalize())),
            State::Sha1(h) => info.sha1 = Some(hex::encode(h.finalize())),
            State::Md5(h) => info.md5 = Some(hex::encode(h.finalize())),
            State::Blake2b256(h) => info.blake2b256 = Some(hex::encode(h.finalize())),
        }
    }
}

/// BLAKE3 and the wanted digests of the bytes seen so far. `Clone`, so an
/// upload session can keep its running state and resume it on the next append.
#[derive(Clone)]
pub struct Hasher {
    states: Vec<State>,
    size: u64,
}

impl Hasher {
    pub fn new(want: Want) -> Self {
        let mut states = vec![State::Blake3(Box::default())];
        if want.sha256 {
            states.push(State::Sha256(sha2::Sha256::new()));
        }
        if want.sha512 {
            states.push(State::Sha512(sha2::Sha512::new()));
        }
        if want.sha1 {
            states.push(State::Sha1(sha1::Sha1::new()));
        }
        if want.md5 {
            states.push(State::Md5(md5::Md5::new()));
        }
        if want.blake2b256 {
            states.push(State::Blake2b256(Blake2b256::new()));
        }
        Hasher { states, size: 0 }
    }

    pub fn update(&mut self, data: &[u8]) {
        for state in &mut self.states {
            state.update(data);
        }
        self.size += data.len() as u64;
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether every digest in `want` is being computed.
    pub fn covers(&self, want: Want) -> bool {
        let has = |f: fn(&State) -> bool| self.states.iter().any(f);
        (!want.sha256 || has(|s| matches!(s, State::Sha256(_))))
            && (!want.sha512 || has(|s| matches!(s, State::Sha512(_))))
            && (!want.sha1 || has(|s| matches!(s, State::Sha1(_))))
            && (!want.md5 || has(|s| matches!(s, State::Md5(_))))
            && (!want.blake2b256 || has(|s| matches!(s, State::Blake2b256(_))))
    }

    /// One hasher per algorithm, to feed on separate threads; `join` puts
    /// them back together.
    pub fn split(self) -> Vec<Hasher> {
        let size = self.size;
        self.states
            .into_iter()
            .map(|state| Hasher {
                states: vec![state],
                size,
            })
            .collect()
    }

    /// The inverse of `split`, once every part has seen the same bytes.
    pub fn join(parts: Vec<Hasher>) -> Hasher {
        let size = parts.first().map_or(0, |p| p.size);
        debug_assert!(parts.iter().all(|p| p.size == size));
        Hasher {
            states: parts.into_iter().flat_map(|p| p.states).collect(),
            size,
        }
    }

    pub fn finish(self) -> BlobInfo {
        let mut info = BlobInfo {
            size: self.size,
            ..Default::default()
        };
        for state in self.states {
            state.finish(&mut info);
        }
        info
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(data: &[u8], want: Want) -> BlobInfo {
        let mut h = Hasher::new(want);
        h.update(data);
        h.finish()
    }

    #[test]
    fn known_digests() {
        let all = Want {
            sha256: true,
            sha512: true,
            sha1: true,
            md5: true,
            blake2b256: true,
        };
        let info = digest_of(b"abc", all);
        assert_eq!(
            info.sha256.unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            info.sha1.unwrap(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(info.md5.unwrap(), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            info.blake2b256.unwrap(),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"
        );
        assert_eq!(info.blake3, blake3::hash(b"abc").to_hex().to_string());
        assert_eq!(digest_of(b"abc", Want::default()).sha256, None);
    }
}
