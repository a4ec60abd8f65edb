//! `cargo run --release -p wharf-bench --bin proxy`: an npm proxy
//! repository in front of a second Wharf, on loopback.
//!
//! - cache hits: the proxied packument (100 versions) and a proxied 286-byte
//!   tarball against the same documents in the upstream's hosted repository,
//!   wrk with 64 keep-alive connections each; the packument again through a
//!   group of a hosted repository (which lacks it) and the proxy;
//! - time to first byte of an uncached 200 MiB tarball through the proxy
//!   against the upstream's own;
//! - 50 clients at once asking the proxy for another uncached 200 MiB
//!   tarball: how many times the upstream served it, whether every client got
//!   the same bytes, and how much the proxy's RSS grew.

use anyhow::{Context, bail};
use sha2::Digest;
use std::io::Read;
use std::time::{Duration, Instant};
use wharf_bench::*;

const BIG: usize = 200 << 20;
const CLIENTS: usize = 50;

fn big(seed: u32) -> Vec<u8> {
    (0..BIG as u32)
        .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) >> 11) as u8)
        .collect()
}

/// Time to the first body byte, then the SHA-256 of the whole body.
fn timed_download(url: &str) -> anyhow::Result<(Duration, String)> {
    let started = Instant::now();
    let mut reader = ureq::get(url).call()?.into_reader();
    let mut buf = vec![0u8; 1 << 16];
    let mut hasher = sha2::Sha256::new();
    let mut first = None;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        first.get_or_insert_with(|| started.elapsed());
        hasher.update(&buf[..n]);
    }
    Ok((
        first.context("an empty body")?,
        hex::encode(hasher.finalize()),
    ))
}

/// The upstream's count of answered npm requests with status 200.
fn upstream_200s(url: &str) -> anyhow::Result<u64> {
    let metrics = ureq::get(&format!("{url}/metrics")).call()?.into_string()?;
    Ok(metrics
        .lines()
        .filter(|l| l.starts_with("wharf_http_requests_total"))
        .filter(|l| l.contains("repo=\"npm\"") && l.contains("status=\"200\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64)
}

fn main() -> anyhow::Result<()> {
    ensure("wrk", "wrk")?;
    let auth = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        format!("Basic {}", b64.encode(format!("admin:{ADMIN}")))
    };

    // The upstream: a hosted npm repository with what the proxy will serve.
    let upstream_dir = prepare(&["npm"])?;
    let (upstream, _) = start(upstream_dir.path())?;
    for i in 0..100 {
        let tarball = format!("tarball {i}");
        publish_npm(
            &upstream.url,
            &auth,
            "bench-pkg",
            &format!("1.0.{i}"),
            tarball.as_bytes(),
        )?;
    }
    let tiny: Vec<u8> = (0..286u32).map(|i| (i * 7) as u8).collect();
    publish_npm(&upstream.url, &auth, "tiny-pkg", "1.0.0", &tiny)?;
    let bigs = [big(1), big(2)];
    let digests: Vec<String> = bigs
        .iter()
        .map(|b| hex::encode(sha2::Sha256::digest(b)))
        .collect();
    for (i, bytes) in bigs.iter().enumerate() {
        publish_npm(&upstream.url, &auth, "big-pkg", &format!("1.0.{i}"), bytes)?;
    }
    drop(bigs);

    // The proxy, metadata fresh for an hour: hits stay hits.
    let proxy_dir = prepare(&["npm"])?;
    let host = upstream.url.trim_start_matches("http://");
    let registry = proxy_dir.path().join("plugin-registry.toml");
    let granted = std::fs::read_to_string(&registry)? + &format!("upstream = [\"{host}\"]\n");
    std::fs::write(&registry, granted)?;
    std::fs::write(
        proxy_dir.path().join("wharf.toml"),
        format!(
            "[[repository]]\nname = \"npm-proxy\"\nformat = \"npm\"\nkind = \"proxy\"\n\
             upstream = \"{}/npm/\"\nmetadata_ttl = \"1h\"\n\
             [[repository]]\nname = \"npm-all\"\nformat = \"npm\"\nkind = \"group\"\n\
             members = [\"npm\", \"npm-proxy\"]\n",
            upstream.url
        ),
    )?;
    let (proxy, _) = start(proxy_dir.path())?;
    let pid = proxy.child.id();

    // Cache hits beside the hosted originals.
    let hosted_doc = format!("{}/npm/bench-pkg", upstream.url);
    let proxied_doc = format!("{}/npm-proxy/bench-pkg", proxy.url);
    let grouped_doc = format!("{}/npm-all/bench-pkg", proxy.url);
    let hosted_tiny = format!("{}/npm/tiny-pkg/-/tiny-pkg-1.0.0.tgz", upstream.url);
    let proxied_tiny = format!("{}/npm-proxy/tiny-pkg/-/tiny-pkg-1.0.0.tgz", proxy.url);
    for url in [
        &hosted_doc,
        &proxied_doc,
        &grouped_doc,
        &hosted_tiny,
        &proxied_tiny,
    ] {
        ureq::get(url)
            .call()
            .with_context(|| format!("warming {url}"))?;
    }
    // The pull records the tarball once it is stored: wait for that.
    std::thread::sleep(Duration::from_secs(1));
    let hosted_doc_rps = wrk(&hosted_doc, &[])?;
    let proxied_doc_rps = wrk(&proxied_doc, &[])?;
    let grouped_doc_rps = wrk(&grouped_doc, &[])?;
    let hosted_tiny_rps = wrk(&hosted_tiny, &[])?;
    let proxied_tiny_rps = wrk(&proxied_tiny, &[])?;

    // Time to first byte of an uncached 200 MiB tarball.
    let file = |version: u32| format!("big-pkg/-/big-pkg-1.0.{version}.tgz");
    let (upstream_ttfb, upstream_sha) =
        timed_download(&format!("{}/npm/{}", upstream.url, file(0)))?;
    let (proxy_ttfb, proxy_sha) = timed_download(&format!("{}/npm-proxy/{}", proxy.url, file(0)))?;
    if upstream_sha != digests[0] || proxy_sha != digests[0] {
        bail!("the 200 MiB tarball came back changed");
    }

    // 50 clients at once for another uncached one.
    std::thread::sleep(Duration::from_secs(2));
    let rss_before = rss_kib(pid);
    let served_before = upstream_200s(&upstream.url)?;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_kib(pid));
                std::thread::sleep(Duration::from_millis(10));
            }
            peak
        })
    };
    let url = format!("{}/npm-proxy/{}", proxy.url, file(1));
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || timed_download(&url))
        })
        .collect();
    let mut same = 0;
    for client in clients {
        let (_, sha) = client.join().expect("a client thread")?;
        same += usize::from(sha == digests[1]);
    }
    let burst = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let rss_peak = sampler.join().expect("the sampler");
    let fetched = upstream_200s(&upstream.url)? - served_before;

    println!("| measurement | proxy | hosted / upstream | ratio |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| warm packument, 100 versions | {proxied_doc_rps:.0} req/s | {hosted_doc_rps:.0} req/s | {:.2} |",
        proxied_doc_rps / hosted_doc_rps
    );
    println!(
        "| warm packument through a group (hosted, proxy) | {grouped_doc_rps:.0} req/s | {hosted_doc_rps:.0} req/s | {:.2} |",
        grouped_doc_rps / hosted_doc_rps
    );
    println!(
        "| warm 286-byte tarball | {proxied_tiny_rps:.0} req/s | {hosted_tiny_rps:.0} req/s | {:.2} |",
        proxied_tiny_rps / hosted_tiny_rps
    );
    println!(
        "| time to first byte, uncached 200 MiB tarball | {:.1} ms | {:.1} ms | |",
        proxy_ttfb.as_secs_f64() * 1e3,
        upstream_ttfb.as_secs_f64() * 1e3
    );
    println!(
        "| {CLIENTS} clients, one uncached 200 MiB tarball | upstream served it {fetched} time(s); {same}/{CLIENTS} clients got identical bytes in {:.1} s; RSS {} → {} MiB (+{} MiB) | | |",
        burst.as_secs_f64(),
        rss_before / 1024,
        rss_peak / 1024,
        rss_peak.saturating_sub(rss_before) / 1024
    );
    if fetched != 1 || same != CLIENTS {
        bail!("the burst did not coalesce: {fetched} upstream fetches, {same} identical bodies");
    }
    Ok(())
}
