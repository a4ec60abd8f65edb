//! Seed inputs: one valid example of everything a target parses, so that
//! libFuzzer starts from deep inside each protocol instead of guessing a
//! `.crate`'s framing or a wheel's zip from nothing.

use crate::requests::render;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use sha2::{Digest, Sha256, Sha512};
use std::io::Write;

/// The boundary the multipart target's body uses.
pub const BOUNDARY: &str = "fuzzb0undary";
/// The pointer the JSON-base64 target decodes (npm's attachments).
pub const PAYLOADS: &str = "/_attachments/*/data";

/// A target's start-up hook: with `WHARF_FUZZ_SEEDS=<dir>` in the
/// environment it writes its seeds there and exits, so `cargo xtask fuzz`
/// needs no second build of the seed code.
pub fn write_if_asked(target: &str) {
    let Some(dir) = std::env::var_os("WHARF_FUZZ_SEEDS") else {
        return;
    };
    let seeds = of(target).expect("a known target");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, seed) in seeds.iter().enumerate() {
        std::fs::write(std::path::Path::new(&dir).join(format!("seed-{i}")), seed).unwrap();
    }
    std::process::exit(0);
}

/// The seeds of a target, by name; `None` for an unknown target.
pub fn of(target: &str) -> Option<Vec<Vec<u8>>> {
    Some(match target {
        "archive" => archive(),
        "credentials" => credentials(),
        "json_base64" => vec![npm_publish("demo", "1.0.0").into_bytes()],
        "multipart" => vec![twine_form(&wheel("demo_pkg", "1.0"))],
        "router" => router(),
        "npm" => npm(),
        "oci" => oci(),
        "cargo" => cargo(),
        "maven" => maven(),
        "pypi" => pypi(),
        "go" => go(),
        "composer" => composer(),
        "raw" => raw(),
        "rubygems" => rubygems(),
        "helm" => helm(),
        "deb" => deb(),
        _ => return None,
    })
}

fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, path, *data).unwrap();
    }
    tar.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, data) in files {
        zip.start_file(*path, deflated).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// The archive target's first byte picks the reader: 0 tar.gz, 1 tar,
/// 2 zip, 3 ar, 4 tar.xz, 5 tar.zst.
fn archive() -> Vec<Vec<u8>> {
    let files: &[(&str, &[u8])] = &[
        ("pkg/Cargo.toml", b"[package]\nname = \"demo\"\n"),
        ("pkg/src/lib.rs", b"pub fn f() {}\n"),
    ];
    let with_kind = |kind: u8, bytes: Vec<u8>| [vec![kind], bytes].concat();
    vec![
        with_kind(0, gzip(&tar(files))),
        with_kind(1, tar(files)),
        with_kind(2, zip(files)),
        with_kind(
            3,
            ar(&[("debian-binary", b"2.0\n"), ("data.tar", &tar(files))]),
        ),
        with_kind(4, xz(&tar(files))),
        with_kind(5, zstd(&tar(files))),
    ]
}

fn xz(data: &[u8]) -> Vec<u8> {
    let options = lzma_rust2::XzOptions::with_preset(6);
    let mut xz = lzma_rust2::XzWriter::new(Vec::new(), options).unwrap();
    xz.write_all(data).unwrap();
    xz.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

/// An `ar` archive, as `dpkg-deb` writes a `.deb`.
fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, data) in members {
        let header = format!(
            "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            0,
            0,
            0,
            100644,
            data.len()
        );
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

/// A `.deb` of `hello` (control.tar compressed `xz` or gzip).
fn deb_package(version: &str, arch: &str, compress_xz: bool) -> Vec<u8> {
    let control = format!(
        "Package: hello\nVersion: {version}\nArchitecture: {arch}\nSource: hello-src\n\
         Maintainer: Fuzz <fuzz@example.org>\nDescription: demo\n more\n"
    );
    let control_tar = tar(&[("./control", control.as_bytes())]);
    let (name, packed) = match compress_xz {
        true => ("control.tar.xz", xz(&control_tar)),
        false => ("control.tar.gz", gzip(&control_tar)),
    };
    let data = gzip(&tar(&[("./usr/share/doc/hello/README", b"hi\n")]));
    ar(&[
        ("debian-binary", b"2.0\n"),
        (name, &packed),
        ("data.tar.gz", &data),
    ])
}

fn deb() -> Vec<Vec<u8>> {
    let amd64 = deb_package("1:2.0-1", "amd64", true);
    let all = deb_package("1.0", "all", false);
    vec![
        render(&[
            (
                "PUT",
                "upload/stable/main/hello_2.0-1_amd64.deb",
                &[],
                &amd64,
            ),
            (
                "GET",
                "dists/stable/main/binary-amd64/Packages.gz",
                &[],
                b"",
            ),
            ("GET", "dists/stable/InRelease", &[], b""),
            (
                "GET",
                "pool/main/h/hello-src/hello_2.0-1_amd64.deb",
                &[],
                b"",
            ),
            ("DELETE", "packages/hello/1:2.0-1", &[], b""),
        ]),
        render(&[
            ("PUT", "upload/stable/contrib/hello_1.0_all.deb", &[], &all),
            (
                "GET",
                "dists/stable/contrib/binary-arm64/Packages",
                &[],
                b"",
            ),
            ("GET", "dists/stable/Release.gpg", &[], b""),
            (
                "GET",
                "dists/stable/contrib/binary-arm64/by-hash/SHA256/00",
                &[],
                b"",
            ),
            ("GET", "key.asc", &[], b""),
        ]),
    ]
}

fn credentials() -> Vec<Vec<u8>> {
    let basic = |text: &str| format!("Basic {}", STANDARD.encode(text));
    [
        basic("alice:secret"),
        basic(":"),
        basic("__token__:wharf_abc"),
        "Bearer wharf_abc".into(),
        "Bearer eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2ln".into(),
        "wharf_raw".into(),
        // The other half of the target: a token request's scope.
        "\nrepository:team/app:pull,push".into(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

fn router() -> Vec<Vec<u8>> {
    [
        "v2/a/b/c/manifests/latest",
        "v2/x/blobs/sha256:00",
        "de/mo/demo",
        "a%2Fb/-/a-1.0.0.tgz",
    ]
    .into_iter()
    .map(|p| p.as_bytes().to_vec())
    .collect()
}

fn npm_publish(name: &str, version: &str) -> String {
    let tarball = gzip(&tar(&[(
        "package/package.json",
        format!(r#"{{"name":"{name}","version":"{version}"}}"#).as_bytes(),
    )]));
    let file = format!("{name}-{version}.tgz");
    json!({
        "_id": name, "name": name, "dist-tags": { "latest": version },
        "versions": { version: { "name": name, "version": version, "dist": {
            "integrity": format!("sha512-{}", STANDARD.encode(Sha512::digest(&tarball))),
            "tarball": format!("http://registry.test/test/{name}/-/{file}") } } },
        "_attachments": { file: { "content_type": "application/octet-stream",
            "data": STANDARD.encode(&tarball), "length": tarball.len() } }
    })
    .to_string()
}

fn npm() -> Vec<Vec<u8>> {
    let json = &[("content-type", "application/json")][..];
    vec![
        render(&[
            ("PUT", "demo", json, npm_publish("demo", "1.0.0").as_bytes()),
            (
                "GET",
                "demo",
                &[("accept", "application/vnd.npm.install-v1+json")],
                b"",
            ),
            ("GET", "demo/-/demo-1.0.0.tgz", &[], b""),
            ("PUT", "-/package/demo/dist-tags/next", json, b"\"1.0.0\""),
            ("DELETE", "demo/-rev/1", &[], b""),
        ]),
        render(&[
            (
                "POST",
                "-/v1/login",
                json,
                br#"{"name":"alice","password":"pw"}"#,
            ),
            ("GET", "-/v1/search?text=demo&size=5", &[], b""),
        ]),
    ]
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", wharf_sdk::hex(Sha256::digest(data)))
}

fn oci() -> Vec<Vec<u8>> {
    let (config, layer) = (b"{}".as_slice(), b"layer".as_slice());
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config), "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(layer), "size": 5}],
    })
    .to_string();
    let media = &[("content-type", "application/vnd.oci.image.manifest.v1+json")][..];
    let upload = |d: &[u8]| format!("/v2/team/app/blobs/uploads/?digest={}", sha256(d));
    vec![render(&[
        ("POST", &upload(config), &[], config),
        ("POST", &upload(layer), &[], layer),
        (
            "PUT",
            "/v2/team/app/manifests/v1",
            media,
            manifest.as_bytes(),
        ),
        (
            "GET",
            "/v2/team/app/manifests/v1",
            &[("accept", "application/vnd.oci.image.manifest.v1+json")],
            b"",
        ),
        ("GET", "/v2/team/app/tags/list?n=10", &[], b""),
        ("DELETE", "/v2/team/app/manifests/v1", &[], b""),
    ])]
}

fn cargo() -> Vec<Vec<u8>> {
    let manifest = b"[package]\nedition = \"2021\"\nname = \"demo\"\nversion = \"1.0.0\"\n";
    let krate = gzip(&tar(&[
        ("demo-1.0.0/Cargo.toml", manifest),
        ("demo-1.0.0/src/lib.rs", b"pub fn f() {}\n"),
    ]));
    let meta = json!({
        "name": "demo", "vers": "1.0.0", "deps": [], "features": {}, "authors": [],
        "description": "a demo", "license": "MIT", "keywords": [], "categories": [],
        "badges": {}, "links": null, "rust_version": null,
    })
    .to_string();
    let mut body = (meta.len() as u32).to_le_bytes().to_vec();
    body.extend_from_slice(meta.as_bytes());
    body.extend_from_slice(&(krate.len() as u32).to_le_bytes());
    body.extend_from_slice(&krate);
    vec![render(&[
        ("PUT", "api/v1/crates/new", &[], &body),
        ("GET", "de/mo/demo", &[], b""),
        ("GET", "api/v1/crates/demo/1.0.0/download", &[], b""),
        ("DELETE", "api/v1/crates/demo/1.0.0/yank", &[], b""),
        (
            "PUT",
            "api/v1/crates/demo/owners",
            &[],
            br#"{"users":["bob"]}"#,
        ),
        ("GET", "api/v1/crates?q=dem&per_page=5", &[], b""),
    ])]
}

fn maven() -> Vec<Vec<u8>> {
    let dir = "com/acme/demo/1.0";
    let pom = b"<project><groupId>com.acme</groupId><artifactId>demo</artifactId><version>1.0</version></project>";
    let jar = zip(&[("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n")]);
    let metadata = b"<metadata><groupId>com.acme</groupId><artifactId>demo</artifactId>\
        <versioning><versions><version>1.0</version></versions></versioning></metadata>";
    vec![render(&[
        ("PUT", &format!("{dir}/demo-1.0.jar"), &[], &jar),
        ("PUT", &format!("{dir}/demo-1.0.pom"), &[], pom),
        (
            "PUT",
            &format!("{dir}/demo-1.0.pom.sha1"),
            &[],
            b"0000000000000000000000000000000000000000",
        ),
        ("PUT", "com/acme/demo/maven-metadata.xml", &[], metadata),
        ("GET", "com/acme/demo/maven-metadata.xml", &[], b""),
        ("GET", &format!("{dir}/demo-1.0.jar.sha256"), &[], b""),
    ])]
}

fn wheel(name: &str, version: &str) -> Vec<u8> {
    let metadata = format!(
        "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nRequires-Python: >=3.8\n"
    );
    zip(&[
        (&format!("{name}/__init__.py"), b"VALUE = 1\n"),
        (
            &format!("{name}-{version}.dist-info/METADATA"),
            metadata.as_bytes(),
        ),
        (
            &format!("{name}-{version}.dist-info/WHEEL"),
            b"Wheel-Version: 1.0\n",
        ),
    ])
}

/// The form twine sends for a wheel.
fn twine_form(wheel: &[u8]) -> Vec<u8> {
    let digest = wharf_sdk::hex(Sha256::digest(wheel));
    let fields = [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("name", "demo_pkg"),
        ("version", "1.0"),
        ("filetype", "bdist_wheel"),
        ("pyversion", "py3"),
        ("metadata_version", "2.1"),
        ("sha256_digest", digest.as_str()),
    ];
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"content\"; \
             filename=\"demo_pkg-1.0-py3-none-any.whl\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(wheel);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn pypi() -> Vec<Vec<u8>> {
    let form = twine_form(&wheel("demo_pkg", "1.0"));
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    vec![render(&[
        ("POST", "legacy/", &[("content-type", &content_type)], &form),
        (
            "GET",
            "simple/demo-pkg/",
            &[("accept", "application/vnd.pypi.simple.v1+json")],
            b"",
        ),
        (
            "GET",
            "files/demo-pkg/demo_pkg-1.0-py3-none-any.whl.metadata",
            &[],
            b"",
        ),
        ("GET", "pypi/demo-pkg/json", &[], b""),
        ("POST", "pypi/demo-pkg/1.0/yank?reason=bad", &[], b""),
        ("DELETE", "pypi/demo-pkg/1.0", &[], b""),
    ])]
}

/// A module zip as `go mod download` stores it.
fn go_module_zip(module: &str, version: &str) -> Vec<u8> {
    let root = format!("{module}@{version}");
    zip(&[
        (
            &format!("{root}/go.mod"),
            format!("module {module}\n\ngo 1.21\n").as_bytes(),
        ),
        (
            &format!("{root}/greet/greet.go"),
            b"package greet\n\nfunc Hello() string { return \"hi\" }\n",
        ),
        (&format!("{root}/LICENSE"), b"Apache-2.0\n"),
    ])
}

fn go() -> Vec<Vec<u8>> {
    let module = "example.com/Demo/greet";
    let escaped = "example.com/!demo/greet";
    let upload = |version: &str| go_module_zip(module, version);
    let v1 = upload("v1.0.0");
    let pseudo = upload("v0.0.0-20240101120000-abcdef123456");
    let v2 = go_module_zip("example.com/demo/v2", "v2.1.0-!r!c.1");
    vec![
        render(&[
            ("PUT", &format!("{escaped}/@v/v1.0.0.zip"), &[], &v1),
            ("GET", &format!("{escaped}/@v/list"), &[], b""),
            ("GET", &format!("{escaped}/@latest"), &[], b""),
            ("GET", &format!("{escaped}/@v/v1.0.0.info"), &[], b""),
            ("GET", &format!("{escaped}/@v/v1.0.0.mod"), &[], b""),
            ("GET", &format!("{escaped}/@v/v1.0.0.zip"), &[], b""),
        ]),
        render(&[
            ("PUT", &format!("{escaped}/@v/v1.0.0.zip"), &[], &v1),
            ("POST", &format!("{escaped}/@v/v1.0.0/yank"), &[], b""),
            ("GET", &format!("{escaped}/@v/list"), &[], b""),
            ("POST", &format!("{escaped}/@v/v1.0.0/unyank"), &[], b""),
            ("DELETE", &format!("{escaped}/@v/v1.0.0"), &[], b""),
            ("GET", &format!("{escaped}/@v/v1.0.0.info"), &[], b""),
        ]),
        render(&[
            (
                "PUT",
                &format!("{escaped}/@v/v0.0.0-20240101120000-abcdef123456.zip"),
                &[],
                &pseudo,
            ),
            ("GET", &format!("{escaped}/@latest"), &[], b""),
        ]),
        render(&[
            ("PUT", "example.com/demo/v2/@v/v2.1.0-!r!c.1.zip", &[], &v2),
            ("GET", "example.com/demo/v2/@v/list", &[], b""),
        ]),
    ]
}

fn composer() -> Vec<Vec<u8>> {
    let manifest = json!({
        "name": "acme/hello", "type": "library", "license": "MIT",
        "require": {"php": ">=8.0"},
        "autoload": {"psr-4": {"Acme\\": "src/"}},
    })
    .to_string();
    let package = zip(&[
        ("acme-hello-1a2b3c/composer.json", manifest.as_bytes()),
        (
            "acme-hello-1a2b3c/src/Hello.php",
            b"<?php namespace Acme; class Hello {}\n",
        ),
    ]);
    let zip_type: &[(&str, &str)] = &[("content-type", "application/zip")];
    vec![
        render(&[
            (
                "PUT",
                "packages/upload/acme/hello/v1.0.0-beta2",
                zip_type,
                &package,
            ),
            ("GET", "packages.json", &[], b""),
            ("GET", "p2/acme/hello.json", &[], b""),
            ("GET", "dists/acme/hello/1.0.0.0-beta2.zip", &[], b""),
            ("DELETE", "packages/acme/hello/1.0.0-beta2", &[], b""),
        ]),
        render(&[
            (
                "PUT",
                "packages/upload/acme/hello/dev-main",
                zip_type,
                &package,
            ),
            ("GET", "p2/acme/hello~dev.json", &[], b""),
        ]),
    ]
}

fn raw() -> Vec<Vec<u8>> {
    let html: &[(&str, &str)] = &[("accept", "text/html")];
    vec![render(&[
        ("PUT", "builds/1.0/app.tar.gz", &[], b"bytes of a build"),
        ("GET", "builds/1.0/app.tar.gz", &[], b""),
        ("GET", "builds/", html, b""),
        ("GET", "builds/1.0/?after=builds%2F1.0%2Fa", &[], b""),
        ("GET", "", &[], b""),
        ("DELETE", "builds/1.0/app.tar.gz", &[], b""),
    ])]
}

fn rubygems() -> Vec<Vec<u8>> {
    let spec = b"--- !ruby/object:Gem::Specification\nname: demo\nversion: !ruby/object:Gem::Version\n  \
        version: 1.0.0\nplatform: ruby\nauthors:\n- A\ndependencies:\n- !ruby/object:Gem::Dependency\n  \
        name: base\n  requirement: &1 !ruby/object:Gem::Requirement\n    requirements:\n    - - \">=\"\n      \
        - !ruby/object:Gem::Version\n        version: '1.0'\n  type: :runtime\n  prerelease: false\n  \
        version_requirements: *1\nrequired_ruby_version: !ruby/object:Gem::Requirement\n  requirements:\n  \
        - - \">=\"\n    - !ruby/object:Gem::Version\n      version: '2.5'\nrubygems_version: 3.3.15\n\
        specification_version: 4\nsummary: a demo\n";
    let gem = tar(&[
        ("metadata.gz", &gzip(spec)),
        (
            "data.tar.gz",
            &gzip(&tar(&[("lib/demo.rb", b"module Demo; end\n")])),
        ),
    ]);
    vec![render(&[
        ("POST", "api/v1/gems", &[], &gem),
        ("GET", "info/demo", &[], b""),
        ("GET", "versions", &[("range", "bytes=10-")], b""),
        ("GET", "quick/Marshal.4.8/demo-1.0.0.gemspec.rz", &[], b""),
        (
            "DELETE",
            "api/v1/gems/yank",
            &[],
            b"gem_name=demo&version=1.0.0",
        ),
        ("POST", "api/v1/gems/demo/owners", &[], b"email=bob"),
    ])]
}

fn helm() -> Vec<Vec<u8>> {
    let chart_yaml = "apiVersion: v2\nname: demo\nversion: 1.0.0-rc.1+b\ndescription: \"a: demo\"\n\
        keywords:\n- web\nmaintainers:\n- name: A\n  email: a@example.com\ndependencies:\n\
        - name: base\n  version: ^1.0.0\n  repository: https://charts.example.com\n  enabled: true\n  \
        import-values:\n  - data\n  - child: c\n    parent: p\nannotations:\n  k: v\n";
    let chart = gzip(&tar(&[
        ("demo/Chart.yaml", chart_yaml.as_bytes()),
        ("demo/values.yaml", b"replicas: 1\n"),
        ("demo/templates/cm.yaml", b"kind: ConfigMap\n"),
    ]));
    let sha = wharf_sdk::hex(Sha256::digest(&chart));
    let prov = format!(
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n{}\n...\nfiles:\n  \
         demo-1.0.0-rc.1+b.tgz: sha256:{sha}\n-----BEGIN PGP SIGNATURE-----\n\nwsBc\n\
         -----END PGP SIGNATURE-----\n",
        chart_yaml.replace("\n-", "\n- -")
    );
    let mut form = Vec::new();
    for (field, data) in [("chart", &chart[..]), ("prov", prov.as_bytes())] {
        form.extend(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; \
                 filename=\"{field}\"\r\n\r\n"
            )
            .as_bytes(),
        );
        form.extend(data);
        form.extend(b"\r\n");
    }
    form.extend(format!("--{BOUNDARY}--\r\n").as_bytes());
    let multipart = format!("multipart/form-data; boundary={BOUNDARY}");
    vec![
        render(&[
            ("POST", "api/charts", &[], &chart),
            ("POST", "api/prov", &[], prov.as_bytes()),
            ("GET", "index.yaml", &[], b""),
            ("GET", "charts/demo-1.0.0-rc.1+b.tgz.prov", &[], b""),
            ("GET", "api/charts/demo/latest", &[], b""),
            ("DELETE", "api/charts/demo/1.0.0-rc.1+b", &[], b""),
        ]),
        render(&[
            (
                "POST",
                "api/charts?force",
                &[("content-type", &multipart)],
                &form,
            ),
            ("GET", "api/charts", &[], b""),
        ]),
    ]
}
