//! The read side: indices, signatures, by-hash, pool files and the key.
//! Indices and signatures are cached by the host ("*": any write renders
//! them again; a key rotation drops them, see docs/formats/deb.md).

use wharf_sdk::{HttpError, Request, Response, catalog, signing};

use crate::index::{self, Compression, Dist, Entry, HashKind, Labels};
use crate::{KEY_ID, names, proxy, upload};

/// `GET key.asc`: the armored public keys `signed-by` points at (not
/// cached: removing an old key changes it without a catalog write).
pub fn key(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return Err(HttpError::not_found(
            "a proxy serves its upstream's signatures: trust the upstream's key",
        ));
    }
    let armored = signing::public_key(KEY_ID).map_err(unavailable)?;
    Ok(Response::bytes(
        200,
        "application/pgp-keys",
        armored.into_bytes(),
    ))
}

/// `GET dists/{dist}/Release`, `InRelease` or `Release.gpg`.
pub fn release(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return proxy::dists(req);
    }
    let dist = req.param("dist");
    let file = req.param("file");
    if !matches!(file, "Release" | "InRelease" | "Release.gpg") {
        return Err(HttpError::not_found(format!("no {file} in dists/{dist}/")));
    }
    let release = index::release(dist, &existing(dist)?, &labels(req));
    let response = match file {
        "Release" => Response::bytes(200, "text/plain; charset=utf-8", release.into_bytes()),
        "InRelease" => {
            let signed = signing::clearsign(KEY_ID, release.as_bytes()).map_err(unavailable)?;
            Response::bytes(200, "text/plain; charset=utf-8", signed.into_bytes())
        }
        _ => {
            let signature =
                signing::sign_detached(KEY_ID, release.as_bytes()).map_err(unavailable)?;
            Response::bytes(200, "application/pgp-signature", signature.into_bytes())
        }
    };
    Ok(response.cacheable(&["*"], &[]))
}

/// `GET dists/{dist}/{component}/binary-{arch}/Packages{,.gz,.xz}`.
pub fn packages(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return proxy::dists(req);
    }
    let Some(compression) = Compression::from_file_name(req.param("file")) else {
        return Err(HttpError::not_found("no such index"));
    };
    let (entries, component, arch) = index_scope(req)?;
    let text = index::packages(&entries, &component, &arch);
    Ok(
        Response::bytes(200, compression.content_type(), compression.apply(&text))
            .cacheable(&["*"], &[]),
    )
}

/// `GET dists/{dist}/{component}/binary-{arch}/by-hash/{MD5Sum,SHA1,SHA256}/{hex}`:
/// the index of this generation with that digest.
pub fn by_hash(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return proxy::dists(req);
    }
    let Some(kind) = HashKind::from_name(req.param("hash")) else {
        return Err(HttpError::not_found("by-hash has MD5Sum, SHA1 and SHA256"));
    };
    let digest = req.param("digest").to_ascii_lowercase();
    let (entries, component, arch) = index_scope(req)?;
    let text = index::packages(&entries, &component, &arch);
    let found = Compression::ALL
        .into_iter()
        .map(|c| (c, c.apply(&text)))
        .find(|(_, bytes)| kind.hex(bytes) == digest);
    let Some((compression, bytes)) = found else {
        return Err(HttpError::not_found(
            "no index with that digest (a newer Release lists the current ones)",
        ));
    };
    Ok(Response::bytes(200, compression.content_type(), bytes).cacheable(&["*"], &[]))
}

/// `GET pool/…`: the host streams the `.deb`.
pub fn pool(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return proxy::pool(req);
    }
    let path = format!("pool/{}", req.param("path"));
    let asset = catalog::find_asset(&path)?
        .ok_or_else(|| HttpError::not_found(format!("no file {path}")))?;
    let package = names::package_of_file(path.rsplit('/').next().unwrap_or(""));
    Ok(Response::blob(&asset.blake3, upload::DEB_TYPE).cacheable(&[package], &[]))
}

/// `GET dists/…` other than the indices above: a proxy's upstream's; none
/// here.
pub fn other_dists(req: &mut Request) -> Result<Response, HttpError> {
    match req.is_proxy() {
        true => proxy::dists(req),
        false => Err(HttpError::not_found("no such file")),
    }
}

/// The entries, component and architecture of an index URL; 404 for a
/// distribution, component or architecture this repository does not have.
fn index_scope(req: &Request) -> Result<(Vec<Entry>, String, String), HttpError> {
    let component = req.param("component").to_string();
    let arch = req
        .param("binary")
        .strip_prefix("binary-")
        .filter(|a| names::ARCHITECTURES.contains(a))
        .ok_or_else(|| HttpError::not_found("no such architecture"))?
        .to_string();
    let entries = existing(req.param("dist"))?.entries;
    if !index::components(&entries).contains(&component.as_str()) {
        return Err(HttpError::not_found(format!("no component {component}")));
    }
    Ok((entries, component, arch))
}

/// A distribution exists while it has packages.
fn existing(name: &str) -> Result<Dist, HttpError> {
    if !names::is_dist_name(name) {
        return Err(HttpError::not_found(format!("no distribution {name}")));
    }
    let dist = index::dist(name)?;
    if dist.entries.is_empty() {
        return Err(HttpError::not_found(format!("no distribution {name}")));
    }
    Ok(dist)
}

/// `origin` and `label` from the repository's settings; "Wharf" otherwise.
pub(crate) fn labels(req: &Request) -> Labels {
    let settings: serde_json::Value =
        serde_json::from_str(&req.repo.settings_json).unwrap_or_default();
    let get = |key: &str| {
        settings
            .get(key)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty() && !v.contains('\n'))
            .unwrap_or("Wharf")
            .to_string()
    };
    Labels {
        origin: get("origin"),
        label: get("label"),
    }
}

/// A signature the host could not make: the repository cannot be trusted
/// without it, so the client is told to come back.
pub(crate) fn unavailable(why: String) -> HttpError {
    HttpError::new(503, format!("signing failed: {why}"))
}
