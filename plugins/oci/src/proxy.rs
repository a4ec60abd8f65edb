//! A proxy repository of another registry (Docker Hub, a distribution
//! registry, another Wharf), served at `/v2/<repo>/…`.
//!
//! - Manifests, by tag or digest, are the upstream's bytes through the
//!   host's metadata cache (fresh for the repository's TTL, served stale
//!   when the upstream is down), checked against the digest they are asked
//!   by or the one the upstream states.
//! - Blobs are pulled once, checked against their digest while they
//!   stream, and kept as blobs of the repository, like pushed ones.
//! - Tag lists and referrers are the upstream's.
//!
//! The host authenticates to the upstream (Basic, Bearer, the registry
//! token flow of Docker Hub) and follows its blob redirects to granted
//! hosts.

use sha2::{Digest, Sha256};
use wharf_sdk::types::{DigestSet, Write};
use wharf_sdk::upstream::{self, DigestKind, Pull, Upstream};
use wharf_sdk::{HttpError, Request, Response};

use crate::error::{BLOB_UNKNOWN, MANIFEST_UNKNOWN, NAME_UNKNOWN, oci};
use crate::manifest::{MANIFEST_LIMIT, accepts};
use crate::names::{self, Reference};
use crate::store as repo;

/// Every manifest type this registry serves, as the upstream is asked.
const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.docker.distribution.manifest.v2+json";
/// Largest tag list or referrers index read from the upstream.
const LIST_LIMIT: usize = 8 << 20;

/// `GET`/`HEAD /v2/<name>/manifests/<reference>`.
pub fn manifest(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("name").to_string();
    names::name(&name)?;
    let raw = req.param("reference").to_string();
    let reference = names::reference(&raw)?;
    let answer = fetch(&format!("v2/{name}/manifests/{raw}"), MANIFEST_TYPES)?;
    let unknown = |status| match status {
        404 => oci(
            404,
            MANIFEST_UNKNOWN,
            format!("manifest {raw} is unknown to {name}"),
        ),
        status => oci(
            502,
            MANIFEST_UNKNOWN,
            format!("the upstream answered {status}"),
        ),
    };
    if answer.status() != 200 {
        return Err(unknown(answer.status()));
    }
    let bytes = answer.read_all(MANIFEST_LIMIT).map_err(|e| {
        oci(
            502,
            MANIFEST_UNKNOWN,
            format!("reading the upstream's manifest: {e:?}"),
        )
    })?;
    let digest = format!("sha256:{}", wharf_sdk::hex(Sha256::digest(&bytes)));
    let promised = match reference {
        Reference::Digest(d) => Some(d.to_string()),
        Reference::Tag(_) => answer.header("docker-content-digest"),
    };
    if promised.is_some_and(|p| p != digest) {
        return Err(oci(
            502,
            MANIFEST_UNKNOWN,
            format!("the upstream's manifest {raw} is not the one it promised"),
        ));
    }
    let media_type = answer
        .header("content-type")
        .or_else(|| media_type_in(&bytes))
        .ok_or_else(|| {
            oci(
                502,
                MANIFEST_UNKNOWN,
                "the upstream's manifest has no media type",
            )
        })?;
    // Clients send one Accept line per type.
    let accept: Vec<&str> = (req.head.headers.iter())
        .filter(|(k, _)| k == "accept")
        .map(|(_, v)| v.as_str())
        .collect();
    if !accepts(Some(&accept.join(",")), &media_type) {
        return Err(oci(
            404,
            MANIFEST_UNKNOWN,
            format!("manifest {raw} is a {media_type} the client does not accept"),
        ));
    }
    Ok(Response::bytes(200, &media_type, bytes)
        .header("docker-content-digest", &digest)
        .header("etag", &format!("\"{digest}\""))
        .cacheable(&[&name], &["accept"]))
}

/// `GET`/`HEAD /v2/<name>/blobs/<digest>`: from the store once pulled, from
/// the upstream (streamed while it is stored) the first time.
pub fn blob(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("name").to_string();
    names::name(&name)?;
    let digest = req.param("digest").to_string();
    let hex = names::digest(&digest)?.to_string();
    if let Some(asset) = repo::find_blob(&name, &digest)? {
        return Ok(Response::blob(&asset.blake3, "application/octet-stream")
            .header("docker-content-digest", &digest)
            .header("etag", &format!("\"{digest}\""))
            .cacheable(&[&name], &[]));
    }
    let blob = repo::asset(
        repo::blob_path(&name, &digest),
        "",
        "application/octet-stream",
        String::new(),
    );
    let pulled = upstream::pull(Pull {
        url: format!("v2/{name}/blobs/{digest}"),
        want: DigestSet::SHA256,
        expect: vec![(DigestKind::Sha256, hex)],
        record: vec![Write::PutAsset((repo::package(&name), blob, false))],
    })?;
    match pulled.status() {
        200 => Ok(Response::upstream(pulled, "application/octet-stream")
            .header("docker-content-digest", &digest)),
        404 => Err(oci(
            404,
            BLOB_UNKNOWN,
            format!("blob {digest} is unknown to {name}"),
        )),
        status => Err(oci(
            502,
            BLOB_UNKNOWN,
            format!("the upstream answered {status}"),
        )),
    }
}

/// `GET /v2/<name>/tags/list`: the upstream's, its pages included.
pub fn tags(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("name").to_string();
    names::name(&name)?;
    let query = query_of(req, &["n", "last"]);
    let answer = fetch(&format!("v2/{name}/tags/list{query}"), "application/json")?;
    match answer.status() {
        200 => {}
        404 => {
            return Err(oci(
                404,
                NAME_UNKNOWN,
                format!("repository {name} is unknown"),
            ));
        }
        status => {
            return Err(oci(
                502,
                NAME_UNKNOWN,
                format!("the upstream answered {status}"),
            ));
        }
    }
    let link = answer.header("link");
    let body = answer.read_all(LIST_LIMIT).map_err(|e| {
        oci(
            502,
            NAME_UNKNOWN,
            format!("reading the upstream's tags: {e:?}"),
        )
    })?;
    let mut response = Response::bytes(200, "application/json", body);
    // The upstream's `</v2/…>` paths are this repository's too.
    if let Some(link) = link.filter(|l| l.starts_with("</v2/")) {
        response = response.header("link", &link);
    }
    Ok(response.cacheable(&[&name], &[]))
}

/// `GET /v2/<name>/referrers/<digest>`: the upstream's index.
pub fn referrers(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("name").to_string();
    names::name(&name)?;
    let digest = req.param("digest").to_string();
    names::digest(&digest)?;
    let query = query_of(req, &["artifactType"]);
    let url = format!("v2/{name}/referrers/{digest}{query}");
    let answer = fetch(&url, "application/vnd.oci.image.index.v1+json")?;
    if answer.status() != 200 {
        let status = answer.status();
        return Err(oci(
            502,
            MANIFEST_UNKNOWN,
            format!("the upstream answered {status}"),
        ));
    }
    let filtered = answer.header("oci-filters-applied");
    let body = answer.read_all(LIST_LIMIT).map_err(|e| {
        oci(
            502,
            MANIFEST_UNKNOWN,
            format!("reading the upstream's referrers: {e:?}"),
        )
    })?;
    let mut response = Response::bytes(200, "application/vnd.oci.image.index.v1+json", body);
    if let Some(filtered) = filtered {
        response = response.header("oci-filters-applied", &filtered);
    }
    Ok(response.cacheable(&[&name], &[]))
}

fn fetch(url: &str, accept: &str) -> Result<Upstream, HttpError> {
    Ok(upstream::fetch(url, Some(accept))?)
}

/// `?k=v&…` of the request's `keys`, escaped again, or "".
fn query_of(req: &Request, keys: &[&str]) -> String {
    let pairs: Vec<String> = keys
        .iter()
        .filter_map(|k| {
            Some(format!(
                "{k}={}",
                wharf_sdk::escape::url_path(&req.query(k)?)
            ))
        })
        .collect();
    match pairs.is_empty() {
        true => String::new(),
        false => format!("?{}", pairs.join("&")),
    }
}

/// The `mediaType` a manifest states, when the upstream sent no type.
fn media_type_in(bytes: &[u8]) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    doc.get("mediaType")?.as_str().map(str::to_string)
}
