//! Request targets no registry needs: tens of thousands of segments, or
//! tens of kilobytes. Refused before any plugin routes them, in the
//! format's shape, without slowing other requests or flooding the log.

use std::time::{Duration, Instant};
use wharf_tests::{PluginEntry, Server};

const OCI: PluginEntry = PluginEntry {
    format: "oci",
    extra: "",
};

#[test]
fn huge_paths_are_refused_at_once_and_cost_others_nothing() {
    let server = Server::start(&[OCI]);
    let deep = format!("{}/v2/{}/manifests/latest", server.url, "a/".repeat(30_000));
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build();
    let normal = format!("{}/v2/", server.url);
    let slowest_normal = std::thread::scope(|s| {
        let attackers: Vec<_> = (0..16)
            .map(|_| {
                let (agent, deep) = (&agent, &deep);
                s.spawn(move || {
                    for _ in 0..5 {
                        let started = Instant::now();
                        let reply = wharf_tests::send(agent.get(deep));
                        assert_eq!(reply.status, 400, "{}", reply.text());
                        // The registry's own error shape.
                        assert!(
                            reply.json()["errors"][0]["code"].is_string(),
                            "{}",
                            reply.text()
                        );
                        assert!(started.elapsed() < Duration::from_secs(2));
                    }
                })
            })
            .collect();
        let mut slowest = Duration::ZERO;
        for _ in 0..50 {
            let started = Instant::now();
            let reply = wharf_tests::send(agent.get(&normal));
            assert!([200, 401].contains(&reply.status), "{}", reply.status);
            slowest = slowest.max(started.elapsed());
        }
        for a in attackers {
            a.join().unwrap();
        }
        slowest
    });
    assert!(
        slowest_normal < Duration::from_secs(1),
        "{slowest_normal:?}"
    );
    let longest_line = server.log().lines().map(str::len).max().unwrap_or(0);
    assert!(longest_line < 8 << 10, "a log line of {longest_line} bytes");
}
