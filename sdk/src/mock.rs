//! An in-memory host for native `cargo test` of a plugin's logic.
//!
//! It stores blobs and catalog rows like the real host, computes the same
//! digests, and lets a test drive a [`Format`] through both phases with
//! [`request`]. It does not enforce permissions (the real host does); tests
//! assert on the [`Route`] that classify returned instead.

use crate::body::FormPart;
use crate::types::*;
use crate::{Body, Format, Response};
use base64::Engine;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;

#[derive(Default)]
pub struct MockHost {
    pub blobs: HashMap<String, (Vec<u8>, BlobInfo)>,
    /// Package → versions, oldest first.
    pub packages: BTreeMap<String, Vec<VersionRow>>,
    /// Asset path → (asset, package, version).
    pub assets: BTreeMap<String, (Asset, String, String)>,
    pub tags: BTreeMap<String, BTreeMap<String, String>>,
    pub kv: HashMap<String, Vec<u8>>,
    pub uploads: HashMap<String, Vec<u8>>,
    /// user → password, for `auth::login`.
    pub users: HashMap<String, String>,
    pub caller: Option<String>,
    pub logs: Vec<String>,
    clock: u64,
}

thread_local! {
    static HOST: RefCell<MockHost> = RefCell::new(MockHost::default());
}

/// Runs `f` with the thread's mock host.
pub fn with<R>(f: impl FnOnce(&mut MockHost) -> R) -> R {
    HOST.with(|h| f(&mut h.borrow_mut()))
}

/// Starts a test from an empty host.
pub fn reset() {
    with(|h| *h = MockHost::default());
}

/// Sets who the next requests come from.
pub fn login_as(user: Option<&str>) {
    with(|h| h.caller = user.map(str::to_string));
}

pub fn repo() -> RepoInfo {
    RepoInfo {
        name: "test".into(),
        kind: RepoKind::Hosted,
        base_url: "http://registry.test/test/".into(),
        settings_json: "{}".into(),
    }
}

/// A test request: classify, then handle with the mock caller.
pub struct TestRequest {
    pub head: RequestHead,
    pub body: Option<Vec<u8>>,
}

impl TestRequest {
    pub fn new(method: Method, path_and_query: &str) -> Self {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q.to_string())),
            None => (path_and_query, None),
        };
        let head = RequestHead {
            method,
            raw_path: path.trim_start_matches('/').to_string(),
            raw_query: query,
            headers: Vec::new(),
        };
        TestRequest { head, body: None }
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.head
            .headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }
    pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = Some(bytes.into());
        self
    }

    /// Runs both phases of `F`; a classify error is returned as such.
    pub fn send<F: Format>(self) -> Result<(Route, Response), ClassifyError> {
        let router = F::router();
        let repo = repo();
        let route = router.classify(&repo, &self.head)?;
        let caller = Caller {
            user: with(|h| h.caller.clone()),
            roles: Vec::new(),
        };
        let ctx = RequestContext {
            repo,
            head: self.head,
            route_id: route.id.clone(),
            caller,
        };
        let body = match route.body {
            BodyMode::Stream => Some(Body::from_bytes(self.body.unwrap_or_default())),
            BodyMode::None => None,
        };
        let response = router.handle(ctx, body, F::error);
        Ok((route, response))
    }
}

fn digests(data: &[u8], want: DigestSet) -> BlobInfo {
    use crate::hex;
    use sha2::Digest;
    let wanted = |flag: DigestSet, f: &dyn Fn() -> String| want.contains(flag).then(f);
    BlobInfo {
        digests: Digests {
            blake3: blake3::hash(data).to_hex().to_string(),
            sha256: wanted(DigestSet::SHA256, &|| hex(&sha2::Sha256::digest(data))),
            sha512: wanted(DigestSet::SHA512, &|| hex(&sha2::Sha512::digest(data))),
            sha1: wanted(DigestSet::SHA1, &|| hex(&sha1::Sha1::digest(data))),
            md5: wanted(DigestSet::MD5, &|| hex(&md5::Md5::digest(data))),
        },
        size: data.len() as u64,
    }
}

impl MockHost {
    fn store(&mut self, data: Vec<u8>, want: DigestSet) -> BlobInfo {
        let info = digests(&data, want);
        self.blobs
            .insert(info.digests.blake3.clone(), (data, info.clone()));
        info
    }

    /// The bytes of a stored blob (tests).
    pub fn blob(&self, blake3: &str) -> Option<&[u8]> {
        self.blobs.get(blake3).map(|(b, _)| b.as_slice())
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        1_700_000_000_000 + self.clock
    }
}

/// A request body held in memory.
pub struct MockBody(RefCell<std::io::Cursor<Vec<u8>>>);

impl MockBody {
    pub fn new(bytes: Vec<u8>) -> Self {
        MockBody(RefCell::new(std::io::Cursor::new(bytes)))
    }

    pub fn read(&self, max: u32) -> Result<Vec<u8>, StoreError> {
        let mut buf = vec![0; max as usize];
        let n = self.0.borrow_mut().read(&mut buf).unwrap_or(0);
        buf.truncate(n);
        Ok(buf)
    }

    fn rest(&self, len: Option<u64>) -> Result<Vec<u8>, StoreError> {
        let mut data = Vec::new();
        let mut cursor = self.0.borrow_mut();
        match len {
            Some(n) => {
                cursor.by_ref().take(n).read_to_end(&mut data).ok();
                if (data.len() as u64) < n {
                    return Err(StoreError::Invalid("request body ended early".into()));
                }
            }
            None => {
                cursor.read_to_end(&mut data).ok();
            }
        }
        Ok(data)
    }

    pub fn ingest(
        &self,
        len: Option<u64>,
        want: DigestSet,
        expect_sha256: Option<&str>,
    ) -> Result<BlobInfo, StoreError> {
        let data = self.rest(len)?;
        let info = digests(&data, want | DigestSet::SHA256);
        if let Some(expected) = expect_sha256
            && info.digests.sha256.as_deref() != Some(&expected.to_ascii_lowercase())
        {
            return Err(StoreError::DigestMismatch(format!(
                "sha256 is {}",
                info.digests.sha256.unwrap()
            )));
        }
        Ok(with(|h| h.store(data, want)))
    }

    pub fn ingest_multipart(&self, _want: DigestSet) -> Result<Vec<FormPart>, StoreError> {
        Err(StoreError::Unavailable(
            "the mock host does not parse multipart bodies yet".into(),
        ))
    }

    pub fn ingest_json_base64(
        &self,
        pointers: &[String],
        want: DigestSet,
    ) -> Result<(String, Vec<BlobInfo>), StoreError> {
        let data = self.rest(None)?;
        let mut doc: serde_json::Value = serde_json::from_slice(&data)
            .map_err(|e| StoreError::Invalid(format!("invalid JSON: {e}")))?;
        let mut stored = Vec::new();
        for pointer in pointers {
            let parts: Vec<&str> = pointer.split('/').skip(1).collect();
            replace_base64(&mut doc, &parts, want, &mut stored)?;
        }
        Ok((doc.to_string(), stored))
    }
}

fn replace_base64(
    v: &mut serde_json::Value,
    parts: &[&str],
    want: DigestSet,
    out: &mut Vec<BlobInfo>,
) -> Result<(), StoreError> {
    let Some((first, rest)) = parts.split_first() else {
        if let Some(text) = v.as_str() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| StoreError::Invalid(format!("invalid base64: {e}")))?;
            let info = with(|h| h.store(bytes, want));
            *v = serde_json::json!({ "$blob": info.digests.blake3 });
            out.push(info);
        }
        return Ok(());
    };
    if let Some(map) = v.as_object_mut() {
        for (key, child) in map.iter_mut() {
            if *first == "*" || key == first {
                replace_base64(child, rest, want, out)?;
            }
        }
    }
    Ok(())
}

/// A blob opened for reading.
pub struct MockReader(Vec<u8>);

impl MockReader {
    pub fn size(&self) -> u64 {
        self.0.len() as u64
    }
    pub fn read(&self, offset: u64, len: u32) -> Result<Vec<u8>, StoreError> {
        let start = (offset as usize).min(self.0.len());
        let end = (start + len as usize).min(self.0.len());
        Ok(self.0[start..end].to_vec())
    }
}

pub(crate) mod imp {
    use super::*;

    pub fn stat(blake3: &str) -> Option<BlobInfo> {
        with(|h| h.blobs.get(blake3).map(|(_, i)| i.clone()))
    }
    pub fn open(blake3: &str) -> Result<MockReader, StoreError> {
        with(|h| {
            h.blobs
                .get(blake3)
                .map(|(b, _)| MockReader(b.clone()))
                .ok_or(StoreError::NotFound)
        })
    }
    pub fn put_bytes(data: &[u8], want: DigestSet) -> Result<BlobInfo, StoreError> {
        Ok(with(|h| h.store(data.to_vec(), want)))
    }
    pub fn start_upload() -> Result<String, StoreError> {
        with(|h| {
            let id = format!("upload-{}", h.tick());
            h.uploads.insert(id.clone(), Vec::new());
            Ok(id)
        })
    }
    pub fn append_upload(
        id: &str,
        body: &MockBody,
        expect_offset: Option<u64>,
    ) -> Result<u64, StoreError> {
        let data = body.rest(None)?;
        with(|h| {
            let upload = h.uploads.get_mut(id).ok_or(StoreError::NotFound)?;
            if expect_offset.is_some_and(|o| o != upload.len() as u64) {
                return Err(StoreError::Invalid(format!(
                    "upload is at offset {}",
                    upload.len()
                )));
            }
            upload.extend_from_slice(&data);
            Ok(upload.len() as u64)
        })
    }
    pub fn upload_offset(id: &str) -> Result<u64, StoreError> {
        with(|h| {
            h.uploads
                .get(id)
                .map(|u| u.len() as u64)
                .ok_or(StoreError::NotFound)
        })
    }
    pub fn finish_upload(
        id: &str,
        want: DigestSet,
        expect_sha256: Option<&str>,
    ) -> Result<BlobInfo, StoreError> {
        let data = with(|h| h.uploads.remove(id)).ok_or(StoreError::NotFound)?;
        MockBody::new(data).ingest(None, want, expect_sha256)
    }
    pub fn abort_upload(id: &str) {
        with(|h| h.uploads.remove(id));
    }

    pub fn publish(p: &Publication) -> Result<(), StoreError> {
        with(|h| {
            let v = &p.version;
            let versions = h.packages.entry(v.package.clone()).or_default();
            if versions.iter().any(|r| r.version == v.version) {
                return Err(StoreError::AlreadyExists);
            }
            if p.assets.iter().any(|a| h.assets.contains_key(&a.path)) {
                return Err(StoreError::AlreadyExists);
            }
            if let Some(a) = p.assets.iter().find(|a| !h.blobs.contains_key(&a.blake3)) {
                return Err(StoreError::Invalid(format!("unknown blob {}", a.blake3)));
            }
            let mut row = v.clone();
            row.published_at = h.tick();
            h.packages.get_mut(&v.package).unwrap().push(row);
            for a in &p.assets {
                h.assets.insert(
                    a.path.clone(),
                    (a.clone(), v.package.clone(), v.version.clone()),
                );
            }
            for t in &p.tags {
                h.tags
                    .entry(v.package.clone())
                    .or_default()
                    .insert(t.clone(), v.version.clone());
            }
            Ok(())
        })
    }
    pub fn get_version(package: &str, version: &str) -> Option<VersionRow> {
        with(|h| {
            h.packages
                .get(package)?
                .iter()
                .find(|r| r.version == version)
                .cloned()
        })
    }
    pub fn list_versions(package: &str) -> Vec<VersionRow> {
        with(|h| h.packages.get(package).cloned().unwrap_or_default())
    }
    fn update(
        package: &str,
        version: &str,
        f: impl FnOnce(&mut VersionRow),
    ) -> Result<(), StoreError> {
        with(|h| {
            let row = h
                .packages
                .get_mut(package)
                .and_then(|vs| vs.iter_mut().find(|r| r.version == version))
                .ok_or(StoreError::NotFound)?;
            f(row);
            Ok(())
        })
    }
    pub fn set_yanked(package: &str, version: &str, yanked: bool) -> Result<(), StoreError> {
        update(package, version, |r| r.yanked = yanked)
    }
    pub fn set_deprecated(
        package: &str,
        version: &str,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        update(package, version, |r| {
            r.deprecated = message.map(str::to_string)
        })
    }
    pub fn delete_version(package: &str, version: &str) -> Result<(), StoreError> {
        with(|h| {
            let versions = h.packages.get_mut(package).ok_or(StoreError::NotFound)?;
            let before = versions.len();
            versions.retain(|r| r.version != version);
            if versions.len() == before {
                return Err(StoreError::NotFound);
            }
            if versions.is_empty() {
                h.packages.remove(package);
            }
            h.assets
                .retain(|_, (_, p, v)| !(p == package && v == version));
            if let Some(tags) = h.tags.get_mut(package) {
                tags.retain(|_, v| v != version);
            }
            Ok(())
        })
    }
    pub fn delete_package(package: &str) -> Result<(), StoreError> {
        with(|h| {
            h.packages.remove(package).ok_or(StoreError::NotFound)?;
            h.assets.retain(|_, (_, p, _)| p != package);
            h.tags.remove(package);
            Ok(())
        })
    }
    pub fn find_asset(path: &str) -> Option<Asset> {
        with(|h| h.assets.get(path).map(|(a, _, _)| a.clone()))
    }
    pub fn list_tags(package: &str) -> Vec<(String, String)> {
        with(|h| {
            h.tags
                .get(package)
                .map(|t| t.clone().into_iter().collect())
                .unwrap_or_default()
        })
    }
    pub fn set_tag(package: &str, tag: &str, version: &str) -> Result<(), StoreError> {
        get_version(package, version).ok_or(StoreError::NotFound)?;
        with(|h| {
            h.tags
                .entry(package.into())
                .or_default()
                .insert(tag.into(), version.into())
        });
        Ok(())
    }
    pub fn remove_tag(package: &str, tag: &str) -> Result<(), StoreError> {
        with(|h| {
            h.tags
                .get_mut(package)
                .and_then(|t| t.remove(tag))
                .map(|_| ())
                .ok_or(StoreError::NotFound)
        })
    }
    pub fn list_packages(prefix: Option<&str>, after: Option<&str>, limit: u32) -> Vec<String> {
        with(|h| {
            h.packages
                .keys()
                .filter(|k| prefix.is_none_or(|p| k.starts_with(p)))
                .filter(|k| after.is_none_or(|a| k.as_str() > a))
                .take(limit as usize)
                .cloned()
                .collect()
        })
    }
    pub fn search(text: &str, offset: u32, limit: u32) -> (u64, Vec<VersionRow>) {
        let text = text.to_lowercase();
        with(|h| {
            let hits: Vec<VersionRow> = h
                .packages
                .iter()
                .filter_map(|(name, vs)| {
                    let latest = vs.last()?;
                    let hit = name.to_lowercase().contains(&text)
                        || latest.metadata_json.to_lowercase().contains(&text);
                    hit.then(|| latest.clone())
                })
                .collect();
            let total = hits.len() as u64;
            (
                total,
                hits.into_iter()
                    .skip(offset as usize)
                    .take(limit as usize)
                    .collect(),
            )
        })
    }
    pub fn kv_get(key: &str) -> Option<Vec<u8>> {
        with(|h| h.kv.get(key).cloned())
    }
    pub fn kv_put(key: &str, value: &[u8]) -> Result<(), StoreError> {
        with(|h| h.kv.insert(key.into(), value.to_vec()));
        Ok(())
    }

    pub fn whoami() -> Caller {
        Caller {
            user: with(|h| h.caller.clone()),
            roles: Vec::new(),
        }
    }
    pub fn may(_: &Access) -> bool {
        with(|h| h.caller.is_some())
    }
    pub fn login(user: &str, password: &str) -> Result<String, String> {
        with(|h| match h.users.get(user) {
            Some(p) if p == password => Ok(format!("token-for-{user}")),
            _ => Err("invalid user name or password".into()),
        })
    }
    pub fn log(message: &str) {
        with(|h| h.logs.push(message.to_string()));
    }
}
