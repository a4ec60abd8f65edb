//! Cache of rendered metadata documents (packuments, index files, …).
//!
//! A plugin marks a document cacheable with the packages ("tags") it depends
//! on. Every catalog write bumps a generation for its package and for "*";
//! an entry is valid while none of its tags changed after its render began.
//! So a hot packument is served without entering wasm, and a publish is
//! visible on the very next read.

use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where a document came from: plugin build, repository, request target.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct DocKey {
    pub plugin_hash: Arc<str>,
    pub repo: String,
    pub path: String,
    pub query: Option<String>,
}

pub struct Document {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub etag: String,
    pub tags: Vec<String>,
    /// Request header names and the values this variant was rendered for.
    pub vary: Vec<(String, Option<String>)>,
    /// Generation counter when rendering began.
    pub rendered_at: u64,
    /// When its packages last changed (Unix milliseconds), if known.
    pub changed_ms: Option<u64>,
}

pub struct DocumentCache {
    entries: moka::sync::Cache<DocKey, Arc<Vec<Arc<Document>>>>,
    clock: AtomicU64,
    /// (repo, tag) → generation of its last write.
    changed: Mutex<HashMap<(String, String), u64>>,
}

impl DocumentCache {
    pub fn new(max_bytes: u64) -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_: &DocKey, v: &Arc<Vec<Arc<Document>>>| {
                v.iter().map(|d| d.body.len() as u32 + 256).sum::<u32>()
            })
            .build();
        DocumentCache {
            entries,
            clock: AtomicU64::new(1),
            changed: Mutex::new(HashMap::new()),
        }
    }

    /// The generation to stamp on a render that starts now.
    pub fn now(&self) -> u64 {
        self.clock.load(Ordering::SeqCst)
    }

    /// Records a catalog write to `package` of `repo`.
    pub fn invalidate(&self, repo: &str, package: &str) {
        let generation = self.clock.fetch_add(1, Ordering::SeqCst) + 1;
        let mut changed = self.changed.lock().unwrap();
        changed.insert((repo.to_string(), package.to_string()), generation);
        changed.insert((repo.to_string(), "*".to_string()), generation);
    }

    /// Whether no write touched `tags` since `generation`.
    pub fn unchanged_since(&self, repo: &str, tags: &[String], generation: u64) -> bool {
        let changed = self.changed.lock().unwrap();
        tags.iter().all(|t| {
            changed
                .get(&(repo.to_string(), t.clone()))
                .is_none_or(|&g| g <= generation)
        })
    }

    fn fresh(&self, repo: &str, doc: &Document) -> bool {
        self.unchanged_since(repo, &doc.tags, doc.rendered_at)
    }

    /// A valid cached variant for a request with these headers.
    pub fn get(
        &self,
        key: &DocKey,
        header: impl Fn(&str) -> Option<String>,
    ) -> Option<Arc<Document>> {
        let variants = self.entries.get(key)?;
        variants
            .iter()
            .find(|d| d.vary.iter().all(|(name, value)| header(name) == *value))
            .filter(|d| self.fresh(&key.repo, d))
            .cloned()
    }

    pub fn insert(&self, key: DocKey, doc: Document) {
        let doc = Arc::new(doc);
        let mut variants: Vec<Arc<Document>> = self
            .entries
            .get(&key)
            .map(|v| {
                v.iter()
                    .filter(|d| d.vary != doc.vary && self.fresh(&key.repo, d))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        variants.push(doc);
        self.entries.insert(key, Arc::new(variants));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(cache: &DocumentCache, accept: Option<&str>, body: &'static str) -> Document {
        Document {
            status: 200,
            headers: vec![],
            body: Bytes::from_static(body.as_bytes()),
            etag: String::new(),
            tags: vec!["left-pad".into()],
            vary: vec![("accept".into(), accept.map(str::to_string))],
            rendered_at: cache.now(),
            changed_ms: None,
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
        cache.insert(key(), doc(&cache, None, "full"));
        cache.insert(key(), doc(&cache, Some("abbrev"), "short"));
        let full = cache.get(&key(), |_| None).unwrap();
        assert_eq!(&full.body[..], b"full");
        let short = cache.get(&key(), |_| Some("abbrev".into())).unwrap();
        assert_eq!(&short.body[..], b"short");
        cache.invalidate("npm", "other-package");
        assert!(cache.get(&key(), |_| None).is_some());
        cache.invalidate("npm", "left-pad");
        assert!(cache.get(&key(), |_| None).is_none());
    }

    #[test]
    fn a_write_during_render_invalidates_it() {
        let cache = DocumentCache::new(1 << 20);
        let started = doc(&cache, None, "stale");
        cache.invalidate("npm", "left-pad");
        cache.insert(key(), started);
        assert!(cache.get(&key(), |_| None).is_none());
    }
}
