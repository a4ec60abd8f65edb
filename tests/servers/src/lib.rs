//! Servers that tests start for themselves, on 127.0.0.1, in temporary
//! directories, and that stop with the test process even when it is
//! killed. Shared by the host's unit tests and the end-to-end tests.

pub mod postgres;

use std::net::TcpListener;

/// A port free on loopback at the time of asking.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
