//! The plugin runtime: loading format components and calling them.
//!
//! One engine for the process; per plugin version a compiled component, its
//! `InstancePre` and the operator's policy, held in an immutable
//! `LoadedPlugin`. The live set is swapped atomically on reload; a request
//! keeps the `Arc` it started with, so classify and handle always run on the
//! same version and in-flight requests finish on the old one.

mod bindings;
mod body;
pub mod capability;
pub mod contract;
mod engine;
mod imports;
mod json_base64;
mod multipart;
pub mod registry;
pub mod reload;
mod slot;

pub use bindings::{
    Access, Action as WitAction, BodyMode, CacheHint, Caller as WitCaller, ClassifyError, Denial,
    Method, RepoInfo, RepoKind, RequestContext, RequestHead, Route,
};
pub use body::IncomingBody;
pub use contract::{MemberAnswer, Merged};
pub use imports::{Freshness, GroupAnswer, GroupRead, GroupReads};

/// How a request reaches a repository's catalog: a proxy's upstream, and
/// the group a read came through (whose permissions it is checked on).
#[derive(Default, Clone)]
pub struct Via {
    pub upstream: Option<crate::upstream::Target>,
    pub group: Option<String>,
}

/// The parsers of untrusted request bodies, for the fuzz targets (`fuzz/`).
#[doc(hidden)]
pub mod fuzzing {
    pub use super::json_base64::walk::{Sink, rewrite};
    pub use super::multipart::{FormLimits, FormSink, Part, read_form};
}

use crate::auth::{Action, Caller};
use crate::services::Services;
use arc_swap::ArcSwap;
use bindings::{PluginResponse, ResponseBody};
use capability::{Grant, RequestScope};
use contract::{Contract, Instance, Pre};
use imports::StoreData;
use registry::{PluginSpec, Policy};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use wasmtime::component::Linker;
use wasmtime::{Engine, Store, UpdateDeadline};

/// Imports a plugin may have: the Wharf contract and what Rust's std needs.
/// Filesystem, sockets and HTTP are refused at load.
const ALLOWED_IMPORTS: &[&str] = &[
    "wharf:plugin/",
    "wasi:io/",
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:random/",
];
/// Warm instances kept per plugin for classify and error rendering.
const WARM_INSTANCES: usize = 4;
/// Calls a warm instance serves before it is replaced (bounds heap growth).
const WARM_MAX_USES: u32 = 10_000;
/// Budget of a classify call; it is pure and small.
const CLASSIFY_BUDGET: Duration = Duration::from_millis(500);
/// Bytes of memoized routes kept per plugin build.
const ROUTE_MEMO_BYTES: u64 = 4 << 20;
/// Request targets longer than this are classified each time, not memoized.
const ROUTE_MEMO_MAX_TARGET: usize = 2048;

pub fn action(a: WitAction) -> Action {
    match a {
        WitAction::Read => Action::Read,
        WitAction::Write => Action::Write,
        WitAction::Delete => Action::Delete,
        WitAction::Admin => Action::Admin,
    }
}

/// A plugin call that did not produce an answer.
#[derive(Debug, thiserror::Error)]
pub enum PluginFailure {
    #[error("plugin trapped: {0}")]
    Trap(String),
    #[error("plugin exceeded its deadline")]
    Deadline,
    #[error("too many plugin calls in flight")]
    Busy,
    /// The client stopped sending the body: its request times out (408).
    #[error("{0}")]
    BodyStalled(String),
    #[error("{0}")]
    Unsupported(String),
    /// A group's member answers could not be merged (too large, gone).
    #[error("{0}")]
    Merge(String),
}

/// A plugin's answer, detached from the store it came from.
pub struct Reply {
    pub status: u16,
    /// The status line's reason phrase, when the plugin set one.
    pub reason: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: ReplyBody,
    pub cache: Option<CacheHint>,
    /// What the upstream metadata the answer was made from allows.
    pub freshness: imports::Freshness,
}

pub enum ReplyBody {
    Empty,
    Bytes(Vec<u8>),
    Blob(String),
    /// Upstream metadata as the host cached it, by its address.
    UpstreamDocument(String),
    /// An upstream artifact as it arrives.
    Pulled {
        length: Option<u64>,
        body: crate::store::blobs::ByteStream,
    },
}

struct Warm {
    store: Store<StoreData>,
    plugin: Instance,
    uses: u32,
}

/// What a memoized route is keyed by: classify is a pure function of the
/// repository and the request target (contract 0.2 on, `route.vary` empty).
#[derive(Clone, PartialEq, Eq, Hash)]
struct RouteKey {
    repo: String,
    /// `Method` as its discriminant (the WIT enum is not `Hash`).
    method: u8,
    path: String,
    query: Option<String>,
}

/// A `RouteKey` borrowed from the request, so a lookup allocates nothing;
/// same fields in the same order, so the same hash.
#[derive(Hash)]
struct RouteKeyRef<'a> {
    repo: &'a str,
    method: u8,
    path: &'a str,
    query: Option<&'a str>,
}

impl quick_cache::Equivalent<RouteKey> for RouteKeyRef<'_> {
    fn equivalent(&self, key: &RouteKey) -> bool {
        self.repo == key.repo
            && self.method == key.method
            && self.path == key.path
            && self.query == key.query.as_deref()
    }
}

pub type Classified = Result<Route, ClassifyError>;

#[derive(Clone)]
struct RouteWeight;

impl quick_cache::Weighter<RouteKey, Arc<Classified>> for RouteWeight {
    fn weight(&self, k: &RouteKey, _: &Arc<Classified>) -> u64 {
        let target = k.repo.len() + k.path.len() + k.query.as_ref().map_or(0, String::len);
        // The route itself is small: an id and a few accesses.
        (target + 512) as u64
    }
}

type RouteMemo = quick_cache::sync::Cache<RouteKey, Arc<Classified>, RouteWeight>;

/// One loaded version of a plugin.
pub struct LoadedPlugin {
    pub format: String,
    pub version: String,
    /// BLAKE3 of the `.wasm`.
    pub hash: Arc<str>,
    pub policy: Arc<Policy>,
    pub loaded_at: SystemTime,
    engine: Engine,
    pre: Pre,
    warm: Mutex<Vec<Warm>>,
    /// Routes classify returned, so a hot request does not enter wasm.
    routes: RouteMemo,
    slots: slot::Slots,
    /// Routes whose group answers the plugin merges (`merger`, 0.3.2).
    merged_routes: Arc<HashSet<String>>,
}

fn route_memo() -> RouteMemo {
    quick_cache::sync::Cache::with_weighter(1024, ROUTE_MEMO_BYTES, RouteWeight)
}

impl LoadedPlugin {
    pub fn contract(&self) -> Contract {
        self.pre.contract()
    }

    /// Whether a group's answers of this route are merged by the plugin
    /// rather than taken from the first member that has one.
    pub fn merges(&self, route_id: &str) -> bool {
        self.merged_routes.contains(route_id)
    }

    /// Waits for a slot to run plugin code; bounded so overload answers 503.
    async fn permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, PluginFailure> {
        let acquire = self.slots.compute.acquire();
        match tokio::time::timeout(slot::SLOT_WAIT, acquire).await {
            Ok(Ok(p)) => Ok(p),
            _ => Err(PluginFailure::Busy),
        }
    }

    fn store(&self, deadline: Instant, scope: Option<RequestScope>) -> Store<StoreData> {
        let mut store = Store::new(
            &self.engine,
            StoreData::new(self.policy.memory_bytes, deadline, scope),
        );
        store.limiter(|s| s.limiter());
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|ctx| {
            if Instant::now() >= ctx.data().deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store
    }

    async fn take_warm(&self) -> Result<Warm, PluginFailure> {
        if let Some(w) = self.warm.lock().unwrap().pop() {
            return Ok(w);
        }
        let mut store = self.store(Instant::now() + CLASSIFY_BUDGET, None);
        let plugin = self
            .pre
            .instantiate(&mut store)
            .await
            .map_err(|e| failure(e, &store))?;
        Ok(Warm {
            store,
            plugin,
            uses: 0,
        })
    }

    fn give_back(&self, mut w: Warm) {
        w.uses += 1;
        let mut pool = self.warm.lock().unwrap();
        if w.uses < WARM_MAX_USES && pool.len() < WARM_INSTANCES {
            pool.push(w);
        }
    }

    /// One pure call on a warm instance, within the classify budget; the
    /// instance goes back to the pool unless the call failed.
    async fn on_warm<T>(
        &self,
        call: impl AsyncFnOnce(&Instance, &mut Store<StoreData>) -> wasmtime::Result<T>,
    ) -> Result<T, PluginFailure> {
        // Boxed: a wasm call's future is kilobytes, and unboxed it would make
        // every request's future that big, memo hits included.
        Box::pin(async move {
            let _permit = self.permit().await?;
            let mut w = self.take_warm().await?;
            w.store.data_mut().deadline = Instant::now() + CLASSIFY_BUDGET;
            w.store.set_epoch_deadline(1);
            match call(&w.plugin, &mut w.store).await {
                Ok(value) => {
                    self.give_back(w);
                    Ok(value)
                }
                Err(e) => Err(failure(e, &w.store)),
            }
        })
        .await
    }

    /// The route memoized for this request target, if any: a warm
    /// request's whole classify step. The head's headers are not read.
    pub fn memoized_route(&self, repo: &RepoInfo, head: &RequestHead) -> Option<Arc<Classified>> {
        self.routes.get(&self.memo_key(repo, head)?)
    }

    /// Routes are memoized per target from contract 0.2 on, where classify is
    /// pure, for targets of a sane length.
    fn memo_key<'a>(&self, repo: &'a RepoInfo, head: &'a RequestHead) -> Option<RouteKeyRef<'a>> {
        let target = head.raw_path.len() + head.raw_query.as_ref().map_or(0, String::len);
        (self.contract() >= Contract::V0_2 && target <= ROUTE_MEMO_MAX_TARGET).then(|| {
            RouteKeyRef {
                repo: &repo.name,
                method: head.method as u8,
                path: &head.raw_path,
                query: head.raw_query.as_deref(),
            }
        })
    }

    /// Phase one on a warm instance (no host call is allowed in it); the
    /// route is memoized when it depends on the target alone.
    pub async fn classify(
        &self,
        repo: &RepoInfo,
        head: &RequestHead,
    ) -> Result<Arc<Classified>, PluginFailure> {
        let classified = self
            .on_warm(async |plugin, store| plugin.classify(store, repo, head).await)
            .await?;
        let classified = Arc::new(classified);
        // A route chosen by headers is not a function of the target alone.
        let pure = classified
            .as_ref()
            .as_ref()
            .map_or(true, |r| r.vary.is_empty());
        if let Some(key) = self.memo_key(repo, head).filter(|_| pure) {
            let key = RouteKey {
                repo: key.repo.to_string(),
                method: key.method,
                path: key.path.to_string(),
                query: key.query.map(str::to_string),
            };
            self.routes.insert(key, classified.clone());
        }
        Ok(classified)
    }

    /// A host decision in the format's own error shape.
    pub async fn render_error(
        &self,
        repo: &RepoInfo,
        head: &RequestHead,
        denial: Denial,
        message: &str,
    ) -> Result<Reply, PluginFailure> {
        self.on_warm(async |plugin, store| {
            let response = plugin
                .render_error(store, repo, head, denial, message)
                .await?;
            Ok(reply(response, store.data_mut()))
        })
        .await
        .and_then(|reply| reply)
    }

    /// Phase two in a fresh store, after the host authorized the route,
    /// whose accesses bound every host call the plugin makes.
    pub async fn handle(
        &self,
        services: Arc<Services>,
        ctx: RequestContext,
        caller: Caller,
        client: Option<std::net::IpAddr>,
        route: &[Access],
        body: Option<IncomingBody>,
        via: Via,
    ) -> Result<Reply, PluginFailure> {
        let slot = self
            .slots
            .acquire(self.policy.timeout)
            .await
            .map_err(|_| PluginFailure::Busy)?;
        // Epochs cannot interrupt a guest blocked in a host call: the
        // watchdog bounds those too, on the same clock.
        let watchdog = slot.watchdog(DEADLINE_GRACE);
        let body = body.map(|b| bound_body(b, &services.settings, route));
        let scope = RequestScope {
            services,
            plugin: self.format.clone(),
            repo: ctx.repo.name.clone(),
            through_group: via.group,
            caller,
            policy: self.policy.clone(),
            route: route.iter().map(grant).collect(),
            ingested: HashSet::new(),
            read_left: self.policy.read_limit,
            client,
            locked_out: None,
            upstream: via.upstream,
            freshness: Default::default(),
        };
        let mut store = self.store(slot.deadline(), Some(scope));
        store.data_mut().slot = Some(slot);
        let call = async {
            let plugin = self.pre.instantiate(&mut store).await?;
            let body = match body {
                Some(b) => Some(store.data_mut().push_body(b)?),
                None => None,
            };
            plugin.handle(&mut store, &ctx, body).await
        };
        let outcome = tokio::select! {
            outcome = call => Some(outcome),
            () = watchdog => None,
        };
        match outcome {
            None => Err(PluginFailure::Deadline),
            Some(Err(e)) => Err(failure(e, &store)),
            Some(Ok(response)) => {
                let locked = store.data().scope.as_ref().and_then(|s| s.locked_out);
                reply(response, store.data_mut()).map(|r| r.locked_out(locked))
            }
        }
    }
}

/// What a merge runs with besides its answers: who asked, and where its
/// `group.read` calls go (`None`: it may not read).
pub struct MergeContext {
    pub services: Arc<Services>,
    pub caller: Caller,
    pub client: Option<std::net::IpAddr>,
    pub reads: Option<GroupReads>,
}

impl LoadedPlugin {
    /// A group's answer from its members' (`merger.merge`) in a fresh
    /// instance, within the plugin's timeout and memory. Its scope grants
    /// no route: it may sign and read its group, nothing else.
    pub async fn merge(
        &self,
        context: MergeContext,
        repo: &RepoInfo,
        head: &RequestHead,
        route_id: &str,
        answers: &[MemberAnswer],
    ) -> Result<Merged, PluginFailure> {
        let _permit = self.permit().await?;
        let scope = RequestScope {
            services: context.services,
            plugin: self.format.clone(),
            repo: repo.name.clone(),
            through_group: None,
            caller: context.caller,
            policy: self.policy.clone(),
            route: Vec::new(),
            ingested: HashSet::new(),
            read_left: self.policy.read_limit,
            client: context.client,
            locked_out: None,
            upstream: None,
            freshness: Default::default(),
        };
        let mut store = self.store(Instant::now() + self.policy.timeout, Some(scope));
        store.data_mut().group_reads = context.reads;
        let call = async {
            let plugin = self.pre.instantiate(&mut store).await?;
            plugin
                .merge(&mut store, repo, head, route_id, answers)
                .await
        };
        match call.await {
            Ok(Some(merged)) => Ok(merged),
            Ok(None) => Err(PluginFailure::Unsupported(format!(
                "the {} plugin does not merge group answers",
                self.format
            ))),
            Err(e) => Err(failure(e, &store)),
        }
    }
}

/// What the watchdog allows past the deadline the epochs enforce in wasm.
const DEADLINE_GRACE: Duration = Duration::from_millis(250);

/// The body a route may receive: a route that writes nothing gets a small
/// one (an anonymous login must not be a way to stream without end).
fn bound_body(
    body: IncomingBody,
    settings: &crate::config::Settings,
    route: &[Access],
) -> IncomingBody {
    let writes = route
        .iter()
        .any(|a| matches!(a.action, WitAction::Write | WitAction::Admin));
    let limit = match writes {
        true => settings.max_body_bytes,
        false => settings.max_read_only_body_bytes,
    };
    body.bounded(limit, Duration::from_secs(settings.body_idle_timeout_secs))
}

/// A route access as the policy holds it.
fn grant(a: &Access) -> Grant {
    Grant {
        action: action(a.action),
        package: a.package.clone(),
        repository: a.repository.clone(),
    }
}

impl Reply {
    /// A login the backoff refused is 429 with `Retry-After`, whatever
    /// error status the plugin chose: it saw only an error message. The
    /// plugin's body, in its format's shape, is kept.
    fn locked_out(mut self, locked: Option<crate::auth::backoff::Locked>) -> Reply {
        if let Some(locked) = locked.filter(|_| self.status >= 400) {
            self.status = 429;
            self.headers
                .retain(|(name, _)| !name.eq_ignore_ascii_case("retry-after"));
            let secs = locked.retry_after_secs().to_string();
            self.headers.push(("retry-after".into(), secs));
        }
        self
    }
}

fn reply(r: PluginResponse, data: &mut StoreData) -> Result<Reply, PluginFailure> {
    let body = match r.body {
        ResponseBody::Empty => ReplyBody::Empty,
        ResponseBody::Bytes(b) => ReplyBody::Bytes(b),
        ResponseBody::Blob(b) => ReplyBody::Blob(b),
        ResponseBody::Upstream(upstream) => data
            .upstream_body(upstream)
            .map_err(|e| PluginFailure::Trap(e.to_string()))?,
    };
    let freshness = data.scope.as_ref().map(|s| s.freshness).unwrap_or_default();
    Ok(Reply {
        status: r.status,
        reason: r.reason,
        headers: r.headers,
        body,
        cache: r.cache,
        freshness,
    })
}

fn failure(e: wasmtime::Error, store: &Store<StoreData>) -> PluginFailure {
    if matches!(
        e.downcast_ref::<wasmtime::Trap>(),
        Some(wasmtime::Trap::Interrupt)
    ) {
        return PluginFailure::Deadline;
    }
    if let Some(body::Stalled(why)) = e.downcast_ref() {
        return PluginFailure::BodyStalled(why.to_string());
    }
    if e.downcast_ref::<slot::Busy>().is_some() {
        return PluginFailure::Busy;
    }
    let stderr = String::from_utf8_lossy(&store.data().stderr.contents())
        .trim()
        .to_string();
    let detail = if stderr.is_empty() {
        format!("{e:#}")
    } else {
        format!("{e:#}; stderr: {stderr}")
    };
    PluginFailure::Trap(detail)
}

/// What `GET /api/v1/plugins` reports.
#[derive(Debug, Clone, Serialize, Default, utoipa::ToSchema)]
pub struct PluginStatus {
    pub format: String,
    pub path: String,
    pub version: Option<String>,
    pub hash: Option<String>,
    /// Unix seconds.
    pub loaded_at: Option<u64>,
    /// The contract version the component speaks, e.g. "0.3".
    pub contract: Option<String>,
    pub last_error: Option<String>,
}

pub struct Runtime {
    engine: Engine,
    linker: Linker<StoreData>,
    compiled: engine::CompileCache,
    plugins: ArcSwap<HashMap<String, Arc<LoadedPlugin>>>,
    status: Mutex<BTreeMap<String, PluginStatus>>,
    pub registry_path: std::path::PathBuf,
    /// Plugin calls at once (classify, handle, render-error), and calls
    /// waiting on their bodies, shared by every loaded build.
    slots: slot::Slots,
    reloading: tokio::sync::Mutex<()>,
    /// Per format, the build and policy that last failed to load, with the
    /// error: the same file is not tried again until it or its entry changes.
    failed: Mutex<HashMap<String, FailedLoad>>,
}

/// A build's hash, the policy it was loaded with, and the error.
type FailedLoad = (Arc<str>, Policy, String);

/// A load that failed before for the same file and policy.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct AlreadyFailed(String);

impl Runtime {
    pub fn new(settings: &crate::config::Settings) -> anyhow::Result<Runtime> {
        let engine = engine::new_engine()?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        contract::add_to_linker(&mut linker)?;
        spawn_epoch_ticker(&engine);
        Ok(Runtime {
            compiled: engine::CompileCache::new(&engine, &settings.data_dir)?,
            engine,
            linker,
            plugins: ArcSwap::from_pointee(HashMap::new()),
            status: Mutex::new(BTreeMap::new()),
            registry_path: settings.plugin_registry.clone(),
            slots: slot::Slots::new(
                settings.max_concurrent_plugin_calls as usize,
                settings.max_streaming_bodies as usize,
            ),
            reloading: tokio::sync::Mutex::new(()),
            failed: Mutex::new(HashMap::new()),
        })
    }

    /// The live version of a format's plugin.
    pub fn plugin(&self, format: &str) -> Option<Arc<LoadedPlugin>> {
        self.plugins.load().get(format).cloned()
    }

    pub fn formats(&self) -> Vec<String> {
        let mut formats: Vec<String> = self.plugins.load().keys().cloned().collect();
        formats.sort();
        formats
    }

    pub fn status(&self) -> Vec<PluginStatus> {
        self.status.lock().unwrap().values().cloned().collect()
    }

    /// Brings the live set in line with the registry file. A plugin that
    /// fails to load keeps its previous version serving; the error is logged
    /// and reported in the status.
    pub async fn reload(self: &Arc<Self>) {
        let _one_at_a_time = self.reloading.lock().await;
        let specs = match registry::load(&self.registry_path) {
            Ok(specs) => specs,
            Err(e) => {
                tracing::error!(
                    error = format!("{e:#}"),
                    "plugin registry not applied; keeping the loaded plugins"
                );
                return;
            }
        };
        let current = self.plugins.load_full();
        let mut next = HashMap::new();
        let mut status = BTreeMap::new();
        for spec in specs {
            let old = current.get(&spec.format).cloned();
            let mut st = PluginStatus {
                format: spec.format.clone(),
                path: spec.path.display().to_string(),
                ..Default::default()
            };
            let this = self.clone();
            let spec_for_load = spec.clone();
            let old_for_load = old.clone();
            let loaded = tokio::task::spawn_blocking(move || {
                this.load(&spec_for_load, old_for_load.as_deref())
            })
            .await;
            match loaded.map_err(anyhow::Error::from).and_then(|r| r) {
                Ok(plugin) => {
                    if old
                        .as_ref()
                        .is_none_or(|o| o.hash != plugin.hash || o.policy != plugin.policy)
                    {
                        tracing::info!(format = %plugin.format, version = %plugin.version, hash = %&plugin.hash[..12], "plugin loaded");
                        metrics::counter!(crate::telemetry::PLUGIN_LOADS, "format" => spec.format.clone(), "outcome" => "loaded")
                            .increment(1);
                    }
                    next.insert(spec.format.clone(), plugin);
                }
                Err(e) => {
                    let message = format!("{e:#}");
                    if e.downcast_ref::<AlreadyFailed>().is_none() {
                        tracing::error!(format = %spec.format, error = %message, "plugin not loaded; the previous version keeps serving");
                        metrics::counter!(crate::telemetry::PLUGIN_LOADS, "format" => spec.format.clone(), "outcome" => "failed")
                            .increment(1);
                    }
                    st.last_error = Some(message);
                    if let Some(old) = old {
                        next.insert(spec.format.clone(), old);
                    }
                }
            }
            if let Some(p) = next.get(&spec.format) {
                st.contract = Some(p.contract().to_string());
                st.version = Some(p.version.clone());
                st.hash = Some(p.hash.to_string());
                st.loaded_at = p
                    .loaded_at
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .ok()
                    .map(|d| d.as_secs());
            }
            status.insert(spec.format.clone(), st);
        }
        for gone in current.keys().filter(|f| !next.contains_key(*f)) {
            tracing::info!(format = %gone, "plugin disabled");
        }
        self.plugins.store(Arc::new(next));
        *self.status.lock().unwrap() = status;
    }

    /// Loads one plugin (blocking: reads, compiles, validates). A build that
    /// failed before with the same policy fails again without a retry.
    fn load(
        &self,
        spec: &PluginSpec,
        old: Option<&LoadedPlugin>,
    ) -> anyhow::Result<Arc<LoadedPlugin>> {
        let wasm = std::fs::read(&spec.path)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", spec.path.display()))?;
        let hash: Arc<str> = blake3::hash(&wasm).to_hex().as_str().into();
        let mut failed = self.failed.lock().unwrap();
        if let Some((h, policy, message)) = failed.get(&spec.format)
            && *h == hash
            && *policy == spec.policy
        {
            return Err(AlreadyFailed(message.clone()).into());
        }
        failed.remove(&spec.format);
        drop(failed);
        let loaded = self.load_build(spec, old, &wasm, hash.clone());
        if let Err(e) = &loaded {
            self.failed.lock().unwrap().insert(
                spec.format.clone(),
                (hash, spec.policy.clone(), format!("{e:#}")),
            );
        }
        loaded
    }

    fn load_build(
        &self,
        spec: &PluginSpec,
        old: Option<&LoadedPlugin>,
        wasm: &[u8],
        hash: Arc<str>,
    ) -> anyhow::Result<Arc<LoadedPlugin>> {
        let policy = Arc::new(spec.policy.clone());
        if let Some(old) = old.filter(|o| o.hash == hash) {
            // Same code: only the policy may differ; no recompile.
            return Ok(Arc::new(LoadedPlugin {
                format: old.format.clone(),
                version: old.version.clone(),
                hash,
                policy,
                loaded_at: if *old.policy == spec.policy {
                    old.loaded_at
                } else {
                    SystemTime::now()
                },
                engine: self.engine.clone(),
                pre: old.pre.clone(),
                warm: Mutex::new(Vec::new()),
                routes: route_memo(),
                slots: self.slots.clone(),
                merged_routes: old.merged_routes.clone(),
            }));
        }
        let component = self.compiled.load(&self.engine, wasm, &hash)?;
        for (name, _) in component.component_type().imports(&self.engine) {
            if !ALLOWED_IMPORTS.iter().any(|p| name.starts_with(p)) {
                anyhow::bail!("the component imports {name}, which plugins may not use");
            }
        }
        let contract = contract::of(&component, &self.engine)?;
        let pre = Pre::new(&self.linker, &component, contract)?;
        let plugin = LoadedPlugin {
            format: spec.format.clone(),
            version: String::new(),
            hash,
            policy,
            loaded_at: SystemTime::now(),
            engine: self.engine.clone(),
            pre,
            warm: Mutex::new(Vec::new()),
            routes: route_memo(),
            slots: self.slots.clone(),
            merged_routes: Default::default(),
        };
        // Self-test: a throwaway instance must describe the expected format.
        let (info, merged_routes) = futures::executor::block_on(async {
            let mut store = plugin.store(Instant::now() + Duration::from_secs(5), None);
            let instance = plugin.pre.instantiate(&mut store).await?;
            let info = instance.describe(&mut store).await?;
            let merged = instance.merged_routes(&mut store).await?;
            Ok::<_, wasmtime::Error>((info, merged))
        })
        .map_err(|e| anyhow::anyhow!("describe() failed: {e:#}"))?;
        if info.format != spec.format {
            anyhow::bail!(
                "the component describes format {:?}, the registry enables it as {:?}",
                info.format,
                spec.format
            );
        }
        Ok(Arc::new(LoadedPlugin {
            version: info.version,
            merged_routes: Arc::new(merged_routes.into_iter().collect()),
            ..plugin
        }))
    }
}

/// Advances the engine's epoch every 10 ms: the unit of plugin deadlines.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("wharf-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
        .expect("spawning the epoch thread");
}
