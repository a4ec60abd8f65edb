//! What each format's read, write, delete and admin calls are, on the one
//! package of each format the matrix works on, and how to list what a
//! format holds afterwards.

use std::collections::BTreeSet;
use wharf_tests::oci::{OCI_MANIFEST, digest};
use wharf_tests::{Server, npm_publish_body, publish, send_with};

pub const FORMATS: [&str; 11] = [
    "npm", "oci", "pypi", "cargo", "maven", "go", "composer", "raw", "rubygems", "helm", "deb",
];

/// The package each format's calls address, as its plugin names it.
pub fn package(format: &str) -> &'static str {
    match format {
        "npm" => "matrix-pkg",
        "oci" => "matrix/app",
        "pypi" | "cargo" | "raw" | "rubygems" | "helm" | "deb" => "matrixpkg",
        "go" => "example.com/matrix/app",
        "composer" => "matrix/pkg",
        _ => "org.matrix:app",
    }
}

/// The Go version of a matrix version `M.N.0`: `v1.M.N` (a major version of
/// 2 would need a `/v2` module path).
pub fn go_version(version: &str) -> String {
    let mut parts = version.split('.');
    let (major, minor) = (parts.next().unwrap(), parts.next().unwrap());
    format!("v1.{major}.{minor}")
}

/// The inverse of [`go_version`].
fn from_go_version(version: &str) -> String {
    let rest = version.strip_prefix("v1.").unwrap();
    format!("{rest}.0")
}

/// A module zip of `example.com/matrix/app` holding `data`.
fn go_zip(version: &str, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let name = package("go");
    let root = format!("{name}@{version}");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file(format!("{root}/go.mod"), stored).unwrap();
    zip.write_all(format!("module {name}\n").as_bytes())
        .unwrap();
    zip.start_file(format!("{root}/data.txt"), stored).unwrap();
    zip.write_all(data).unwrap();
    zip.finish().unwrap().into_inner()
}

/// One HTTP request.
pub struct Call {
    pub method: &'static str,
    pub path: String,
    pub content_type: String,
    pub body: Option<Vec<u8>>,
}

impl Call {
    fn get(path: String) -> Call {
        Call {
            method: "GET",
            path,
            content_type: String::new(),
            body: None,
        }
    }

    fn delete(path: String) -> Call {
        Call {
            method: "DELETE",
            ..Call::get(path)
        }
    }

    fn with_body(method: &'static str, path: String, content_type: &str, body: Vec<u8>) -> Call {
        Call {
            method,
            path,
            content_type: content_type.into(),
            body: Some(body),
        }
    }

    /// Sends it with `Authorization: <auth>` (none when `None`); the status.
    pub fn send(&self, server: &Server, auth: Option<&str>) -> u16 {
        let mut request = ureq::request(self.method, &format!("{}{}", server.url, self.path))
            .set("Accept", &format!("{OCI_MANIFEST}, application/json, */*"));
        if !self.content_type.is_empty() {
            request = request.set("Content-Type", &self.content_type);
        }
        if let Some(auth) = auth {
            request = request.set("Authorization", auth);
        }
        send_with(request, self.body.as_deref()).status
    }
}

/// A publish: its request, and where its artifact is served afterwards.
pub struct Upload {
    pub call: Call,
    pub artifact: String,
    pub bytes: Vec<u8>,
}

/// The OCI config and layer every matrix image shares; pushed once.
pub fn oci_shared_blobs() -> [Vec<u8>; 2] {
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    [config, b"the one layer of every matrix image".repeat(10)]
}

/// Publishes `version` (an OCI tag) of the format's package.
pub fn publish(format: &str, version: &str) -> Upload {
    let data = format!("{format} {version} of the matrix\n")
        .repeat(20)
        .into_bytes();
    let name = package(format);
    match format {
        "npm" => Upload {
            call: Call::with_body(
                "PUT",
                format!("/npm/{name}"),
                "application/json",
                npm_publish_body(name, version, &data, &data),
            ),
            artifact: format!("/npm/{name}/-/{name}-{version}.tgz"),
            bytes: data,
        },
        "oci" => {
            let [config, layer] = oci_shared_blobs();
            let manifest = serde_json::to_vec(&serde_json::json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": digest(&config), "size": config.len()},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                            "digest": digest(&layer), "size": layer.len()}],
                "annotations": {"matrix.version": version},
            }))
            .unwrap();
            Upload {
                call: Call::with_body(
                    "PUT",
                    format!("/v2/{name}/manifests/{version}"),
                    OCI_MANIFEST,
                    manifest.clone(),
                ),
                artifact: format!("/v2/{name}/manifests/{version}"),
                bytes: manifest,
            }
        }
        "pypi" => {
            let wheel = publish::pypi_wheel(name, version, &data);
            let (content_type, body) = publish::pypi_upload(name, version, &wheel);
            let file = publish::pypi_wheel_name(name, version);
            Upload {
                call: Call::with_body("POST", "/pypi/legacy/".into(), &content_type, body),
                artifact: format!("/pypi/files/{name}/{file}"),
                bytes: wheel,
            }
        }
        "cargo" => {
            let krate = publish::cargo_crate(name, version, &data);
            Upload {
                call: Call::with_body(
                    "PUT",
                    "/cargo/api/v1/crates/new".into(),
                    "application/octet-stream",
                    publish::cargo_publish_body(name, version, &krate),
                ),
                artifact: format!("/cargo/api/v1/crates/{name}/{version}/download"),
                bytes: krate,
            }
        }
        "go" => {
            let version = go_version(version);
            let zip = go_zip(&version, &data);
            let path = format!("/go/{name}/@v/{version}.zip");
            Upload {
                call: Call::with_body("PUT", path.clone(), "application/zip", zip.clone()),
                artifact: path,
                bytes: zip,
            }
        }
        "composer" => {
            let zip = composer_zip(name, &data);
            Upload {
                call: Call::with_body(
                    "PUT",
                    format!("/composer/packages/upload/{name}/{version}"),
                    "application/zip",
                    zip.clone(),
                ),
                artifact: format!("/composer/dists/{name}/{version}.0.zip"),
                bytes: zip,
            }
        }
        "raw" => {
            let path = format!("/raw/{name}/{version}/file.bin");
            Upload {
                call: Call::with_body(
                    "PUT",
                    path.clone(),
                    "application/octet-stream",
                    data.clone(),
                ),
                artifact: path,
                bytes: data,
            }
        }
        "rubygems" => {
            let gem = publish::rubygems_gem(name, version, &data);
            Upload {
                call: Call::with_body(
                    "POST",
                    "/rubygems/api/v1/gems".into(),
                    "application/octet-stream",
                    gem.clone(),
                ),
                artifact: format!("/rubygems/gems/{name}-{version}.gem"),
                bytes: gem,
            }
        }
        "helm" => {
            let chart = publish::helm_chart(name, version, &data);
            Upload {
                call: Call::with_body(
                    "POST",
                    "/helm/api/charts".into(),
                    "application/gzip",
                    chart.clone(),
                ),
                artifact: format!("/helm/charts/{name}-{version}.tgz"),
                bytes: chart,
            }
        }
        "deb" => {
            let deb = publish::deb_package(name, version, "amd64", &data);
            Upload {
                call: Call::with_body(
                    "PUT",
                    format!("/deb/upload/stable/main/{name}_{version}_amd64.deb"),
                    "application/vnd.debian.binary-package",
                    deb.clone(),
                ),
                artifact: format!("/deb/pool/main/m/{name}/{name}_{version}_amd64.deb"),
                bytes: deb,
            }
        }
        _ => {
            let path = format!("/maven/org/matrix/app/{version}/app-{version}.jar");
            Upload {
                call: Call::with_body(
                    "PUT",
                    path.clone(),
                    "application/java-archive",
                    data.clone(),
                ),
                artifact: path,
                bytes: data,
            }
        }
    }
}

/// A read of the package.
pub fn read(format: &str) -> Call {
    let name = package(format);
    Call::get(match format {
        "npm" => format!("/npm/{name}"),
        "oci" => format!("/v2/{name}/manifests/1.0.0"),
        "pypi" => format!("/pypi/simple/{name}/"),
        "cargo" => format!("/cargo/api/v1/crates/{name}/1.0.0/download"),
        "go" => format!("/go/{name}/@v/{}.zip", go_version("1.0.0")),
        "composer" => format!("/composer/p2/{name}.json"),
        "raw" => format!("/raw/{name}/1.0.0/file.bin"),
        "rubygems" => format!("/rubygems/gems/{name}-1.0.0.gem"),
        "helm" => format!("/helm/api/charts/{name}/1.0.0"),
        "deb" => format!("/deb/pool/main/m/{name}/{name}_1.0.0_amd64.deb"),
        _ => "/maven/org/matrix/app/1.0.0/app-1.0.0.jar".into(),
    })
}

/// Deletes `version` the way the format's client does: npm's unpublish of a
/// version, an OCI tag delete, PyPI's release delete, a cargo or gem yank,
/// Go's version delete, a Composer or Debian version delete, a raw file
/// delete, a ChartMuseum chart delete. Maven has no delete: `None`.
pub fn delete(format: &str, version: &str) -> Option<Call> {
    let name = package(format);
    if format == "rubygems" {
        // gem yank sends a form in the body of its DELETE.
        let form = format!("gem_name={name}&version={version}");
        return Some(Call::with_body(
            "DELETE",
            "/rubygems/api/v1/gems/yank".into(),
            "application/x-www-form-urlencoded",
            form.into_bytes(),
        ));
    }
    Some(Call::delete(match format {
        "npm" => format!("/npm/{name}/-/{name}-{version}.tgz/-rev/1"),
        "oci" => format!("/v2/{name}/manifests/{version}"),
        "pypi" => format!("/pypi/pypi/{name}/{version}"),
        "cargo" => format!("/cargo/api/v1/crates/{name}/{version}/yank"),
        "go" => format!("/go/{name}/@v/{}", go_version(version)),
        "composer" => format!("/composer/packages/{name}/{version}"),
        "raw" => format!("/raw/{name}/{version}/file.bin"),
        "helm" => format!("/helm/api/charts/{name}/{version}"),
        "deb" => format!("/deb/packages/{name}/{version}"),
        _ => return None,
    }))
}

/// The package's administration: naming an owner (its owner, again: a
/// change that changes nothing when it is allowed).
pub fn administer(format: &str) -> Call {
    let change = serde_json::json!({
        "repository": format, "package": package(format), "owner": "user:owner",
    });
    Call::with_body(
        "PUT",
        "/api/v1/owners".into(),
        "application/json",
        change.to_string().into_bytes(),
    )
}

/// The versions (OCI: tags) the format serves now, yanked crates and gems left out.
pub fn live_versions(server: &Server, format: &str) -> BTreeSet<String> {
    let name = package(format);
    let get = |path: String| {
        let request =
            ureq::get(&format!("{}{path}", server.url)).set("Authorization", &server.admin_basic());
        let reply = send_with(request, None);
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        reply
    };
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect();
    match format {
        "npm" => keys(&get(format!("/npm/{name}")).json()["versions"]),
        "oci" => get(format!("/v2/{name}/tags/list")).json()["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect(),
        "pypi" => keys(&get(format!("/pypi/pypi/{name}/json")).json()["releases"]),
        "cargo" => get(format!("/cargo/ma/tr/{name}"))
            .text()
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
            .filter(|entry| entry["yanked"] == false)
            .map(|entry| entry["vers"].as_str().unwrap().to_string())
            .collect(),
        "go" => get(format!("/go/{name}/@v/list"))
            .text()
            .lines()
            .map(from_go_version)
            .collect(),
        "composer" => get(format!("/composer/p2/{name}.json")).json()["packages"][name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_str().unwrap().to_string())
            .collect(),
        "raw" => get(format!("/raw/{name}/")).json()["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e["name"]
                    .as_str()
                    .unwrap()
                    .trim_end_matches('/')
                    .to_string()
            })
            .collect(),
        "deb" => {
            // A distribution without packages is none: apt gets a 404.
            let path = "/deb/dists/stable/main/binary-amd64/Packages";
            let request = ureq::get(&format!("{}{path}", server.url))
                .set("Authorization", &server.admin_basic());
            let reply = send_with(request, None);
            if reply.status == 404 {
                return BTreeSet::new();
            }
            assert_eq!(reply.status, 200, "{path}: {}", reply.text());
            reply
                .text()
                .split("\n\n")
                .filter(|stanza| stanza.starts_with(&format!("Package: {name}\n")))
                .filter_map(|stanza| stanza.lines().find_map(|l| l.strip_prefix("Version: ")))
                .map(str::to_string)
                .collect()
        }
        "rubygems" => get(format!("/rubygems/info/{name}"))
            .text()
            .lines()
            .skip(1)
            .map(|line| line.split(' ').next().unwrap().to_string())
            .collect(),
        "helm" => get(format!("/helm/api/charts/{name}"))
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_str().unwrap().to_string())
            .collect(),
        _ => {
            let xml = get("/maven/org/matrix/app/maven-metadata.xml".into()).text();
            xml.split("<version>")
                .skip(1)
                .map(|rest| rest.split('<').next().unwrap().to_string())
                .collect()
        }
    }
}

/// The BLAKE3 of `bytes`, as the store names blobs.
pub fn blake3_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// A Composer package zip: composer.json naming `name`, and `data`.
fn composer_zip(name: &str, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    zip.start_file("composer.json", opts).unwrap();
    let manifest = serde_json::json!({"name": name, "type": "library"});
    zip.write_all(manifest.to_string().as_bytes()).unwrap();
    zip.start_file("data.txt", opts).unwrap();
    zip.write_all(data).unwrap();
    zip.finish().unwrap().into_inner()
}
