//! `GET`/`HEAD`: stored files, generated metadata, and checksum sidecars of
//! both.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::layout::{self, Algo, Target};
use crate::{merge, metadata, proxy, store};

pub fn get(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return proxy::get(req);
    }
    let path = crate::request_path(req);
    let path = layout::parse(&path).map_err(|e| HttpError::not_found(e.message))?;
    let package = path.package();
    let target = path.target_path();
    let missing = || HttpError::not_found(format!("{target} not found"));
    let xml = match &path.target {
        Target::File(file) => {
            let stored = store::get(&target)?.ok_or_else(missing)?;
            return Ok(match path.checksum {
                Some(algo) => text(stored.digest(algo).to_string()).cacheable(&[&package], &[]),
                None => Response::blob(&stored.blake3, store::content_type(&file.extension))
                    .cacheable(&[&package], &[]),
            });
        }
        Target::Metadata(None) => metadata::artifact(
            &path.group,
            &path.artifact,
            &catalog::all_versions(&package)?,
        ),
        Target::Metadata(Some(version)) => metadata::snapshot(
            &path.group,
            &path.artifact,
            version,
            &store::files(&package, version)?,
        ),
    }
    .ok_or_else(missing)?;
    let response = match path.checksum {
        Some(algo) => merge::sidecar(algo, xml.as_bytes()),
        None => Response::bytes(200, "application/xml", xml.into_bytes()),
    };
    Ok(response.cacheable(&[&package], &[]))
}

pub fn text(digest: String) -> Response {
    Response::bytes(200, "text/plain", digest.into_bytes())
}

/// Lower-case hex digest of bytes the plugin rendered itself.
pub fn checksum(algo: Algo, bytes: &[u8]) -> String {
    let digest = match algo {
        Algo::Md5 => Md5::digest(bytes).to_vec(),
        Algo::Sha1 => Sha1::digest(bytes).to_vec(),
        Algo::Sha256 => Sha256::digest(bytes).to_vec(),
        Algo::Sha512 => Sha512::digest(bytes).to_vec(),
    };
    wharf_sdk::hex(digest)
}
