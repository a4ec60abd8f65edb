//! `cargo run --release -p wharf-bench`: measures a real wharf on loopback.
//!
//! 1. cold start to the first `/health` 200, first (compiling) and second
//!    (compiled components cached) start, and idle RSS;
//! 2. warm packument GET of a 100-version package against a minimal axum
//!    handler serving the same bytes, both with wrk, 64 keep-alive connections;
//! 3. per-request plugin overhead (classify + handle in a fresh store), the
//!    median of the host's own Server-Timing figures;
//! 4. server RSS growth while a 50 MiB tarball downloads.
//!
//! Everything runs on 127.0.0.1, bounded in time, and stops by itself.

use anyhow::{Context, bail};
use base64::Engine;
use sha2::Digest;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN: &str = "bench-admin-password";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Wharf {
    child: Child,
    url: String,
}

impl Drop for Wharf {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts wharf on `dir` and returns it with the time to the first /health 200.
fn start(dir: &Path) -> anyhow::Result<(Wharf, Duration)> {
    let port = free_port();
    let started = Instant::now();
    let child = Command::new(root().join("target/release/wharf"))
        .current_dir(dir)
        .env("WHARF_LISTEN", format!("127.0.0.1:{port}"))
        .env("WHARF_DATA_DIR", dir.join("data"))
        .env("WHARF_PLUGIN_REGISTRY", dir.join("plugin-registry.toml"))
        .env("WHARF_ADMIN_PASSWORD", ADMIN)
        .env("WHARF_LOG", "warn")
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

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn publish(url: &str, auth: &str, name: &str, version: &str, tarball: &[u8]) -> anyhow::Result<()> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let file = format!("{name}-{version}.tgz");
    let body = serde_json::json!({
        "_id": name, "name": name, "description": "benchmark package", "dist-tags": { "latest": version },
        "versions": { version: { "name": name, "version": version, "description": "benchmark package",
            "dependencies": { "left-pad": "^1.3.0", "lodash": "^4.17.21" },
            "dist": { "integrity": format!("sha512-{}", b64.encode(sha2::Sha512::digest(tarball))),
                      "shasum": sha1::Sha1::digest(tarball).iter().map(|b| format!("{b:02x}")).collect::<String>(),
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

fn ensure_wrk() -> anyhow::Result<()> {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    let ok = Command::new("sh")
        .args(["-c", "apt-get update -qq && apt-get install -y -qq wrk"])
        .status()?
        .success();
    if !ok {
        bail!("wrk is needed: apt-get install wrk");
    }
    Ok(())
}

/// Requests per second wrk measured against `url`.
fn wrk(url: &str, extra: &[&str]) -> anyhow::Result<f64> {
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    ensure_wrk()?;
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("plugins"))?;
    std::fs::copy(
        root().join("target/plugins/npm.wasm"),
        dir.path().join("plugins/npm.wasm"),
    )
    .context("build the plugins first: cargo xtask plugins")?;
    std::fs::write(
        dir.path().join("plugin-registry.toml"),
        "[[plugin]]\nformat = \"npm\"\npath = \"plugins/npm.wasm\"\n",
    )?;

    let (first, cold_compile) = start(dir.path())?;
    drop(first);
    let (wharf, cold_cached) = start(dir.path())?;
    std::thread::sleep(Duration::from_secs(1));
    let pid = wharf.child.id();
    let idle_rss = rss_kib(pid);

    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN}"))
    );
    for i in 0..100 {
        publish(
            &wharf.url,
            &auth,
            "bench-pkg",
            &format!("1.0.{i}"),
            format!("tarball {i}").as_bytes(),
        )?;
    }
    let packument_url = format!("{}/npm/bench-pkg", wharf.url);
    let mut doc = Vec::new();
    ureq::get(&packument_url)
        .call()?
        .into_reader()
        .read_to_end(&mut doc)?;
    let doc_file = dir.path().join("packument.json");
    std::fs::write(&doc_file, &doc)?;

    // Plugin overhead on an uncached route: both phases, fresh store for handle.
    let mut classify = Vec::new();
    let mut total = Vec::new();
    for _ in 0..2000 {
        let r = ureq::get(&format!("{}/npm/-/ping", wharf.url)).call()?;
        let timing = r
            .header("server-timing")
            .context("no server-timing")?
            .to_string();
        let ms: Vec<f64> = timing
            .split(',')
            .filter_map(|p| p.split("dur=").nth(1)?.parse().ok())
            .collect();
        classify.push(ms[0] * 1000.0);
        total.push((ms[0] + ms[1]) * 1000.0);
    }

    let wharf_rps = wrk(&packument_url, &[])?;
    let port = free_port();
    let mut baseline = Command::new(root().join("target/release/baseline"))
        .args([doc_file.to_str().unwrap(), &port.to_string()])
        .spawn()
        .context("starting target/release/baseline")?;
    std::thread::sleep(Duration::from_millis(300));
    let baseline_rps = wrk(&format!("http://127.0.0.1:{port}/bench-pkg"), &[]);
    let _ = baseline.kill();
    let _ = baseline.wait();
    let baseline_rps = baseline_rps?;

    // 50 MiB tarball: RSS growth while it streams to a client.
    let big: Vec<u8> = (0..50u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    publish(&wharf.url, &auth, "big-pkg", "1.0.0", &big)?;
    drop(big);
    std::thread::sleep(Duration::from_secs(2));
    let before = rss_kib(pid);
    let sampler = std::thread::spawn(move || {
        let mut peak = 0;
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            peak = peak.max(rss_kib(pid));
            std::thread::sleep(Duration::from_millis(5));
        }
        peak
    });
    let started = Instant::now();
    let mut reader = ureq::get(&format!("{}/npm/big-pkg/-/big-pkg-1.0.0.tgz", wharf.url))
        .call()?
        .into_reader();
    let (mut buf, mut got) = (vec![0u8; 1 << 16], 0usize);
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let download = started.elapsed();
    let peak = sampler.join().unwrap();
    if got != 50 << 20 {
        bail!("downloaded {got} bytes instead of 50 MiB");
    }

    println!("| measurement | result |");
    println!("| --- | --- |");
    println!(
        "| cold start to first /health 200, first start (compiles the npm plugin) | {} ms |",
        cold_compile.as_millis()
    );
    println!(
        "| cold start to first /health 200, compiled component cached | {} ms |",
        cold_cached.as_millis()
    );
    println!(
        "| idle RSS after start | {:.1} MiB |",
        idle_rss as f64 / 1024.0
    );
    println!(
        "| warm packument GET, 100 versions ({} bytes), wrk -t2 -c64 -d10s | {wharf_rps:.0} req/s |",
        doc.len()
    );
    println!("| minimal axum handler, same bytes, same wrk | {baseline_rps:.0} req/s |");
    println!("| wharf / baseline | {:.2} |", wharf_rps / baseline_rps);
    println!(
        "| plugin overhead per request, classify (warm instance), median | {:.1} µs |",
        median(classify)
    );
    println!(
        "| plugin overhead per request, classify + handle (fresh store), median | {:.1} µs |",
        median(total)
    );
    println!(
        "| 50 MiB tarball download: time | {} ms |",
        download.as_millis()
    );
    println!(
        "| 50 MiB tarball download: RSS growth over the download | {:.1} MiB |",
        peak.saturating_sub(before) as f64 / 1024.0
    );
    Ok(())
}
