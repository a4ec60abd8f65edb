//! A client as hostile as the tests need: raw HTTP/1.1 over a socket, the
//! body written from any `Read` (generated, paced, stalled) on its own
//! thread while the response is read, so an early answer (413) is seen even
//! while the body is still going. And the server's peak memory meanwhile.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct RawReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// From the request's start to the end of the response.
    pub took: Duration,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `method path` with `headers` and the body `body` yields (declared
/// as `length` bytes), then reads the response, for at most `within`.
pub fn exchange(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    length: u64,
    body: impl Read + Send + 'static,
    within: Duration,
) -> RawReply {
    let started = Instant::now();
    let addr = url.trim_start_matches("http://");
    let mut socket = TcpStream::connect(addr).unwrap();
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {length}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    socket.write_all(head.as_bytes()).unwrap();
    let mut writer = socket.try_clone().unwrap();
    // A server that answers early closes the connection: writing then fails,
    // which is its right.
    std::thread::spawn(move || {
        let mut body = body;
        let mut buf = vec![0; 256 << 10];
        while let Ok(n @ 1..) = body.read(&mut buf) {
            if writer.write_all(&buf[..n]).is_err() {
                return;
            }
        }
    });
    socket.set_read_timeout(Some(within)).unwrap();
    let mut reader = BufReader::new(socket);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("no response to {method} {path} within {within:?}: {e}"));
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let Some((k, v)) = line.trim_end().split_once(':') else {
            break;
        };
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    RawReply {
        status,
        headers,
        body,
        took: started.elapsed(),
    }
}

/// Yields `inner` in pieces of `piece` bytes, one every `every`.
pub struct Paced<R> {
    pub inner: R,
    pub piece: usize,
    pub every: Duration,
}

impl<R: Read> Read for Paced<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        std::thread::sleep(self.every);
        let n = buf.len().min(self.piece);
        self.inner.read(&mut buf[..n])
    }
}

/// Yields `inner`, then blocks for `then` before ending (a client that
/// stops sending without closing).
pub struct Stalling<R> {
    pub inner: R,
    pub then: Duration,
}

impl<R: Read> Read for Stalling<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf)? {
            0 => {
                std::thread::sleep(self.then);
                Ok(0)
            }
            n => Ok(n),
        }
    }
}

/// Samples a process's resident memory until stopped; keeps the peak.
pub struct PeakRss {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    sampler: std::thread::JoinHandle<()>,
}

impl PeakRss {
    pub fn start(pid: u32) -> PeakRss {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), peak.clone());
        let sampler = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(crate::support_ext::rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        PeakRss {
            stop,
            peak,
            sampler,
        }
    }

    /// The peak, in KiB.
    pub fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.sampler.join().unwrap();
        self.peak.load(Ordering::Relaxed)
    }
}
