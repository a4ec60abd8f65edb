//! `cargo run --release -p wharf-bench --bin oci`: the OCI registry side by
//! side with Debian's `docker-registry` (CNCF distribution) on loopback.
//!
//! Both get the same image pushed over the distribution API; wrk then
//! measures manifest GET by tag and blob GET (1 MiB layer), 64 keep-alive
//! connections each. Then a 256 MiB layer is pushed, monolithic (POST, PUT
//! with the body) and chunked (POST, 16 MiB PATCHes, PUT), by the same lean
//! client (`raw`) to Wharf, to distribution and to a minimal axum handler
//! that streams the body to a file while hashing it with sha256 (this
//! binary, run as `oci --upload-baseline <dir> <port>`); the three take turns
//! and the medians are printed. Last, a 2 GiB layer is pushed to and pulled
//! from Wharf while its RSS is sampled: the bytes must stream, not accumulate.

use anyhow::{Context, bail};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use wharf_bench::*;

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const BIG: u64 = 2 << 30;
/// The layer pushed to all three servers, and the chunked upload's PATCH size.
const LAYER: usize = 256 << 20;
const CHUNK: usize = 16 << 20;
const ROUNDS: usize = 7;

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
    body: impl Read,
) -> anyhow::Result<()> {
    let location = start_upload(base, auth, name)?;
    with_auth(ureq::put(&with_digest(&location, digest)), auth)
        .set("content-type", "application/octet-stream")
        .set("content-length", &len.to_string())
        .send(body)
        .with_context(|| format!("pushing {digest}"))?;
    Ok(())
}

fn with_auth(r: ureq::Request, auth: Option<&str>) -> ureq::Request {
    match auth {
        Some(a) => r.set("Authorization", a),
        None => r,
    }
}

/// The absolute upload URL a response's Location names.
fn location(base: &str, response: &ureq::Response) -> anyhow::Result<String> {
    let location = response.header("location").context("no upload location")?;
    Ok(if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        location.to_string()
    })
}

fn with_digest(location: &str, digest: &str) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={digest}")
}

/// `POST /v2/<name>/blobs/uploads/`: the new session's URL.
fn start_upload(base: &str, auth: Option<&str>, name: &str) -> anyhow::Result<String> {
    let started = with_auth(
        ureq::post(&format!("{base}/v2/{name}/blobs/uploads/")),
        auth,
    )
    .call()?;
    location(base, &started)
}

/// One request on a new connection, its body written in one `write_all`;
/// returns the response's Location. (ureq copies a body through an 8 KiB
/// buffer: at 256 MiB that made the client the bottleneck and squeezed the
/// servers' differences.)
fn raw(
    url: &str,
    method: &str,
    auth: Option<&str>,
    range: Option<String>,
    body: &[u8],
) -> anyhow::Result<String> {
    let rest = url.strip_prefix("http://").context("an http:// URL")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\n",
        body.len()
    );
    if let Some(auth) = auth {
        head += &format!("authorization: {auth}\r\n");
    }
    if let Some(range) = range {
        head += &format!("content-range: {range}\r\n");
    }
    head += "\r\n";
    let mut stream = std::net::TcpStream::connect(host)?;
    // The head and the body are two writes: without this, Nagle holds the
    // body until the server's delayed ACK of the head, 40 ms a request.
    stream.set_nodelay(true)?;
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response);
    let status = response.split(' ').nth(1).unwrap_or_default();
    if !status.starts_with('2') {
        bail!(
            "{method} {url}: {}",
            response.lines().next().unwrap_or_default()
        );
    }
    let location = response
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("location"))
        })
        .map(|(_, v)| v.trim())
        .unwrap_or_default();
    Ok(if location.starts_with('/') {
        format!("http://{host}{location}")
    } else {
        location.to_string()
    })
}

/// Pushes `layer` as a client does: POST, then one PUT `?digest=` with the
/// body (monolithic), or one PATCH with `Content-Range` per `CHUNK`
/// (following each Location: distribution rewrites it) and an empty PUT.
fn push_layer(
    base: &str,
    auth: Option<&str>,
    digest: &str,
    layer: &[u8],
    chunked: bool,
) -> anyhow::Result<()> {
    let uploads = format!("{base}/v2/bench/layer/blobs/uploads/");
    let mut location = raw(&uploads, "POST", auth, None, &[])?;
    let mut last: &[u8] = layer;
    if chunked {
        for (i, chunk) in layer.chunks(CHUNK).enumerate() {
            let range = format!("{}-{}", i * CHUNK, i * CHUNK + chunk.len() - 1);
            location = raw(&location, "PATCH", auth, Some(range), chunk)?;
        }
        last = &[];
    }
    raw(&with_digest(&location, digest), "PUT", auth, None, last)?;
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

/// The upload baseline: the least a server does for an upload. Each request
/// streams its body to the session's file while hashing it with sha256 on the
/// same task; PATCH keeps the hash state in memory, PUT `?digest=` compares
/// and renames. It speaks just enough of the distribution upload API (POST,
/// PATCH, PUT) for the same client code to push to it.
mod baseline {
    use axum::body::HttpBody;
    use axum::extract::{Request, State};
    use axum::http::{Method, StatusCode, header};
    use axum::response::{IntoResponse, Response};
    use sha2::{Digest, Sha256};
    use std::collections::HashMap;
    use std::future::poll_fn;
    use std::path::PathBuf;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use tokio::io::AsyncWriteExt;

    struct Uploads {
        dir: PathBuf,
        next: AtomicU64,
        sessions: Mutex<HashMap<String, Sha256>>,
    }

    pub fn serve(dir: PathBuf, port: u16) -> anyhow::Result<()> {
        let state = Arc::new(Uploads {
            dir,
            next: AtomicU64::new(0),
            sessions: Mutex::default(),
        });
        let app = axum::Router::new()
            .fallback(upload)
            .layer(axum::extract::DefaultBodyLimit::disable())
            .with_state(state);
        tokio::runtime::Runtime::new()?.block_on(async move {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
            axum::serve(listener, app).await?;
            Ok(())
        })
    }

    async fn upload(State(uploads): State<Arc<Uploads>>, req: Request) -> Response {
        match handle(&uploads, req).await {
            Ok(r) => r,
            Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        }
    }

    async fn handle(uploads: &Uploads, req: Request) -> anyhow::Result<Response> {
        let (parts, mut body) = req.into_parts();
        if parts.method == Method::POST {
            let id = uploads.next.fetch_add(1, Ordering::Relaxed).to_string();
            tokio::fs::File::create(uploads.dir.join(&id)).await?;
            uploads
                .sessions
                .lock()
                .unwrap()
                .insert(id.clone(), Sha256::new());
            return Ok(accepted(&id));
        }
        let id = parts
            .uri
            .path()
            .strip_prefix("/uploads/")
            .unwrap_or_default()
            .to_string();
        let mut hash = uploads.sessions.lock().unwrap().remove(&id);
        let hash = hash
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("no upload {id}"))?;
        let path = uploads.dir.join(&id);
        let mut file = tokio::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .await?;
        while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            if let Ok(data) = frame?.into_data() {
                hash.update(&data);
                file.write_all(&data).await?;
            }
        }
        file.flush().await?;
        let hash = hash.clone();
        if parts.method == Method::PATCH {
            uploads.sessions.lock().unwrap().insert(id.clone(), hash);
            return Ok(accepted(&id));
        }
        let digest = format!("sha256:{}", hex::encode(hash.finalize()));
        let claimed = parts.uri.query().and_then(|q| q.strip_prefix("digest="));
        if claimed != Some(digest.as_str()) {
            tokio::fs::remove_file(&path).await.ok();
            anyhow::bail!("digest mismatch: {claimed:?} vs {digest}");
        }
        tokio::fs::rename(&path, uploads.dir.join(&digest)).await?;
        Ok(StatusCode::CREATED.into_response())
    }

    fn accepted(id: &str) -> Response {
        (
            StatusCode::ACCEPTED,
            [(header::LOCATION, format!("/uploads/{id}"))],
        )
            .into_response()
    }
}

/// Starts the upload baseline (this binary again) on a free port.
fn start_baseline(dir: &std::path::Path) -> anyhow::Result<(Registry, String)> {
    let port = free_port();
    let dir = dir.join("baseline");
    std::fs::create_dir_all(&dir)?;
    let child = Command::new(std::env::current_exe()?)
        .arg("--upload-baseline")
        .arg(&dir)
        .arg(port.to_string())
        .spawn()
        .context("starting the upload baseline")?;
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the upload baseline did not start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((Registry(child), url))
}

/// Deletes every file of at least `LAYER` bytes under `dir`: the layers
/// the servers stored (their page cache goes with them).
fn remove_layers(dir: &std::path::Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            remove_layers(&entry.path())?;
        } else if kind.is_file() && entry.metadata()?.len() >= LAYER as u64 {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Median MB/s of pushing a 256 MiB layer to each target, monolithic and
/// chunked. Each push is of a layer no target holds yet (the first bytes
/// change), so nothing is deduplicated, and the three targets get the same
/// bytes; they take turns, in a rotating order. Before each timed push the previous layers' files
/// are deleted from the servers' storage under `dir` and dirty pages are
/// flushed (`sync`): on the project VM, once ~1.5 GB of written files sit in
/// the page cache, writes slow to the disk's ~270 MB/s and every server
/// measures the disk instead of itself.
fn upload_rates(
    dir: &std::path::Path,
    targets: &[(&str, Option<&str>)],
) -> anyhow::Result<Vec<(f64, f64)>> {
    let mut layer = vec![0u8; LAYER];
    Pattern::new(LAYER as u64).read_exact(&mut layer)?;
    let mut times = vec![[Vec::new(), Vec::new()]; targets.len()];
    for push in 0..2 * ROUNDS {
        layer[..8].copy_from_slice(&(push as u64).to_le_bytes());
        let digest = sha256_of(&layer[..])?;
        let chunked = push % 2 == 1;
        // Who goes first rotates: no target always follows the same one.
        for k in 0..targets.len() {
            let i = (k + push) % targets.len();
            let (base, auth) = targets[i];
            remove_layers(dir)?;
            Command::new("sync").status()?;
            let started = Instant::now();
            push_layer(base, auth, &digest, &layer, chunked)?;
            times[i][push % 2].push(started.elapsed().as_secs_f64());
        }
    }
    let rate = |t: &[f64]| LAYER as f64 / 1e6 / median(t.to_vec());
    Ok(times
        .iter()
        .map(|[mono, chunked]| (rate(mono), rate(chunked)))
        .collect())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--upload-baseline") {
        return baseline::serve(args[2].clone().into(), args[3].parse()?);
    }
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

    // 256 MiB through Wharf, the axum baseline and distribution, alternating.
    let (_baseline, baseline) = start_baseline(dir.path())?;
    let rates = upload_rates(
        dir.path(),
        &[
            (&wharf.url, Some(&auth)),
            (&baseline, None),
            (&distribution, None),
        ],
    )?;

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
    let [(wm, wc), (am, ac), (dm, dc)] = rates[..] else {
        unreachable!()
    };
    println!(
        "| 256 MiB layer push, monolithic (median of {ROUNDS}) | {wm:.0} MB/s | {dm:.0} MB/s |"
    );
    println!(
        "| 256 MiB layer push, chunked ({} MiB PATCHes) | {wc:.0} MB/s | {dc:.0} MB/s |",
        CHUNK >> 20
    );
    println!(
        "| same pushes to the axum baseline (stream to file + sha256) | monolithic {am:.0} MB/s, chunked {ac:.0} MB/s | |"
    );
    println!(
        "| Wharf / axum baseline | monolithic {:.2}, chunked {:.2} | |",
        wm / am,
        wc / ac
    );
    println!(
        "| Wharf / docker-registry | monolithic {:.2}, chunked {:.2} | |",
        wm / dm,
        wc / dc
    );
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
