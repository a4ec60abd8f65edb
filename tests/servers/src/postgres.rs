//! A PostgreSQL cluster of Debian's package, made with `initdb` in a
//! temporary directory and run as the unprivileged `postgres` user (the
//! server refuses root), listening on a loopback port only.
//!
//! One cluster serves a whole test process ([`shared`]); each test takes a
//! database of its own ([`Cluster::database`]). A watchdog shell stops the
//! server once the test process is gone, however it ended.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub struct Cluster {
    port: u16,
    bin: PathBuf,
    databases: AtomicU32,
}

/// The process's cluster, started on first use.
pub fn shared() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(Cluster::start)
}

/// The user the server runs as.
const USER: &str = "postgres";
/// The role tests connect as (trusted on loopback: no password).
const ROLE: &str = "wharf";

impl Cluster {
    fn start() -> Cluster {
        let bin = binaries();
        let dir = tempfile::Builder::new()
            .prefix("wharf-postgres-")
            .tempdir()
            .expect("a temporary directory");
        let data = dir.path().join("data");
        run(Command::new("chown").arg(USER).arg(dir.path()));
        run(as_postgres(&bin.join("initdb"))
            .args([
                "-A",
                "trust",
                "-U",
                ROLE,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "-D",
            ])
            .arg(&data));
        let port = crate::free_port();
        // Durability is not what these tests are about: no fsync.
        let server = format!(
            "{} -D {} -k {} -p {port} -c listen_addresses=127.0.0.1 -c max_connections=400 \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            bin.join("postgres").display(),
            data.display(),
            dir.path().display(),
        );
        let watchdog = format!(
            "{server} & pg=$!; \
             while [ -d /proc/{test} ] && kill -0 $pg 2>/dev/null; do sleep 0.5; done; \
             kill -INT $pg 2>/dev/null; wait $pg; rm -rf {dir}",
            test = std::process::id(),
            dir = dir.path().display(),
        );
        // The watchdog removes the directory after the server stopped.
        let _ = dir.keep();
        as_postgres(std::path::Path::new("sh"))
            .args(["-c", &watchdog])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting postgres");
        let cluster = Cluster {
            port,
            bin,
            databases: AtomicU32::new(0),
        };
        cluster.wait_ready();
        cluster
    }

    /// A new, empty database; its URL.
    pub fn database(&self) -> String {
        let name = format!("test{}", self.databases.fetch_add(1, Ordering::SeqCst));
        run(Command::new(self.bin.join("createdb")).args([
            "-h",
            "127.0.0.1",
            "-U",
            ROLE,
            "-p",
            &self.port.to_string(),
            &name,
        ]));
        format!("postgres://{ROLE}@127.0.0.1:{}/{name}", self.port)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", ROLE])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "postgres did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The newest installed server's programs.
fn binaries() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (cargo xtask test installs it)")
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("a PostgreSQL server under /usr/lib/postgresql")
        .1
}

fn as_postgres(program: &std::path::Path) -> Command {
    let mut command = Command::new("runuser");
    command.args(["-u", USER, "--"]).arg(program);
    command
}

fn run(command: &mut Command) {
    let out = command.output().expect("running a PostgreSQL program");
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
