//! A proxy repository of another registry (Docker Hub, a distribution
//! registry, another Wharf), served at `/v2/<repo>/…`.
//!
//! - Manifests, by tag or digest, are the upstream's bytes through the
//!   host's metadata cache (fresh for the repository's TTL, served stale
//!   when the upstream is down), checked against the digest they are asked
//!   by or the one the upstream states.
//! - A manifest served is recorded in the catalog as a push records it (its
//!   row, its exact bytes, the tag it was asked by), so listings see what
//!   the proxy serves. Only a pull's writes are applied for a reader, and
//!   only when the pull is the answer: the first answer with a manifest (or
//!   a tag) the catalog lacks is the pull of it by digest. Once recorded, a
//!   manifest by digest comes from the catalog, the upstream not asked.
//! - Blobs are pulled once, checked against their digest while they
//!   stream, and kept as blobs of the repository, like pushed ones.
//! - Tag lists and referrers are the upstream's.
//!
//! The host authenticates to the upstream (Basic, Bearer, the registry
//! token flow of Docker Hub) and follows its blob redirects to granted
//! hosts.

use sha2::{Digest, Sha256};
use wharf_sdk::types::{DigestSet, Method, Write};
use wharf_sdk::upstream::{self, DigestKind, Pull, Upstream};
use wharf_sdk::{HttpError, Request, Response, catalog, log};

use crate::error::{BLOB_UNKNOWN, MANIFEST_UNKNOWN, NAME_UNKNOWN, oci, store};
use crate::manifest::{self, MANIFEST_LIMIT, accepts};
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
    // What a digest names never changes: once recorded, the catalog has it.
    if let Reference::Digest(d) = reference
        && let Some(asset) = repo::find_manifest(&name, d)?
    {
        return manifest::serve_stored(req, &name, &raw, d, &asset);
    }
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
    if !accepts(Some(&manifest::accept_of(req)), &media_type) {
        return Err(oci(
            404,
            MANIFEST_UNKNOWN,
            format!("manifest {raw} is a {media_type} the client does not accept"),
        ));
    }
    let tag = match reference {
        Reference::Tag(t) => Some(t),
        Reference::Digest(_) => None,
    };
    // A stale answer means the upstream is down: nothing to pull from.
    let recording = match answer.stale() {
        true => None,
        false => record(&name, tag, &digest, &bytes, &media_type)?,
    };
    // The host sends a pull's length as Content-Length, and a HEAD has
    // nothing else to tell the manifest's size by: one the upstream sent
    // without a length is answered from the bytes in hand, unrecorded.
    let sized = |p: &Upstream| p.header("content-length") == Some(bytes.len().to_string());
    let response = match recording {
        Some(pulled) if req.method() != Method::Head || sized(&pulled) => {
            Response::upstream(pulled, &media_type)
        }
        _ => Response::bytes(200, &media_type, bytes).cacheable(&[&name], &["accept"]),
    };
    Ok(response
        .header("docker-content-digest", &digest)
        .header("etag", &format!("\"{digest}\"")))
}

/// Records manifest `digest` (its `bytes` verified, asked by `tag` or by
/// digest) as a push would, when the catalog lacks it or the tag does not
/// point at it yet: the pull of the same bytes by digest whose `record` the
/// host applies once they are stored, whoever the caller.
///
/// The host applies a pull's writes only when the pull is the response
/// body, so the returned pull is the answer. `None` when there is nothing
/// to record, or the upstream will not give the manifest by digest now
/// (the bytes in hand answer then, and a later request records it). The
/// writes are one transaction: a client that loses a race to record the
/// same manifest still gets its bytes, and nothing is half written.
fn record(
    name: &str,
    tag: Option<&str>,
    digest: &str,
    bytes: &[u8],
    media_type: &str,
) -> Result<Option<Upstream>, HttpError> {
    let tags: Vec<String> = tag.map(str::to_string).into_iter().collect();
    let writes = match catalog::get_version(name, digest).map_err(store)? {
        Some(_) => match tag {
            Some(t) if repo::tagged(name, t)?.as_deref() != Some(digest) => {
                vec![Write::SetTag((name.into(), t.into(), digest.into()))]
            }
            _ => return Ok(None),
        },
        None => match manifest::parse(bytes, Some(media_type)) {
            // The row and asset a push makes; "" stands for the pulled blob.
            Ok(parsed) => {
                let size = bytes.len() as u64;
                manifest::publish_writes(name, digest, &parsed, ("", size), tags)
            }
            // One a push would refuse (schema 1, an unknown type) is served
            // all the same, as the upstream's, but not recorded.
            Err(_) => return Ok(None),
        },
    };
    let hex = digest.trim_start_matches("sha256:").to_string();
    // Asked for its own type: a registry sends an OCI manifest only to a
    // client that accepts it.
    let pull = Pull {
        url: format!("v2/{name}/manifests/{digest}"),
        want: DigestSet::SHA256,
        expect: vec![(DigestKind::Sha256, hex)],
        record: writes,
    };
    let pulled = upstream::pull_accepting(pull, media_type);
    match pulled {
        Ok(pulled) if pulled.status() == 200 => Ok(Some(pulled)),
        Ok(pulled) => {
            let status = pulled.status();
            log::warn(&format!(
                "{name}: the upstream answered {status} for manifest {digest} by digest; not recorded"
            ));
            Ok(None)
        }
        Err(e) => {
            let why = upstream::describe(&e);
            log::warn(&format!("{name}: manifest {digest} not recorded: {why}"));
            Ok(None)
        }
    }
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
