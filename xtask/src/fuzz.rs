//! `cargo xtask fuzz [--seconds N] [target…]`: builds the targets of `fuzz/`
//! with libFuzzer's coverage instrumentation and runs each for N seconds
//! (default 60), from its seeds and the corpus earlier runs kept.
//!
//! Stable Rust: the instrumentation is LLVM's SanitizerCoverage, asked for
//! with `-C passes` and `-C llvm-args` (what `cargo fuzz` passes, without
//! its nightly-only sanitizers), and libfuzzer-sys builds libFuzzer itself.
//! `--target` keeps the flags off build scripts and proc macros, which then
//! come from the normal release build.

use crate::{cargo, run, target_dir};
use anyhow::{Context, bail};
use std::path::Path;
use std::process::Command;

pub const TARGETS: &[&str] = &[
    "archive",
    "credentials",
    "json_base64",
    "multipart",
    "router",
    "npm",
    "oci",
    "cargo",
    "maven",
    "pypi",
    "go",
    "composer",
    "raw",
    "rubygems",
    "helm",
    "deb",
];

const INSTRUMENTATION: &[&str] = &[
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "-Cllvm-args=-sanitizer-coverage-stack-depth",
    "--cfg=fuzzing",
    "-Cdebug-assertions",
    "-Coverflow-checks",
];

pub fn fuzz(args: &[&str]) -> anyhow::Result<()> {
    let mut seconds = 60u64;
    let mut selected = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match *arg {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .context("--seconds takes a number")?;
            }
            name if TARGETS.contains(&name) => selected.push(name),
            other => bail!(
                "no fuzz target named {other}; targets: {}",
                TARGETS.join(", ")
            ),
        }
    }
    if selected.is_empty() {
        selected = TARGETS.to_vec();
    }
    let triple = host_triple()?;
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "-p",
        "wharf-fuzz",
        "--target",
        &triple,
    ]);
    for target in &selected {
        build.args(["--bin", target]);
    }
    run(build.env("RUSTFLAGS", INSTRUMENTATION.join(" ")))?;
    let bin_dir = target_dir().join(&triple).join("release");
    let work = target_dir().join("fuzz");
    println!(
        "{:<12} {:>8} {:>10} {:>7}",
        "target", "seconds", "runs", "corpus"
    );
    for target in selected {
        let seeds = work.join("seeds").join(target);
        let corpus = work.join("corpus").join(target);
        let artifacts = work.join("artifacts").join(target);
        for dir in [&corpus, &artifacts] {
            std::fs::create_dir_all(dir)?;
        }
        // Each target writes its own seeds when asked (`seeds.rs`).
        let written = Command::new(bin_dir.join(target))
            .env("WHARF_FUZZ_SEEDS", &seeds)
            .output()?;
        if !written.status.success() {
            bail!(
                "{target} could not write its seeds: {}",
                String::from_utf8_lossy(&written.stderr)
            );
        }
        let out = Command::new(bin_dir.join(target))
            .arg(format!("-max_total_time={seconds}"))
            // A single input may take a second, never ten: slower is a finding.
            .arg("-timeout=10")
            .arg("-rss_limit_mb=2048")
            .arg("-max_len=1048576")
            .arg("-print_final_stats=1")
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .arg(&corpus)
            .arg(&seeds)
            .output()
            .with_context(|| format!("running fuzz target {target}"))?;
        let log = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            eprintln!("{log}");
            bail!(
                "fuzz target {target} found a failure; the input is in {}",
                artifacts.display()
            );
        }
        let runs = log
            .lines()
            .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
            .map_or("?".into(), |n| n.trim().to_string());
        println!("{target:<12} {seconds:>8} {runs:>10} {:>7}", count(&corpus));
    }
    Ok(())
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

fn host_triple() -> anyhow::Result<String> {
    let out = Command::new("rustc").arg("-vV").output()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .context("rustc -vV names no host")
}
