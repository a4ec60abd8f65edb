//! An in-memory host for native `cargo test` of a plugin's logic.
//!
//! It stores blobs and catalog rows like the real host, computes the same
//! digests, and lets a test drive a [`Format`] through both phases with
//! [`request`]. Like the real host, it refuses catalog writes beyond the accesses of the
//! route being handled, and writes by a signed-in caller to a package others
//! own (the first write of a package claims it, `owners.rs`); the caller's
//! other permissions are the tests' to assert on the [`Route`] that classify
//! returned. It keeps users, teams and API tokens for the `owners` and
//! `tokens` interfaces (`tokens.rs`), and signing keys that sign only when
//! granted (`signing.rs`).

use crate::body::{FormFile, FormPart};
use crate::types::*;
use crate::{Body, Format, Response};
use base64::Engine;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;

mod owners;
mod signing;
mod tokens;
pub mod upstream;

pub use signing::{grant_signing_key, rotate_signing_key};
pub use tokens::{MockToken, login_with_token};
pub use upstream::{MockUpstream, UPSTREAM_BASE, serve_upstream, take_upstream_down};

#[derive(Default)]
pub struct MockHost {
    pub blobs: HashMap<String, (Vec<u8>, BlobInfo)>,
    pub catalog: Catalog,
    pub uploads: HashMap<String, Vec<u8>>,
    /// user → password, for `auth::login` and `tokens::create`.
    pub users: HashMap<String, String>,
    pub caller: Option<String>,
    /// Whether the caller is an administrator (who owns every package).
    pub admin: bool,
    /// Package → its owners (`user:…`, `team:…`), oldest first.
    pub owners: BTreeMap<String, Vec<String>>,
    /// Team → its members.
    pub teams: HashMap<String, Vec<String>>,
    /// Every user's API tokens, oldest first.
    pub tokens: Vec<MockToken>,
    /// The id of the token the caller authenticated with.
    pub current_token: Option<String>,
    /// The accesses of the route being handled: like the real host, the mock
    /// refuses writes beyond them. `None` outside a request.
    pub route: Option<Vec<Access>>,
    /// Makes every catalog call fail as a database outage would.
    pub store_down: bool,
    /// The test repository's format settings (JSON); empty: `{}`.
    pub settings_json: String,
    pub logs: Vec<String>,
    /// Signing key ids granted to the plugin → how often each was rotated.
    pub signing_keys: BTreeMap<String, u32>,
    /// Set: the test repository is a proxy of this upstream.
    pub upstream: Option<MockUpstream>,
    /// What `group::read` answers during `TestRequest::merge`, by path (a
    /// path not here is a 404); `None` outside a merge.
    pub group: Option<HashMap<String, GroupAnswer>>,
    /// The group answers set with `group_answer`, for the merges to come.
    group_answers: HashMap<String, GroupAnswer>,
    clock: u64,
}

/// The catalog of the test repository.
#[derive(Default, Clone, Debug)]
pub struct Catalog {
    /// Package → versions, oldest first.
    pub versions: BTreeMap<String, Vec<VersionRow>>,
    /// Asset path → (asset, owner).
    pub assets: BTreeMap<String, (Asset, Owner)>,
    pub tags: BTreeMap<String, BTreeMap<String, String>>,
    /// (package or repository-wide, key) → value.
    pub kv: BTreeMap<(Option<String>, String), Vec<u8>>,
}

impl Catalog {
    pub fn version(&self, package: &str, version: &str) -> Option<&VersionRow> {
        self.versions
            .get(package)?
            .iter()
            .find(|r| r.version == version)
    }

    fn version_mut(&mut self, package: &str, version: &str) -> Result<&mut VersionRow, StoreError> {
        self.versions
            .get_mut(package)
            .and_then(|vs| vs.iter_mut().find(|r| r.version == version))
            .ok_or(StoreError::NotFound)
    }

    fn add_asset(
        &mut self,
        owner: &Owner,
        asset: &Asset,
        now: u64,
        blobs: &HashMap<String, (Vec<u8>, BlobInfo)>,
    ) -> Result<(), StoreError> {
        if !blobs.contains_key(&asset.blake3) {
            return Err(StoreError::Invalid(format!(
                "unknown blob {}",
                asset.blake3
            )));
        }
        let mut asset = asset.clone();
        asset.added_at = now;
        self.assets
            .insert(asset.path.clone(), (asset, owner.clone()));
        Ok(())
    }

    fn write(
        &mut self,
        w: &Write,
        now: u64,
        blobs: &HashMap<String, (Vec<u8>, BlobInfo)>,
    ) -> Result<(), StoreError> {
        match w {
            Write::Publish(p) => {
                let v = &p.version;
                if self.version(&v.package, &v.version).is_some()
                    || p.assets.iter().any(|a| self.assets.contains_key(&a.path))
                {
                    return Err(StoreError::AlreadyExists);
                }
                let owner = Owner {
                    package: v.package.clone(),
                    version: Some(v.version.clone()),
                };
                for a in &p.assets {
                    self.add_asset(&owner, a, now, blobs)?;
                }
                let mut row = v.clone();
                row.published_at = now;
                self.versions
                    .entry(v.package.clone())
                    .or_default()
                    .push(row);
                for t in &p.tags {
                    self.tags
                        .entry(v.package.clone())
                        .or_default()
                        .insert(t.clone(), v.version.clone());
                }
            }
            Write::PutAsset((owner, asset, replace)) => {
                if let Some(version) = &owner.version {
                    self.version_mut(&owner.package, version)?;
                }
                match self.assets.get(&asset.path) {
                    Some((_, o)) if !replace || !same(o, owner) => {
                        return Err(StoreError::AlreadyExists);
                    }
                    _ => self.add_asset(owner, asset, now, blobs)?,
                }
            }
            Write::RemoveAsset((package, path)) => match self.assets.get(path) {
                Some((_, o)) if &o.package == package => {
                    self.assets.remove(path);
                }
                _ => return Err(StoreError::NotFound),
            },
            Write::SetYanked((package, version, yanked)) => {
                self.version_mut(package, version)?.yanked = *yanked;
            }
            Write::SetDeprecated((package, version, message)) => {
                self.version_mut(package, version)?.deprecated = message.clone();
            }
            Write::SetTag((package, tag, version)) => {
                self.version_mut(package, version)?;
                self.tags
                    .entry(package.clone())
                    .or_default()
                    .insert(tag.clone(), version.clone());
            }
            Write::RemoveTag((package, tag)) => {
                self.tags
                    .get_mut(package)
                    .and_then(|t| t.remove(tag))
                    .ok_or(StoreError::NotFound)?;
            }
            Write::DeleteVersion((package, version)) => {
                let versions = self.versions.get_mut(package).ok_or(StoreError::NotFound)?;
                let before = versions.len();
                versions.retain(|r| &r.version != version);
                if versions.len() == before {
                    return Err(StoreError::NotFound);
                }
                if versions.is_empty() {
                    self.versions.remove(package);
                }
                self.assets.retain(|_, (_, o)| {
                    !(&o.package == package && o.version.as_ref() == Some(version))
                });
                if let Some(tags) = self.tags.get_mut(package) {
                    tags.retain(|_, v| v != version);
                }
            }
            Write::DeletePackage(package) => {
                let known =
                    self.versions.remove(package).is_some() | self.tags.remove(package).is_some();
                let assets = self.assets.len();
                self.assets.retain(|_, (_, o)| &o.package != package);
                let kv = self.kv.len();
                self.kv.retain(|(p, _), _| p.as_ref() != Some(package));
                if !known && assets == self.assets.len() && kv == self.kv.len() {
                    return Err(StoreError::NotFound);
                }
            }
            Write::KvPut((package, key, value)) => {
                self.kv
                    .insert((package.clone(), key.clone()), value.clone());
            }
            Write::KvInsert((package, key, value)) => {
                let key = (package.clone(), key.clone());
                if self.kv.contains_key(&key) {
                    return Err(StoreError::AlreadyExists);
                }
                self.kv.insert(key, value.clone());
            }
            Write::KvDelete((package, key)) => {
                self.kv.remove(&(package.clone(), key.clone()));
            }
        }
        Ok(())
    }
}

fn same(a: &Owner, b: &Owner) -> bool {
    a.package == b.package && a.version == b.version
}

/// The package and action a write needs from the route.
fn write_access(w: &Write) -> (Action, Option<&str>) {
    match w {
        Write::Publish(p) => (Action::Write, Some(&p.version.package)),
        Write::PutAsset((o, _, _)) => (Action::Write, Some(&o.package)),
        Write::RemoveAsset((p, _)) => (Action::Delete, Some(p)),
        Write::SetYanked((p, _, _))
        | Write::SetDeprecated((p, _, _))
        | Write::SetTag((p, _, _))
        | Write::RemoveTag((p, _)) => (Action::Write, Some(p)),
        Write::DeleteVersion((p, _)) | Write::DeletePackage(p) => (Action::Delete, Some(p)),
        Write::KvPut((p, _, _)) | Write::KvInsert((p, _, _)) | Write::KvDelete((p, _)) => {
            (Action::Write, p.as_deref())
        }
    }
}

/// The host's rule: an access of the route with this action (or admin) that
/// names this package, or the whole repository.
fn allows(route: &[Access], action: Action, package: Option<&str>) -> bool {
    route.iter().any(|a| {
        (a.action == action || a.action == Action::Admin)
            && a.repository.is_none()
            && (a.package.is_none() || a.package.as_deref() == package)
    })
}

thread_local! {
    static HOST: RefCell<MockHost> = RefCell::new(MockHost::default());
}

/// Runs `f` with the thread's mock host.
pub fn with<R>(f: impl FnOnce(&mut MockHost) -> R) -> R {
    HOST.with(|h| f(&mut h.borrow_mut()))
}

/// Starts a test from an empty host (a hosted repository).
pub fn reset() {
    with(|h| *h = MockHost::default());
}

/// Sets who the next requests come from (with a password, not a token).
pub fn login_as(user: Option<&str>) {
    with(|h| {
        h.caller = user.map(str::to_string);
        h.admin = false;
        h.current_token = None;
    });
}

/// Makes the next requests come from an administrator.
pub fn login_as_admin(user: &str) {
    login_as(Some(user));
    with(|h| h.admin = true);
}

/// Makes a user known (`owners::exists`, `auth::login`, `tokens::create`).
pub fn add_user(name: &str, password: &str) {
    with(|h| h.users.insert(name.into(), password.into()));
}

/// Makes a team with these members.
pub fn add_team(name: &str, members: &[&str]) {
    let members = members.iter().map(|m| m.to_string()).collect();
    with(|h| h.teams.insert(name.into(), members));
}

pub fn repo() -> RepoInfo {
    RepoInfo {
        name: "test".into(),
        kind: with(|h| match h.upstream {
            Some(_) => RepoKind::Proxy,
            None => RepoKind::Hosted,
        }),
        base_url: "http://registry.test/test/".into(),
        settings_json: with(|h| match h.settings_json.is_empty() {
            true => "{}".into(),
            false => h.settings_json.clone(),
        }),
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
        let caller = imp::whoami();
        let content_type =
            crate::http::header(&self.head.headers, "content-type").map(str::to_string);
        let ctx = RequestContext {
            repo,
            head: self.head,
            route_id: route.id.clone(),
            caller,
        };
        let body = match route.body {
            BodyMode::Stream => Some(Body::from_bytes_typed(
                self.body.unwrap_or_default(),
                content_type,
            )),
            BodyMode::None => None,
        };
        with(|h| h.route = Some(route.access.clone()));
        let response = router.handle(ctx, body, F::error);
        with(|h| h.route = None);
        Ok((route, response))
    }
}

impl TestRequest {
    /// The answer of a group of this request's route, merged from `answers`
    /// as the host merges them (`Router::merged`): the route is classified
    /// in a group repository, and a route that does not merge is a 500.
    pub fn merge<F: Format>(self, answers: Vec<MemberAnswer>) -> Merged {
        let router = F::router();
        let group = RepoInfo {
            name: "group".into(),
            kind: RepoKind::Group,
            base_url: "http://registry.test/group/".into(),
            settings_json: "{}".into(),
        };
        let route = match router.classify(&group, &self.head) {
            Ok(route) => route.id,
            Err(e) => panic!(
                "{:?} {} does not classify: {e:?}",
                self.head.method, self.head.raw_path
            ),
        };
        let reads = with(|h| h.group_answers.clone());
        with(|h| h.group = Some(reads));
        let merged = router.merge(group, self.head, route, answers, F::error);
        with(|h| h.group = None);
        merged
    }
}

/// What the group answers `GET <path>` during the merges that follow
/// (`group::read`); other paths are 404s.
pub fn group_answer(path: &str, status: u16, content_type: &str, body: impl Into<Vec<u8>>) {
    let answer = GroupAnswer {
        status,
        headers: vec![("content-type".into(), content_type.into())],
        body: body.into(),
    };
    with(|h| h.group_answers.insert(path.to_string(), answer));
}

/// A member's 200 answer, for a merge (`TestRequest::merge`).
pub fn member_answer(
    repository: &str,
    content_type: &str,
    body: impl Into<Vec<u8>>,
) -> MemberAnswer {
    MemberAnswer {
        repository: repository.into(),
        status: 200,
        headers: vec![("content-type".into(), content_type.into())],
        body: body.into(),
    }
}

fn digests(data: &[u8], want: DigestSet) -> BlobInfo {
    use crate::hex;
    use sha2::Digest;
    let wanted = |flag: DigestSet, f: &dyn Fn() -> String| want.contains(flag).then(f);
    BlobInfo {
        digests: Digests {
            blake3: blake3::hash(data).to_hex().to_string(),
            sha256: wanted(DigestSet::SHA256, &|| hex(sha2::Sha256::digest(data))),
            sha512: wanted(DigestSet::SHA512, &|| hex(sha2::Sha512::digest(data))),
            sha1: wanted(DigestSet::SHA1, &|| hex(sha1::Sha1::digest(data))),
            md5: wanted(DigestSet::MD5, &|| hex(md5::Md5::digest(data))),
            blake2b256: wanted(DigestSet::BLAKE2B256, &|| {
                hex(blake2::Blake2b::<blake2::digest::consts::U32>::digest(data))
            }),
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

    /// The mock's version of the host's route check for a write.
    fn check_write(&self, w: &Write) -> Result<(), StoreError> {
        let (action, package) = write_access(w);
        match &self.route {
            Some(route) if !allows(route, action, package) => Err(StoreError::Forbidden(format!(
                "the route does not allow {action:?} on {}",
                package.unwrap_or("the repository")
            ))),
            _ => Ok(()),
        }
    }

    fn store_failure(&self) -> Result<(), StoreError> {
        match self.store_down {
            true => Err(StoreError::Unavailable("the catalog is down (mock)".into())),
            false => Ok(()),
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        1_700_000_000_000 + self.clock
    }
}

/// A request body held in memory.
pub struct MockBody {
    cursor: RefCell<std::io::Cursor<Vec<u8>>>,
    content_type: Option<String>,
}

impl MockBody {
    pub fn new(bytes: Vec<u8>) -> Self {
        MockBody {
            cursor: RefCell::new(std::io::Cursor::new(bytes)),
            content_type: None,
        }
    }

    pub fn with_content_type(mut self, content_type: Option<String>) -> Self {
        self.content_type = content_type;
        self
    }

    pub fn read(&self, max: u32) -> Result<Vec<u8>, StoreError> {
        let mut buf = vec![0; max as usize];
        let n = self.cursor.borrow_mut().read(&mut buf).unwrap_or(0);
        buf.truncate(n);
        Ok(buf)
    }

    fn rest(&self, len: Option<u64>) -> Result<Vec<u8>, StoreError> {
        let mut data = Vec::new();
        let mut cursor = self.cursor.borrow_mut();
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

    /// Parses the form with multer, the parser the host uses; file parts
    /// are stored, text fields returned.
    pub fn ingest_multipart(&self, want: DigestSet) -> Result<Vec<FormPart>, StoreError> {
        let invalid =
            |e: multer::Error| StoreError::Invalid(format!("invalid multipart body: {e}"));
        let content_type = self.content_type.clone().unwrap_or_default();
        let boundary = multer::parse_boundary(&content_type).map_err(invalid)?;
        let data = self.rest(None)?;
        let stream = futures_util::stream::once(async { Ok::<_, std::io::Error>(data) });
        let mut form = multer::Multipart::new(stream, boundary);
        futures_executor::block_on(async {
            let mut parts = Vec::new();
            while let Some(field) = form.next_field().await.map_err(invalid)? {
                let name = field.name().unwrap_or_default().to_string();
                let filename = field.file_name().map(str::to_string);
                let content_type = field.content_type().map(|m| m.to_string());
                let bytes = field.bytes().await.map_err(invalid)?.to_vec();
                parts.push(match filename {
                    None => FormPart::Field((name, String::from_utf8_lossy(&bytes).into_owned())),
                    Some(filename) => FormPart::File(FormFile {
                        name,
                        filename,
                        content_type,
                        blob: with(|h| h.store(bytes, want)),
                    }),
                });
            }
            Ok(parts)
        })
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

    pub use super::owners::{change_owners, owner_exists, owners};
    pub use super::signing::{clearsign, public_key, sign_detached};
    pub use super::tokens::{create_token, revoke_current_token, revoke_token, tokens};

    pub fn group_read(path: &str) -> Result<GroupAnswer, String> {
        with(|h| match &h.group {
            None => Err("the group is read only during a merge".into()),
            Some(answers) => Ok(answers.get(path).cloned().unwrap_or(GroupAnswer {
                status: 404,
                headers: Vec::new(),
                body: b"not found".to_vec(),
            })),
        })
    }

    pub fn stat(blake3: &str) -> Result<Option<BlobInfo>, StoreError> {
        Ok(with(|h| h.blobs.get(blake3).map(|(_, i)| i.clone())))
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
    pub fn abort_upload(id: &str) -> Result<(), StoreError> {
        with(|h| h.uploads.remove(id));
        Ok(())
    }

    pub fn apply(writes: &[Write]) -> Result<(), StoreError> {
        with(|h| {
            h.store_failure()?;
            // All or nothing: the writes run on a copy that replaces the
            // catalog only when every one succeeded.
            let mut next = h.catalog.clone();
            for w in writes {
                h.check_write(w)?;
            }
            let claims = h.check_owners(writes)?;
            for w in writes {
                let now = h.tick();
                next.write(w, now, &h.blobs)?;
            }
            h.catalog = next;
            h.claim(claims);
            Ok(())
        })
    }
    pub fn has_package(package: &str) -> Result<bool, StoreError> {
        read(|c| {
            c.versions.contains_key(package) || c.assets.values().any(|(_, o)| o.package == package)
        })
    }
    pub fn get_version(package: &str, version: &str) -> Result<Option<VersionRow>, StoreError> {
        read(|c| c.version(package, version).cloned())
    }
    pub fn list_versions(
        package: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<VersionRow>, StoreError> {
        read(|c| {
            let all = c.versions.get(package).map(Vec::as_slice).unwrap_or(&[]);
            let start = match after {
                Some(a) => all
                    .iter()
                    .position(|r| r.version == a)
                    .map_or(all.len(), |i| i + 1),
                None => 0,
            };
            all[start..]
                .iter()
                .take(limit.min(1_000) as usize)
                .cloned()
                .collect()
        })
    }
    pub fn find_asset(path: &str) -> Result<Option<Asset>, StoreError> {
        read(|c| c.assets.get(path).map(|(a, _)| a.clone()))
    }
    pub fn list_assets(
        owner: &Owner,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Asset>, StoreError> {
        read(|c| {
            c.assets
                .values()
                .filter(|(a, o)| same(o, owner) && after.is_none_or(|x| a.path.as_str() > x))
                .filter(|(a, _)| prefix.is_none_or(|p| a.path.starts_with(p)))
                .take(limit.min(1_000) as usize)
                .map(|(a, _)| a.clone())
                .collect()
        })
    }
    pub fn get_tag(package: &str, tag: &str) -> Result<Option<String>, StoreError> {
        read(|c| c.tags.get(package).and_then(|t| t.get(tag)).cloned())
    }
    pub fn list_tags(
        package: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError> {
        read(|c| {
            c.tags
                .get(package)
                .into_iter()
                .flatten()
                .filter(|(t, _)| after.is_none_or(|a| t.as_str() > a))
                .take(limit.min(1_000) as usize)
                .map(|(t, v)| (t.clone(), v.clone()))
                .collect()
        })
    }
    pub fn list_packages(
        prefix: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        // Like the host: a package with assets of its own and no version yet
        // (an OCI repository holding only blobs) is listed too.
        read(|c| {
            let owners = c.assets.values().filter(|(_, o)| o.version.is_none());
            let names: std::collections::BTreeSet<&String> = c
                .versions
                .keys()
                .chain(owners.map(|(_, o)| &o.package))
                .collect();
            names
                .into_iter()
                .filter(|k| prefix.is_none_or(|p| k.starts_with(p)))
                .filter(|k| after.is_none_or(|a| k.as_str() > a))
                .take(limit.min(10_000) as usize)
                .cloned()
                .collect()
        })
    }
    pub fn search(
        text: &str,
        offset: u32,
        limit: u32,
    ) -> Result<(u64, Vec<VersionRow>), StoreError> {
        let text = text.to_lowercase();
        read(|c| {
            let hits: Vec<VersionRow> = c
                .versions
                .iter()
                .filter_map(|(name, vs)| {
                    let latest = vs.last()?;
                    let hit = name.to_lowercase().contains(&text)
                        || latest.metadata_json.to_lowercase().contains(&text);
                    hit.then(|| latest.clone())
                })
                .collect();
            let total = hits.len() as u64;
            let page = hits
                .into_iter()
                .skip(offset as usize)
                .take(limit.min(1_000) as usize)
                .collect();
            (total, page)
        })
    }
    pub fn kv_get(package: Option<&str>, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        read(|c| {
            c.kv.get(&(package.map(str::to_string), key.to_string()))
                .cloned()
        })
    }

    fn read<T>(f: impl FnOnce(&Catalog) -> T) -> Result<T, StoreError> {
        with(|h| {
            h.store_failure()?;
            Ok(f(&h.catalog))
        })
    }

    pub fn whoami() -> Caller {
        with(|h| Caller {
            user: h.caller.clone(),
            roles: match h.admin {
                true => vec!["admin".into()],
                false => Vec::new(),
            },
        })
    }
    /// The caller's permission (signed in = may write), within the route,
    /// and for a change to a package, its ownership.
    pub fn may(a: &Access) -> bool {
        with(|h| {
            (h.caller.is_some() || a.action == Action::Read)
                && h.route
                    .as_ref()
                    .is_none_or(|r| allows(r, a.action, a.package.as_deref()))
                && (a.action == Action::Read || h.may_change(a.package.as_deref()))
        })
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
