//! `cargo run --release -p wharf-bench --bin database`: the embedded SQLite
//! beside PostgreSQL (a cluster on loopback, started here), same run, same
//! machine, local blob files on both:
//!
//! - a hot npm packument of 100 versions and a hot 286-byte tarball, wrk
//!   with 64 keep-alive connections: cached answers, which should need no
//!   database round trip;
//! - publish latency: 100 npm publishes one after another, each a new
//!   version of the same package, median and 95th percentile.
//!
//! The test cluster runs without fsync (it is the tests' cluster): its
//! publish figures are a lower bound of a durable server's.

use base64::Engine;
use std::time::Instant;
use wharf_bench::*;

struct Figures {
    packument_rps: f64,
    tarball_rps: f64,
    publish_median_ms: f64,
    publish_p95_ms: f64,
}

fn measure(env: &[(&str, &str)]) -> anyhow::Result<Figures> {
    let dir = prepare(&["npm"])?;
    let (wharf, _) = start_with_env(dir.path(), env)?;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN}"))
    );
    let tarball: Vec<u8> = (0..286u32).map(|i| (i * 7) as u8).collect();
    let mut publishes = Vec::new();
    for i in 0..100 {
        let started = Instant::now();
        publish_npm(
            &wharf.url,
            &auth,
            "bench-pkg",
            &format!("1.0.{i}"),
            &tarball,
        )?;
        publishes.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let mut sorted = publishes.clone();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p95 = sorted[sorted.len() * 95 / 100];
    let packument = format!("{}/npm/bench-pkg", wharf.url);
    let tarball_url = format!("{}/npm/bench-pkg/-/bench-pkg-1.0.0.tgz", wharf.url);
    // Warm both caches before measuring.
    ureq::get(&packument).call()?;
    ureq::get(&tarball_url).call()?;
    Ok(Figures {
        packument_rps: wrk(&packument, &[])?,
        tarball_rps: wrk(&tarball_url, &[])?,
        publish_median_ms: median(publishes),
        publish_p95_ms: p95,
    })
}

fn main() -> anyhow::Result<()> {
    ensure("wrk", "wrk")?;
    let sqlite = measure(&[])?;
    let url = wharf_test_servers::postgres::shared().database();
    let postgres = measure(&[("WHARF_DATABASE_URL", &url)])?;
    println!("| | SQLite | PostgreSQL | PostgreSQL / SQLite |");
    println!("|---|---:|---:|---:|");
    let row = |what: &str, s: f64, p: f64, unit: &str| {
        println!("| {what} | {s:.1} {unit} | {p:.1} {unit} | {:.2} |", p / s);
    };
    row(
        "hot packument (100 versions)",
        sqlite.packument_rps,
        postgres.packument_rps,
        "req/s",
    );
    row(
        "hot 286-byte tarball",
        sqlite.tarball_rps,
        postgres.tarball_rps,
        "req/s",
    );
    row(
        "npm publish, median",
        sqlite.publish_median_ms,
        postgres.publish_median_ms,
        "ms",
    );
    row(
        "npm publish, 95th percentile",
        sqlite.publish_p95_ms,
        postgres.publish_p95_ms,
        "ms",
    );
    Ok(())
}
