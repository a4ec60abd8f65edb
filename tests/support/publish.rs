//! The bodies each format's client publishes with, for tests that talk
//! HTTP themselves: a PyPI wheel and twine's upload form, a `.crate` and
//! cargo's framed publish, a `.gem`. (npm's is `npm_publish_body`, OCI's `oci.rs`.)

use sha2::{Digest, Sha256};
use std::io::Write;

/// A wheel holding `data` (the plugin reads its METADATA).
pub fn pypi_wheel(name: &str, version: &str, data: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let metadata = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    zip.start_file(format!("{name}-{version}.dist-info/METADATA"), stored)
        .unwrap();
    zip.write_all(metadata.as_bytes()).unwrap();
    zip.start_file(format!("{name}/data.bin"), stored).unwrap();
    zip.write_all(data).unwrap();
    zip.finish().unwrap().into_inner()
}

/// The wheel's file name.
pub fn pypi_wheel_name(name: &str, version: &str) -> String {
    format!("{name}-{version}-py3-none-any.whl")
}

/// twine's upload of `wheel`: the content type and the form.
pub fn pypi_upload(name: &str, version: &str, wheel: &[u8]) -> (String, Vec<u8>) {
    let digest = hex::encode(Sha256::digest(wheel));
    let fields = [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("name", name),
        ("version", version),
        ("filetype", "bdist_wheel"),
        ("pyversion", "py3"),
        ("metadata_version", "2.1"),
        ("sha256_digest", &digest),
    ];
    twine_form(&fields, &pypi_wheel_name(name, version), wheel)
}

/// A multipart upload body as twine sends it: the text fields, then the
/// file as `content`. The content type and the body.
pub fn twine_form(fields: &[(&str, &str)], filename: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "wharf-test-boundary";
    let mut body = Vec::new();
    for (field, value) in fields {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"{filename}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend(content);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A `.crate` the plugin accepts: a tar.gz whose Cargo.toml names it,
/// holding `data` (stored, not compressed: test payloads are often random).
pub fn cargo_crate(name: &str, version: &str, data: &[u8]) -> Vec<u8> {
    let root = format!("{name}-{version}");
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    let mut tar = tar::Builder::new(gz);
    let manifest = format!("[package]\nname = \"{name}\"\nversion = \"{version}\"\n");
    for (file, content) in [("Cargo.toml", manifest.as_bytes()), ("data.bin", data)] {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("{root}/{file}"), content)
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// `cargo publish`'s body: the JSON metadata and the crate, each after
/// its little-endian length.
pub fn cargo_publish_body(name: &str, version: &str, krate: &[u8]) -> Vec<u8> {
    let meta = serde_json::json!({ "name": name, "vers": version, "deps": [], "features": {} })
        .to_string();
    let mut body = (meta.len() as u32).to_le_bytes().to_vec();
    body.extend_from_slice(meta.as_bytes());
    body.extend_from_slice(&(krate.len() as u32).to_le_bytes());
    body.extend_from_slice(krate);
    body
}

/// A `.gem` as `gem build` makes it: a plain tar of `metadata.gz` (the YAML
/// gemspec, with Ruby's tags) and `data.tar.gz` holding `data`.
pub fn rubygems_gem(name: &str, version: &str, data: &[u8]) -> Vec<u8> {
    let gz = |bytes: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    };
    let spec = format!(
        "--- !ruby/object:Gem::Specification\nname: {name}\n\
         version: !ruby/object:Gem::Version\n  version: {version}\nplatform: ruby\n\
         authors:\n- Wharf\ndependencies: []\nrubygems_version: 3.3.15\n\
         specification_version: 4\nsummary: {name} for the tests\n"
    );
    let mut tar = tar::Builder::new(Vec::new());
    for (file, content) in [
        ("metadata.gz", gz(spec.as_bytes())),
        ("data.tar.gz", gz(data)),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o444);
        header.set_cksum();
        tar.append_data(&mut header, file, &content[..]).unwrap();
    }
    tar.into_inner().unwrap()
}

/// A chart `.tgz` as `helm package` makes it: `{name}/Chart.yaml` and
/// `{name}/values.yaml` holding `data`, gzipped.
pub fn helm_chart(name: &str, version: &str, data: &[u8]) -> Vec<u8> {
    let chart_yaml = format!(
        "apiVersion: v2\nname: {name}\nversion: {version}\ndescription: {name} for the tests\n"
    );
    let values = [b"# ".as_slice(), data].concat();
    let mut tar = tar::Builder::new(Vec::new());
    for (file, content) in [
        ("Chart.yaml", chart_yaml.as_bytes()),
        ("values.yaml", &values[..]),
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

/// A `.deb` of `name` holding `data`, laid out as `dpkg-deb --build` does:
/// an ar archive of `debian-binary`, `control.tar.gz` and `data.tar.gz`.
pub fn deb_package(name: &str, version: &str, arch: &str, data: &[u8]) -> Vec<u8> {
    let control = format!(
        "Package: {name}\nVersion: {version}\nArchitecture: {arch}\n\
         Maintainer: Tests <tests@example.org>\nDescription: {name}\n"
    );
    let tgz = |path: &str, bytes: &[u8]| {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, path, bytes).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar.into_inner().unwrap()).unwrap();
        gz.finish().unwrap()
    };
    let members = [
        ("debian-binary", b"2.0\n".to_vec()),
        ("control.tar.gz", tgz("control", control.as_bytes())),
        (
            "data.tar.gz",
            tgz(&format!("usr/share/doc/{name}/data"), data),
        ),
    ];
    let mut deb = b"!<arch>\n".to_vec();
    for (member, bytes) in members {
        let header = format!(
            "{member:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            0,
            0,
            0,
            100644,
            bytes.len()
        );
        deb.extend_from_slice(header.as_bytes());
        deb.extend_from_slice(&bytes);
        if bytes.len() % 2 == 1 {
            deb.push(b'\n');
        }
    }
    deb
}
