//! What a reader sees of a request after the crash: all of it, byte for
//! byte, or none of it; and what `wharf fsck` finds in the store.

use super::uploads::{Check, Expect, Step};
use wharf_tests::{Server, send};

#[derive(Debug, PartialEq)]
pub enum Seen {
    Present,
    Absent,
    /// Some of it, or something else: what was seen.
    Mixed(Vec<String>),
}

/// Whether every read `step` makes possible shows it (`Present`), none does
/// (`Absent`), or anything else. A step that shows nothing of its own (a
/// checksum sidecar, verified and dropped) is whatever it is asked to be.
pub fn seen(server: &Server, step: &Step, expected: Seen) -> Seen {
    if step.shows.is_empty() {
        return expected;
    }
    let looks: Vec<(Option<bool>, String)> = step.shows.iter().map(|c| look(server, c)).collect();
    if looks.iter().all(|(v, _)| *v == Some(false)) {
        Seen::Absent
    } else if looks.iter().all(|(v, _)| *v == Some(true)) {
        Seen::Present
    } else {
        Seen::Mixed(looks.into_iter().map(|(_, what)| what).collect())
    }
}

/// `Some(true)` if the check shows the content, `Some(false)` if it shows
/// nothing of it, `None` otherwise; and a description.
fn look(server: &Server, check: &Check) -> (Option<bool>, String) {
    let mut get = ureq::get(&format!("{}{}", server.url, check.path))
        .timeout(std::time::Duration::from_secs(60));
    if let Some(accept) = check.accept {
        get = get.set("Accept", accept);
    }
    let reply = send(get);
    let verdict = match (&check.expect, reply.status) {
        (Expect::Bytes(want), 200) => (reply.body == *want).then_some(true),
        (Expect::Listed(text), 200) => Some(reply.text().contains(text.as_str())),
        (_, 404) => Some(false),
        _ => None,
    };
    let what = match (&check.expect, verdict) {
        (Expect::Bytes(want), None) if reply.status == 200 => format!(
            "GET {} -> 200, {} bytes that are not the {} sent",
            check.path,
            reply.body.len(),
            want.len()
        ),
        _ => format!("GET {} -> {}", check.path, reply.status),
    };
    (verdict, what)
}

/// Runs `wharf fsck` on the server's data directory: every blob matches its
/// address and every catalog asset has its blob.
pub fn assert_fsck_clean(server: &Server) {
    let fsck = std::process::Command::new(wharf_tests::wharf_binary())
        .arg("fsck")
        .env("WHARF_DATA_DIR", server.dir.path().join("data"))
        .env("WHARF_LOG", "warn")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&fsck.stdout);
    assert!(fsck.status.success(), "wharf fsck: {printed}");
    assert!(
        printed.contains("0 corrupt, 0 missing, 0 assets without their blob"),
        "{printed}"
    );
}

/// How many temporary objects a start removed, from its log line (0 if
/// none): `removed temporary objects a crash left behind files=N`.
pub fn swept_at_start(log: &str) -> usize {
    let Some(line) = log
        .lines()
        .find(|l| l.contains("removed temporary objects a crash left behind"))
    else {
        return 0;
    };
    // The log is coloured: drop the escape sequences (`ESC [ … m`).
    let mut plain = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => _ = chars.by_ref().find(|&c| c == 'm'),
            c => plain.push(c),
        }
    }
    let files = plain.split("files=").nth(1).unwrap_or("");
    files
        .split_whitespace()
        .next()
        .unwrap_or("")
        .parse()
        .unwrap_or(0)
}
