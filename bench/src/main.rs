//! `cargo run --release -p wharf-bench`: measures a real wharf on loopback.
//!
//! 1. cold start to the first `/health` 200, first (compiling) and second
//!    (compiled components cached) start, and idle RSS;
//! 2. warm packument GET of a 100-version package against a minimal axum
//!    handler serving the same bytes, both with wrk, 64 keep-alive connections;
//! 3. per-request plugin overhead (classify + handle in a fresh store), the
//!    median of the host's own Server-Timing figures;
//! 4. the packument again as npm asks for it (gzip), against the handler
//!    serving the same compressed bytes;
//! 5. warm downloads, which never enter wasm: a 286-byte tarball and an OCI
//!    manifest pulled by tag, each against the axum handler serving the same
//!    bytes (the manifest also against one sending the registry's headers),
//!    in the same run;
//! 6. server RSS growth while a 50 MiB tarball downloads;
//! 7. the Go `@v/list` of a 100-version module, as `go get` and `go list -m
//!    -versions` ask for it, against the axum handler serving the same bytes;
//! 8. the warm Composer metadata document (`p2/{vendor}/{package}.json`) of a
//!    100-version package, against the axum handler serving the same bytes;
//! 9. the hot RubyGems `/info/{gem}` of a 100-version gem, against the axum
//!    handler serving the same bytes (and again with the same validators:
//!    ETag, Repr-Digest, Digest);
//! 10. Helm's `index.yaml` of a 500-version repository (50 charts × 10
//!     versions): its uncached render (the first GET after a write, which
//!     invalidates it), and the hot GET against the axum handler serving the
//!     same bytes;
//! 11. Debian: the `Packages` index of 2,000 packages, its uncached render
//!     (the first GET after a write) and the signed `InRelease` over it, then
//!     the hot `Packages` against the axum handler serving the same bytes.
//!
//! Everything runs on 127.0.0.1, bounded in time, and stops by itself.

use anyhow::{Context, bail};
use base64::Engine;
use sha2::Digest;
use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use wharf_bench::*;

/// A `.gem` of `name` `version` with two runtime dependencies: a plain tar
/// of `metadata.gz` (the gemspec YAML) and `data.tar.gz`.
fn gem(name: &str, version: &str) -> Vec<u8> {
    use std::io::Write;
    let gz = |bytes: &[u8]| -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    };
    let dep = |dep: &str, op: &str, v: &str| {
        format!(
            "- !ruby/object:Gem::Dependency\n  name: {dep}\n  requirement: !ruby/object:Gem::Requirement\n    \
             requirements:\n    - - \"{op}\"\n      - !ruby/object:Gem::Version\n        version: '{v}'\n  \
             type: :runtime\n  prerelease: false\n"
        )
    };
    let spec = format!(
        "--- !ruby/object:Gem::Specification\nname: {name}\nversion: !ruby/object:Gem::Version\n  \
         version: {version}\nplatform: ruby\nauthors:\n- Bench\ndependencies:\n{}{}\
         required_ruby_version: !ruby/object:Gem::Requirement\n  requirements:\n  - - \">=\"\n    \
         - !ruby/object:Gem::Version\n      version: '2.7'\nrubygems_version: 3.3.15\n\
         specification_version: 4\nsummary: benchmark gem\n",
        dep("rack", "~>", "3.0"),
        dep("json", ">=", "2.0"),
    );
    let mut tar = tar::Builder::new(Vec::new());
    for (file, content) in [
        ("metadata.gz", gz(spec.as_bytes())),
        ("data.tar.gz", gz(version.as_bytes())),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o444);
        header.set_cksum();
        tar.append_data(&mut header, file, &content[..]).unwrap();
    }
    tar.into_inner().unwrap()
}

/// A chart archive as `helm package` makes it: `{name}/Chart.yaml` and a
/// template, gzipped.
fn chart(name: &str, version: &str) -> Vec<u8> {
    use std::io::Write;
    let chart_yaml = format!(
        "apiVersion: v2\nname: {name}\nversion: {version}\nappVersion: \"1.16.0\"\n\
         description: A Helm chart for Kubernetes\ntype: application\nkeywords:\n- bench\n\
         maintainers:\n- name: Bench\n  email: bench@example.com\n"
    );
    let mut tar = tar::Builder::new(Vec::new());
    for (file, content) in [
        ("Chart.yaml", chart_yaml.as_bytes()),
        ("templates/cm.yaml", b"kind: ConfigMap\n".as_slice()),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("{name}/{file}"), content)
            .unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

/// The median wall time and the median plugin time (Server-Timing) of the
/// first `index.yaml` GET after a write, over `rounds` deletes and
/// re-uploads of one version.
fn uncached_index(url: &str, auth: &str, rounds: usize) -> anyhow::Result<(f64, f64)> {
    let (mut wall, mut plugin) = (Vec::new(), Vec::new());
    let mut timed_get = || -> anyhow::Result<()> {
        let started = Instant::now();
        let answer = ureq::get(&format!("{url}/helm/index.yaml")).call()?;
        let timing = answer
            .header("server-timing")
            .unwrap_or_default()
            .to_string();
        let mut body = Vec::new();
        answer.into_reader().read_to_end(&mut body)?;
        wall.push(started.elapsed().as_secs_f64() * 1000.0);
        let ms: f64 = timing
            .split(',')
            .filter_map(|p| p.split("dur=").nth(1)?.parse::<f64>().ok())
            .sum();
        plugin.push(ms);
        Ok(())
    };
    for _ in 0..rounds {
        ureq::delete(&format!("{url}/helm/api/charts/chart-0/1.0.0"))
            .set("authorization", auth)
            .call()
            .context("deleting a chart version")?;
        timed_get()?;
        ureq::post(&format!("{url}/helm/api/charts"))
            .set("authorization", auth)
            .send_bytes(&chart("chart-0", "1.0.0"))
            .context("uploading a chart")?;
        timed_get()?;
    }
    Ok((median(wall), median(plugin)))
}
/// Uploads a module zip of `module` at `version` (go.mod and one file).
fn publish_go(url: &str, auth: &str, module: &str, version: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let root = format!("{module}@{version}");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file(format!("{root}/go.mod"), options)?;
    zip.write_all(format!("module {module}\n\ngo 1.21\n").as_bytes())?;
    zip.start_file(format!("{root}/bench.go"), options)?;
    zip.write_all(b"package bench\n")?;
    let body = zip.finish()?.into_inner();
    ureq::put(&format!("{url}/go/{module}/@v/{version}.zip"))
        .set("authorization", auth)
        .send_bytes(&body)
        .with_context(|| format!("uploading {module}@{version}"))?;
    Ok(())
}

/// Pushes a config blob and a manifest tagged `tag` to `name`; returns the
/// manifest's bytes and media type.
fn push_manifest(
    url: &str,
    auth: &str,
    name: &str,
    tag: &str,
) -> anyhow::Result<(Vec<u8>, &'static str)> {
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let digest = |b: &[u8]| format!("sha256:{}", hex::encode(sha2::Sha256::digest(b)));
    ureq::post(&format!(
        "{url}/v2/{name}/blobs/uploads/?digest={}",
        digest(config)
    ))
    .set("authorization", auth)
    .send_bytes(config)
    .context("pushing the config blob")?;
    let media_type = "application/vnd.oci.image.manifest.v1+json";
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": media_type,
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": config.len() },
        "layers": [],
    }))?;
    ureq::put(&format!("{url}/v2/{name}/manifests/{tag}"))
        .set("authorization", auth)
        .set("content-type", media_type)
        .send_bytes(&manifest)
        .context("pushing the manifest")?;
    Ok((manifest, media_type))
}

/// wrk against `url`, then against the axum baseline serving `bytes` with
/// `headers` (`name:value`).
fn beside_baseline(
    dir: &std::path::Path,
    url: &str,
    (bytes, headers): (&[u8], &[String]),
    extra: &[&str],
) -> anyhow::Result<(f64, f64)> {
    let wharf_rps = wrk(url, extra)?;
    let file = dir.join("baseline.bin");
    std::fs::write(&file, bytes)?;
    let port = free_port();
    let mut baseline = Command::new(root().join("target/release/baseline"))
        .args([file.to_str().unwrap(), &port.to_string()])
        .args(headers)
        .spawn()
        .context("starting target/release/baseline")?;
    wait_listening(port)?;
    let baseline_rps = wrk(&format!("http://127.0.0.1:{port}/file"), extra);
    let _ = baseline.kill();
    let _ = baseline.wait();
    Ok((wharf_rps, baseline_rps?))
}

/// A Composer package zip of bench/pkg at `version`.
fn composer_zip(version: &str) -> anyhow::Result<Vec<u8>> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    let manifest = serde_json::json!({
        "name": "bench/pkg", "description": "A package of the benchmark",
        "type": "library", "license": "MIT",
        "require": {"php": ">=8.1", "psr/log": "^3.0"},
        "autoload": {"psr-4": {"Bench\\Pkg\\": "src/"}},
    });
    zip.start_file("composer.json", opts)?;
    zip.write_all(manifest.to_string().as_bytes())?;
    zip.start_file("src/Pkg.php", opts)?;
    zip.write_all(format!("<?php // {version}\n").as_bytes())?;
    Ok(zip.finish()?.into_inner())
}

/// A `.deb` of `name` `version` (amd64): an ar archive of `debian-binary`,
/// `control.tar.gz` and `data.tar.gz`, as `dpkg-deb -Zgzip` builds it.
fn deb(name: &str, version: &str) -> anyhow::Result<Vec<u8>> {
    use std::io::Write;
    let control = format!(
        "Package: {name}\nVersion: {version}\nArchitecture: amd64\n\
         Maintainer: Bench <bench@example.org>\nInstalled-Size: 12\n\
         Depends: libc6 (>= 2.36), libssl3 (>= 3.0.0)\nSection: misc\nPriority: optional\n\
         Description: a package of the benchmark\n Its long description, one line.\n"
    );
    let tgz = |path: &str, bytes: &[u8]| -> anyhow::Result<Vec<u8>> {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, path, bytes)?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar.into_inner()?)?;
        Ok(gz.finish()?)
    };
    let members = [
        ("debian-binary", b"2.0\n".to_vec()),
        ("control.tar.gz", tgz("./control", control.as_bytes())?),
        (
            "data.tar.gz",
            tgz("./usr/share/doc/bench/README", name.as_bytes())?,
        ),
    ];
    let mut out = b"!<arch>\n".to_vec();
    for (member, bytes) in members {
        let len = bytes.len();
        out.extend_from_slice(
            format!(
                "{member:<16}{:<12}{:<6}{:<6}{:<8}{len:<10}`\n",
                0, 0, 0, 100644
            )
            .as_bytes(),
        );
        out.extend_from_slice(&bytes);
        if len % 2 == 1 {
            out.push(b'\n');
        }
    }
    Ok(out)
}

/// Uploads `bench-{i}` 1.0 to the `stable` distribution.
fn upload_deb(url: &str, auth: &str, i: usize) -> anyhow::Result<()> {
    let name = format!("bench-{i}");
    ureq::put(&format!(
        "{url}/deb/upload/stable/main/{name}_1.0_amd64.deb"
    ))
    .set("authorization", auth)
    .send_bytes(&deb(&name, "1.0")?)
    .with_context(|| format!("uploading {name}"))?;
    Ok(())
}

/// Milliseconds of the first GET of `url` (the render), and its body.
fn timed_get(url: &str) -> anyhow::Result<(f64, Vec<u8>)> {
    let started = Instant::now();
    let mut body = Vec::new();
    ureq::get(url)
        .call()?
        .into_reader()
        .read_to_end(&mut body)?;
    Ok((started.elapsed().as_secs_f64() * 1000.0, body))
}

/// Waits until something accepts connections on 127.0.0.1:`port`.
fn wait_listening(port: u16) -> anyhow::Result<()> {
    let until = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > until {
            bail!("nothing listens on port {port}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    ensure("wrk", "wrk")?;
    let dir = prepare(&["npm", "oci", "go", "composer", "rubygems", "helm", "deb"])?;

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
        publish_npm(
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

    let (wharf_rps, baseline_rps) = beside_baseline(dir.path(), &packument_url, (&doc, &[]), &[])?;
    // As npm asks for it: gzip, made once per document; the baseline sends
    // the same compressed bytes.
    let gzip = ureq::get(&packument_url)
        .set("accept-encoding", "gzip")
        .call()?;
    if gzip.header("content-encoding") != Some("gzip") {
        bail!("the packument was not served with gzip");
    }
    let mut gz = Vec::new();
    gzip.into_reader().read_to_end(&mut gz)?;
    let gz_headers = ["content-encoding:gzip".to_string()];
    let accept_gzip = ["-H", "Accept-Encoding: gzip"];
    let (gzip_rps, gzip_baseline) =
        beside_baseline(dir.path(), &packument_url, (&gz, &gz_headers), &accept_gzip)?;

    // Warm downloads: a 286-byte tarball, and a manifest pulled by tag.
    let tiny: Vec<u8> = (0..286u32).map(|i| (i * 7) as u8).collect();
    publish_npm(&wharf.url, &auth, "tiny-pkg", "1.0.0", &tiny)?;
    let tarball_url = format!("{}/npm/tiny-pkg/-/tiny-pkg-1.0.0.tgz", wharf.url);
    let (tarball_rps, tarball_baseline) =
        beside_baseline(dir.path(), &tarball_url, (&tiny, &[]), &[])?;
    let (manifest, media_type) = push_manifest(&wharf.url, &auth, "bench/app", "1.0")?;
    let manifest_url = format!("{}/v2/bench/app/manifests/1.0", wharf.url);
    let accept = format!("Accept: {media_type}");
    let (manifest_rps, manifest_baseline) = beside_baseline(
        dir.path(),
        &manifest_url,
        (&manifest, &[]),
        &["-H", &accept],
    )?;
    // The same again with the baseline sending the registry's headers too
    // (digest, validator, Vary, Accept-Ranges): what the protocol costs.
    let answer = ureq::get(&manifest_url).set("accept", media_type).call()?;
    let manifest_headers: Vec<String> = [
        "content-type",
        "docker-content-digest",
        "etag",
        "vary",
        "accept-ranges",
    ]
    .iter()
    .filter_map(|h| Some(format!("{h}:{}", answer.header(h)?)))
    .collect();
    let (_, manifest_same_headers) = beside_baseline(
        dir.path(),
        &manifest_url,
        (&manifest, &manifest_headers),
        &["-H", &accept],
    )?;

    // The Go module list of a 100-version module.
    let module = "example.com/bench/mod";
    for i in 0..100 {
        publish_go(&wharf.url, &auth, module, &format!("v1.0.{i}"))?;
    }
    let list_url = format!("{}/go/{module}/@v/list", wharf.url);
    let mut list = Vec::new();
    ureq::get(&list_url)
        .call()?
        .into_reader()
        .read_to_end(&mut list)?;
    let list_headers = ["content-type:text/plain; charset=utf-8".to_string()];
    let (list_rps, list_baseline) =
        beside_baseline(dir.path(), &list_url, (&list, &list_headers), &[])?;
    // Composer: the p2 document of a 100-version package, as composer asks for it.
    for i in 0..100 {
        let version = format!("1.0.{i}");
        ureq::put(&format!(
            "{}/composer/packages/upload/bench/pkg/{version}",
            wharf.url
        ))
        .set("authorization", &auth)
        .send_bytes(&composer_zip(&version)?)
        .context("uploading a composer package")?;
    }
    let p2_url = format!("{}/composer/p2/bench/pkg.json", wharf.url);
    let mut p2 = Vec::new();
    ureq::get(&p2_url)
        .call()?
        .into_reader()
        .read_to_end(&mut p2)?;
    let (p2_rps, p2_baseline) = beside_baseline(dir.path(), &p2_url, (&p2, &[]), &[])?;

    // The hot RubyGems /info/{gem} of a 100-version gem.
    for i in 0..100 {
        ureq::post(&format!("{}/rubygems/api/v1/gems", wharf.url))
            .set("authorization", &auth)
            .set("content-type", "application/octet-stream")
            .send_bytes(&gem("bench-gem", &format!("1.0.{i}")))
            .with_context(|| format!("pushing bench-gem 1.0.{i}"))?;
    }
    let info_url = format!("{}/rubygems/info/bench-gem", wharf.url);
    let answer = ureq::get(&info_url).call()?;
    let info_headers: Vec<String> = ["content-type", "etag", "repr-digest", "digest"]
        .iter()
        .filter_map(|h| Some(format!("{h}:{}", answer.header(h)?)))
        .collect();
    let mut info = Vec::new();
    answer.into_reader().read_to_end(&mut info)?;
    let (info_rps, info_baseline) = beside_baseline(dir.path(), &info_url, (&info, &[]), &[])?;
    let (_, info_same_headers) =
        beside_baseline(dir.path(), &info_url, (&info, &info_headers), &[])?;

    // Helm: index.yaml of 500 chart versions, uncached and hot.
    for c in 0..50 {
        for v in 0..10 {
            let name = format!("chart-{c}");
            ureq::post(&format!("{}/helm/api/charts", wharf.url))
                .set("authorization", &auth)
                .send_bytes(&chart(&name, &format!("1.{v}.0")))
                .with_context(|| format!("uploading {name}"))?;
        }
    }
    // chart-0 1.0.0 is the version the uncached rounds delete and upload again.
    let (render_wall, render_plugin) = uncached_index(&wharf.url, &auth, 10)?;
    let index_url = format!("{}/helm/index.yaml", wharf.url);
    let mut index = Vec::new();
    ureq::get(&index_url)
        .call()?
        .into_reader()
        .read_to_end(&mut index)?;
    let index_headers = ["content-type:application/yaml; charset=utf-8".to_string()];
    let (index_rps, index_baseline) =
        beside_baseline(dir.path(), &index_url, (&index, &index_headers), &[])?;
    // Debian: Packages of 2,000 packages; three uncached renders (each the
    // first GET after an upload), InRelease likewise, then the hot index.
    let upload_started = Instant::now();
    for i in 0..2_000 {
        upload_deb(&wharf.url, &auth, i)?;
    }
    let deb_upload_ms = upload_started.elapsed().as_secs_f64() * 1000.0 / 2_000.0;
    let packages_url = format!("{}/deb/dists/stable/main/binary-amd64/Packages", wharf.url);
    let in_release_url = format!("{}/deb/dists/stable/InRelease", wharf.url);
    let (mut packages_ms, mut in_release_ms, mut packages) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..3 {
        upload_deb(&wharf.url, &auth, 2_000 + i)?;
        let (ms, body) = timed_get(&packages_url)?;
        packages_ms.push(ms);
        packages = body;
        in_release_ms.push(timed_get(&in_release_url)?.0);
    }
    let packages_headers = ["content-type:text/plain; charset=utf-8".to_string()];
    let (packages_rps, packages_baseline) = beside_baseline(
        dir.path(),
        &packages_url,
        (&packages, &packages_headers),
        &[],
    )?;

    // 50 MiB tarball: RSS growth while it streams to a client.
    let big: Vec<u8> = (0..50u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    publish_npm(&wharf.url, &auth, "big-pkg", "1.0.0", &big)?;
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
        "| warm packument GET, Accept-Encoding: gzip ({} bytes), wharf | {gzip_rps:.0} req/s |",
        gz.len()
    );
    println!("| same gzip bytes, minimal axum handler | {gzip_baseline:.0} req/s |");
    println!("| wharf / baseline | {:.2} |", gzip_rps / gzip_baseline);
    println!("| warm 286-byte tarball GET, wharf | {tarball_rps:.0} req/s |");
    println!("| same bytes, minimal axum handler | {tarball_baseline:.0} req/s |");
    println!(
        "| wharf / baseline | {:.2} |",
        tarball_rps / tarball_baseline
    );
    println!(
        "| warm OCI manifest GET by tag ({} bytes), wharf | {manifest_rps:.0} req/s |",
        manifest.len()
    );
    println!("| same bytes, minimal axum handler | {manifest_baseline:.0} req/s |");
    println!(
        "| wharf / baseline | {:.2} |",
        manifest_rps / manifest_baseline
    );
    println!(
        "| same bytes and the same five headers, axum handler | {manifest_same_headers:.0} req/s |"
    );
    println!(
        "| wharf / that baseline | {:.2} |",
        manifest_rps / manifest_same_headers
    );
    println!(
        "| warm Go @v/list GET, 100 versions ({} bytes), wharf | {list_rps:.0} req/s |",
        list.len()
    );
    println!("| same bytes, minimal axum handler | {list_baseline:.0} req/s |");
    println!("| wharf / baseline | {:.2} |", list_rps / list_baseline);
    println!(
        "| warm Composer p2/bench/pkg.json, 100 versions ({} bytes), wharf | {p2_rps:.0} req/s |",
        p2.len()
    );
    println!("| same bytes, minimal axum handler | {p2_baseline:.0} req/s |");
    println!("| wharf / baseline | {:.2} |", p2_rps / p2_baseline);
    println!(
        "| warm RubyGems /info/{{gem}} GET, 100 versions ({} bytes), wharf | {info_rps:.0} req/s |",
        info.len()
    );
    println!("| same bytes, minimal axum handler | {info_baseline:.0} req/s |");
    println!("| wharf / baseline | {:.2} |", info_rps / info_baseline);
    println!(
        "| same bytes and validators (ETag, Repr-Digest, Digest), axum handler | {info_same_headers:.0} req/s |"
    );
    println!(
        "| wharf / that baseline | {:.2} |",
        info_rps / info_same_headers
    );
    println!(
        "| Helm index.yaml, 500 versions ({} bytes), uncached render (first GET after a write), median of 20 | {render_wall:.1} ms (plugin {render_plugin:.1} ms) |",
        index.len()
    );
    println!("| hot index.yaml GET, wharf | {index_rps:.0} req/s |");
    println!("| same bytes, minimal axum handler | {index_baseline:.0} req/s |");
    println!("| wharf / baseline | {:.2} |", index_rps / index_baseline);
    println!(
        "| Debian .deb upload (PUT, control.tar.gz read in the sandbox), mean of 2,000 | {deb_upload_ms:.1} ms |"
    );
    println!(
        "| Debian Packages of 2,003 packages ({} bytes), uncached render (first GET after a write), median of 3 | {:.0} ms |",
        packages.len(),
        median(packages_ms)
    );
    println!(
        "| Debian InRelease over them (Packages, .gz, .xz of 2 architectures, signed), uncached, median of 3 | {:.0} ms |",
        median(in_release_ms)
    );
    println!("| hot Debian Packages GET, wharf | {packages_rps:.0} req/s |");
    println!("| same bytes, minimal axum handler | {packages_baseline:.0} req/s |");
    println!(
        "| wharf / baseline | {:.2} |",
        packages_rps / packages_baseline
    );
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
