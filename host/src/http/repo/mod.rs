//! The life of a repository request:
//! resolve repository → classify (plugin) → authenticate and authorize (host)
//! → cached document, or handle (plugin) → respond (`respond.rs`: documents
//! with their validators, or the host streams a blob).

mod group;
mod mounts;
mod respond;

pub use mounts::Mounts;

use super::{App, ClientIp, host_error};
use crate::auth::owners::Standing;
use crate::auth::{Action, AuthError, Caller};
use crate::doc_cache::DocKeyRef;
use crate::registry_token;
use crate::runtime::{
    self, BodyMode, ClassifyError, Denial, IncomingBody, LoadedPlugin, Method, PluginFailure,
    Reply, RepoInfo, RepoKind, RequestHead, Via,
};
use crate::telemetry;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

/// Longest query string, or value of a header an answer varies on, whose
/// answer is kept in the document cache.
const MAX_CACHED_VALUE: usize = 1024;

/// Headers a plugin never sees: credentials are the host's business.
const HIDDEN_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie"];

/// Longest request path and query, and most path segments, a plugin is
/// asked to classify: no registry needs more, and routers pay per segment.
const MAX_TARGET_BYTES: usize = 8 << 10;
const MAX_SEGMENTS: usize = 256;

fn reasonable_target(target: &RequestHead) -> Result<(), String> {
    let bytes = target.raw_path.len() + target.raw_query.as_ref().map_or(0, String::len);
    if bytes > MAX_TARGET_BYTES {
        return Err(format!(
            "request target too long: {bytes} bytes, at most {MAX_TARGET_BYTES}"
        ));
    }
    let segments = target.raw_path.split('/').count();
    if segments > MAX_SEGMENTS {
        return Err(format!(
            "request path has {segments} segments, at most {MAX_SEGMENTS}"
        ));
    }
    Ok(())
}

fn method(m: &axum::http::Method) -> Option<Method> {
    Some(match m.as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        "OPTIONS" => Method::Options,
        _ => return None,
    })
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Every value of a header a cached answer varies on, joined as one list:
/// clients send several `Accept` lines, and the plugin saw them all.
fn vary_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// Whether `vary_value` of the request would be `expected`, without
/// building it: this runs on every cached read that varies.
fn has_vary_value(headers: &HeaderMap, name: &str, expected: Option<&str>) -> bool {
    let mut values = headers.get_all(name).iter().filter_map(|v| v.to_str().ok());
    let Some(mut rest) = expected else {
        return values.next().is_none();
    };
    let mut seen = false;
    for value in values {
        let next = match seen {
            false => Some(rest),
            true => rest.strip_prefix(", "),
        };
        match next.and_then(|r| r.strip_prefix(value)) {
            Some(r) => rest = r,
            None => return false,
        }
        seen = true;
    }
    seen && rest.is_empty()
}

pub async fn dispatch(State(app): State<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let is_format = |name: &str| app.runtime.plugin(name).is_some();
    let (mount, rest) = match app.mounts.resolve(parts.uri.path(), is_format) {
        Ok(found) => found,
        Err(name) => {
            let name = telemetry::bounded(&name, 256);
            return host_error(404, &format!("no repository named {name:?}"));
        }
    };
    let Some(plugin) = app.runtime.plugin(&mount.format) else {
        return host_error(404, &format!("no repository named {:?}", mount.repo.name));
    };
    let Some(method) = method(&parts.method) else {
        return host_error(405, "method not allowed");
    };
    let target = RequestHead {
        method,
        raw_path: rest.to_string(),
        raw_query: parts.uri.query().map(str::to_string),
        headers: Vec::new(),
    };
    let members = match mount.repo.kind {
        RepoKind::Group => app.mounts.leaves(&mount, &is_format),
        _ => Vec::new(),
    };
    let one = [mount.repo.name.as_str()];
    let names: Vec<&str> = members.iter().map(|m| m.repo.name.as_str()).collect();
    let request = RepoRequest {
        app: &app,
        plugin: &plugin,
        mount: &mount,
        repo: &mount.repo,
        members: &members,
        sources: match mount.repo.kind {
            RepoKind::Group => &names,
            _ => &one,
        },
        target: &target,
        full_head: OnceLock::new(),
        headers: &parts.headers,
        client: ClientIp::of(&parts.extensions).0,
    };
    let started = std::time::Instant::now();
    let mut response = request.run(body).await;
    if let Some(prefix) = mounts::oci_prefix(&mount) {
        mounts::prefix_registry_paths(response.headers_mut(), &prefix);
    }
    mount.seconds.record(started.elapsed().as_secs_f64());
    mount.answered(response.status().as_u16());
    response
}

struct RepoRequest<'a> {
    app: &'a Arc<App>,
    plugin: &'a Arc<LoadedPlugin>,
    mount: &'a mounts::Mount,
    repo: &'a RepoInfo,
    /// A group's members, in the order its reads walk them.
    members: &'a [Arc<mounts::Mount>],
    /// The repositories whose catalogs its answers come from: itself, or a
    /// group's members.
    sources: &'a [&'a str],
    /// Method and target, without headers: all a warm read looks at.
    target: &'a RequestHead,
    /// The request as a plugin sees it, made when wasm is entered.
    full_head: OnceLock<RequestHead>,
    headers: &'a HeaderMap,
    client: Option<IpAddr>,
}

impl RepoRequest<'_> {
    /// The request head with its headers, credentials left out.
    fn head(&self) -> &RequestHead {
        self.full_head.get_or_init(|| RequestHead {
            headers: self
                .headers
                .iter()
                .filter(|(k, _)| !HIDDEN_HEADERS.contains(&k.as_str()))
                .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect(),
            ..self.target.clone()
        })
    }

    async fn run(&self, body: Body) -> Response {
        if let Err(problem) = reasonable_target(self.target) {
            // The plugin renders the refusal from a bounded head.
            let mut cut = self.head().clone();
            cut.raw_path = telemetry::bounded(&cut.raw_path, 256).into_owned();
            cut.raw_query = None;
            let request = RepoRequest {
                full_head: OnceLock::from(cut),
                ..*self
            };
            return request.deny(Denial::BadRequest, &problem, None).await;
        }
        let classify_started = std::time::Instant::now();
        let classified = match self.plugin.memoized_route(self.repo, self.target) {
            Some(route) => route,
            None => match self.plugin.classify(self.repo, self.head()).await {
                Ok(route) => route,
                Err(failure) => return self.failed(failure),
            },
        };
        let route = match &*classified {
            Ok(route) => route,
            Err(ClassifyError::NotFound) => {
                return self.deny(Denial::NotFound, "not found", None).await;
            }
            Err(ClassifyError::BadRequest(m)) => {
                return self.deny(Denial::BadRequest, m, None).await;
            }
            Err(ClassifyError::MethodNotAllowed(allowed)) => {
                let mut r = self
                    .deny(Denial::MethodNotAllowed, "method not allowed", None)
                    .await;
                let allow: Vec<&str> = allowed.iter().map(method_name).collect();
                r.headers_mut().insert(
                    header::ALLOW,
                    HeaderValue::from_str(&allow.join(", ")).unwrap(),
                );
                return r;
            }
        };
        // A proxy holds what its upstream has: nothing is published,
        // changed or deleted through it, whoever asks.
        let writes = |a: &runtime::Access| runtime::action(a.action) != Action::Read;
        if matches!(self.repo.kind, RepoKind::Proxy) && route.access.iter().any(writes) {
            let message = format!("{} is a proxy repository: it is read-only", self.repo.name);
            return self.deny(Denial::MethodNotAllowed, &message, None).await;
        }
        if matches!(self.repo.kind, RepoKind::Group) && route.access.iter().any(writes) {
            return Box::pin(self.in_hosted_member(body)).await;
        }
        // Registry tokens are the registry's: one below it (`/v2/<repo>/`)
        // takes the token's grants of `<repo>/…`.
        let below_registry = mounts::oci_prefix(self.mount).is_some();
        let authenticate_on = match below_registry {
            true => registry_token::REPOSITORY,
            false => &self.repo.name,
        };
        let caller = match self
            .app
            .services
            .auth
            .authenticate_on(
                header_str(self.headers, "authorization"),
                self.client,
                authenticate_on,
            )
            .await
        {
            Ok(c) if below_registry => c.at_oci_repository(&self.repo.name),
            Ok(c) => c,
            Err(AuthError::InvalidCredentials) => {
                return self
                    .deny(Denial::Unauthenticated, "invalid credentials", None)
                    .await;
            }
            Err(AuthError::Locked(locked)) => return self.locked_out(locked).await,
            Err(_) => {
                return self
                    .deny(Denial::Unavailable, "authentication unavailable", None)
                    .await;
            }
        };
        if let Some(denied) = route.access.iter().find(|a| !self.permits(&caller, a)) {
            let what = denied.package.as_deref().unwrap_or(&self.repo.name);
            let verb = format!("{:?}", runtime::action(denied.action)).to_lowercase();
            // A scoped token without this scope must go and get one: 401.
            let (denial, message) = match caller.user.is_none() || caller.token.is_some() {
                true => (
                    Denial::Unauthenticated,
                    format!("authentication required to {verb} {what}"),
                ),
                false => (Denial::Forbidden, format!("not allowed to {verb} {what}")),
            };
            // The challenge names everything the route needs on that package,
            // so one token is enough (a tag delete also writes).
            let needs: Vec<Action> = route
                .access
                .iter()
                .filter(|a| a.package == denied.package && a.repository == denied.repository)
                .map(|a| runtime::action(a.action))
                .collect();
            let scope = match denied.repository {
                // Another Wharf repository: no scope of this token service.
                Some(_) => None,
                None => denied.package.as_deref().map(|p| (p, &needs[..])),
            };
            if runtime::action(denied.action) != Action::Read {
                self.audit_refusal(&route.id, &caller, what, &message).await;
            }
            return self.deny(denial, &message, scope).await;
        }
        // Others' packages are refused before any body is read; the writes
        // are checked again, and unclaimed names claimed, when they apply.
        if let Some(refusal) = self.not_an_owner(&route.access, &caller).await {
            return refusal;
        }
        let classify_time = classify_started.elapsed();
        // A long query string makes every answer unique: not worth a place.
        let query = self.target.raw_query.as_ref().map_or(0, String::len);
        let cacheable =
            matches!(self.target.method, Method::Get | Method::Head) && query <= MAX_CACHED_VALUE;
        let key = DocKeyRef {
            plugin_hash: &self.plugin.hash,
            repo: &self.repo.name,
            path: &self.target.raw_path,
            query: self.target.raw_query.as_deref(),
        };
        if cacheable {
            let cached = self
                .app
                .services
                .doc_cache
                .get_from(&key, self.sources, |name, value| {
                    has_vary_value(self.headers, name, value)
                });
            match cached.is_some() {
                true => self.mount.cache_hits.increment(1),
                false => self.mount.cache_misses.increment(1),
            }
            if let Some(doc) = cached {
                return self.document(&doc, Some(&key)).await;
            }
        }
        let body = match route.body {
            BodyMode::Stream => Some(IncomingBody::new(
                body,
                header_str(self.headers, "content-type").map(str::to_string),
            )),
            BodyMode::None => None,
        };
        if matches!(self.repo.kind, RepoKind::Group) && self.members.is_empty() {
            // Its members' formats were disabled since it was configured.
            let message = format!("the group {} has no member to read from", self.repo.name);
            return self.deny(Denial::NotFound, &message, None).await;
        }
        let rendered_at = self.app.services.doc_cache.now();
        let cache_as = cacheable.then(|| (key.to_owned(), rendered_at));
        let handle_started = std::time::Instant::now();
        // The plugin call and the answer are boxed: their futures are large,
        // and a warm hit, which needs neither, should not carry them.
        let answer = match self.repo.kind {
            RepoKind::Group if body.is_none() && self.plugin.merges(&route.id) => {
                let reads_left = std::sync::atomic::AtomicU32::new(0);
                let reads = group::Reads::of_request(&reads_left);
                Box::pin(self.merge_members(route, &caller, reads)).await
            }
            RepoKind::Group => Box::pin(self.walk_members(route, &caller, body)).await,
            _ => Box::pin(self.handle(route, &caller, body, self.repo, self.mount))
                .await
                .map(|reply| (reply, self.repo.name.as_str())),
        };
        let (reply, answered_by) = match answer {
            Ok(answer) => answer,
            Err(failure) => return self.failed(failure),
        };
        let handle_time = handle_started.elapsed();
        let mut response = Box::pin(self.respond(reply, answered_by, cache_as)).await;
        self.complete_challenge(&mut response, None);
        // Where the time went, and which plugin build answered, for clients,
        // benchmarks and the reload tests (W3C Server-Timing).
        let timing = format!(
            "classify;dur={:.3}, handle;dur={:.3}, plugin;desc=\"{}\"",
            classify_time.as_secs_f64() * 1e3,
            handle_time.as_secs_f64() * 1e3,
            &self.plugin.hash[..16]
        );
        response
            .headers_mut()
            .insert("server-timing", HeaderValue::from_str(&timing).unwrap());
        response
    }

    /// Whether the caller may do what one access of a route needs. A write
    /// naming no package names its packages in the body: each is checked
    /// when it applies (`runtime/capability.rs`).
    fn permits(&self, caller: &Caller, a: &runtime::Access) -> bool {
        let auth = &self.app.services.auth;
        let repository = a.repository.as_deref().unwrap_or(&self.repo.name);
        match (runtime::action(a.action), a.package.as_deref()) {
            (Action::Read, None) => auth.permits_on(caller, Action::Read, repository, None),
            (action, None) => auth.permits_somewhere(caller, action, repository),
            (action, package) => auth.permits_on(caller, action, repository, package),
        }
    }

    /// The plugin's answer from the catalog of `repo`, served at `mount`
    /// (the request's own, or a member of its group).
    async fn handle(
        &self,
        route: &runtime::Route,
        caller: &Caller,
        body: Option<IncomingBody>,
        repo: &RepoInfo,
        mount: &mounts::Mount,
    ) -> Result<Reply, PluginFailure> {
        let ctx = runtime::RequestContext {
            repo: repo.clone(),
            head: self.head().clone(),
            route_id: route.id.clone(),
            caller: runtime::WitCaller {
                user: caller.user.clone(),
                roles: if caller.admin {
                    vec!["admin".into()]
                } else {
                    vec![]
                },
            },
        };
        let services = self.app.services.clone();
        self.plugin
            .handle(
                services,
                ctx,
                caller.clone(),
                self.client,
                &route.access,
                body,
                Via {
                    upstream: mount.upstream.clone(),
                    group: (repo.name != self.repo.name).then(|| self.repo.name.clone()),
                },
            )
            .await
    }

    /// The refusal of a route that changes a package the caller does not own.
    async fn not_an_owner(&self, access: &[runtime::Access], caller: &Caller) -> Option<Response> {
        let services = &self.app.services;
        for a in access {
            let action = runtime::action(a.action);
            let (Some(package), false) = (a.package.as_deref(), action == Action::Read) else {
                continue;
            };
            if a.repository.as_deref().is_some_and(|r| r != self.repo.name) {
                continue;
            }
            let standing = services
                .auth
                .owners
                .standing(services.catalog.as_ref(), caller, &self.repo.name, package)
                .await;
            let message = match standing {
                Ok(Standing::Owner | Standing::Unclaimed) => continue,
                Ok(Standing::Outsider) => format!(
                    "{} is not an owner of {package}",
                    caller.user.as_deref().unwrap_or("anonymous")
                ),
                Err(_) => {
                    return Some(
                        self.deny(Denial::Unavailable, "owners unavailable", None)
                            .await,
                    );
                }
            };
            self.audit_refusal(
                &format!("{action:?}").to_lowercase(),
                caller,
                package,
                &message,
            )
            .await;
            return Some(self.deny(Denial::Forbidden, &message, None).await);
        }
        None
    }

    /// A write the host refused goes to the audit log too.
    async fn audit_refusal(&self, action: &str, caller: &Caller, target: &str, why: &str) {
        let actor = crate::audit::Actor::of(caller, self.client);
        let outcome = format!("denied: {why}");
        let audit = &self.app.services.audit;
        audit
            .record(&actor, action, Some(&self.repo.name), target, &outcome)
            .await;
    }

    /// A host decision, rendered by the plugin in its format's shape.
    /// `scope`: the package and actions a registry token would need.
    async fn deny(
        &self,
        denial: Denial,
        message: &str,
        scope: Option<(&str, &[Action])>,
    ) -> Response {
        let status = match denial {
            Denial::BadRequest => 400,
            Denial::Unauthenticated => 401,
            Denial::Forbidden => 403,
            Denial::NotFound => 404,
            Denial::MethodNotAllowed => 405,
            Denial::TooLarge => 413,
            Denial::Unavailable => 503,
            Denial::Internal => 500,
        };
        let mut response = self.render(denial, status, message).await;
        self.complete_challenge(&mut response, scope);
        response
    }

    /// The plugin's rendering of `denial`, under the host's `status`.
    async fn render(&self, denial: Denial, status: u16, message: &str) -> Response {
        match self
            .plugin
            .render_error(self.repo, self.head(), denial, message)
            .await
        {
            Ok(reply) => respond::error(status, reply),
            Err(_) => host_error(status, message),
        }
    }

    /// 429 for a password the backoff did not check. The contract has no
    /// denial for it: the plugin renders "unavailable" (try again later) in
    /// its shape, under 429 with `Retry-After`.
    async fn locked_out(&self, locked: crate::auth::backoff::Locked) -> Response {
        let message = AuthError::Locked(locked).to_string();
        let mut response = self.render(Denial::Unavailable, 429, &message).await;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, locked.retry_after_secs().into());
        response
    }

    /// A 401 tells the client how to authenticate: Basic unless the plugin
    /// asked for registry tokens with a bare `Bearer`, whose realm, service
    /// and scope only the host knows.
    fn complete_challenge(&self, response: &mut Response, scope: Option<(&str, &[Action])>) {
        if response.status() != StatusCode::UNAUTHORIZED {
            return;
        }
        let asked = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        // Below the registry (`/v2/<repo>/…`), a scope names `<repo>/<name>`.
        let scoped = scope.map(|(package, _)| match mounts::oci_prefix(self.mount) {
            Some(_) => format!("{}/{package}", self.repo.name),
            None => package.to_string(),
        });
        let challenge = match asked {
            None => "Basic realm=\"wharf\"".to_string(),
            Some(b) if b.eq_ignore_ascii_case("bearer") => registry_token::challenge(
                &self.app.services.settings.base_url(),
                scoped.as_deref(),
                scope.map_or(&[], |(_, needs)| needs),
            ),
            Some(_) => return,
        };
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
    }

    fn failed(&self, failure: PluginFailure) -> Response {
        let (status, kind) = match failure {
            PluginFailure::Busy => (503, "busy"),
            PluginFailure::BodyStalled(_) => (408, "body-stalled"),
            PluginFailure::Deadline => (504, "deadline"),
            PluginFailure::Unsupported(_) => (501, "unsupported"),
            PluginFailure::Merge(_) => (502, "merge"),
            PluginFailure::Trap(_) => (500, "trap"),
        };
        metrics::counter!(telemetry::PLUGIN_FAILURES, "format" => self.plugin.format.to_string(), "kind" => kind)
            .increment(1);
        let path = telemetry::bounded(&self.target.raw_path, 256);
        let error = failure.to_string();
        let error = telemetry::bounded(&error, 4096);
        tracing::error!(plugin = %self.plugin.format, %path, %error, "plugin call failed");
        // Traps carry backtraces and guest output: those stay in the log.
        let reason = match failure {
            PluginFailure::Trap(_) => "it trapped (details are in the server log)".to_string(),
            other => other.to_string(),
        };
        let mut r = host_error(
            status,
            &format!("the {} plugin failed: {reason}", self.plugin.format),
        );
        if status == 503 {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}

fn method_name(m: &Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
        Method::Options => "OPTIONS",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vary_values_compare_as_they_join() {
        let mut headers = HeaderMap::new();
        let agrees = |h: &HeaderMap, expected: Option<&str>| {
            let joined = vary_value(h, "accept");
            assert_eq!(
                has_vary_value(h, "accept", expected),
                joined.as_deref() == expected
            );
        };
        for expected in [None, Some(""), Some("a"), Some("a, b"), Some("a, b, c")] {
            agrees(&headers, expected);
        }
        headers.append("accept", HeaderValue::from_static("a"));
        for expected in [None, Some(""), Some("a"), Some("a, b"), Some("ab")] {
            agrees(&headers, expected);
        }
        headers.append("accept", HeaderValue::from_static("b"));
        for expected in [None, Some("a"), Some("a, b"), Some("a, b, c"), Some("a,b")] {
            agrees(&headers, expected);
        }
    }
}
