//! Native tests with the mock host (end to end with apt: tests/deb.rs).

use crate::Deb;
use crate::index::{Compression, HashKind};
use sha2::Digest;
use std::io::Read;
use wharf_sdk::mock::{self, TestRequest};
use wharf_sdk::types::{Action, Method};
use wharf_sdk::{Response, hex};

#[derive(Clone, Copy)]
enum Packing {
    Gzip,
    Xz,
    Zstd,
}

fn control(package: &str, version: &str, arch: &str) -> String {
    format!(
        "Package: {package}\nVersion: {version}\nArchitecture: {arch}\n\
         Maintainer: Wharf Tests <tests@example.org>\nDepends: libc6 (>= 2.36)\n\
         Description: a test package\n of several lines\n .\n with a paragraph\n"
    )
}

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        tar.append(&header, *data).unwrap();
    }
    tar.into_inner().unwrap()
}

fn pack(packing: Packing, bytes: &[u8]) -> (&'static str, Vec<u8>) {
    match packing {
        Packing::Gzip => ("control.tar.gz", Compression::Gzip.apply_bytes(bytes)),
        Packing::Xz => ("control.tar.xz", Compression::Xz.apply_bytes(bytes)),
        Packing::Zstd => (
            "control.tar.zst",
            ruzstd::encoding::compress_to_vec(bytes, ruzstd::encoding::CompressionLevel::Fastest),
        ),
    }
}

fn ar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
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

/// A `.deb` as `dpkg-deb --build` lays it out, with this control file.
fn deb_with(control: &str, packing: Packing) -> Vec<u8> {
    let (name, packed) = pack(packing, &tar_of(&[("./control", control.as_bytes())]));
    let data = Compression::Xz.apply_bytes(&tar_of(&[("./usr/share/doc/x", b"hi")]));
    ar_of(&[
        ("debian-binary", b"2.0\n"),
        (name, &packed),
        ("data.tar.xz", &data),
    ])
}

fn deb(package: &str, version: &str, arch: &str) -> Vec<u8> {
    deb_with(&control(package, version, arch), Packing::Xz)
}

fn upload(path: &str, body: Vec<u8>) -> Response {
    mock::login_as(Some("alice"));
    let (route, response) = TestRequest::new(Method::Put, path)
        .body(body)
        .send::<Deb>()
        .unwrap();
    assert_eq!(route.access[0].action, Action::Write);
    response
}

fn get(path: &str) -> Response {
    TestRequest::new(Method::Get, path).send::<Deb>().unwrap().1
}

fn text(r: &Response) -> String {
    String::from_utf8(r.body_bytes().to_vec()).unwrap()
}

fn setup() {
    mock::reset();
    mock::grant_signing_key("deb");
}

#[test]
fn uploads_are_listed_per_architecture_and_served_from_the_pool() {
    setup();
    let hello = deb("hello", "1:2.10-3", "amd64");
    let r = upload("/upload/stable/main/hello_2.10-3_amd64.deb", hello.clone());
    assert_eq!(r.status, 201, "{}", text(&r));
    let r = upload(
        "/upload/stable/main/hello_1:2.10-3_arm64.deb",
        deb("hello", "1:2.10-3", "arm64"),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
    let r = upload(
        "/upload/stable/main/libdemo1_0.1_all.deb",
        deb_with(
            &control("libdemo1", "0.1", "all").replace(
                "Package: libdemo1\n",
                "Package: libdemo1\nSource: libdemo (0.1-src)\n",
            ),
            Packing::Gzip,
        ),
    );
    assert_eq!(r.status, 201, "{}", text(&r));

    let amd64 = text(&get("/dists/stable/main/binary-amd64/Packages"));
    let stanzas: Vec<&str> = amd64.split("\n\n").collect();
    assert_eq!(stanzas.len(), 2, "{amd64}");
    assert!(stanzas[0].starts_with("Package: hello\nVersion: 1:2.10-3\nArchitecture: amd64\n"));
    assert!(
        stanzas[0]
            .contains("Description: a test package\n of several lines\n .\n with a paragraph\n")
    );
    assert!(stanzas[0].contains("Filename: pool/main/h/hello/hello_2.10-3_amd64.deb\n"));
    assert!(stanzas[0].contains(&format!("Size: {}\n", hello.len())));
    assert!(stanzas[0].ends_with(&format!("SHA256: {}", hex(sha2::Sha256::digest(&hello)))));
    assert!(stanzas[0].contains(&format!("MD5sum: {}\n", hex(md5::Md5::digest(&hello)))));
    assert!(stanzas[1].contains("Filename: pool/main/libd/libdemo/libdemo1_0.1_all.deb\n"));
    let arm64 = text(&get("/dists/stable/main/binary-arm64/Packages"));
    assert!(arm64.contains("hello_2.10-3_arm64.deb") && arm64.contains("libdemo1_0.1_all.deb"));
    assert!(!arm64.contains("_amd64.deb"));

    let pool = get("/pool/main/h/hello/hello_2.10-3_amd64.deb");
    assert_eq!(pool.status, 200);
    let wharf_sdk::types::ResponseBody::Blob(blake3) = &pool.body else {
        panic!("a pool file is a blob answer")
    };
    assert_eq!(mock::with(|h| h.blob(blake3).unwrap().to_vec()), hello);
    assert_eq!(get("/pool/main/h/hello/hello_9_amd64.deb").status, 404);
}

#[test]
fn release_lists_every_index_by_hash_and_signatures_cover_it() {
    setup();
    upload(
        "/upload/stable/main/hello_1.0_amd64.deb",
        deb("hello", "1.0", "amd64"),
    );
    upload(
        "/upload/stable/contrib/extra_1.0_all.deb",
        deb("extra", "1.0", "all"),
    );
    let release = text(&get("/dists/stable/Release"));
    assert!(
        release.starts_with("Origin: Wharf\nLabel: Wharf\nSuite: stable\nCodename: stable\nDate: ")
    );
    assert!(release.contains("\nArchitectures: amd64 arm64\nComponents: contrib main\n"));
    assert!(release.contains("\nAcquire-By-Hash: yes\n"));
    for component in ["main", "contrib"] {
        for arch in ["amd64", "arm64"] {
            for file in ["Packages", "Packages.gz", "Packages.xz"] {
                let path = format!("{component}/binary-{arch}/{file}");
                let bytes = get(&format!("/dists/stable/{path}")).body_bytes().to_vec();
                for kind in HashKind::ALL {
                    let digest = kind.hex(&bytes);
                    let line = format!(" {digest} {:>16} {path}\n", bytes.len());
                    assert!(release.contains(&line), "{line} in\n{release}");
                    let by_hash = get(&format!(
                        "/dists/stable/{component}/binary-{arch}/by-hash/{}/{digest}",
                        kind.name()
                    ));
                    assert_eq!(by_hash.body_bytes(), bytes, "{path} by {}", kind.name());
                }
            }
        }
    }
    // The compressed indices hold the same text.
    let plain = get("/dists/stable/main/binary-amd64/Packages")
        .body_bytes()
        .to_vec();
    let mut xz = Vec::new();
    lzma_rust2::XzReader::new(
        get("/dists/stable/main/binary-amd64/Packages.xz").body_bytes(),
        false,
    )
    .read_to_end(&mut xz)
    .unwrap();
    assert_eq!(xz, plain);
    let mut gz = Vec::new();
    flate2::read::GzDecoder::new(get("/dists/stable/main/binary-amd64/Packages.gz").body_bytes())
        .read_to_end(&mut gz)
        .unwrap();
    assert_eq!(gz, plain);

    let in_release = text(&get("/dists/stable/InRelease"));
    assert!(in_release.starts_with("-----BEGIN PGP SIGNED MESSAGE-----\n"));
    assert!(in_release.contains(&release));
    let sha = hex(sha2::Sha256::digest(release.as_bytes()));
    assert!(in_release.contains(&format!("mock deb-1 sha256:{sha}")));
    let detached = text(&get("/dists/stable/Release.gpg"));
    assert!(
        detached.contains(&format!("mock deb-1 sha256:{sha}")),
        "the same bytes signed"
    );
    assert!(text(&get("/key.asc")).contains("mock deb-1"));
    // After a rotation, signatures come from the new key.
    mock::rotate_signing_key("deb");
    assert!(text(&get("/dists/stable/InRelease")).contains("mock deb-2"));

    assert_eq!(
        get("/dists/stable/main/binary-amd64/by-hash/SHA256/00").status,
        404
    );
    assert_eq!(get("/dists/unknown/Release").status, 404);
    assert_eq!(
        get("/dists/stable/universe/binary-amd64/Packages").status,
        404
    );
    assert_eq!(get("/dists/stable/main/binary-i386/Packages").status, 404);
}

#[test]
fn signing_needs_the_key_granted() {
    mock::reset();
    upload(
        "/upload/stable/main/hello_1.0_amd64.deb",
        deb("hello", "1.0", "amd64"),
    );
    let r = get("/dists/stable/InRelease");
    assert_eq!(r.status, 503);
    assert!(text(&r).contains("not granted"), "{}", text(&r));
    assert_eq!(get("/dists/stable/Release").status, 200);
}

#[test]
fn every_control_tar_compression_is_read() {
    setup();
    for (i, packing) in [Packing::Gzip, Packing::Xz, Packing::Zstd]
        .into_iter()
        .enumerate()
    {
        let name = format!("pkg{i}");
        let r = upload(
            &format!("/upload/stable/main/{name}_1.0_amd64.deb"),
            deb_with(&control(&name, "1.0", "amd64"), packing),
        );
        assert_eq!(r.status, 201, "{}", text(&r));
    }
    let amd64 = text(&get("/dists/stable/main/binary-amd64/Packages"));
    assert_eq!(amd64.matches("Package: pkg").count(), 3);
}

#[test]
fn bad_uploads_are_refused_and_change_nothing() {
    setup();
    let huge = format!(
        "{}X-Padding: {}\n",
        control("hello", "1.0", "amd64"),
        "a".repeat(2 << 20)
    );
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "/upload/stable/main/hello_1.0_amd64.deb",
            deb_with(&huge, Packing::Zstd),
            413,
        ),
        (
            "/upload/stable/main/hello_1.0_amd64.deb",
            deb("other", "1.0", "amd64"),
            400,
        ),
        (
            "/upload/stable/main/hello_1.1_amd64.deb",
            deb("hello", "1.0", "amd64"),
            400,
        ),
        (
            "/upload/stable/main/hello_1.0_arm64.deb",
            deb("hello", "1.0", "amd64"),
            400,
        ),
        (
            "/upload/stable/main/hello_1.0_i386.deb",
            deb("hello", "1.0", "i386"),
            400,
        ),
        (
            "/upload/stable/main/hello.deb",
            deb("hello", "1.0", "amd64"),
            400,
        ),
        (
            "/upload/st..able/main/hello_1.0_amd64.deb",
            deb("hello", "1.0", "amd64"),
            201,
        ),
        (
            "/upload/stable/main/hello_1.0_amd64.deb",
            b"not an archive".to_vec(),
            400,
        ),
        (
            "/upload/stable/main/hello_1.0_amd64.deb",
            ar_of(&[("debian-binary", b"2.0\n")]),
            400,
        ),
        (
            "/upload/stable/main/hello_1.0_amd64.deb",
            deb_with("Package: hello\nVersion: 1.0\n", Packing::Xz),
            400,
        ),
        (
            "/upload/stable/main/hello_1.0_amd64.deb",
            deb_with(
                &format!("{}\nPackage: evil\n", control("hello", "1.0", "amd64")),
                Packing::Xz,
            ),
            400,
        ),
        (
            "/upload/stable/main/Hello_1.0_amd64.deb",
            deb("Hello", "1.0", "amd64"),
            400,
        ),
    ];
    for (path, body, status) in cases {
        let before = mock::with(|h| h.catalog.versions.len() + h.catalog.assets.len());
        let r = upload(path, body);
        assert_eq!(r.status, status, "{path}: {}", text(&r));
        if status != 201 {
            let after = mock::with(|h| h.catalog.versions.len() + h.catalog.assets.len());
            assert_eq!(after, before, "{path}: nothing stored");
            assert_eq!(
                r.header_value("content-type"),
                Some("text/plain; charset=utf-8")
            );
        }
    }
}

#[test]
fn a_file_is_uploaded_once_and_a_version_deleted_whole() {
    setup();
    let path = "/upload/stable/main/hello_1.0_amd64.deb";
    assert_eq!(upload(path, deb("hello", "1.0", "amd64")).status, 201);
    assert_eq!(upload(path, deb("hello", "1.0", "amd64")).status, 409);
    assert_eq!(
        upload(
            "/upload/testing/main/hello_1.0_amd64.deb",
            deb("hello", "1.0", "amd64")
        )
        .status,
        409
    );
    assert_eq!(
        upload(
            "/upload/stable/main/hello_1.0_arm64.deb",
            deb("hello", "1.0", "arm64")
        )
        .status,
        201
    );
    assert_eq!(
        upload(
            "/upload/stable/main/hello_2.0_amd64.deb",
            deb("hello", "2.0", "amd64")
        )
        .status,
        201
    );

    let dated = crate::index::dist("stable").unwrap().changed_at;
    let (route, r) = TestRequest::new(Method::Delete, "/packages/hello/1.0")
        .send::<Deb>()
        .unwrap();
    assert_eq!(route.access[0].action, Action::Delete);
    assert_eq!(route.access[0].package.as_deref(), Some("hello"));
    assert_eq!(r.status, 200, "{}", text(&r));
    let after = crate::index::dist("stable").unwrap().changed_at;
    assert!(after > dated, "a delete moves the Release date forward");
    let amd64 = text(&get("/dists/stable/main/binary-amd64/Packages"));
    assert!(amd64.contains("Version: 2.0") && !amd64.contains("Version: 1.0"));
    assert!(!text(&get("/dists/stable/main/binary-arm64/Packages")).contains("hello"));
    assert_eq!(get("/pool/main/h/hello/hello_1.0_amd64.deb").status, 404);
    let again = TestRequest::new(Method::Delete, "/packages/hello/1.0")
        .send::<Deb>()
        .unwrap()
        .1;
    assert_eq!(again.status, 404);
}

#[test]
fn routes_declare_what_they_touch() {
    let route = |method, path: &str| TestRequest::new(method, path).send::<Deb>().unwrap().0;
    mock::reset();
    let pool = route(Method::Get, "/pool/main/h/hello/hello_1.0_amd64.deb");
    assert_eq!(
        (pool.access[0].action, pool.access[0].package.as_deref()),
        (Action::Read, Some("hello"))
    );
    let index = route(Method::Get, "/dists/stable/InRelease");
    assert_eq!(
        (index.access[0].action, index.access[0].package.as_deref()),
        (Action::Read, None)
    );
    let up = route(Method::Put, "/upload/stable/main/hello_1.0_amd64.deb");
    assert_eq!(
        (up.access[0].action, up.access[0].package.as_deref()),
        (Action::Write, Some("hello"))
    );
}
