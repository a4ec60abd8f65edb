//! The document cache: plugin answers the host may give again without
//! entering wasm — rendered metadata (packuments, index files, …) and "serve
//! blob X" answers for a path (tarballs, wheels, layers, manifests).
//!
//! A plugin marks an answer cacheable with the packages ("tags") it depends
//! on. Every catalog write bumps a generation for its package and for "*";
//! an entry is valid while none of its tags changed after its render began.
//! So a hot packument or tarball is served without entering wasm, and a
//! publish is visible on the very next read.

use crate::http::encoding::Encoding;
use axum::http::HeaderMap;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Where a document came from: plugin build, repository, request target.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct DocKey {
    pub plugin_hash: Arc<str>,
    pub repo: String,
    pub path: String,
    pub query: Option<String>,
}

/// What a cached answer sends.
#[derive(Clone)]
pub enum DocBody {
    /// A rendered document.
    Bytes(Bytes),
    /// A stored blob the host streams (checked to belong to the repository
    /// when the answer was first given); a small one is kept in memory, so a
    /// warm download of a small tarball or manifest touches no file.
    Blob {
        blake3: String,
        size: u64,
        inline: Option<Bytes>,
    },
}

#[derive(Clone)]
pub struct Document {
    pub status: u16,
    /// Everything but Last-Modified, which waits for its second to pass:
    /// the plugin's headers (validated once), the validator and Vary.
    pub headers: HeaderMap,
    pub body: DocBody,
    pub etag: String,
    pub tags: Vec<String>,
    /// Request header names and the values this variant was rendered for.
    pub vary: Vec<(String, Option<String>)>,
    /// Generation counter when rendering began.
    pub rendered_at: u64,
    /// When its packages last changed (Unix milliseconds), if known.
    pub changed_ms: Option<u64>,
    /// Whether the body is text worth compressing for clients that accept it.
    pub compressible: bool,
    /// Compressed copies of the body, made on first demand.
    pub encoded: Vec<(Encoding, Bytes)>,
    /// When the upstream metadata it was made from stops being fresh (a
    /// proxy repository's documents): no hit after it.
    pub expires: Option<std::time::Instant>,
}

/// Variants kept per request target (one per combination of the headers the
/// answer varies on); older ones make room.
const MAX_VARIANTS: usize = 8;

impl Document {
    /// Bytes this entry holds, all of it counted: the cache's bound is real.
    fn weight(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 48)
            .sum();
        let body = match &self.body {
            DocBody::Bytes(b) => b.len(),
            DocBody::Blob { blake3, inline, .. } => {
                blake3.len() + inline.as_ref().map_or(0, Bytes::len)
            }
        };
        let vary: usize = self
            .vary
            .iter()
            .map(|(n, v)| n.len() + v.as_ref().map_or(0, String::len) + 48)
            .sum();
        let tags: usize = self.tags.iter().map(|t| t.len() + 24).sum();
        let encoded: usize = self.encoded.iter().map(|(_, b)| b.len() + 16).sum();
        body + encoded + headers + vary + tags + self.etag.len() + 128
    }
}

impl DocKey {
    pub fn borrowed(&self) -> DocKeyRef<'_> {
        DocKeyRef {
            plugin_hash: &self.plugin_hash,
            repo: &self.repo,
            path: &self.path,
            query: self.query.as_deref(),
        }
    }

    fn weight(&self) -> usize {
        self.repo.len() + self.path.len() + self.query.as_ref().map_or(0, String::len) + 96
    }
}

/// A `DocKey` borrowed from the request, so a lookup allocates nothing;
/// same fields in the same order, so the same hash.
#[derive(Hash)]
pub struct DocKeyRef<'a> {
    pub plugin_hash: &'a Arc<str>,
    pub repo: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
}

impl quick_cache::Equivalent<DocKey> for DocKeyRef<'_> {
    fn equivalent(&self, key: &DocKey) -> bool {
        *self.plugin_hash == key.plugin_hash
            && self.repo == key.repo
            && self.path == key.path
            && self.query == key.query.as_deref()
    }
}

impl DocKeyRef<'_> {
    pub fn to_owned(&self) -> DocKey {
        DocKey {
            plugin_hash: self.plugin_hash.clone(),
            repo: self.repo.to_string(),
            path: self.path.to_string(),
            query: self.query.map(str::to_string),
        }
    }
}

type Variants = Arc<Vec<Arc<Document>>>;

#[derive(Clone)]
struct Weight;

impl quick_cache::Weighter<DocKey, Variants> for Weight {
    fn weight(&self, key: &DocKey, variants: &Variants) -> u64 {
        (key.weight() + variants.iter().map(|d| d.weight()).sum::<usize>()) as u64
    }
}

/// Shards of the cache; a document bigger than one shard's share of the
/// bytes is served but not kept.
const SHARDS: usize = 4;

pub struct DocumentCache {
    entries: quick_cache::sync::Cache<DocKey, Variants, Weight>,
    clock: AtomicU64,
    /// repo → tag → generation of its last write; read on every hit.
    changed: RwLock<HashMap<String, HashMap<String, u64>>>,
    /// Generation of the last [`DocumentCache::drop_all`]: nothing rendered
    /// before it is served again.
    dropped: AtomicU64,
    /// When it happened (Unix ms): every document is as new as that.
    dropped_at_ms: AtomicU64,
}

impl DocumentCache {
    pub fn new(max_bytes: u64) -> Self {
        let options = quick_cache::OptionsBuilder::new()
            .estimated_items_capacity((max_bytes / (8 << 10)).clamp(256, 1 << 20) as usize)
            .weight_capacity(max_bytes)
            .shards(SHARDS)
            .build()
            .expect("valid cache options");
        let entries = quick_cache::sync::Cache::with_options(
            options,
            Weight,
            Default::default(),
            Default::default(),
        );
        DocumentCache {
            entries,
            clock: AtomicU64::new(1),
            changed: RwLock::new(HashMap::new()),
            dropped: AtomicU64::new(0),
            dropped_at_ms: AtomicU64::new(0),
        }
    }

    /// The generation to stamp on a render that starts now.
    pub fn now(&self) -> u64 {
        self.clock.load(Ordering::SeqCst)
    }

    /// Records a catalog write to `package` of `repo`.
    pub fn invalidate(&self, repo: &str, package: &str) {
        let generation = self.clock.fetch_add(1, Ordering::SeqCst) + 1;
        let mut changed = self.changed.write().unwrap();
        let tags = changed.entry(repo.to_string()).or_default();
        tags.insert(package.to_string(), generation);
        tags.insert("*".to_string(), generation);
    }

    /// Forgets every document, and any render under way: what no catalog
    /// write changes but still dates an answer (a signing key rotated, so
    /// signatures made before must not be served again).
    pub fn drop_all(&self) {
        let generation = self.clock.fetch_add(1, Ordering::SeqCst) + 1;
        self.dropped.store(generation, Ordering::SeqCst);
        let now = crate::store::now_millis().max(0) as u64;
        self.dropped_at_ms.store(now, Ordering::SeqCst);
        self.entries.clear();
    }

    /// When documents last changed with nothing written (`drop_all`), Unix
    /// ms: no document's Last-Modified may be older, or a client holding
    /// the old one (apt's If-Modified-Since) would be told it is current.
    pub fn dropped_at_ms(&self) -> u64 {
        self.dropped_at_ms.load(Ordering::SeqCst)
    }

    /// Whether no write touched `tags` since `generation`.
    pub fn unchanged_since(&self, repo: &str, tags: &[String], generation: u64) -> bool {
        if generation < self.dropped.load(Ordering::SeqCst) {
            return false;
        }
        let changed = self.changed.read().unwrap();
        let Some(written) = changed.get(repo) else {
            return true;
        };
        tags.iter()
            .all(|t| written.get(t).is_none_or(|&g| g <= generation))
    }

    fn fresh(&self, sources: &[&str], doc: &Document) -> bool {
        doc.expires.is_none_or(|at| std::time::Instant::now() < at)
            && sources
                .iter()
                .all(|repo| self.unchanged_since(repo, &doc.tags, doc.rendered_at))
    }

    /// A valid cached variant for a request with these headers.
    pub fn get(
        &self,
        key: &DocKeyRef,
        has_value: impl Fn(&str, Option<&str>) -> bool,
    ) -> Option<Arc<Document>> {
        self.get_from(key, &[key.repo], has_value)
    }

    /// The same, for an answer made from the catalogs of `sources` (a
    /// group's members): valid while none of them changed its packages.
    pub fn get_from(
        &self,
        key: &DocKeyRef,
        sources: &[&str],
        has_value: impl Fn(&str, Option<&str>) -> bool,
    ) -> Option<Arc<Document>> {
        let variants = self.entries.get(key)?;
        variants
            .iter()
            .find(|d| {
                d.vary
                    .iter()
                    .all(|(name, value)| has_value(name, value.as_deref()))
            })
            .filter(|d| self.fresh(sources, d))
            .cloned()
    }

    pub fn insert(&self, key: DocKey, doc: Arc<Document>) {
        let mut variants: Vec<Arc<Document>> = self
            .entries
            .get(&key)
            .map(|v| {
                v.iter()
                    .filter(|d| d.vary != doc.vary && self.fresh(&[&key.repo], d))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if variants.len() >= MAX_VARIANTS {
            variants.remove(0);
        }
        variants.push(doc);
        self.entries.insert(key, Arc::new(variants));
    }

    /// Keeps an encoded copy of the body of `doc`, a variant under `key`,
    /// with it (and weighed with it); gone when `doc` is.
    pub fn add_encoding(
        &self,
        key: &DocKeyRef,
        doc: &Arc<Document>,
        encoding: Encoding,
        body: Bytes,
    ) {
        let Some(variants) = self.entries.get(key) else {
            return;
        };
        let Some(at) = variants.iter().position(|d| Arc::ptr_eq(d, doc)) else {
            return;
        };
        let mut richer = Document::clone(doc);
        richer.encoded.push((encoding, body));
        let mut variants = Vec::clone(&variants);
        variants[at] = Arc::new(richer);
        self.entries.insert(key.to_owned(), Arc::new(variants));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(cache: &DocumentCache, accept: Option<&str>, body: &'static str) -> Document {
        Document {
            status: 200,
            headers: HeaderMap::new(),
            body: DocBody::Bytes(Bytes::from_static(body.as_bytes())),
            etag: String::new(),
            tags: vec!["left-pad".into()],
            vary: vec![("accept".into(), accept.map(str::to_string))],
            rendered_at: cache.now(),
            expires: None,
            changed_ms: None,
            compressible: false,
            encoded: vec![],
        }
    }

    fn key() -> DocKey {
        DocKey {
            plugin_hash: "h".into(),
            repo: "npm".into(),
            path: "left-pad".into(),
            query: None,
        }
    }

    #[test]
    fn variants_and_invalidation() {
        let cache = DocumentCache::new(1 << 20);
        cache.insert(key(), doc(&cache, None, "full").into());
        cache.insert(key(), doc(&cache, Some("abbrev"), "short").into());
        let body = |d: &Document| match &d.body {
            DocBody::Bytes(b) => b.clone(),
            DocBody::Blob { .. } => panic!("a document"),
        };
        let full = cache.get(&key().borrowed(), |_, v| v.is_none()).unwrap();
        assert_eq!(&body(&full)[..], b"full");
        let short = cache
            .get(&key().borrowed(), |_, v| v == Some("abbrev"))
            .unwrap();
        assert_eq!(&body(&short)[..], b"short");
        cache.invalidate("npm", "other-package");
        assert!(cache.get(&key().borrowed(), |_, v| v.is_none()).is_some());
        cache.invalidate("npm", "left-pad");
        assert!(cache.get(&key().borrowed(), |_, v| v.is_none()).is_none());
    }

    #[test]
    fn variants_per_target_are_capped() {
        let cache = DocumentCache::new(1 << 20);
        let accepts: Vec<String> = (0..20).map(|i| format!("type/{i}")).collect();
        for a in &accepts {
            cache.insert(key(), doc(&cache, Some(a), "v").into());
        }
        let kept = accepts
            .iter()
            .filter(|a| cache.get(&key().borrowed(), |_, v| v == Some(a)).is_some())
            .count();
        assert_eq!(kept, MAX_VARIANTS);
        assert!(
            cache
                .get(&key().borrowed(), |_, v| v == Some("type/19"))
                .is_some()
        );
    }

    #[test]
    fn drop_all_forgets_documents_and_renders_under_way() {
        let cache = DocumentCache::new(1 << 20);
        let cached = doc(&cache, None, "signed by the old key");
        let in_flight = doc(&cache, None, "signing under way");
        cache.insert(key(), cached.into());
        assert_eq!(cache.dropped_at_ms(), 0);
        cache.drop_all();
        assert!(cache.get(&key().borrowed(), |_, _| true).is_none());
        // Documents rendered from now on date from the drop at least.
        assert!(cache.dropped_at_ms() > 1_700_000_000_000);
        cache.insert(key(), in_flight.into());
        assert!(cache.get(&key().borrowed(), |_, _| true).is_none());
        cache.insert(key(), doc(&cache, None, "signed by the new key").into());
        assert!(cache.get(&key().borrowed(), |_, _| true).is_some());
    }

    #[test]
    fn a_write_during_render_invalidates_it() {
        let cache = DocumentCache::new(1 << 20);
        let started = doc(&cache, None, "stale");
        cache.invalidate("npm", "left-pad");
        cache.insert(key(), started.into());
        assert!(cache.get(&key().borrowed(), |_, v| v.is_none()).is_none());
    }
}
