//! Plugin targets read their input as a few HTTP requests in plain text, so
//! that seeds are readable and libFuzzer's mutations stay near the protocol:
//!
//! ```text
//! PUT api/v1/crates/new
//! content-type: application/json
//!
//! <body bytes>
//! ~~~~
//! GET de/mo/demo
//! ```
//!
//! Requests are separated by a `\n~~~~\n` line and run in order against one
//! mock host, as a signed-in user: a publish is followed by the reads of
//! what it published.

use wharf_sdk::Format;
use wharf_sdk::mock::{self, TestRequest};
use wharf_sdk::types::Method;

const SEPARATOR: &[u8] = b"\n~~~~\n";
/// Requests run from one input: enough for publish, read, change, read.
const MAX_REQUESTS: usize = 6;

/// One request of a seed: method, target, headers, body.
pub type Seed<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a [u8]);

/// Writes requests in the format [`parse`] reads (the seeds).
pub fn render(requests: &[Seed]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (method, target, headers, body)) in requests.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(SEPARATOR);
        }
        out.extend_from_slice(format!("{method} {target}\n").as_bytes());
        for (name, value) in *headers {
            out.extend_from_slice(format!("{name}: {value}\n").as_bytes());
        }
        out.push(b'\n');
        out.extend_from_slice(body);
    }
    out
}

/// The requests of an input; pieces that are not a request are skipped.
pub fn parse(data: &[u8]) -> Vec<TestRequest> {
    split(data)
        .into_iter()
        .take(MAX_REQUESTS)
        .filter_map(one)
        .collect()
}

fn split(mut data: &[u8]) -> Vec<&[u8]> {
    let mut pieces = Vec::new();
    while let Some(at) = find(data, SEPARATOR) {
        pieces.push(&data[..at]);
        data = &data[at + SEPARATOR.len()..];
    }
    pieces.push(data);
    pieces
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn one(piece: &[u8]) -> Option<TestRequest> {
    let (head, body) = match find(piece, b"\n\n") {
        Some(at) => (&piece[..at], &piece[at + 2..]),
        None => (piece, &[][..]),
    };
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.lines();
    let (method, target) = lines.next()?.split_once(' ')?;
    let method = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        "OPTIONS" => Method::Options,
        _ => return None,
    };
    let mut request = TestRequest::new(method, target);
    for line in lines {
        let (name, value) = line.split_once(':')?;
        request = request.header(name.trim(), value.trim());
    }
    Some(request.body(body.to_vec()))
}

/// Runs an input's requests against plugin `F` and checks what must hold
/// whatever a client sends: no panic (libFuzzer reports one as a crash), a
/// valid status, and a refused request changes nothing in the catalog.
pub fn drive<F: Format>(data: &[u8]) {
    drive_with::<F>(data, || {});
}

/// [`drive`], with `prepare` run on the fresh mock host first (grants).
pub fn drive_with<F: Format>(data: &[u8], prepare: impl Fn()) {
    mock::reset();
    prepare();
    mock::login_as(Some("alice"));
    for request in parse(data) {
        let before = mock::with(|h| format!("{:?}", h.catalog));
        let Ok((_, response)) = request.send::<F>() else {
            continue;
        };
        assert!(
            (100..600).contains(&response.status),
            "status {}",
            response.status
        );
        if response.status >= 400 {
            let after = mock::with(|h| format!("{:?}", h.catalog));
            assert_eq!(
                before, after,
                "a refused request ({}) changed the catalog",
                response.status
            );
        }
    }
}
