//! Which contract version a component speaks, and how the host calls it.
//!
//! The host reads the version of the `handler` interface a component exports
//! before linking it. It speaks 0.3 itself; a 0.2 or 0.1 component's exports
//! are called through the conversions below (their imports are in
//! `imports/v0_2.rs` and `imports/v0_1.rs`). Anything else is refused with a
//! message that names the supported versions.

use super::bindings::{self, v0_1, v0_2, v0_3};
use super::imports::StoreData;
use super::{IncomingBody, PluginResponse};
use crate::auth::Action;
use bindings::{ClassifyError, Denial, RepoInfo, RequestContext, RequestHead, Route};
use v0_1::exports::wharf::plugin::handler as old;
use v0_1::wharf::plugin::types as old_types;
use v0_2::exports::wharf::plugin::handler as prior;
use v0_3::exports::wharf::plugin::handler::PluginInfo;
use v0_3::merging::exports::wharf::plugin::merger;
use v0_3::wharf::plugin::types as new_types;
use wasmtime::Store;
use wasmtime::component::{Component, Linker, Resource};

/// Contract versions this host links, oldest first.
pub const SUPPORTED: &[&str] = &["0.1", "0.2", "0.3"];

/// Ordered: a later version can say more (`route.vary` from 0.2 on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Contract {
    V0_1,
    V0_2,
    V0_3,
}

impl std::fmt::Display for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Contract::V0_1 => "0.1",
            Contract::V0_2 => "0.2",
            Contract::V0_3 => "0.3",
        })
    }
}

/// Reads the contract version from the component's exported handler.
pub fn of(component: &Component, engine: &wasmtime::Engine) -> anyhow::Result<Contract> {
    let ty = component.component_type();
    let version = ty.exports(engine).find_map(|(name, _)| {
        name.strip_prefix("wharf:plugin/handler@")
            .map(str::to_string)
    });
    let supported = SUPPORTED.join(", ");
    match version.as_deref() {
        Some(v) if v.starts_with("0.1.") => Ok(Contract::V0_1),
        Some(v) if v.starts_with("0.2.") => Ok(Contract::V0_2),
        Some(v) if v.starts_with("0.3.") => Ok(Contract::V0_3),
        Some(v) => anyhow::bail!(
            "the component speaks contract wharf:plugin@{v}; this host supports {supported}"
        ),
        None => anyhow::bail!(
            "the component exports no wharf:plugin/handler interface (supported contracts: {supported})"
        ),
    }
}

/// Every contract's imports in one linker: their interface names differ.
pub fn add_to_linker(linker: &mut Linker<StoreData>) -> anyhow::Result<()> {
    use wasmtime::component::HasSelf;
    v0_3::FormatPlugin::add_to_linker::<StoreData, HasSelf<StoreData>>(linker, |s| s)?;
    v0_3::merging::wharf::plugin::group::add_to_linker::<StoreData, HasSelf<StoreData>>(
        linker,
        |s| s,
    )?;
    v0_2::FormatPlugin::add_to_linker::<StoreData, HasSelf<StoreData>>(linker, |s| s)?;
    v0_1::FormatPlugin::add_to_linker::<StoreData, HasSelf<StoreData>>(linker, |s| s)?;
    Ok(())
}

pub use merger::{MemberAnswer, Merged};

/// A component linked and ready to instantiate.
#[derive(Clone)]
pub enum Pre {
    V0_1(v0_1::FormatPluginPre<StoreData>),
    V0_2(v0_2::FormatPluginPre<StoreData>),
    V0_3 {
        pre: wasmtime::component::InstancePre<StoreData>,
        plugin: v0_3::FormatPluginIndices,
        /// A 0.3.2 component that merges group answers exports `merger`.
        merger: Option<merger::GuestIndices>,
    },
}

/// One instance of a plugin.
pub enum Instance {
    V0_1(v0_1::FormatPlugin),
    V0_2(v0_2::FormatPlugin),
    V0_3 {
        plugin: v0_3::FormatPlugin,
        merger: Option<merger::Guest>,
    },
}

impl Pre {
    pub fn new(
        linker: &Linker<StoreData>,
        component: &Component,
        contract: Contract,
    ) -> anyhow::Result<Pre> {
        let pre = linker.instantiate_pre(component)?;
        Ok(match contract {
            Contract::V0_1 => Pre::V0_1(v0_1::FormatPluginPre::new(pre)?),
            Contract::V0_2 => Pre::V0_2(v0_2::FormatPluginPre::new(pre)?),
            Contract::V0_3 => Pre::V0_3 {
                plugin: v0_3::FormatPluginIndices::new(&pre)?,
                merger: merger::GuestIndices::new(&pre).ok(),
                pre,
            },
        })
    }

    pub fn contract(&self) -> Contract {
        match self {
            Pre::V0_1(_) => Contract::V0_1,
            Pre::V0_2(_) => Contract::V0_2,
            Pre::V0_3 { .. } => Contract::V0_3,
        }
    }

    pub async fn instantiate(&self, store: &mut Store<StoreData>) -> wasmtime::Result<Instance> {
        Ok(match self {
            Pre::V0_1(pre) => Instance::V0_1(pre.instantiate_async(store).await?),
            Pre::V0_2(pre) => Instance::V0_2(pre.instantiate_async(store).await?),
            Pre::V0_3 {
                pre,
                plugin,
                merger,
            } => {
                let instance = pre.instantiate_async(&mut *store).await?;
                Instance::V0_3 {
                    plugin: plugin.load(&mut *store, &instance)?,
                    merger: match merger {
                        Some(m) => Some(m.load(&mut *store, &instance)?),
                        None => None,
                    },
                }
            }
        })
    }
}

impl Instance {
    pub async fn describe(&self, store: &mut Store<StoreData>) -> wasmtime::Result<PluginInfo> {
        match self {
            Instance::V0_3 { plugin, .. } => {
                plugin.wharf_plugin_handler().call_describe(store).await
            }
            Instance::V0_2(p) => {
                let info = p.wharf_plugin_handler().call_describe(store).await?;
                Ok(PluginInfo {
                    format: info.format,
                    version: info.version,
                    suggested_grants: info.suggested_grants,
                })
            }
            Instance::V0_1(p) => {
                let info = p.wharf_plugin_handler().call_describe(store).await?;
                Ok(PluginInfo {
                    format: info.format,
                    version: info.version,
                    suggested_grants: info.suggested_grants,
                })
            }
        }
    }

    pub async fn classify(
        &self,
        store: &mut Store<StoreData>,
        repo: &RepoInfo,
        head: &RequestHead,
    ) -> wasmtime::Result<Result<Route, ClassifyError>> {
        match self {
            Instance::V0_3 { plugin, .. } => {
                plugin
                    .wharf_plugin_handler()
                    .call_classify(store, repo, head)
                    .await
            }
            // The same `types` (bindings/v0_2.rs): nothing to convert.
            Instance::V0_2(p) => {
                p.wharf_plugin_handler()
                    .call_classify(store, repo, head)
                    .await
            }
            Instance::V0_1(p) => {
                let (repo, head) = (old_repo(repo), old_head(head));
                let r = p.wharf_plugin_handler().call_classify(store, &repo, &head);
                Ok(r.await?.map(new_route).map_err(new_classify_error))
            }
        }
    }

    pub async fn handle(
        &self,
        store: &mut Store<StoreData>,
        ctx: &RequestContext,
        body: Option<Resource<IncomingBody>>,
    ) -> wasmtime::Result<PluginResponse> {
        match self {
            Instance::V0_3 { plugin, .. } => {
                let h = plugin.wharf_plugin_handler();
                h.call_handle(store, ctx, body).await
            }
            Instance::V0_2(p) => {
                let ctx = prior::RequestContext {
                    repo: ctx.repo.clone(),
                    head: ctx.head.clone(),
                    route_id: ctx.route_id.clone(),
                    caller: ctx.caller.clone(),
                };
                let r = p.wharf_plugin_handler().call_handle(store, &ctx, body);
                Ok(response_v0_2(r.await?))
            }
            Instance::V0_1(p) => {
                let ctx = old::RequestContext {
                    repo: old_repo(&ctx.repo),
                    head: old_head(&ctx.head),
                    route_id: ctx.route_id.clone(),
                    caller: old_types::Caller {
                        user: ctx.caller.user.clone(),
                        roles: ctx.caller.roles.clone(),
                    },
                };
                let r = p.wharf_plugin_handler().call_handle(store, &ctx, body);
                Ok(new_response(r.await?))
            }
        }
    }

    pub async fn render_error(
        &self,
        store: &mut Store<StoreData>,
        repo: &RepoInfo,
        head: &RequestHead,
        denial: Denial,
        message: &str,
    ) -> wasmtime::Result<PluginResponse> {
        match self {
            Instance::V0_3 { plugin, .. } => {
                let h = plugin.wharf_plugin_handler();
                h.call_render_error(store, repo, head, denial, message)
                    .await
            }
            Instance::V0_2(p) => {
                let h = p.wharf_plugin_handler();
                let r = h.call_render_error(store, repo, head, denial_v0_2(denial), message);
                Ok(response_v0_2(r.await?))
            }
            Instance::V0_1(p) => {
                let (repo, head) = (old_repo(repo), old_head(head));
                let h = p.wharf_plugin_handler();
                let r = h.call_render_error(store, &repo, &head, old_denial(denial), message);
                Ok(new_response(r.await?))
            }
        }
    }
}

impl Instance {
    /// The routes whose group answers the plugin merges (none before 0.3.2).
    pub async fn merged_routes(
        &self,
        store: &mut Store<StoreData>,
    ) -> wasmtime::Result<Vec<String>> {
        match self {
            Instance::V0_3 {
                merger: Some(m), ..
            } => m.call_merged_routes(store).await,
            _ => Ok(Vec::new()),
        }
    }

    /// A group's answer from its members' answers; `None` from a plugin
    /// that does not merge.
    pub async fn merge(
        &self,
        store: &mut Store<StoreData>,
        repo: &RepoInfo,
        head: &RequestHead,
        route_id: &str,
        answers: &[MemberAnswer],
    ) -> wasmtime::Result<Option<Merged>> {
        match self {
            Instance::V0_3 {
                merger: Some(m), ..
            } => {
                let merged = m.call_merge(store, repo, head, route_id, answers);
                Ok(Some(merged.await?))
            }
            _ => Ok(None),
        }
    }
}

pub fn action_v0_1(a: old_types::Action) -> Action {
    match a {
        old_types::Action::Read => Action::Read,
        old_types::Action::Write => Action::Write,
        old_types::Action::Delete => Action::Delete,
        old_types::Action::Admin => Action::Admin,
    }
}

fn old_method(m: new_types::Method) -> old_types::Method {
    use new_types::Method as M;
    match m {
        M::Get => old_types::Method::Get,
        M::Head => old_types::Method::Head,
        M::Post => old_types::Method::Post,
        M::Put => old_types::Method::Put,
        M::Patch => old_types::Method::Patch,
        M::Delete => old_types::Method::Delete,
        M::Options => old_types::Method::Options,
    }
}

fn new_method(m: old_types::Method) -> new_types::Method {
    use old_types::Method as M;
    match m {
        M::Get => new_types::Method::Get,
        M::Head => new_types::Method::Head,
        M::Post => new_types::Method::Post,
        M::Put => new_types::Method::Put,
        M::Patch => new_types::Method::Patch,
        M::Delete => new_types::Method::Delete,
        M::Options => new_types::Method::Options,
    }
}

fn old_repo(r: &RepoInfo) -> old_types::RepoInfo {
    old_types::RepoInfo {
        name: r.name.clone(),
        kind: match r.kind {
            new_types::RepoKind::Hosted => old_types::RepoKind::Hosted,
            new_types::RepoKind::Proxy => old_types::RepoKind::Proxy,
            new_types::RepoKind::Group => old_types::RepoKind::Group,
        },
        base_url: r.base_url.clone(),
        settings_json: r.settings_json.clone(),
    }
}

fn old_head(h: &RequestHead) -> old_types::RequestHead {
    old_types::RequestHead {
        method: old_method(h.method),
        raw_path: h.raw_path.clone(),
        raw_query: h.raw_query.clone(),
        headers: h.headers.clone(),
    }
}

fn old_denial(d: Denial) -> old::Denial {
    match d {
        Denial::BadRequest => old::Denial::BadRequest,
        Denial::Unauthenticated => old::Denial::Unauthenticated,
        Denial::Forbidden => old::Denial::Forbidden,
        Denial::NotFound => old::Denial::NotFound,
        Denial::MethodNotAllowed => old::Denial::MethodNotAllowed,
        Denial::TooLarge => old::Denial::TooLarge,
        Denial::Unavailable => old::Denial::Unavailable,
        Denial::Internal => old::Denial::Internal,
    }
}

fn new_route(r: old_types::Route) -> Route {
    let access = r.access.into_iter().map(|a| new_types::Access {
        action: match a.action {
            old_types::Action::Read => new_types::Action::Read,
            old_types::Action::Write => new_types::Action::Write,
            old_types::Action::Delete => new_types::Action::Delete,
            old_types::Action::Admin => new_types::Action::Admin,
        },
        package: a.package,
        repository: a.repository,
    });
    Route {
        id: r.id,
        access: access.collect(),
        body: match r.body {
            old_types::BodyMode::None => new_types::BodyMode::None,
            old_types::BodyMode::Stream => new_types::BodyMode::Stream,
        },
        // Not memoized: 0.1 does not say which headers classify read.
        vary: Vec::new(),
    }
}

fn new_classify_error(e: old_types::ClassifyError) -> ClassifyError {
    match e {
        old_types::ClassifyError::NotFound => ClassifyError::NotFound,
        old_types::ClassifyError::MethodNotAllowed(ms) => {
            ClassifyError::MethodNotAllowed(ms.into_iter().map(new_method).collect())
        }
        old_types::ClassifyError::BadRequest(m) => ClassifyError::BadRequest(m),
    }
}

/// 0.1 carried the reason phrase as a `wharf-reason` header entry.
fn new_response(r: old::Response) -> PluginResponse {
    use v0_3::exports::wharf::plugin::handler::{CacheHint, ResponseBody};
    let mut reason = None;
    let headers = r
        .headers
        .into_iter()
        .filter(|(k, v)| match k.eq_ignore_ascii_case("wharf-reason") {
            true => {
                reason = Some(v.clone());
                false
            }
            false => true,
        })
        .collect();
    PluginResponse {
        status: r.status,
        reason,
        headers,
        body: match r.body {
            old::ResponseBody::Empty => ResponseBody::Empty,
            old::ResponseBody::Bytes(b) => ResponseBody::Bytes(b),
            old::ResponseBody::Blob(b) => ResponseBody::Blob(b),
            old::ResponseBody::Upstream(u) => ResponseBody::Upstream(u),
        },
        cache: r.cache.map(|c| CacheHint {
            tags: c.tags,
            vary: c.vary,
        }),
    }
}

fn denial_v0_2(d: Denial) -> prior::Denial {
    match d {
        Denial::BadRequest => prior::Denial::BadRequest,
        Denial::Unauthenticated => prior::Denial::Unauthenticated,
        Denial::Forbidden => prior::Denial::Forbidden,
        Denial::NotFound => prior::Denial::NotFound,
        Denial::MethodNotAllowed => prior::Denial::MethodNotAllowed,
        Denial::TooLarge => prior::Denial::TooLarge,
        Denial::Unavailable => prior::Denial::Unavailable,
        Denial::Internal => prior::Denial::Internal,
    }
}

/// A 0.2 answer is a 0.3 one field for field.
fn response_v0_2(r: prior::Response) -> PluginResponse {
    use v0_3::exports::wharf::plugin::handler::{CacheHint, ResponseBody};
    PluginResponse {
        status: r.status,
        reason: r.reason,
        headers: r.headers,
        body: match r.body {
            prior::ResponseBody::Empty => ResponseBody::Empty,
            prior::ResponseBody::Bytes(b) => ResponseBody::Bytes(b),
            prior::ResponseBody::Blob(b) => ResponseBody::Blob(b),
            prior::ResponseBody::Upstream(u) => ResponseBody::Upstream(u),
        },
        cache: r.cache.map(|c| CacheHint {
            tags: c.tags,
            vary: c.vary,
        }),
    }
}
