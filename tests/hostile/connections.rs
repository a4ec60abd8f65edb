//! Slow and idle clients: every connection has a deadline for its headers
//! (which is also the keep-alive idle time), connections are capped, and
//! the probes answer while the cap is reached.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use wharf_tests::{PluginEntry, Server};

const FAULTY: PluginEntry = PluginEntry {
    format: "faulty",
    extra: "",
};

fn connect(server: &Server) -> TcpStream {
    let address = server.url.trim_start_matches("http://");
    let tcp = TcpStream::connect(address).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    tcp
}

/// Whether the server closed `tcp` (EOF or reset) within the read timeout.
fn closed_by_server(tcp: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match tcp.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // e.g. a 408 before the close
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return false,
            Err(_) => return true,
        }
    }
}

#[test]
fn idle_and_half_sent_connections_are_closed() {
    let server = Server::start_with_env(&[FAULTY], &[("WHARF_HEADER_TIMEOUT_SECS", "2")]);
    let started = Instant::now();
    let mut idle: Vec<TcpStream> = (0..60).map(|_| connect(&server)).collect();
    let mut half: Vec<TcpStream> = (0..60)
        .map(|_| {
            let mut tcp = connect(&server);
            tcp.write_all(b"GET /faulty/ok HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            tcp
        })
        .collect();
    // A keep-alive connection that made one request and then went quiet.
    let mut kept = connect(&server);
    kept.write_all(b"GET /faulty/ok HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 12];
    kept.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");

    for tcp in idle.iter_mut().chain(half.iter_mut()).chain([&mut kept]) {
        assert!(
            closed_by_server(tcp),
            "a connection outlived its header timeout"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.get("/faulty/ok").text(), "ok");
}

#[test]
fn probes_answer_while_the_connection_cap_is_reached() {
    let server = Server::start_with_env(&[FAULTY], &[("WHARF_MAX_CONNECTIONS", "40")]);
    let held: Vec<TcpStream> = (0..300).map(|_| connect(&server)).collect();
    std::thread::sleep(Duration::from_millis(300));
    // Probe connections beyond the cap get one second for their request, so
    // idle sockets cannot keep the probes out.
    let until = Instant::now() + Duration::from_secs(10);
    let health = loop {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(3))
            .build();
        match agent.get(&format!("{}/health", server.url)).call() {
            Ok(r) => break r.status(),
            Err(_) if Instant::now() < until => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => panic!("/health did not answer at the connection cap: {e}"),
        }
    };
    assert_eq!(health, 200);
    let busy = wharf_tests::send(ureq::get(&format!("{}/faulty/ok", server.url)));
    assert_eq!(busy.status, 503, "{}", busy.text());
    assert_eq!(busy.header("retry-after"), Some("1"));
    drop(held);
    let until = Instant::now() + Duration::from_secs(10);
    while server.get("/faulty/ok").status != 200 {
        assert!(Instant::now() < until, "the server did not recover");
        std::thread::sleep(Duration::from_millis(100));
    }
}
