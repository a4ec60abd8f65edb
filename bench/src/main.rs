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
use std::process::Command;
use std::time::{Duration, Instant};

use wharf_bench::*;

fn publish(url: &str, auth: &str, name: &str, version: &str, tarball: &[u8]) -> anyhow::Result<()> {
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

fn main() -> anyhow::Result<()> {
    ensure("wrk", "wrk")?;
    let dir = prepare(&["npm"])?;

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
