//! `std::io::Read + Seek` over a stored blob, so `tar`, `flate2` and `zip`
//! work inside the sandbox. Reads go to the host in 64 KiB windows.

use std::io::{self, Read, Seek, SeekFrom};

#[cfg(target_arch = "wasm32")]
type Inner = crate::bindings::wharf::plugin::blobs::BlobReader;
#[cfg(not(target_arch = "wasm32"))]
type Inner = crate::mock::MockReader;

const WINDOW: u32 = 64 * 1024;

pub struct BlobRead {
    inner: Inner,
    size: u64,
    pos: u64,
    buf: Vec<u8>,
    buf_start: u64,
}

impl BlobRead {
    pub fn from_host(inner: Inner) -> Self {
        let size = inner.size();
        BlobRead {
            inner,
            size,
            pos: 0,
            buf: Vec::new(),
            buf_start: 0,
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }
}

impl Read for BlobRead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || out.is_empty() {
            return Ok(0);
        }
        let buf_end = self.buf_start + self.buf.len() as u64;
        if self.pos < self.buf_start || self.pos >= buf_end {
            self.buf = self
                .inner
                .read(self.pos, WINDOW)
                // The host's refusal (an outage, the read limit) stays recoverable.
                .map_err(|e| io::Error::other(crate::HttpError::from(e)))?;
            self.buf_start = self.pos;
            if self.buf.is_empty() {
                return Ok(0);
            }
        }
        let at = (self.pos - self.buf_start) as usize;
        let n = out.len().min(self.buf.len() - at);
        out[..n].copy_from_slice(&self.buf[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for BlobRead {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => n as i128,
            SeekFrom::End(d) => self.size as i128 + d as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
        };
        if target < 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before start",
            ));
        }
        self.pos = target as u64;
        Ok(self.pos)
    }
}
