//! `cargo run --release -p wharf-bench --bin scale`: catalog operations at
//! scale, against the same operations on a package of size 10, in one wharf.
//!
//! One server serves npm, PyPI, OCI and Maven. Each format gets a small
//! package (size [`SMALL`]) and a large one, both seeded over HTTP through
//! the ordinary publish endpoints ([`SEED_THREADS`] clients at a time, so the
//! seeding itself goes through the write path being measured):
//!
//! - npm: a package with [`NPM_VERSIONS`] versions;
//! - PyPI: a project with [`PYPI_RELEASES`] releases of [`PYPI_FILES`] files;
//! - OCI: a repository with [`OCI_TAGS`] tags, each on its own manifest;
//! - Maven: a SNAPSHOT version with [`MAVEN_BUILDS`] timestamped builds.
//!
//! Then, [`ROUNDS`] times: a write (a publish to a third package of the
//! format), and right after it every metadata document of both packages,
//! each with a query parameter the document cache has not seen (the plugins
//! ignore it), so uncached while the packages keep exactly their sizes. The
//! host's `Server-Timing` header is present only when the plugin ran; its
//! `handle;dur=` is the plugin's part. For OCI also pulls by tag and manifest
//! 404s. Then [`PUBLISHES`] times one more publish at each size: at size 10
//! each to a package of its own that has exactly 10 items, at scale to the
//! large package. Last, each document's and each publish's peak plugin linear
//! memory is found from outside: wharf is restarted with smaller and smaller
//! per-plugin memory caps (`[defaults] memory` in the plugin registry) and
//! the smallest cap under which the request still succeeds is the peak, to
//! [`MEMORY_STEP`]. The server's RSS growth during each read is sampled too.
//!
//! Sizes can be divided for a quick trial (`SCALE_DIVIDE=10`) and formats
//! chosen (`SCALE_FORMATS=npm,maven`).

use anyhow::{Context, bail};
use base64::Engine;
use sha2::Digest;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use wharf_bench::*;

const NPM_VERSIONS: usize = 5_000;
const PYPI_RELEASES: usize = 200;
const PYPI_FILES: usize = 20;
const OCI_TAGS: usize = 100_000;
const MAVEN_BUILDS: usize = 1_000;
/// The comparison size: versions, releases (of [`PYPI_FILES`] files), tags, builds.
const SMALL: usize = 10;
/// One-more-publish samples per size; medians are reported. Each sample at
/// size 10 goes to a package of its own, so this many are seeded.
const PUBLISHES: usize = 31;
/// Write-then-read rounds (the reads' medians are reported).
const ROUNDS: usize = 21;
/// Pulls by tag and 404s per size; medians are reported.
const PULLS: usize = 200;
/// Concurrent clients while seeding.
const SEED_THREADS: usize = 4;
/// Resolution of the peak linear memory search.
const MEMORY_STEP: u64 = 128 << 10;
/// Upper bound of that search (the registry default cap).
const MEMORY_MAX: u64 = 128 << 20;

const FORMATS: &[&str] = &["npm", "pypi", "oci", "maven"];
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const NPM_CORGI: &str = "application/vnd.npm.install-v1+json";
const PYPI_JSON: &str = "application/vnd.pypi.simple.v1+json";

// ---------------------------------------------------------------- HTTP

#[derive(Clone)]
struct Client {
    agent: ureq::Agent,
    url: String,
    auth: String,
}

/// One request's outcome.
#[derive(Debug, Clone, Copy)]
struct Timed {
    status: u16,
    wall_ms: f64,
    /// `handle;dur=` of `Server-Timing`: absent when the host answered from
    /// its document cache (or before the plugin ran).
    handle_ms: Option<f64>,
    bytes: usize,
    /// The start of an error response's body.
    error: Option<[u8; 160]>,
}

impl Timed {
    fn ok(self, what: &str) -> anyhow::Result<Timed> {
        if !(200..300).contains(&self.status) {
            let body = self.error.unwrap_or([b' '; 160]);
            bail!(
                "{what}: status {}: {}",
                self.status,
                String::from_utf8_lossy(&body).trim_end()
            );
        }
        Ok(self)
    }
    /// Sums the requests of a multi-request publish.
    fn plus(self, other: Timed) -> Timed {
        Timed {
            status: self.status.max(other.status),
            wall_ms: self.wall_ms + other.wall_ms,
            handle_ms: Some(self.handle_ms.unwrap_or(0.0) + other.handle_ms.unwrap_or(0.0)),
            bytes: self.bytes + other.bytes,
            error: self.error.or(other.error),
        }
    }
}

fn handle_dur(timing: &str) -> Option<f64> {
    timing
        .split(',')
        .find_map(|p| p.trim().strip_prefix("handle;dur="))
        .and_then(|v| v.parse().ok())
}

impl Client {
    fn new(url: &str) -> Client {
        Client {
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(120))
                .build(),
            url: url.to_string(),
            auth: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN}"))
            ),
        }
    }

    fn req(&self, method: &str, path: &str) -> ureq::Request {
        self.agent
            .request(method, &format!("{}{path}", self.url))
            .set("authorization", &self.auth)
    }

    fn send(&self, req: ureq::Request, body: Option<&[u8]>) -> anyhow::Result<Timed> {
        let started = Instant::now();
        let result = match body {
            Some(b) => req.send_bytes(b),
            None => req.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(e.into()),
        };
        let status = response.status();
        let handle_ms = response.header("server-timing").and_then(handle_dur);
        let mut buf = Vec::new();
        response.into_reader().read_to_end(&mut buf)?;
        let wall_ms = started.elapsed().as_secs_f64() * 1e3;
        let error = (status >= 400).then(|| {
            let mut e = [b' '; 160];
            let n = buf.len().min(e.len());
            e[..n].copy_from_slice(&buf[..n]);
            e
        });
        Ok(Timed {
            status,
            wall_ms,
            handle_ms,
            bytes: buf.len(),
            error,
        })
    }

    fn get(&self, path: &str, accept: &str) -> anyhow::Result<Timed> {
        self.send(self.req("GET", path).set("accept", accept), None)
    }
}

// ---------------------------------------------------------------- formats

/// A package of one format, and how many items it has been given.
struct Target {
    format: &'static str,
    /// npm package, PyPI project, OCI repository name, Maven artifactId.
    name: String,
    next: AtomicUsize,
    /// Seeding writes answered 503 under concurrency and sent again.
    retried: AtomicUsize,
}

impl Target {
    fn new(format: &'static str, name: &str) -> Target {
        Target {
            format,
            name: name.to_string(),
            next: AtomicUsize::new(0),
            retried: AtomicUsize::new(0),
        }
    }

    /// Makes the package ready for [`Target::publish`] (OCI: pushes the blobs).
    fn setup(&self, c: &Client) -> anyhow::Result<()> {
        if self.format == "oci" {
            for blob in [OCI_CONFIG, OCI_LAYER] {
                let digest = sha256(blob.as_bytes());
                c.send(
                    c.req(
                        "POST",
                        &format!("/v2/{}/blobs/uploads/?digest={digest}", self.name),
                    ),
                    Some(blob.as_bytes()),
                )?
                .ok("pushing an OCI blob")?;
            }
        }
        Ok(())
    }

    /// Publishes item `i`: an npm version, a PyPI file (`i` counts files:
    /// release `i / PYPI_FILES`), an OCI manifest under a new tag, a Maven
    /// SNAPSHOT build (its jar and pom with their sha1 sidecars, then the
    /// metadata mvn sends, which the server drops).
    fn publish(&self, c: &Client, i: usize) -> anyhow::Result<Timed> {
        let what = format!("publishing {} {} #{i}", self.format, self.name);
        match self.format {
            "npm" => npm_publish(c, &self.name, i),
            "pypi" => pypi_upload(c, &self.name, i / PYPI_FILES, i % PYPI_FILES),
            "oci" => oci_push(c, &self.name, i),
            "maven" => maven_deploy(c, &self.name, i),
            _ => unreachable!(),
        }
        .and_then(|t| t.ok(&what))
        .context(what)
    }

    /// One more publish: the next item (PyPI: the first file of a new release).
    fn publish_next(&self, c: &Client) -> anyhow::Result<Timed> {
        let i = match self.format {
            "pypi" => {
                let release = self.next.load(Ordering::SeqCst).div_ceil(PYPI_FILES);
                self.next
                    .store((release + 1) * PYPI_FILES, Ordering::SeqCst);
                release * PYPI_FILES
            }
            _ => self.next.fetch_add(1, Ordering::SeqCst),
        };
        self.publish(c, i)
    }

    /// `count` items through `SEED_THREADS` clients; returns the time taken.
    fn seed(&self, c: &Client, count: usize) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let failed = AtomicBool::new(false);
        let error = std::sync::Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..SEED_THREADS {
                s.spawn(|| {
                    let c = Client::new(&c.url);
                    while !failed.load(Ordering::Relaxed) {
                        let i = self.next.fetch_add(1, Ordering::SeqCst);
                        if i >= count {
                            break;
                        }
                        // A concurrent write can be refused with 503 (the
                        // host's deferred transactions: see docs/performance.md);
                        // seeding counts those and tries again.
                        let mut attempts = 0;
                        loop {
                            match self.publish(&c, i) {
                                Err(e)
                                    if attempts < 50 && format!("{e:#}").contains("status 503") =>
                                {
                                    attempts += 1;
                                    self.retried.fetch_add(1, Ordering::Relaxed);
                                    std::thread::sleep(Duration::from_millis(attempts));
                                }
                                Err(e) => {
                                    failed.store(true, Ordering::Relaxed);
                                    *error.lock().unwrap() = Some(e);
                                    break;
                                }
                                Ok(_) => break,
                            }
                        }
                    }
                });
            }
        });
        self.next.store(count, Ordering::SeqCst);
        match error.into_inner().unwrap() {
            Some(e) => Err(e),
            None => Ok(started.elapsed()),
        }
    }

    /// The metadata documents of this package: (label, path, Accept).
    fn documents(&self) -> Vec<(&'static str, String, &'static str)> {
        let n = &self.name;
        match self.format {
            "npm" => vec![
                ("packument (full)", format!("/npm/{n}"), "application/json"),
                ("packument (abbreviated)", format!("/npm/{n}"), NPM_CORGI),
            ],
            "pypi" => vec![
                (
                    "simple page (HTML)",
                    format!("/pypi/simple/{n}/"),
                    "text/html",
                ),
                (
                    "simple page (JSON)",
                    format!("/pypi/simple/{n}/"),
                    PYPI_JSON,
                ),
            ],
            "oci" => vec![
                (
                    "tag list, first page (default n=1000)",
                    format!("/v2/{n}/tags/list"),
                    "application/json",
                ),
                (
                    "tag list, first page of n=10",
                    format!("/v2/{n}/tags/list?n=10"),
                    "application/json",
                ),
            ],
            "maven" => vec![(
                "snapshot maven-metadata.xml",
                format!("/maven/org/scale/{n}/1.0-SNAPSHOT/maven-metadata.xml"),
                "application/xml",
            )],
            _ => unreachable!(),
        }
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

fn npm_publish(c: &Client, name: &str, i: usize) -> anyhow::Result<Timed> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let version = format!("1.0.{i}");
    let tarball = format!("tarball of {name} {version}").into_bytes();
    let file = format!("{name}-{version}.tgz");
    let body = serde_json::json!({
        "_id": name, "name": name, "description": "scale benchmark package",
        "dist-tags": { "latest": version },
        "versions": { &version: { "name": name, "version": version,
            "description": "scale benchmark package",
            "dependencies": { "left-pad": "^1.3.0", "lodash": "^4.17.21" },
            "dist": { "integrity": format!("sha512-{}", b64.encode(sha2::Sha512::digest(&tarball))),
                      "shasum": hex::encode(sha1::Sha1::digest(&tarball)),
                      "tarball": format!("{}/npm/{name}/-/{file}", c.url) } } },
        "_attachments": { &file: { "content_type": "application/octet-stream",
            "data": b64.encode(&tarball), "length": tarball.len() } }
    });
    c.send(
        c.req("PUT", &format!("/npm/{name}"))
            .set("content-type", "application/json"),
        Some(&serde_json::to_vec(&body)?),
    )
}

/// CRC-32 (IEEE), for the zip entries.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xedb8_8320 & (!(crc & 1)).wrapping_add(1));
        }
    }
    !crc
}

/// A zip archive with stored (uncompressed) entries.
fn zip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for (name, data) in entries {
        let offset = out.len() as u32;
        let (crc, len, name_len) = (crc32(data), data.len() as u32, name.len() as u16);
        // Local header: signature, version, flags, method 0, time, date.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
        for v in [crc, len, len] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
        for v in [crc, len, len] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&[0; 12]); // extra, comment, disk, attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let (at, size) = (out.len() as u32, central.len() as u32);
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    let count = (entries.len() as u16).to_le_bytes();
    out.extend_from_slice(&count);
    out.extend_from_slice(&count);
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    out.extend_from_slice(&[0; 2]);
    out
}

/// Wheel tags for the files of a release: file 0 is the sdist, 1.. wheels.
fn wheel_tag(j: usize) -> String {
    const PYTHONS: &[&str] = &["cp39", "cp310", "cp311", "cp312", "cp313"];
    const PLATFORMS: &[&str] = &[
        "manylinux_2_17_x86_64",
        "manylinux_2_17_aarch64",
        "macosx_11_0_arm64",
        "win_amd64",
    ];
    match j {
        1 => "py3-none-any".into(),
        _ => {
            let k = j - 2;
            let py = PYTHONS[k % PYTHONS.len()];
            format!(
                "{py}-{py}-{}",
                PLATFORMS[(k / PYTHONS.len()) % PLATFORMS.len()]
            )
        }
    }
}

/// Uploads file `j` of release `1.{release}` as twine does (multipart form).
fn pypi_upload(c: &Client, project: &str, release: usize, j: usize) -> anyhow::Result<Timed> {
    let version = format!("1.{release}");
    let module = project.replace('-', "_");
    let (filename, filetype, pyversion, content) = if j == 0 {
        (
            format!("{module}-{version}.tar.gz"),
            "sdist",
            "source",
            format!("sdist of {project} {version}").into_bytes(),
        )
    } else {
        let dist_info = format!("{module}-{version}.dist-info");
        let metadata =
            format!("Metadata-Version: 2.1\nName: {project}\nVersion: {version}\nSummary: scale\n");
        let wheel = format!(
            "Wheel-Version: 1.0\nGenerator: scale\nRoot-Is-Purelib: true\nTag: {}\n",
            wheel_tag(j)
        );
        (
            format!("{module}-{version}-{}.whl", wheel_tag(j)),
            "bdist_wheel",
            "py3",
            zip(&[
                (
                    format!("{module}/__init__.py"),
                    format!("V = '{version}' # {j}\n").into_bytes(),
                ),
                (format!("{dist_info}/METADATA"), metadata.into_bytes()),
                (format!("{dist_info}/WHEEL"), wheel.into_bytes()),
            ]),
        )
    };
    let boundary = "----wharf-scale-boundary";
    let mut body = Vec::new();
    let sha = hex::encode(sha2::Sha256::digest(&content));
    for (k, v) in [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("metadata_version", "2.1"),
        ("name", project),
        ("version", &version),
        ("filetype", filetype),
        ("pyversion", pyversion),
        ("summary", "scale"),
        ("sha256_digest", &sha),
    ] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    c.send(
        c.req("POST", "/pypi/").set(
            "content-type",
            &format!("multipart/form-data; boundary={boundary}"),
        ),
        Some(&body),
    )
}

const OCI_CONFIG: &str =
    r#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
const OCI_LAYER: &str = "a tiny layer shared by every manifest of the scale benchmark";

fn oci_tag(i: usize) -> String {
    format!("t{i:06}")
}

/// Pushes a manifest of its own (an annotation differs) under tag `i`.
fn oci_push(c: &Client, name: &str, i: usize) -> anyhow::Result<Timed> {
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": sha256(OCI_CONFIG.as_bytes()), "size": OCI_CONFIG.len() },
        "layers": [{ "mediaType": "application/vnd.oci.image.layer.v1.tar",
                     "digest": sha256(OCI_LAYER.as_bytes()), "size": OCI_LAYER.len() }],
        "annotations": { "org.wharf.scale.build": i.to_string() },
    });
    c.send(
        c.req("PUT", &format!("/v2/{name}/manifests/{}", oci_tag(i)))
            .set("content-type", OCI_MANIFEST),
        Some(&serde_json::to_vec(&manifest)?),
    )
}

/// Deploys build `i + 1` of `org.scale:{artifact}:1.0-SNAPSHOT` like mvn.
fn maven_deploy(c: &Client, artifact: &str, i: usize) -> anyhow::Result<Timed> {
    let dir = format!("/maven/org/scale/{artifact}/1.0-SNAPSHOT");
    // One build a minute from 2026-01-01 00:00 (timestamps are UTC).
    let stamp = format!(
        "202601{:02}.{:02}{:02}00-{}",
        1 + i / 1440,
        i / 60 % 24,
        i % 60,
        i + 1
    );
    let jar = format!("PK\x03\x04 jar of {artifact} build {i}").into_bytes();
    let pom = format!(
        "<project><modelVersion>4.0.0</modelVersion><groupId>org.scale</groupId>\
         <artifactId>{artifact}</artifactId><version>1.0-SNAPSHOT</version></project>\n"
    )
    .into_bytes();
    let mut total: Option<Timed> = None;
    let mut put = |path: String, body: &[u8]| -> anyhow::Result<()> {
        let t = c
            .send(c.req("PUT", &path), Some(body))?
            .ok(&format!("PUT {path}"))?;
        total = Some(match total {
            Some(sum) => sum.plus(t),
            None => t,
        });
        Ok(())
    };
    for (ext, bytes) in [("jar", &jar), ("pom", &pom)] {
        let file = format!("{dir}/{artifact}-1.0-{stamp}.{ext}");
        put(file.clone(), bytes)?;
        put(
            format!("{file}.sha1"),
            hex::encode(sha1::Sha1::digest(bytes)).as_bytes(),
        )?;
    }
    put(
        format!("{dir}/maven-metadata.xml"),
        b"<metadata><versioning/></metadata>\n",
    )?;
    Ok(total.expect("five requests"))
}

// ---------------------------------------------------------------- measuring

fn median_of(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    median(values.to_vec())
}

/// Peak RSS growth of `pid` (KiB over the value just before) while `work` runs.
fn rss_growth_during<T>(
    pid: u32,
    work: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<(T, u64)> {
    let before = rss_kib(pid);
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(before));
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(500));
            }
        })
    };
    let result = work();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    Ok((result?, peak.load(Ordering::Relaxed).saturating_sub(before)))
}

#[derive(Default)]
struct Series {
    wall: Vec<f64>,
    handle: Vec<f64>,
    bytes: usize,
    rss_kib: u64,
    /// Requests that were answered without the plugin (cached).
    cached: usize,
    /// Requests whose wall time exceeded the plugin's by more than 30 ms.
    stalls: usize,
}

impl Series {
    fn add(&mut self, t: Timed) {
        self.wall.push(t.wall_ms);
        match t.handle_ms {
            Some(h) => self.handle.push(h),
            None => self.cached += 1,
        }
        if t.wall_ms - t.handle_ms.unwrap_or(0.0) > 30.0 {
            self.stalls += 1;
        }
        self.bytes = t.bytes;
    }
    fn wall(&self) -> f64 {
        median_of(&self.wall)
    }
    fn handle(&self) -> f64 {
        median_of(&self.handle)
    }
}

/// Figures of one target (small or large).
#[derive(Default)]
struct Figures {
    seed: Duration,
    retried: usize,
    items: usize,
    publish: Series,
    docs: Vec<Series>,
    /// OCI: pull by tag (uncached), manifest 404, a deep tag-list page.
    pull: Series,
    missing: Series,
    deep_page: Series,
    /// Peak plugin linear memory (bytes): each document's render, a publish.
    memory_render: Vec<Option<u64>>,
    memory_publish: Option<u64>,
}

/// `path` with a query parameter the document cache has not seen.
fn unseen(path: &str, round: usize) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}_scale_read={round}")
}

/// [`ROUNDS`] times: a write (one more publish to `churn`, a third package
/// of the format), then every document of both packages, each with a query
/// the cache has not seen: uncached reads right after a write, while the two
/// packages keep exactly their sizes.
fn measure_reads(
    c: &Client,
    pid: u32,
    churn: &Target,
    pair: [&Target; 2],
    figures: &mut [Figures; 2],
) -> anyhow::Result<()> {
    // The plugins ignore the extra parameter: same status and bytes.
    for target in pair {
        for (label, path, accept) in target.documents() {
            let plain = c.get(&path, accept)?.ok(label)?;
            let marked = c.get(&unseen(&path, usize::MAX), accept)?.ok(label)?;
            if plain.bytes != marked.bytes {
                bail!("{label} of {} differs with a query parameter", target.name);
            }
        }
    }
    for round in 0..ROUNDS {
        churn.publish_next(c)?;
        // Alternate which size is read first after the write.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for k in order {
            let target = pair[k];
            let f = &mut figures[k];
            let docs = target.documents();
            f.docs.resize_with(docs.len(), Series::default);
            for (d, (label, path, accept)) in docs.iter().enumerate() {
                let (t, rss) = rss_growth_during(pid, || c.get(&unseen(path, round), accept))?;
                f.docs[d].add(t.ok(label)?);
                f.docs[d].rss_kib = f.docs[d].rss_kib.max(rss);
            }
            if target.format == "oci" {
                // A page deep in the list: keyset paging reads only that page.
                let last = oci_tag(f.items * 9 / 10);
                let path = format!("/v2/{}/tags/list?n=1000&last={last}", target.name);
                let t = c.get(&unseen(&path, round), "application/json")?;
                f.deep_page.add(t.ok("deep tag page")?);
            }
        }
    }
    Ok(())
}

/// One more publish, [`PUBLISHES`] times per size, alternating sizes, with
/// no reads in between: at size 10 each to its own package of exactly
/// [`SMALL`] items (`fresh`), at scale to the large package (which grows by
/// [`PUBLISHES`] meanwhile).
fn measure_publishes(
    c: &Client,
    fresh: &[Target],
    large: &Target,
    figures: &mut [Figures; 2],
) -> anyhow::Result<()> {
    for small in fresh {
        figures[0].publish.add(small.publish_next(c)?);
        figures[1].publish.add(large.publish_next(c)?);
    }
    Ok(())
}

/// Pulls by tag (each request uncached: a query the cache has not seen) and
/// manifest 404s, alternating between the two repositories.
fn measure_pulls(c: &Client, pair: [&Target; 2], figures: &mut [Figures; 2]) -> anyhow::Result<()> {
    for p in 0..PULLS {
        for (k, target) in pair.iter().enumerate() {
            let f = &mut figures[k];
            let tag = oci_tag((p * 7919) % f.items);
            let t = c.get(
                &format!("/v2/{}/manifests/{tag}?pull={p}", target.name),
                OCI_MANIFEST,
            )?;
            f.pull.add(t.ok("pull by tag")?);
            let t = c.get(
                &format!("/v2/{}/manifests/missing-{p}", target.name),
                OCI_MANIFEST,
            )?;
            if t.status != 404 {
                bail!("a missing manifest answered {}", t.status);
            }
            f.missing.add(t);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- the server

struct Server {
    dir: tempfile::TempDir,
    wharf: Option<Wharf>,
}

impl Server {
    /// (Re)starts wharf with every plugin capped at `memory` bytes.
    fn restart(&mut self, memory: Option<u64>) -> anyhow::Result<Client> {
        self.wharf = None;
        let mut registry = String::new();
        if let Some(bytes) = memory {
            registry.push_str(&format!("[defaults]\nmemory = \"{}KiB\"\n\n", bytes >> 10));
        }
        for format in FORMATS {
            registry.push_str(&format!(
                "[[plugin]]\nformat = \"{format}\"\npath = \"plugins/{format}.wasm\"\n"
            ));
        }
        std::fs::write(self.dir.path().join("plugin-registry.toml"), registry)?;
        let (wharf, _) = start(self.dir.path())?;
        let c = Client::new(&wharf.url);
        self.wharf = Some(wharf);
        Ok(c)
    }

    fn pid(&self) -> u32 {
        self.wharf.as_ref().unwrap().child.id()
    }

    /// The smallest cap (to MEMORY_STEP) under which `op` succeeds on a
    /// freshly started server: the plugin's peak linear memory for `op`.
    fn peak_memory(
        &mut self,
        mut op: impl FnMut(&Client) -> anyhow::Result<bool>,
    ) -> anyhow::Result<Option<u64>> {
        let (mut fails, mut works) = (0u64, MEMORY_MAX / MEMORY_STEP);
        while works - fails > 1 {
            let mid = (fails + works) / 2;
            let c = self.restart(Some(mid * MEMORY_STEP))?;
            if op(&c).unwrap_or(false) {
                works = mid;
            } else {
                fails = mid;
            }
        }
        let c = self.restart(Some(works * MEMORY_STEP))?;
        let confirmed = op(&c).unwrap_or(false);
        Ok(confirmed.then_some(works * MEMORY_STEP))
    }
}

// ---------------------------------------------------------------- report

fn ms(v: f64) -> String {
    if v.is_nan() {
        "—".into()
    } else if v < 10.0 {
        format!("{v:.2} ms")
    } else {
        format!("{v:.1} ms")
    }
}

fn mib(bytes: Option<u64>) -> String {
    match bytes {
        Some(b) => format!("{:.2} MiB", b as f64 / (1 << 20) as f64),
        None => "not found".into(),
    }
}

fn size_of(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{:.2} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.1} KB", bytes as f64 / 1e3)
    }
}

struct Row {
    what: String,
    small: String,
    large: String,
    ratio: String,
    target: String,
}

fn ratio_row(what: String, small: f64, large: f64, limit: Option<f64>) -> Row {
    let r = large / small;
    let (target, ratio) = match limit {
        Some(l) => (
            format!("≤ {l}× → {}", if r <= l { "**met**" } else { "**missed**" }),
            format!("{r:.2}×"),
        ),
        None => ("reported".into(), format!("{r:.1}×")),
    };
    Row {
        what,
        small: ms(small),
        large: ms(large),
        ratio,
        target,
    }
}

fn main() -> anyhow::Result<()> {
    let divide: usize = std::env::var("SCALE_DIVIDE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let large_size = |format: &str| -> usize {
        let n = match format {
            "npm" => NPM_VERSIONS,
            "pypi" => PYPI_RELEASES * PYPI_FILES,
            "oci" => OCI_TAGS,
            "maven" => MAVEN_BUILDS,
            _ => unreachable!(),
        };
        (n / divide).max(SMALL * 2)
    };
    let small_size = |format: &str| match format {
        "pypi" => SMALL * PYPI_FILES,
        _ => SMALL,
    };
    let started = Instant::now();
    let mut server = Server {
        dir: prepare(FORMATS)?,
        wharf: None,
    };
    let mut c = server.restart(None)?;

    // `SCALE_FORMATS=npm,maven` measures only those.
    let only = std::env::var("SCALE_FORMATS").unwrap_or_default();
    let mut results = Vec::new();
    for format in FORMATS
        .iter()
        .filter(|f| only.is_empty() || only.split(',').any(|o| o.trim() == **f))
    {
        let named = |name: &str| {
            Target::new(
                format,
                &match *format {
                    "oci" => format!("scale/{name}"),
                    _ => name.to_string(),
                },
            )
        };
        let (small, large, churn) = (named("small"), named("large"), named("churn"));
        let fresh: Vec<Target> = (0..PUBLISHES)
            .map(|k| named(&format!("small-{k}")))
            .collect();
        let mut figures = [Figures::default(), Figures::default()];
        for (k, (target, size)) in [(&small, small_size(format)), (&large, large_size(format))]
            .into_iter()
            .enumerate()
        {
            target.setup(&c)?;
            figures[k].seed = target.seed(&c, size)?;
            figures[k].items = size;
            figures[k].retried = target.retried.load(Ordering::Relaxed);
            eprintln!(
                "[{:>5.0} s] {format} {}: {size} items seeded in {:.1} s ({} writes retried after a 503)",
                started.elapsed().as_secs_f64(),
                target.name,
                figures[k].seed.as_secs_f64(),
                figures[k].retried,
            );
        }
        let seeding = Instant::now();
        for target in fresh.iter().chain([&churn]) {
            target.setup(&c)?;
            target.seed(&c, small_size(format))?;
        }
        eprintln!(
            "[{:>5.0} s] {format}: {} more packages of size {SMALL} seeded in {:.1} s",
            started.elapsed().as_secs_f64(),
            fresh.len() + 1,
            seeding.elapsed().as_secs_f64(),
        );
        // Let the WAL checkpoint and the seeding clients' connections settle.
        std::thread::sleep(Duration::from_secs(1));
        measure_reads(&c, server.pid(), &churn, [&small, &large], &mut figures)?;
        if *format == "oci" {
            measure_pulls(&c, [&small, &large], &mut figures)?;
        }
        measure_publishes(&c, &fresh, &large, &mut figures)?;
        eprintln!(
            "[{:>5.0} s] {format}: rounds done; searching peak linear memory",
            started.elapsed().as_secs_f64()
        );
        for (k, target) in [&small, &large].into_iter().enumerate() {
            for (_, path, accept) in target.documents() {
                let peak = server.peak_memory(|c| {
                    let t = c.get(&path, accept)?;
                    Ok(t.status == 200 && t.handle_ms.is_some())
                })?;
                figures[k].memory_render.push(peak);
            }
            figures[k].memory_publish =
                server.peak_memory(|c| Ok(target.publish_next(c).is_ok()))?;
            eprintln!(
                "[{:>5.0} s] {format} {}: peak linear memory: reads {:?}, publish {}",
                started.elapsed().as_secs_f64(),
                target.name,
                figures[k]
                    .memory_render
                    .iter()
                    .map(|m| mib(*m))
                    .collect::<Vec<_>>(),
                mib(figures[k].memory_publish)
            );
        }
        c = server.restart(None)?;
        results.push((*format, figures));
    }

    // ------------------------------------------------------------ the table
    let mut rows: Vec<Row> = Vec::new();
    for (format, [s, l]) in &results {
        let label = match *format {
            "npm" => format!("npm, {} versions", l.items),
            "pypi" => format!(
                "PyPI, {} releases × {PYPI_FILES} files",
                l.items / PYPI_FILES
            ),
            "oci" => format!("OCI, {} tags", l.items),
            "maven" => format!("Maven, SNAPSHOT with {} builds", l.items),
            _ => unreachable!(),
        };
        let unit = match *format {
            "npm" => "one more version (PUT)",
            "pypi" => "one more file, new release (POST)",
            "oci" => "one more manifest + tag (PUT)",
            "maven" => "one more build (jar, pom, sha1s, metadata: 5 PUTs)",
            _ => unreachable!(),
        };
        rows.push(ratio_row(
            format!("{label}: publish {unit}, wall"),
            s.publish.wall(),
            l.publish.wall(),
            Some(2.0),
        ));
        rows.push(ratio_row(
            format!("{label}: publish, plugin (`handle`)"),
            s.publish.handle(),
            l.publish.handle(),
            None,
        ));
        let labels = Target::new(format, "x").documents();
        for (d, (doc, _, _)) in labels.iter().enumerate() {
            let (sd, ld) = (&s.docs[d], &l.docs[d]);
            let mut row = ratio_row(
                format!(
                    "{label}: {doc} uncached, wall ({} / {})",
                    size_of(sd.bytes),
                    size_of(ld.bytes)
                ),
                sd.wall(),
                ld.wall(),
                None,
            );
            if sd.cached + ld.cached > 0 {
                row.target = format!("{} of the reads were cached!", sd.cached + ld.cached);
            }
            rows.push(row);
            rows.push(ratio_row(
                format!("{label}: {doc} uncached, plugin (`handle`)"),
                sd.handle(),
                ld.handle(),
                None,
            ));
            rows.push(Row {
                what: format!("{label}: {doc}, server RSS growth during the read (peak)"),
                small: format!("{:.1} MiB", sd.rss_kib as f64 / 1024.0),
                large: format!("{:.1} MiB", ld.rss_kib as f64 / 1024.0),
                ratio: String::new(),
                target: "reported".into(),
            });
            rows.push(Row {
                what: format!("{label}: {doc}, peak plugin linear memory"),
                small: mib(s.memory_render[d]),
                large: mib(l.memory_render[d]),
                ratio: String::new(),
                target: "reported".into(),
            });
        }
        rows.push(Row {
            what: format!("{label}: peak plugin linear memory, publish"),
            small: mib(s.memory_publish),
            large: mib(l.memory_publish),
            ratio: String::new(),
            target: "reported".into(),
        });
        if *format == "oci" {
            rows.push(ratio_row(
                format!("{label}: tag list page at 90% (`?n=1000&last=…`), plugin (`handle`)"),
                s.deep_page.handle(),
                l.deep_page.handle(),
                None,
            ));
            let stalled = |what: &str, s: &Series, l: &Series| {
                let mut row = ratio_row(what.to_string(), s.wall(), l.wall(), None);
                row.target = format!(
                    "reported; {} + {} of {} waited ≥ 30 ms beyond the plugin",
                    s.stalls,
                    l.stalls,
                    s.wall.len() + l.wall.len()
                );
                row
            };
            rows.push(stalled(
                &format!("{label}: pull by tag (GET manifest, uncached), wall"),
                &s.pull,
                &l.pull,
            ));
            rows.push(ratio_row(
                format!("{label}: pull by tag, plugin (`handle`)"),
                s.pull.handle(),
                l.pull.handle(),
                Some(2.0),
            ));
            rows.push(stalled(
                &format!("{label}: manifest 404 (unknown tag), wall"),
                &s.missing,
                &l.missing,
            ));
            rows.push(ratio_row(
                format!("{label}: manifest 404, plugin (`handle`)"),
                s.missing.handle(),
                l.missing.handle(),
                Some(2.0),
            ));
        }
    }
    println!();
    println!(
        "Medians: publishes of {PUBLISHES}, uncached reads of {ROUNDS}, pulls and 404s of {PULLS}; size 10 and the large package live in the same server."
    );
    println!();
    println!("| measurement | size 10 | at scale | ratio | target |");
    println!("| --- | --- | --- | --- | --- |");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.what, r.small, r.large, r.ratio, r.target
        );
    }
    println!();
    println!(
        "| seeding over HTTP ({SEED_THREADS} clients) | items | time | items/s | writes retried after a 503 |"
    );
    println!("| --- | --- | --- | --- | --- |");
    for (format, [_, l]) in &results {
        println!(
            "| {format} | {} | {:.1} s | {:.0} | {} |",
            l.items,
            l.seed.as_secs_f64(),
            l.items as f64 / l.seed.as_secs_f64(),
            l.retried
        );
    }
    let data = server.dir.path().join("data");
    let db: u64 = ["wharf.sqlite", "wharf.sqlite-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(data.join(f)).ok())
        .map(|m| m.len())
        .sum();
    println!();
    println!(
        "database at the end: {:.1} MiB (wharf.sqlite and its WAL)",
        db as f64 / (1 << 20) as f64
    );
    println!("total time {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}
