//! A proxy repository: a file not stored yet is pulled from the same path
//! below the upstream URL, kept, and recorded as an upload is, then served
//! from the store whether the upstream answers or not. A plain file tree
//! promises no digest, so what is kept is what the upstream sent with a
//! 200, whole (the host refuses a body cut short); see docs/formats/raw.md.

use wharf_sdk::catalog::{Asset, Owner};
use wharf_sdk::types::{DigestSet, Write};
use wharf_sdk::upstream::{self, Pull};
use wharf_sdk::{HttpError, Request, Response, blobs, escape};

/// `GET path` of a file the repository does not have: a proxy pulls it,
/// a hosted repository answers 404.
pub fn missing(req: &Request, package: String, path: String) -> Result<Response, HttpError> {
    if !req.is_proxy() {
        return Err(HttpError::not_found(format!("no file {path}")));
    }
    let content_type = crate::content_type(&path);
    let asset = Asset {
        path: path.clone(),
        // The pulled blob, filled in by the host once stored.
        blake3: String::new(),
        content_type: content_type.into(),
        // Size and SHA-256 are the blob's, known once stored (`listed_size`).
        metadata_json: "{}".into(),
        added_at: 0,
    };
    let owner = Owner {
        package,
        version: None,
    };
    let pulled = upstream::pull(Pull {
        // Encoded: a `?`, `#` or `%` in a name stays part of the path, and
        // a `:` never makes it an absolute URL.
        url: escape::url_path(&path),
        want: DigestSet::SHA256,
        expect: Vec::new(),
        record: vec![Write::PutAsset((owner, asset, false))],
    })?;
    upstream::serve_pulled(pulled, content_type, &path)
}

/// A listed file's size: an upload's is in its metadata, a pulled file's
/// (recorded before its size was known) in its blob's.
pub fn listed_size(asset: &Asset) -> Result<Option<u64>, HttpError> {
    let meta = serde_json::from_str::<serde_json::Value>(&asset.metadata_json).ok();
    match meta.and_then(|m| m["size"].as_u64()) {
        Some(size) => Ok(Some(size)),
        None => Ok(blobs::stat(&asset.blake3)?.map(|b| b.size)),
    }
}

#[cfg(test)]
mod tests {
    use crate::Raw;
    use wharf_sdk::mock::{self, TestRequest};
    use wharf_sdk::types::{Method, ResponseBody};
    use wharf_sdk::{Response, types::Action};

    fn get(path: &str) -> Response {
        let req = TestRequest::new(Method::Get, path).header("accept", "application/json");
        let (route, response) = req.send::<Raw>().unwrap();
        assert_eq!(route.access[0].action, Action::Read);
        response
    }

    fn asked() -> Vec<String> {
        mock::with(|h| h.upstream.as_ref().unwrap().asked.clone())
    }

    #[test]
    fn a_missing_file_is_pulled_once_then_served_and_listed_from_the_store() {
        mock::reset();
        // The name's space goes upstream encoded, as the upstream's URL has it.
        mock::serve_upstream("builds/1.0/app%20x.bin", 200, b"upstream bytes".to_vec());
        let first = get("/builds/1.0/app%20x.bin");
        assert_eq!(first.status, 200);
        assert_eq!(first.body_bytes(), b"upstream bytes");
        mock::take_upstream_down();
        let second = get("/builds/1.0/app%20x.bin");
        assert!(
            matches!(second.body, ResponseBody::Blob(_)),
            "{:?}",
            second.body
        );
        let entries = get("/builds/1.0/").body_json()["entries"].clone();
        let entry = serde_json::json!({"name": "app x.bin", "size": 14});
        assert_eq!(entries, serde_json::json!([entry]));
        assert_eq!(asked().len(), 1, "pulled once");
        // Nothing kept and no upstream: a bad gateway, in raw's shape.
        let failed = get("/builds/1.0/other.bin");
        assert_eq!(failed.status, 502);
        assert!(failed.body_json()["error"].is_string());
    }

    #[test]
    fn the_upstreams_404_is_raws_and_paths_are_checked_first() {
        mock::reset();
        mock::serve_upstream("elsewhere", 200, b"x".to_vec());
        let missing = get("/builds/missing.bin");
        assert_eq!(missing.status, 404);
        assert!(missing.body_json()["error"].is_string());
        assert_eq!(get("/a/%2e%2e/elsewhere").status, 400);
        assert_eq!(asked(), ["http://upstream.test/builds/missing.bin"]);
    }
}
