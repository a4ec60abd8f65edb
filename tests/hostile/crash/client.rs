//! The crash test's client: one upload's requests over raw HTTP/1.1, the
//! payload at full speed, paced, held half-sent until the kill, or sent
//! whole with its answer lost to the kill; and what the client can know of
//! each request when the server dies under it.

use super::uploads::{Request, Upload};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a client waits for an answer, or holds a body, at most.
const PATIENCE: Duration = Duration::from_secs(120);
const CHUNK: usize = 64 << 10;

#[derive(Clone, Copy)]
pub enum Pace {
    Full,
    /// The payload spread over about this long.
    Over(Duration),
    /// Half the payload, then nothing until the kill.
    Hold,
    /// All of it, then the answer is left unread until the kill: lost, as
    /// far as the client knows, though the server committed the request.
    LoseAnswer,
}

/// What the client knows of one request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    /// Never sent: the kill came first.
    Unsent,
    /// Part of the body only: the server cannot have committed it.
    Partial,
    /// The whole body, but no answer: committed or not, all or nothing.
    Unanswered,
    /// A success was answered, but the client never read it: committed.
    Lost,
    Answered(u16),
}

impl Outcome {
    pub fn succeeded(self) -> bool {
        matches!(self, Outcome::Answered(200..=299))
    }
}

/// Between the clients and the kill: no request starts once `killed` is
/// set, so none reaches the restarted server; held connections are let go
/// once `restarted` is, so the kill finds them open. `holding` counts held
/// bodies, `unread` answers arrived and left unread.
#[derive(Default)]
pub struct Gate {
    pub killed: RwLock<bool>,
    pub restarted: AtomicBool,
    pub holding: AtomicUsize,
    pub unread: AtomicUsize,
}

/// Sends `upload`'s requests in order until one fails; the big one at
/// `pace`. Returns the outcome of each.
pub fn run(address: &str, upload: &Upload, pace: Pace, gate: &Gate) -> Vec<Outcome> {
    let mut outcomes = vec![Outcome::Unsent; upload.steps.len()];
    for (n, step) in upload.steps.iter().enumerate() {
        let pace = if n == upload.big { pace } else { Pace::Full };
        outcomes[n] = send(address, &step.request, pace, gate);
        if !outcomes[n].succeeded() {
            break;
        }
    }
    outcomes
}

fn send(address: &str, request: &Request, pace: Pace, gate: &Gate) -> Outcome {
    let mut tcp = {
        // Read-locked until connected: the kill waits for the connection,
        // which then reaches the process being killed, not its successor.
        let killed = gate.killed.read().unwrap();
        if *killed {
            return Outcome::Unsent;
        }
        TcpStream::connect(address).unwrap()
    };
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\n",
        request.method,
        request.path,
        request.body.len()
    );
    for (k, v) in &request.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    if tcp.write_all(head.as_bytes()).is_err() {
        return early_answer(&mut tcp);
    }
    let body = &request.body;
    let chunks = body.len().div_ceil(CHUNK).max(1);
    for (n, chunk) in body.chunks(CHUNK).enumerate() {
        match pace {
            Pace::Hold if n == chunks / 2 => return hold(gate, &gate.holding, Outcome::Partial),
            Pace::Over(total) => std::thread::sleep(total / chunks as u32),
            _ => {}
        }
        if tcp.write_all(chunk).is_err() {
            return early_answer(&mut tcp);
        }
    }
    if let Pace::LoseAnswer = pace {
        return match peek_status(&tcp) {
            Some(200..=299) => hold(gate, &gate.unread, Outcome::Lost),
            Some(status) => Outcome::Answered(status),
            None => Outcome::Unanswered,
        };
    }
    match status(&mut tcp) {
        Some(status) => Outcome::Answered(status),
        None => Outcome::Unanswered,
    }
}

/// Counts in `on` and waits until the server was killed and restarted (or,
/// should that never come, until the client gives up); what the connection
/// still had to do is never done.
fn hold(gate: &Gate, on: &AtomicUsize, outcome: Outcome) -> Outcome {
    on.fetch_add(1, Ordering::SeqCst);
    let until = Instant::now() + PATIENCE;
    while !gate.restarted.load(Ordering::SeqCst) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    outcome
}

/// A write failed: the server may have answered early (an error), or died.
fn early_answer(tcp: &mut TcpStream) -> Outcome {
    tcp.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    match status(tcp) {
        Some(status) => Outcome::Answered(status),
        None => Outcome::Partial,
    }
}

/// The response's status, left unread.
fn peek_status(tcp: &TcpStream) -> Option<u16> {
    let mut line = [0; 12]; // "HTTP/1.1 201"
    let until = Instant::now() + PATIENCE;
    while tcp.peek(&mut line).ok()? < line.len() {
        if Instant::now() > until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    std::str::from_utf8(&line[9..]).ok()?.parse().ok()
}

/// The response's status (the rest is read and dropped); `None` if the
/// connection ends before a status line.
fn status(tcp: &mut TcpStream) -> Option<u16> {
    let mut reader = BufReader::new(tcp);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let status = line.split_whitespace().nth(1)?.parse().ok()?;
    let mut length = 0;
    line.clear();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        if let Some((k, v)) = line.trim_end().split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
        line.clear();
    }
    let _ = std::io::copy(&mut reader.take(length), &mut std::io::sink());
    Some(status)
}

/// A client's retry: the same request, whole, on a new connection, its
/// answer read while the body is written ("already exists" may come before
/// the body's end, and the connection close after it).
pub fn resend(url: &str, request: &Request) -> u16 {
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let body = std::io::Cursor::new(request.body.clone());
    let (method, path, length) = (request.method, &request.path, request.body.len() as u64);
    crate::raw_http::exchange(url, method, path, &headers, length, body, PATIENCE).status
}
