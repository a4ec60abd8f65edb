//! Manifests: Docker v2 schema 2, Docker manifest lists, OCI image manifests
//! and indexes, OCI artifacts (`artifactType`, `subject`). The exact bytes
//! pushed are stored and served; the digest is over those bytes.

use crate::error::{
    DIGEST_INVALID, MANIFEST_BLOB_UNKNOWN, MANIFEST_INVALID, MANIFEST_UNKNOWN, NAME_UNKNOWN,
    SIZE_INVALID, oci, store,
};
use crate::names::{self, Reference};
use crate::store as repo;
use serde_json::{Value, json};
use wharf_sdk::catalog::{self, Publication, Write};
use wharf_sdk::types::{DigestSet, StoreError};
use wharf_sdk::{HttpError, Meta, Request, Response, blobs};

/// Largest manifest accepted (distribution's limit).
pub const MANIFEST_LIMIT: usize = 4 << 20;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Layers that live elsewhere (Windows base layers) are not pushed.
const FOREIGN_LAYERS: &[&str] = &[
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
];

/// What the registry needs to know about a pushed manifest.
#[derive(Debug, PartialEq)]
pub struct Parsed {
    pub media_type: String,
    /// `artifactType`, or for an image manifest its config's media type.
    pub artifact_type: Option<String>,
    pub subject: Option<String>,
    /// Blobs that must exist in the repository: (digest, size).
    pub blobs: Vec<(String, u64)>,
    /// Manifests an index lists, which must exist in the repository.
    pub manifests: Vec<String>,
    pub annotations: Option<Value>,
}

fn invalid(message: impl std::fmt::Display) -> HttpError {
    oci(400, MANIFEST_INVALID, message)
}

/// A descriptor's digest (validated) and size.
fn descriptor(d: &Value) -> Result<(String, u64), HttpError> {
    let digest = d["digest"]
        .as_str()
        .ok_or_else(|| invalid("a descriptor has no digest"))?;
    names::digest(digest).map_err(|e| invalid(e.message))?;
    let size = d["size"]
        .as_u64()
        .ok_or_else(|| invalid(format!("descriptor {digest} has no size")))?;
    Ok((digest.to_string(), size))
}

/// Parses a manifest; `content_type` is the request's Content-Type.
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Parsed, HttpError> {
    let doc: Value =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("not JSON: {e}")))?;
    if !doc.is_object() {
        return Err(invalid("a manifest is a JSON object"));
    }
    let declared = doc["mediaType"].as_str();
    let content_type = content_type
        .map(|c| c.split(';').next().unwrap_or("").trim())
        .filter(|c| !c.is_empty() && *c != "application/json" && *c != "application/octet-stream");
    let media_type = match (content_type, declared) {
        (Some(c), Some(d)) if c != d => {
            return Err(invalid(format!(
                "Content-Type {c} differs from mediaType {d}"
            )));
        }
        (Some(c), _) => c,
        (None, Some(d)) => d,
        (None, None) if doc.get("manifests").is_some() => OCI_INDEX,
        (None, None) => OCI_MANIFEST,
    }
    .to_string();
    if doc["schemaVersion"].as_u64() != Some(2) {
        return Err(invalid("schemaVersion must be 2"));
    }
    let subject = match doc.get("subject") {
        Some(s) => Some(descriptor(s)?.0),
        None => None,
    };
    let mut parsed = Parsed {
        artifact_type: doc["artifactType"].as_str().map(str::to_string),
        subject,
        blobs: Vec::new(),
        manifests: Vec::new(),
        annotations: doc.get("annotations").cloned(),
        media_type,
    };
    match parsed.media_type.as_str() {
        DOCKER_MANIFEST | OCI_MANIFEST => {
            let config = doc
                .get("config")
                .ok_or_else(|| invalid("an image manifest has a config"))?;
            parsed.blobs.push(descriptor(config)?);
            if parsed.artifact_type.is_none() {
                parsed.artifact_type = config["mediaType"].as_str().map(str::to_string);
            }
            let layers = doc["layers"]
                .as_array()
                .ok_or_else(|| invalid("an image manifest has layers"))?;
            for layer in layers {
                let d = descriptor(layer)?;
                let foreign = layer["mediaType"]
                    .as_str()
                    .is_some_and(|m| FOREIGN_LAYERS.contains(&m));
                if !foreign {
                    parsed.blobs.push(d);
                }
            }
        }
        DOCKER_LIST | OCI_INDEX => {
            let manifests = doc["manifests"]
                .as_array()
                .ok_or_else(|| invalid("an index has manifests"))?;
            for m in manifests {
                parsed.manifests.push(descriptor(m)?.0);
            }
        }
        other => {
            return Err(invalid(format!("unsupported manifest media type {other}")));
        }
    }
    Ok(parsed)
}

/// Every blob and child manifest must already be in the repository.
fn check_references(name: &str, parsed: &Parsed) -> Result<(), HttpError> {
    for (digest, size) in &parsed.blobs {
        let asset = repo::find_blob(name, digest)?.ok_or_else(|| {
            oci(
                400,
                MANIFEST_BLOB_UNKNOWN,
                format!("blob {digest} is unknown to {name}"),
            )
        })?;
        if let Some(info) = blobs::stat(&asset.blake3).map_err(store)?
            && info.size != *size
        {
            return Err(invalid(format!(
                "blob {digest} has {} bytes, the manifest says {size}",
                info.size
            )));
        }
    }
    for digest in &parsed.manifests {
        if repo::find_manifest(name, digest)?.is_none() {
            return Err(oci(
                400,
                MANIFEST_BLOB_UNKNOWN,
                format!("manifest {digest} is unknown to {name}"),
            ));
        }
    }
    Ok(())
}

/// The catalog metadata of a manifest row (what referrers and GC need).
fn metadata(parsed: &Parsed, size: u64) -> Value {
    let references: Vec<&str> = parsed
        .blobs
        .iter()
        .map(|(d, _)| d.as_str())
        .chain(parsed.manifests.iter().map(String::as_str))
        .collect();
    json!({
        "mediaType": parsed.media_type,
        "size": size,
        "artifactType": parsed.artifact_type,
        "subject": parsed.subject,
        "annotations": parsed.annotations,
        "references": references,
    })
}

/// The manifest's entry in its subject's referrers index.
fn referrer_descriptor(parsed: &Parsed, digest: &str, size: u64) -> Value {
    let mut d = json!({ "mediaType": parsed.media_type, "digest": digest, "size": size });
    if let Some(t) = &parsed.artifact_type {
        d["artifactType"] = json!(t);
    }
    if let Some(a) = parsed.annotations.as_ref().filter(|a| a.is_object()) {
        d["annotations"] = a.clone();
    }
    d
}

/// The writes that make a new manifest visible: its row and bytes (`size`
/// of them, stored as `blake3`; "" for the blob a proxy's pull stores), its
/// tag, and its referrers entry when it has a subject (one transaction).
pub fn publish_writes(
    name: &str,
    digest: &str,
    parsed: &Parsed,
    (blake3, size): (&str, u64),
    tags: Vec<String>,
) -> Vec<Write> {
    let mut writes = vec![Write::Publish(Publication {
        version: repo::row(name, digest, metadata(parsed, size)),
        assets: vec![repo::asset(
            repo::manifest_path(name, digest),
            blake3,
            &parsed.media_type,
            String::new(),
        )],
        tags,
    })];
    if let Some(subject) = &parsed.subject {
        let entry = repo::asset(
            repo::referrer_path(name, subject, digest),
            blake3,
            &parsed.media_type,
            referrer_descriptor(parsed, digest, size).to_string(),
        );
        // `replace`: an entry left behind is overwritten, not a conflict.
        writes.push(Write::PutAsset((repo::package(name), entry, true)));
    }
    writes
}

fn retag(name: &str, tags: &[String], digest: &str) -> Result<(), HttpError> {
    let writes: Vec<Write> = tags
        .iter()
        .map(|t| Write::SetTag((name.into(), t.clone(), digest.into())))
        .collect();
    if writes.is_empty() {
        return Ok(());
    }
    catalog::apply(&writes).map_err(store)
}

/// `PUT /v2/<name>/manifests/<reference>`.
pub fn put(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("name").to_string();
    names::name(&name)?;
    let reference = req.param("reference").to_string();
    let reference = names::reference(&reference)?;
    let bytes = req
        .take_body()?
        .read_to_end(MANIFEST_LIMIT)
        .map_err(|e| match e.status {
            413 => oci(
                413,
                SIZE_INVALID,
                format!("manifests are limited to {MANIFEST_LIMIT} bytes"),
            ),
            _ => e,
        })?;
    let parsed = parse(&bytes, req.header("content-type"))?;
    let info = blobs::put_bytes(&bytes, DigestSet::SHA256).map_err(store)?;
    let digest = format!("sha256:{}", info.digests.sha256.clone().unwrap_or_default());
    if let Reference::Digest(claimed) = reference
        && claimed != digest
    {
        return Err(oci(
            400,
            DIGEST_INVALID,
            format!("the manifest's digest is {digest}, not {claimed}"),
        ));
    }
    check_references(&name, &parsed)?;
    let tags: Vec<String> = match reference {
        Reference::Tag(t) => vec![t.to_string()],
        Reference::Digest(_) => vec![],
    };
    // Pushing a manifest the repository has keeps its row and moves the tag.
    if catalog::get_version(&name, &digest)
        .map_err(store)?
        .is_some()
    {
        retag(&name, &tags, &digest)?;
    } else {
        match catalog::apply(&publish_writes(
            &name,
            &digest,
            &parsed,
            (&info.digests.blake3, info.size),
            tags.clone(),
        )) {
            // A concurrent push of the same manifest won the race.
            Err(StoreError::AlreadyExists) => retag(&name, &tags, &digest)?,
            other => other.map_err(store)?,
        }
    }
    let mut response = Response::empty(201)
        .header("location", &format!("/v2/{name}/manifests/{digest}"))
        .header("docker-content-digest", &digest)
        .header("content-length", "0");
    if let Some(subject) = &parsed.subject {
        response = response.header("oci-subject", subject);
    }
    Ok(response)
}

/// The digest a reference resolves to in `name`.
fn resolve(name: &str, reference: &Reference) -> Result<String, HttpError> {
    let found = match reference {
        Reference::Digest(d) => Some(d.to_string()),
        Reference::Tag(t) => repo::tagged(name, t)?,
    };
    found.ok_or_else(|| unknown(name, reference))
}

/// 404 for a reference `name` lacks: NAME_UNKNOWN when nothing was ever
/// pushed there. A store failure while finding out is that failure.
fn unknown(name: &str, reference: &Reference) -> HttpError {
    match repo::exists(name) {
        Err(e) => e,
        Ok(false) => oci(404, NAME_UNKNOWN, format!("repository {name} is unknown")),
        Ok(true) => {
            let r = match reference {
                Reference::Tag(t) | Reference::Digest(t) => t,
            };
            oci(
                404,
                MANIFEST_UNKNOWN,
                format!("manifest {r} is unknown to {name}"),
            )
        }
    }
}

/// Whether an `Accept` header admits `media_type` (no header admits all).
pub fn accepts(accept: Option<&str>, media_type: &str) -> bool {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return true;
    };
    accept
        .split(',')
        .map(|a| a.split(';').next().unwrap_or("").trim())
        .any(|a| a == media_type || a == "*/*" || a == "application/*")
}

/// `GET`/`HEAD /v2/<name>/manifests/<reference>`.
pub fn get(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::manifest(req);
    }
    let name = req.param("name").to_string();
    names::name(&name)?;
    let raw = req.param("reference").to_string();
    let reference = names::reference(&raw)?;
    let digest = resolve(&name, &reference)?;
    let asset = repo::find_manifest(&name, &digest)?.ok_or_else(|| unknown(&name, &reference))?;
    serve_stored(req, &name, &raw, &digest, &asset)
}

/// The Accept header of `req`: clients send one line per type.
pub fn accept_of(req: &Request) -> String {
    (req.head.headers.iter())
        .filter(|(k, _)| k == "accept")
        .map(|(_, v)| v.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// A stored manifest `digest` of `name` (asked as `raw`), in a media type
/// the client accepts.
pub fn serve_stored(
    req: &Request,
    name: &str,
    raw: &str,
    digest: &str,
    asset: &catalog::Asset,
) -> Result<Response, HttpError> {
    if !accepts(Some(&accept_of(req)), &asset.content_type) {
        return Err(oci(
            404,
            MANIFEST_UNKNOWN,
            format!(
                "manifest {raw} is a {} the client does not accept",
                asset.content_type
            ),
        ));
    }
    // Pulls by tag and by digest are answered by the host until the image
    // changes; the media type check depends on Accept.
    Ok(Response::blob(&asset.blake3, &asset.content_type)
        .header("docker-content-digest", digest)
        .header("etag", &format!("\"{digest}\""))
        .cacheable(&[name], &["accept"]))
}

/// The writes that remove manifest `digest`: its row (with its bytes and the
/// tags on it) and its referrers entry, if it has one.
fn delete_writes(name: &str, digest: &str) -> Result<Option<Vec<Write>>, HttpError> {
    let Some(row) = catalog::get_version(name, digest).map_err(store)? else {
        return Ok(None);
    };
    let mut writes = vec![Write::DeleteVersion((name.into(), digest.into()))];
    if let Some(subject) = row.meta::<Value>()?["subject"].as_str() {
        let entry = repo::referrer_path(name, subject, digest);
        // Rows stored before referrers entries existed have none.
        if catalog::find_asset(&entry).map_err(store)?.is_some() {
            writes.push(Write::RemoveAsset((name.into(), entry)));
        }
    }
    Ok(Some(writes))
}

/// `DELETE /v2/<name>/manifests/<reference>`: a digest removes the manifest
/// (and the tags on it), a tag only the tag.
pub fn delete(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("name").to_string();
    names::name(&name)?;
    let raw = req.param("reference").to_string();
    let reference = names::reference(&raw)?;
    let removed = match &reference {
        Reference::Digest(d) => match delete_writes(&name, d)? {
            Some(writes) => catalog::apply(&writes),
            None => Err(StoreError::NotFound),
        },
        Reference::Tag(t) => catalog::remove_tag(&name, t),
    };
    match removed {
        Ok(()) => Ok(Response::empty(202).header("content-length", "0")),
        Err(StoreError::NotFound) => Err(unknown(&name, &reference)),
        Err(e) => Err(store(e)),
    }
}
