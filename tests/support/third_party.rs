//! Third-party registries as upstreams of a proxy (pypiserver, Verdaccio):
//! started on a free loopback port, killed when dropped.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Daemon {
    pub url: String,
    child: Child,
}

impl Daemon {
    /// Runs `command` (told its port by `with_port`) until `probe` (a
    /// path) answers, at most a minute. Its output goes to `log`.
    pub fn start(with_port: impl FnOnce(u16) -> Command, probe: &str, log: &Path) -> Daemon {
        let port = free_port();
        let out = std::fs::File::create(log).unwrap();
        let child = with_port(port)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .expect("the third-party registry starts");
        let daemon = Daemon {
            url: format!("http://127.0.0.1:{port}"),
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match ureq::get(&format!("{}{probe}", daemon.url)).call() {
                Ok(_) | Err(ureq::Error::Status(..)) => return daemon,
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        panic!(
            "{probe} did not answer within a minute:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
