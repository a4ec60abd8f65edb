//! Shared pieces of the benchmarks: start wharf, measure RSS, run wrk.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ADMIN: &str = "bench-admin-password";

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Wharf {
    pub child: Child,
    pub url: String,
}

impl Drop for Wharf {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts wharf on `dir` and returns it with the time to the first /health 200.
pub fn start(dir: &Path) -> anyhow::Result<(Wharf, Duration)> {
    start_with_env(dir, &[])
}

/// The same, with more `WHARF_*` settings in its environment.
pub fn start_with_env(dir: &Path, env: &[(&str, &str)]) -> anyhow::Result<(Wharf, Duration)> {
    let port = free_port();
    let started = Instant::now();
    let child = Command::new(root().join("target/release/wharf"))
        .current_dir(dir)
        .env("WHARF_LISTEN", format!("127.0.0.1:{port}"))
        .env("WHARF_DATA_DIR", dir.join("data"))
        .env("WHARF_PLUGIN_REGISTRY", dir.join("plugin-registry.toml"))
        .env("WHARF_ADMIN_PASSWORD", ADMIN)
        .env("WHARF_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting target/release/wharf (build it first: cargo xtask plugins && cargo build --release)")?;
    let wharf = Wharf {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    while started.elapsed() < Duration::from_secs(60) {
        if ureq::get(&format!("{}/health", wharf.url)).call().is_ok() {
            return Ok((wharf, started.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    bail!("wharf did not answer /health within 60 s")
}

pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Installs a Debian package when `program` is missing.
pub fn ensure(program: &str, package: &str) -> anyhow::Result<()> {
    let present = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()?
        .status
        .success();
    if present {
        return Ok(());
    }
    let script = format!("apt-get update -qq && apt-get install -y -qq {package}");
    if !Command::new("sh").args(["-c", &script]).status()?.success() {
        bail!("{program} is needed: apt-get install {package}");
    }
    Ok(())
}

/// A temporary directory with the given plugins and a registry naming them.
pub fn prepare(formats: &[&str]) -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("plugins"))?;
    let mut registry = String::new();
    for format in formats {
        let built = root().join(format!("target/plugins/{format}.wasm"));
        std::fs::copy(&built, dir.path().join(format!("plugins/{format}.wasm")))
            .with_context(|| format!("{} is missing: cargo xtask plugins", built.display()))?;
        registry.push_str(&format!(
            "[[plugin]]\nformat = \"{format}\"\npath = \"plugins/{format}.wasm\"\n"
        ));
        if *format == "deb" {
            // InRelease is signed by the host key the plugin is granted.
            registry.push_str("signing_keys = [\"deb\"]\n");
        }
    }
    std::fs::write(dir.path().join("plugin-registry.toml"), registry)?;
    Ok(dir)
}

/// Requests per second wrk measured against `url`.
pub fn wrk(url: &str, extra: &[&str]) -> anyhow::Result<f64> {
    let out = Command::new("wrk")
        .args(["-t2", "-c64", "-d10s", "--latency"])
        .args(extra)
        .arg(url)
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .context("wrk printed no Requests/sec")?;
    if text.contains("Non-2xx") {
        bail!("wrk saw errors:\n{text}");
    }
    Ok(rps.trim().parse()?)
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Publishes `name@version` with `tarball` as npm publish sends it.
pub fn publish_npm(
    url: &str,
    auth: &str,
    name: &str,
    version: &str,
    tarball: &[u8],
) -> anyhow::Result<()> {
    use base64::Engine;
    use sha2::Digest;
    let b64 = base64::engine::general_purpose::STANDARD;
    let file = format!("{name}-{version}.tgz");
    let body = serde_json::json!({
        "_id": name, "name": name, "description": "benchmark package", "dist-tags": { "latest": version },
        "versions": { version: { "name": name, "version": version, "description": "benchmark package",
            "dependencies": { "left-pad": "^1.3.0", "lodash": "^4.17.21" },
            "dist": { "integrity": format!("sha512-{}", b64.encode(sha2::Sha512::digest(tarball))),
                      "shasum": hex::encode(sha1::Sha1::digest(tarball)),
                      "tarball": format!("{url}/npm/{name}/-/{file}") } } },
        "_attachments": { file: { "content_type": "application/octet-stream", "data": b64.encode(tarball), "length": tarball.len() } }
    });
    ureq::put(&format!("{url}/npm/{name}"))
        .set("authorization", auth)
        .set("content-type", "application/json")
        .send_bytes(&serde_json::to_vec(&body)?)
        .with_context(|| format!("publishing {name}@{version}"))?;
    Ok(())
}
