//! Test support: start a real `wharf` on a free loopback port with a
//! temporary data directory and its own plugin registry, and talk to it.

pub mod npm;
pub mod oci;
pub mod publish;
pub mod third_party;

use base64::{Engine, engine::general_purpose::STANDARD};
use sha1::{Digest, Sha1};
use sha2::Sha512;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// Resident memory of a process, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Test binaries live in `<target>/<profile>/deps`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// The `wharf` binary, built next to the tests by `cargo xtask test`.
pub fn wharf_binary() -> PathBuf {
    let bin = profile_dir().join("wharf");
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo xtask test`",
        bin.display()
    );
    bin
}

/// A built plugin component (`cargo xtask plugins` makes them).
pub fn plugin_wasm(format: &str) -> PathBuf {
    let path = profile_dir()
        .parent()
        .unwrap()
        .join("plugins")
        .join(format!("{format}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo xtask test`",
        path.display()
    );
    path
}

pub struct PluginEntry {
    pub format: &'static str,
    pub extra: &'static str,
}

pub struct Server {
    pub url: String,
    pub dir: tempfile::TempDir,
    child: Child,
    port: u16,
    formats: usize,
    env: Vec<(String, String)>,
}

impl Server {
    /// Starts wharf serving the given formats (each with extra registry lines).
    pub fn start(plugins: &[PluginEntry]) -> Server {
        Self::start_with_env(plugins, &[])
    }

    /// Starts wharf with extra `WHARF_*` settings in its environment.
    pub fn start_with_env(plugins: &[PluginEntry], env: &[(&str, &str)]) -> Server {
        Self::start_with_settings(plugins, env, "")
    }

    /// Starts wharf with a `wharf.toml` of `settings` (none when empty).
    pub fn start_with_settings(
        plugins: &[PluginEntry],
        env: &[(&str, &str)],
        settings: &str,
    ) -> Server {
        let dir = tempfile::tempdir().unwrap();
        if !settings.is_empty() {
            std::fs::write(dir.path().join("wharf.toml"), settings).unwrap();
        }
        Self::start_in(dir, plugins, env)
    }

    /// Starts wharf with the repository `<format>-proxy`, a proxy of
    /// `upstream` (a repository URL) whose metadata stays fresh for one
    /// second, the upstream's host granted to the plugin; `more` adds keys
    /// to the repository, `env` to the environment.
    pub fn start_proxy(
        format: &'static str,
        upstream: &str,
        more: &str,
        env: &[(&str, &str)],
    ) -> Server {
        let host = upstream
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap();
        let grant = format!("upstream = [\"{host}\"]");
        let settings = format!(
            "[[repository]]\nname = \"{format}-proxy\"\nformat = \"{format}\"\nkind = \"proxy\"\n\
             upstream = \"{upstream}\"\nmetadata_ttl = \"1s\"\n{more}"
        );
        let plugin = PluginEntry {
            format,
            extra: Box::leak(grant.into_boxed_str()),
        };
        Self::start_with_settings(&[plugin], env, &settings)
    }

    /// Stops the process and starts it again on the same data and port.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(self.dir.path(), self.port, &self.env);
        self.wait_ready(self.formats);
    }

    fn wait_ready(&self, formats: usize) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(r) = ureq::get(&format!("{}/ready", self.url)).call() {
                let body: serde_json::Value = r.into_json().unwrap();
                if body["formats"]
                    .as_array()
                    .is_some_and(|f| f.len() == formats)
                {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("wharf did not become ready; log:\n{}", self.log());
    }

    /// The server's process id (memory probes, kill -9).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("wharf.log")).unwrap_or_default()
    }

    pub fn registry_path(&self) -> PathBuf {
        self.dir.path().join("plugin-registry.toml")
    }

    pub fn plugin_path(&self, format: &str) -> PathBuf {
        self.dir
            .path()
            .join("plugins")
            .join(format!("{format}.wasm"))
    }

    pub fn admin_basic(&self) -> String {
        basic("admin", ADMIN_PASSWORD)
    }

    /// Creates a user through the admin API and returns an API token for it.
    pub fn create_user(&self, name: &str, password: &str) -> String {
        ureq::post(&format!("{}/api/v1/users", self.url))
            .set("Authorization", &self.admin_basic())
            .send_json(serde_json::json!({ "name": name, "password": password }))
            .expect("creating a user");
        let r: serde_json::Value = ureq::post(&format!("{}/api/v1/tokens", self.url))
            .set("Authorization", &basic(name, password))
            .call()
            .expect("creating a token")
            .into_json()
            .unwrap();
        r["token"].as_str().unwrap().to_string()
    }

    /// Runs SQL on this server's database (the sqlite3 command line tool);
    /// its output, trimmed.
    pub fn sql(&self, statement: &str) -> String {
        if let Some((_, url)) = self.env.iter().find(|(k, _)| k == "WHARF_DATABASE_URL") {
            let (ok, out, err) = run(Command::new("psql").args([url, "-At", "-c", statement]));
            assert!(ok, "psql {statement:?}: {err}");
            return out.trim().to_string();
        }
        let db = self.dir.path().join("data").join("wharf.sqlite");
        let (ok, out, err) = run(Command::new("sqlite3")
            .args(["-cmd", ".timeout 5000"])
            .arg(&db)
            .arg(statement));
        assert!(
            ok,
            "sqlite3 {statement:?}: {err} (`cargo xtask test` installs sqlite3)"
        );
        out.trim().to_string()
    }

    /// An admin API call as `admin`, with a JSON body.
    pub fn admin(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> Reply {
        let request = ureq::request(method, &format!("{}{path}", self.url))
            .set("Authorization", &self.admin_basic())
            .set("Content-Type", "application/json");
        let body = body.map(|b| b.to_string().into_bytes());
        send_with(request, body.as_deref())
    }

    /// Runs `wharf <args>` on this server's data directory, `stdin` as its
    /// input; whether it succeeded, and its stdout and stderr together.
    pub fn cli(&self, args: &[&str], stdin: &str) -> (bool, String) {
        use std::io::Write;
        let mut child = Command::new(wharf_binary())
            .args(args)
            .env("WHARF_DATA_DIR", self.dir.path().join("data"))
            .env("WHARF_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).unwrap();
        drop(input);
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    }

    /// Creates a team with these members through the admin API.
    pub fn create_team(&self, name: &str, members: &[&str]) {
        let made = self.admin(
            "POST",
            "/api/v1/teams",
            Some(serde_json::json!({ "name": name })),
        );
        assert_eq!(made.status, 201, "creating team {name}: {}", made.text());
        for member in members {
            let path = format!("/api/v1/teams/{name}/members/{member}");
            let added = self.admin("PUT", &path, None);
            assert_eq!(
                added.status,
                204,
                "adding {member} to {name}: {}",
                added.text()
            );
        }
    }

    /// `GET /api/v1/plugins` as admin.
    pub fn plugins(&self) -> serde_json::Value {
        ureq::get(&format!("{}/api/v1/plugins", self.url))
            .set("Authorization", &self.admin_basic())
            .call()
            .unwrap()
            .into_json()
            .unwrap()
    }

    pub fn get(&self, path: &str) -> Reply {
        send(ureq::get(&format!("{}{path}", self.url)))
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- wharf log ---\n{}", self.log());
        }
    }
}

/// Whether this test binary runs its servers on PostgreSQL: the suites
/// under `tests/on_postgres/` are the client suites again, so named.
fn on_postgres() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.file_name()?
                .to_str()
                .map(|n| n.contains("_on_postgres-"))
        })
        .unwrap_or(false)
}

fn spawn(dir: &Path, port: u16, env: &[(String, String)]) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("wharf.log"))
        .unwrap();
    Command::new(wharf_binary())
        .current_dir(dir)
        .env("WHARF_LISTEN", format!("127.0.0.1:{port}"))
        .env("WHARF_DATA_DIR", dir.join("data"))
        .env("WHARF_PLUGIN_REGISTRY", dir.join("plugin-registry.toml"))
        .env("WHARF_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("WHARF_LOG", "info,wharf=debug")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("starting wharf")
}

fn registry(plugins: &[PluginEntry]) -> String {
    plugins
        .iter()
        .map(|p| {
            format!(
                "[[plugin]]\nformat = \"{0}\"\npath = \"plugins/{0}.wasm\"\n{1}\n",
                p.format, p.extra
            )
        })
        .collect()
}

pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Status and body of any response, errors included.
pub struct Reply {
    pub status: u16,
    /// The status line's reason phrase.
    pub reason: String,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// Marked stale by a proxy whose upstream failed (`Warning: 110`).
    pub fn is_stale(&self) -> bool {
        self.header("warning").is_some_and(|w| w.starts_with("110"))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub fn send(request: ureq::Request) -> Reply {
    send_with(request, None)
}

pub fn send_with(request: ureq::Request, body: Option<&[u8]>) -> Reply {
    let result = match body {
        Some(b) => request.send_bytes(b),
        None => request.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("request failed: {e}"),
    };
    let status = response.status();
    let reason = response.status_text().to_string();
    let headers = response
        .headers_names()
        .into_iter()
        .map(|n| (n.clone(), response.header(&n).unwrap_or("").to_string()))
        .collect();
    let mut body = Vec::new();
    response.into_reader().read_to_end(&mut body).unwrap();
    Reply {
        status,
        reason,
        body,
        headers,
    }
}

/// Runs a command; returns (success, stdout, stderr).
pub fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Appends a custom section to a component: the same code with a new hash,
/// so the host sees a new version.
pub fn with_custom_section(wasm: &[u8], marker: &str) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let name = b"wharf-test";
    let mut content = Vec::new();
    leb(name.len(), &mut content);
    content.extend_from_slice(name);
    content.extend_from_slice(marker.as_bytes());
    let mut out = wasm.to_vec();
    out.push(0);
    leb(content.len(), &mut out);
    out.extend_from_slice(&content);
    out
}

/// Replaces a file by rename, the way build tools publish artifacts.
pub fn replace_file(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp-replace");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Runs an interactive command in a pseudo-terminal (`script`), answering
/// each prompt when it appears. Returns (success, everything printed).
pub fn run_interactive(
    cmd: &str,
    env: &[(&str, &std::ffi::OsStr)],
    answers: &[(&str, &str)],
) -> (bool, String) {
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    let mut command = Command::new("script");
    command
        .args(["-qec", cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("starting script(1)");
    let printed = Arc::new(Mutex::new(String::new()));
    let mut stdout = child.stdout.take().unwrap();
    let sink = printed.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    let mut seen = 0;
    for (prompt, answer) in answers {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = printed.lock().unwrap().clone();
            if let Some(at) = text[seen..].find(prompt) {
                seen += at + prompt.len();
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no prompt {prompt:?} from {cmd:?}; it printed:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let text = printed.lock().unwrap().clone();
    (status.success(), text)
}

/// A publish body as npm sends it, with the integrity it claims.
pub fn npm_publish_body(name: &str, version: &str, tarball: &[u8], claimed: &[u8]) -> Vec<u8> {
    let integrity = format!("sha512-{}", STANDARD.encode(Sha512::digest(claimed)));
    let shasum = hex::encode(Sha1::digest(claimed));
    let file = format!("{name}-{version}.tgz");
    serde_json::to_vec(&serde_json::json!({
        "_id": name, "name": name, "dist-tags": { "latest": version },
        "versions": { version: { "name": name, "version": version, "dist": {
            "integrity": integrity, "shasum": shasum, "tarball": format!("http://x/{name}/-/{file}") } } },
        "_attachments": { file: { "content_type": "application/octet-stream",
            "data": STANDARD.encode(tarball), "length": tarball.len() } }
    }))
    .unwrap()
}

impl Server {
    /// Starts wharf in `dir` (its plugins and registry written there), whose
    /// `wharf.toml` and `data/` may already exist (a data directory `wharf
    /// restore` made); `env` as for `start_with_env`.
    pub fn start_in(
        dir: tempfile::TempDir,
        plugins: &[PluginEntry],
        env: &[(&str, &str)],
    ) -> Server {
        std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
        for p in plugins {
            let installed = dir
                .path()
                .join("plugins")
                .join(format!("{}.wasm", p.format));
            std::fs::copy(plugin_wasm(p.format), installed).unwrap();
        }
        std::fs::write(dir.path().join("plugin-registry.toml"), registry(plugins)).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if on_postgres() && !env.iter().any(|(k, _)| k == "WHARF_DATABASE_URL") {
            let url = wharf_test_servers::postgres::shared().database();
            env.push(("WHARF_DATABASE_URL".into(), url));
        }
        let child = spawn(dir.path(), port, &env);
        let server = Server {
            url: format!("http://127.0.0.1:{port}"),
            dir,
            child,
            port,
            formats: plugins.len(),
            env,
        };
        server.wait_ready(server.formats);
        server
    }
}
