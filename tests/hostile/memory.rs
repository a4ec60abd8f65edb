//! Memory a client can make the server spend: password checks and the
//! document cache stay within their bounds, whatever is sent.

use crate::support_ext::{peak_rss_while, raise_open_files, rss_kib};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wharf_tests::{PluginEntry, Server};

const FAULTY: PluginEntry = PluginEntry {
    format: "faulty",
    extra: "",
};
const NPM: PluginEntry = PluginEntry {
    format: "npm",
    extra: "",
};

#[test]
fn a_flood_of_wrong_passwords_does_not_pile_up_memory() {
    // The backoff off: it would refuse most of these before argon2 runs,
    // and what is measured here is the bound of the checks themselves
    // (guesses from many addresses at many accounts all reach them).
    let server = Server::start_with_env(&[FAULTY], &[("WHARF_LOGIN_LOCKOUT_MAX_SECS", "0")]);
    let url = format!("{}/faulty/ok", server.url);
    assert_eq!(server.get("/faulty/ok").status, 200);
    let before = rss_kib(server.pid());
    // Each check is one argon2id run of 19 MiB: 150 at once took 2.8 GiB.
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let guesses: Vec<_> = (0..150)
            .map(|i| {
                let url = &url;
                s.spawn(move || {
                    let auth = wharf_tests::basic("admin", &format!("guess-{i}"));
                    wharf_tests::send(ureq::get(url).set("authorization", &auth)).status
                })
            })
            .collect();
        guesses.into_iter().map(|g| g.join().unwrap()).collect()
    });
    let after = rss_kib(server.pid());
    assert!(
        statuses.iter().all(|s| [401, 503].contains(s)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&401), "some guesses were checked");
    let grown_mib = after.saturating_sub(before) / 1024;
    println!("150 concurrent wrong passwords: RSS +{grown_mib} MiB");
    assert!(grown_mib < 128, "resident memory grew by {grown_mib} MiB");
    let admin = ureq::get(&url).set("authorization", &server.admin_basic());
    assert_eq!(wharf_tests::send(admin).status, 200);
}

#[test]
fn the_document_cache_is_not_filled_by_unique_queries_and_accepts() {
    let server = Server::start_with_env(&[NPM], &[("WHARF_DOCUMENT_CACHE_BYTES", "16777216")]);
    let body = wharf_tests::npm_publish_body("cached", "1.0.0", b"tarball", b"tarball");
    let put = ureq::put(&format!("{}/npm/cached", server.url))
        .set("authorization", &server.admin_basic())
        .set("content-type", "application/json");
    assert_eq!(wharf_tests::send_with(put, Some(&body)).status, 200);
    let url = format!("{}/npm/cached", server.url);
    assert_eq!(server.get("/npm/cached").status, 200);
    let before = rss_kib(server.pid());
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (agent, url) = (&agent, &url);
            s.spawn(move || {
                // 60 KB query strings: each would be a cache entry of its own.
                for i in 0..1_375 {
                    let query = format!("{t}-{i}-{}", "q".repeat(60_000));
                    let r = agent.get(&format!("{url}?{query}")).call();
                    assert!(r.is_ok() || matches!(r, Err(ureq::Error::Status(_, _))));
                }
            });
        }
    });
    // 1,500 distinct Accept headers on one packument: variants are capped.
    for i in 0..1_500 {
        let accept = format!("application/json; variant={i}; {}", "x".repeat(500));
        let r = agent.get(&url).set("accept", &accept).call();
        assert!(r.is_ok(), "{r:?}");
    }
    let after = rss_kib(server.pid());
    let grown_mib = after.saturating_sub(before) / 1024;
    println!("5,500 60 KB queries and 1,500 Accept values: RSS +{grown_mib} MiB");
    assert!(grown_mib < 64, "resident memory grew by {grown_mib} MiB");
    assert_eq!(server.get("/npm/cached").json()["name"], "cached");
}

#[test]
fn a_thousand_keep_alive_readers_are_served_within_bounds() {
    raise_open_files();
    let server = Server::start(&[NPM]);
    let body = wharf_tests::npm_publish_body("popular", "1.0.0", b"tarball", b"tarball");
    let put = ureq::put(&format!("{}/npm/popular", server.url))
        .set("authorization", &server.admin_basic())
        .set("content-type", "application/json");
    assert_eq!(wharf_tests::send_with(put, Some(&body)).status, 200);
    let url = format!("{}/npm/popular", server.url);
    std::thread::sleep(Duration::from_millis(500));
    let idle = rss_kib(server.pid());
    let done = AtomicBool::new(false);
    let (peak, failures) = std::thread::scope(|s| {
        let sampler = s.spawn(|| peak_rss_while(server.pid(), &done));
        let readers: Vec<_> = (0..1_000)
            .map(|_| {
                let url = &url;
                std::thread::Builder::new()
                    .stack_size(256 << 10)
                    .spawn_scoped(s, move || {
                        // One agent: every read on the same kept-alive connection.
                        let agent = ureq::AgentBuilder::new()
                            .timeout(Duration::from_secs(60))
                            .build();
                        (0..10)
                            .filter(|_| {
                                !agent.get(url).call().is_ok_and(|r| {
                                    r.into_string().is_ok_and(|b| b.contains("popular"))
                                })
                            })
                            .count()
                    })
                    .unwrap()
            })
            .collect();
        let failures: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
        done.store(true, Ordering::Relaxed);
        (sampler.join().unwrap(), failures)
    });
    assert_eq!(failures, 0, "reads failed");
    let grown_mib = peak.saturating_sub(idle) / 1024;
    println!(
        "idle RSS {} MiB, peak under 1,000 keep-alive readers +{grown_mib} MiB",
        idle / 1024
    );
    assert!(grown_mib < 256, "resident memory grew by {grown_mib} MiB");
}
