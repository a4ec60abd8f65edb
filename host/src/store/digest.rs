//! The digests formats need, computed in one pass over the bytes.

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

pub struct Hasher {
    blake3: blake3::Hasher,
    sha256: Option<sha2::Sha256>,
    sha512: Option<sha2::Sha512>,
    sha1: Option<sha1::Sha1>,
    md5: Option<md5::Md5>,
    blake2b256: Option<Blake2b256>,
    size: u64,
}

impl Hasher {
    pub fn new(want: Want) -> Self {
        Hasher {
            blake3: blake3::Hasher::new(),
            sha256: want.sha256.then(sha2::Sha256::new),
            sha512: want.sha512.then(sha2::Sha512::new),
            sha1: want.sha1.then(sha1::Sha1::new),
            md5: want.md5.then(md5::Md5::new),
            blake2b256: want.blake2b256.then(Blake2b256::new),
            size: 0,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.blake3.update(data);
        if let Some(h) = &mut self.sha256 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha512 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha1 {
            h.update(data);
        }
        if let Some(h) = &mut self.md5 {
            h.update(data);
        }
        if let Some(h) = &mut self.blake2b256 {
            h.update(data);
        }
        self.size += data.len() as u64;
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn finish(self) -> BlobInfo {
        BlobInfo {
            blake3: self.blake3.finalize().to_hex().to_string(),
            sha256: self.sha256.map(|h| hex::encode(h.finalize())),
            sha512: self.sha512.map(|h| hex::encode(h.finalize())),
            sha1: self.sha1.map(|h| hex::encode(h.finalize())),
            md5: self.md5.map(|h| hex::encode(h.finalize())),
            blake2b256: self.blake2b256.map(|h| hex::encode(h.finalize())),
            size: self.size,
        }
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
