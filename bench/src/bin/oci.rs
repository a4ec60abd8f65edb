//! `cargo run --release -p wharf-bench --bin oci`: the OCI registry side by
//! side with Debian's `docker-registry` (CNCF distribution) on loopback.
//!
//! Both get the same image pushed over the distribution API; wrk then
//! measures manifest GET by tag and blob GET (1 MiB layer), 64 keep-alive
//! connections each. Last, a 2 GiB layer is pushed to and pulled from Wharf
//! while its RSS is sampled: the bytes must stream, not accumulate.

use anyhow::{Context, bail};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use wharf_bench::*;

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const BIG: u64 = 2 << 30;

/// Deterministic bytes, so a digest can be computed before streaming them.
struct Pattern {
    left: u64,
    state: u64,
}

impl Pattern {
    fn new(len: u64) -> Self {
        Pattern {
            left: len,
            state: 0x9e3779b97f4a7c15,
        }
    }
}

impl Read for Pattern {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        for chunk in buf[..n].chunks_mut(8) {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            chunk.copy_from_slice(&self.state.to_le_bytes()[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn sha256_of(mut r: impl Read) -> anyhow::Result<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(format!("sha256:{}", hex::encode(h.finalize())));
        }
        h.update(&buf[..n]);
    }
}

/// Pushes one blob with POST then PUT `?digest=` (both registries speak it).
fn push_blob(
    base: &str,
    auth: Option<&str>,
    name: &str,
    digest: &str,
    len: u64,
    body: impl Read + Send + 'static,
) -> anyhow::Result<()> {
    let with_auth = |r: ureq::Request| match auth {
        Some(a) => r.set("Authorization", a),
        None => r,
    };
    let started = with_auth(ureq::post(&format!("{base}/v2/{name}/blobs/uploads/"))).call()?;
    let location = started
        .header("location")
        .context("no upload location")?
        .to_string();
    let location = if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        location
    };
    let sep = if location.contains('?') { '&' } else { '?' };
    with_auth(ureq::put(&format!("{location}{sep}digest={digest}")))
        .set("content-type", "application/octet-stream")
        .set("content-length", &len.to_string())
        .send(body)
        .with_context(|| format!("pushing {digest}"))?;
    Ok(())
}

fn push_image(base: &str, auth: Option<&str>, layer: &[u8]) -> anyhow::Result<()> {
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec();
    let config_digest = sha256_of(&config[..])?;
    let layer_digest = sha256_of(layer)?;
    push_blob(
        base,
        auth,
        "bench/app",
        &config_digest,
        config.len() as u64,
        std::io::Cursor::new(config.clone()),
    )?;
    push_blob(
        base,
        auth,
        "bench/app",
        &layer_digest,
        layer.len() as u64,
        std::io::Cursor::new(layer.to_vec()),
    )?;
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": MANIFEST,
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len() },
        "layers": [{ "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len() }],
    });
    let mut req =
        ureq::put(&format!("{base}/v2/bench/app/manifests/v1")).set("content-type", MANIFEST);
    if let Some(a) = auth {
        req = req.set("Authorization", a);
    }
    req.send_bytes(&serde_json::to_vec(&manifest)?)
        .context("pushing the manifest")?;
    Ok(())
}

struct Registry(Child);

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_distribution(dir: &std::path::Path) -> anyhow::Result<(Registry, String)> {
    let port = free_port();
    let config = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  cache:\n    blobdescriptor: inmemory\nhttp:\n  addr: 127.0.0.1:{port}\n",
        dir.join("distribution").display()
    );
    std::fs::write(dir.join("distribution.yml"), config)?;
    let child = Command::new("docker-registry")
        .args(["serve", dir.join("distribution.yml").to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting docker-registry")?;
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while ureq::get(&format!("{url}/v2/")).call().is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("docker-registry did not start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((Registry(child), url))
}

/// Peak RSS of `pid` while `work` runs.
fn peak_rss_during(pid: u32, work: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<u64> {
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let result = work();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    result?;
    Ok(peak.load(Ordering::Relaxed))
}

fn main() -> anyhow::Result<()> {
    ensure("wrk", "wrk")?;
    ensure("docker-registry", "docker-registry")?;
    let dir = prepare(&["oci"])?;
    let (wharf, _) = start(dir.path())?;
    let (_distribution, distribution) = start_distribution(dir.path())?;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN}"))
    );

    let mut layer = vec![0u8; 1 << 20];
    Pattern::new(1 << 20).read_exact(&mut layer)?;
    push_image(&wharf.url, Some(&auth), &layer)?;
    push_image(&distribution, None, &layer)?;
    let layer_digest = sha256_of(&layer[..])?;

    let accept = format!("Accept: {MANIFEST}");
    let manifest = |base: &str| format!("{base}/v2/bench/app/manifests/v1");
    let blob = |base: &str| format!("{base}/v2/bench/app/blobs/{layer_digest}");
    let wharf_manifest = wrk(&manifest(&wharf.url), &["-H", &accept])?;
    let dist_manifest = wrk(&manifest(&distribution), &["-H", &accept])?;
    let wharf_blob = wrk(&blob(&wharf.url), &[])?;
    let dist_blob = wrk(&blob(&distribution), &[])?;

    // 2 GiB through Wharf: push, then pull, sampling the server's RSS.
    let pid = wharf.child.id();
    std::thread::sleep(Duration::from_secs(1));
    let idle = rss_kib(pid);
    let big_digest = sha256_of(Pattern::new(BIG))?;
    let started = Instant::now();
    let (url, a, d) = (wharf.url.clone(), auth.clone(), big_digest.clone());
    let push_peak = peak_rss_during(pid, move || {
        push_blob(&url, Some(&a), "bench/big", &d, BIG, Pattern::new(BIG))
    })?;
    let push_time = started.elapsed();
    let started = Instant::now();
    let url = format!("{}/v2/bench/big/blobs/{big_digest}", wharf.url);
    let pull_peak = peak_rss_during(pid, || {
        let pulled = sha256_of(ureq::get(&url).call()?.into_reader())?;
        if pulled != big_digest {
            bail!("the pulled 2 GiB layer has digest {pulled}");
        }
        Ok(())
    })?;
    let pull_time = started.elapsed();

    let mib = |kib: u64| kib as f64 / 1024.0;
    println!("| measurement | Wharf | docker-registry |");
    println!("| --- | --- | --- |");
    println!(
        "| manifest GET by tag, wrk -t2 -c64 -d10s | {wharf_manifest:.0} req/s | {dist_manifest:.0} req/s |"
    );
    println!("| blob GET, 1 MiB layer, same wrk | {wharf_blob:.0} req/s | {dist_blob:.0} req/s |");
    println!(
        "| 2 GiB layer push (verified sha256) | {:.1} s, RSS +{:.1} MiB over idle | |",
        push_time.as_secs_f64(),
        mib(push_peak.saturating_sub(idle))
    );
    println!(
        "| 2 GiB layer pull (digest checked by the client) | {:.1} s, RSS +{:.1} MiB over idle | |",
        pull_time.as_secs_f64(),
        mib(pull_peak.saturating_sub(idle))
    );
    Ok(())
}
