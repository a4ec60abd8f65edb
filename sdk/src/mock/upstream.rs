//! The upstream of the mock host: a test serves documents and artifacts
//! by URL with [`serve_upstream`]; the repository is then a proxy of
//! [`UPSTREAM_BASE`]. Like the host, a pulled artifact whose bytes break
//! the metadata's promise fails and is not kept, and a pull's `record`
//! writes are applied (at once here, once stored in the host).

use super::with;
use crate::bindings::wharf::plugin::upstream::{
    DigestKind, PullRequest, UpstreamError, UpstreamRequest,
};
use crate::types::{StoreError, Write};
use std::cell::Cell;

/// What relative upstream URLs resolve against.
pub const UPSTREAM_BASE: &str = "http://upstream.test/";

/// The upstream a proxy test repository fetches from.
#[derive(Default, Clone, Debug)]
pub struct MockUpstream {
    /// Absolute URL → status and body.
    pub answers: std::collections::BTreeMap<String, (u16, Vec<u8>)>,
    /// Every URL fetched or pulled, in order.
    pub asked: Vec<String>,
    /// The upstream is down: `fetch` answers the last good answer, stale.
    pub down: bool,
}

/// Makes the test repository a proxy, and `url` (relative to
/// [`UPSTREAM_BASE`], or absolute) answer `status` with `body`.
pub fn serve_upstream(url: &str, status: u16, body: impl Into<Vec<u8>>) {
    let url = resolve(url);
    with(|h| {
        h.upstream
            .get_or_insert_with(Default::default)
            .answers
            .insert(url, (status, body.into()));
    });
}

/// The upstream stops answering; what it answered before is served stale.
pub fn take_upstream_down() {
    with(|h| h.upstream.get_or_insert_with(Default::default).down = true);
}

fn resolve(url: &str) -> String {
    match url.starts_with("http://") || url.starts_with("https://") {
        true => url.to_string(),
        false => format!("{UPSTREAM_BASE}{url}"),
    }
}

/// The mock's answer, with the resource methods of the host's.
pub struct UpstreamResponse {
    status: u16,
    body: Vec<u8>,
    offset: Cell<usize>,
    stale: bool,
}

impl UpstreamResponse {
    pub fn status(&self) -> u16 {
        self.status
    }
    /// A body that starts like JSON is `application/json`, any other
    /// `text/html`: what the formats' upstreams send.
    pub fn headers(&self) -> Vec<(String, String)> {
        let json = self.body.first() == Some(&b'{');
        let content_type = if json {
            "application/json"
        } else {
            "text/html"
        };
        vec![("content-type".into(), content_type.into())]
    }
    pub fn read(&self, max: u32) -> Result<Vec<u8>, StoreError> {
        let start = self.offset.get().min(self.body.len());
        let end = (start + max as usize).min(self.body.len());
        self.offset.set(end);
        Ok(self.body[start..end].to_vec())
    }
    pub fn stale(&self) -> bool {
        self.stale
    }
    /// What the client receives when the plugin answers with it.
    pub fn into_bytes(self) -> Vec<u8> {
        self.body
    }
}

fn answer(url: &str) -> Result<(u16, Vec<u8>, bool), UpstreamError> {
    with(|h| {
        let Some(upstream) = h.upstream.as_mut() else {
            return Err(UpstreamError::NotGranted(
                "test is not a proxy repository".into(),
            ));
        };
        let url = resolve(url);
        upstream.asked.push(url.clone());
        let known = upstream.answers.get(&url).cloned();
        match (known, upstream.down) {
            (Some((200, body)), true) => Ok((200, body, true)),
            (_, true) => Err(UpstreamError::Connect("the mock upstream is down".into())),
            (Some((status, body)), false) => Ok((status, body, false)),
            (None, false) => Ok((404, Vec::new(), false)),
        }
    })
}

pub fn fetch(req: &UpstreamRequest) -> Result<UpstreamResponse, UpstreamError> {
    let (status, body, stale) = answer(&req.url)?;
    Ok(UpstreamResponse {
        status,
        body,
        offset: Cell::new(0),
        stale,
    })
}

/// The mock's upstream has one representation per URL.
pub fn pull_accepting(req: &PullRequest, _accept: &str) -> Result<UpstreamResponse, UpstreamError> {
    pull(req)
}

pub fn pull(req: &PullRequest) -> Result<UpstreamResponse, UpstreamError> {
    let (status, body, _) = answer(&req.url)?;
    if status == 200 {
        with(|h| {
            let info = h.store(body.clone(), req.want);
            for (kind, expected) in &req.expect {
                let actual = match kind {
                    DigestKind::Sha256 => crate::hex(sha2::Sha256::digest(&body)),
                    DigestKind::Sha512 => crate::hex(sha2::Sha512::digest(&body)),
                    DigestKind::Sha1 => crate::hex(sha1::Sha1::digest(&body)),
                };
                if !actual.eq_ignore_ascii_case(expected) {
                    h.blobs.remove(&info.digests.blake3);
                    return Err(UpstreamError::Connect(format!(
                        "the upstream's artifact is not the promised one: {kind:?} {actual}"
                    )));
                }
            }
            let now = h.tick();
            for w in &req.record {
                let w = with_blob(w.clone(), &info.digests.blake3);
                match h.catalog.write(&w, now, &h.blobs) {
                    Ok(()) | Err(StoreError::AlreadyExists) => {}
                    Err(e) => panic!("the host would refuse this record: {e:?}"),
                }
            }
            Ok(())
        })?;
    }
    Ok(UpstreamResponse {
        status,
        body,
        offset: Cell::new(0),
        stale: false,
    })
}

fn with_blob(mut w: Write, blake3: &str) -> Write {
    let assets = match &mut w {
        Write::Publish(p) => p.assets.iter_mut().collect(),
        Write::PutAsset((_, asset, _)) => vec![asset],
        _ => Vec::new(),
    };
    for asset in assets.into_iter().filter(|a| a.blake3.is_empty()) {
        asset.blake3 = blake3.to_string();
    }
    w
}

use sha2::Digest;
