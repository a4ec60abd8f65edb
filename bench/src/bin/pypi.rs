//! `cargo run --release -p wharf-bench --bin pypi`: warm simple-page GET
//! beside pypiserver, and warm sparse index-file GET, on loopback.
//!
//! The same 20 wheels are uploaded to Wharf with twine and dropped into
//! pypiserver's package directory; wrk then reads the project's simple page
//! from both (64 keep-alive connections). Five versions of a crate are
//! published with `cargo publish` and its index file is read the same way.

use anyhow::{Context, bail};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use wharf_bench::*;

/// Writes a minimal valid wheel of `bench-pkg` with Python's zipfile.
fn wheel(dir: &Path, version: &str) -> anyhow::Result<std::path::PathBuf> {
    let name = format!("bench_pkg-{version}-py3-none-any.whl");
    let script = format!(
        r#"import zipfile
with zipfile.ZipFile("{name}", "w") as z:
    z.writestr("bench_pkg/__init__.py", "VERSION = '{version}'\n")
    z.writestr("bench_pkg-{version}.dist-info/METADATA", "Metadata-Version: 2.1\nName: bench-pkg\nVersion: {version}\nRequires-Python: >=3.8\n")
    z.writestr("bench_pkg-{version}.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    z.writestr("bench_pkg-{version}.dist-info/RECORD", "")
"#
    );
    let ok = Command::new("python3")
        .args(["-c", &script])
        .current_dir(dir)
        .status()?
        .success();
    if !ok {
        bail!("building {name} failed");
    }
    Ok(dir.join(name))
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_pypiserver(packages: &Path) -> anyhow::Result<(Peer, String)> {
    let port = free_port();
    let child = Command::new("python3")
        .args([
            "-m",
            "pypiserver",
            "run",
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "--server",
            "gunicorn",
            "-a",
            ".",
            "-P",
            ".",
        ])
        .arg(packages)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting pypiserver")?;
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while ureq::get(&format!("{url}/simple/")).call().is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("pypiserver did not start");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok((Peer(child), url))
}

fn publish_crates(dir: &Path, url: &str) -> anyhow::Result<()> {
    let home = dir.join("cargo-home");
    std::fs::create_dir_all(&home)?;
    std::fs::write(
        home.join("config.toml"),
        format!(
            "[registries.wharf]\nindex = \"sparse+{url}/cargo/\"\n[registry]\nglobal-credential-providers = [\"cargo:token\"]\n"
        ),
    )?;
    let token = ureq::post(&format!("{url}/api/v1/tokens"))
        .set("authorization", &basic_admin())
        .call()?
        .into_json::<serde_json::Value>()?["token"]
        .as_str()
        .context("no token")?
        .to_string();
    let krate = dir.join("bench-lib");
    std::fs::create_dir_all(krate.join("src"))?;
    std::fs::write(krate.join("src/lib.rs"), "pub fn answer() -> u32 { 42 }\n")?;
    for minor in 0..5 {
        std::fs::write(
            krate.join("Cargo.toml"),
            format!(
                "[package]\nname = \"bench-lib\"\nversion = \"0.{minor}.0\"\nedition = \"2021\"\nlicense = \"MIT\"\ndescription = \"bench\"\n"
            ),
        )?;
        run(Command::new("cargo")
            .args([
                "publish",
                "--registry",
                "wharf",
                "--no-verify",
                "--allow-dirty",
            ])
            .current_dir(&krate)
            .env("CARGO_HOME", &home)
            .env("CARGO_TARGET_DIR", dir.join("cargo-target"))
            .env("CARGO_REGISTRIES_WHARF_TOKEN", &token))?;
    }
    Ok(())
}

fn basic_admin() -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN}"))
    )
}

fn main() -> anyhow::Result<()> {
    ensure("wrk", "wrk")?;
    run(Command::new("python3").args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "pypiserver",
        "gunicorn",
        "twine",
    ]))?;
    let dir = prepare(&["pypi", "cargo"])?;
    let (wharf, _) = start(dir.path())?;

    let wheels = dir.path().join("wheels");
    std::fs::create_dir_all(&wheels)?;
    for i in 0..20 {
        wheel(&wheels, &format!("1.{i}"))?;
    }
    let files: Vec<String> = std::fs::read_dir(&wheels)?
        .flatten()
        .map(|e| e.path().display().to_string())
        .collect();
    run(Command::new("python3")
        .args([
            "-m",
            "twine",
            "upload",
            "--non-interactive",
            "--repository-url",
            &format!("{}/pypi/", wharf.url),
            "-u",
            "admin",
            "-p",
            ADMIN,
        ])
        .args(&files))?;
    let (_pypiserver, pypiserver) = start_pypiserver(&wheels)?;
    publish_crates(dir.path(), &wharf.url)?;

    let page = |base: &str| format!("{base}/simple/bench-pkg/");
    let wharf_simple = wrk(
        &page(&format!("{}/pypi", wharf.url)),
        &["-H", "Accept: text/html"],
    )?;
    let wharf_json = wrk(
        &page(&format!("{}/pypi", wharf.url)),
        &["-H", "Accept: application/vnd.pypi.simple.v1+json"],
    )?;
    let peer_simple = wrk(&page(&pypiserver), &["-H", "Accept: text/html"])?;
    let index_file = wrk(&format!("{}/cargo/be/nc/bench-lib", wharf.url), &[])?;

    println!("| measurement | Wharf | pypiserver (gunicorn) |");
    println!("| --- | --- | --- |");
    println!(
        "| warm simple page, 20 wheels, HTML (PEP 503), wrk -t2 -c64 -d10s | {wharf_simple:.0} req/s | {peer_simple:.0} req/s |"
    );
    println!("| warm simple page, 20 wheels, JSON (PEP 691) | {wharf_json:.0} req/s | — |");
    println!("| warm sparse index file, 5 versions, same wrk | {index_file:.0} req/s | — |");
    Ok(())
}
