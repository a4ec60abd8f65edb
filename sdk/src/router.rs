//! Method + path pattern → route id, required access, handler.
//!
//! Patterns are `/`-separated segments: a literal, `{name}` (one segment) or
//! `{name*}` (one or more segments, at most one per pattern: matching is
//! linear in the path's segments, whatever a client sends). The first route whose pattern and method
//! match wins. Empty segments (`a//b`, a trailing `/`) are skipped, so
//! `simple/pkg/` and `simple/pkg` match alike. A `GET` route also answers `HEAD`. `PUT`, `POST`, `PATCH` and
//! `DELETE` routes receive the body as a stream (cargo sends one with DELETE).

use crate::body::Body;
use crate::http::{HttpError, Request, Response};
use crate::types::{
    Access, Action, BodyMode, Caller, ClassifyError, MemberAnswer, Merged, Method, RepoInfo,
    RequestContext, RequestHead, Route,
};
use percent_encoding::percent_decode_str;

pub type Handler = fn(&mut Request) -> Result<Response, HttpError>;

/// Merges a group's answers of one route: the members' 200 answers (at
/// least two, in member order, each rendered with the group's base URL)
/// into the group's. Pure: no host call. The request has no body and no
/// caller. A member's answer can carry what the merge needs beside what a
/// client gets in headers named `wharf-merge-…`, which the host never
/// sends to a client (a Maven checksum carries its document).
pub type Merger = fn(&Request, Vec<MemberAnswer>) -> Result<Response, HttpError>;

/// The permission a route needs, derived from its path parameters.
#[derive(Clone, Copy)]
pub enum Need {
    /// `action` on the whole repository.
    Repo(Action),
    /// `action` on the package named by a path parameter.
    Package(Action, &'static str),
    /// Anything else, computed from the parameters.
    Custom(fn(&Params) -> Vec<Access>),
    /// Computed from the parameters and the request head, for a route whose
    /// accesses depend on its query (an OCI mount reads `from`). The host
    /// memoizes routes per method, path and query: read no header here.
    Head(fn(&Params, &RequestHead) -> Vec<Access>),
}

impl Need {
    fn accesses(&self, params: &Params, head: &RequestHead) -> Vec<Access> {
        let access = |action, package: Option<String>| Access {
            action,
            package,
            repository: None,
        };
        match *self {
            Need::Repo(action) => vec![access(action, None)],
            Need::Package(action, param) => {
                vec![access(action, Some(params.get(param).to_string()))]
            }
            Need::Custom(f) => f(params),
            Need::Head(f) => f(params, head),
        }
    }
}

/// Path parameters, percent-decoded.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(&'static str, String)>);

impl Params {
    pub fn get(&self, name: &str) -> &str {
        self.try_get(name)
            .unwrap_or_else(|| panic!("route has no parameter {name}"))
    }
    pub fn try_get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct RouteDef {
    method: Method,
    pattern: Vec<Segment>,
    id: &'static str,
    need: Need,
    handler: Handler,
}

enum Segment {
    Literal(&'static str),
    One(&'static str),
    Many(&'static str),
}

/// Panics on a pattern with two `{name*}` (a programming error the
/// plugin's tests catch): matching stays linear with one.
fn parse_pattern(pattern: &'static str) -> Vec<Segment> {
    let segments: Vec<Segment> = pattern
        .split('/')
        .filter(|s| !s.is_empty())
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('*') {
                    Some(name) => Segment::Many(name),
                    None => Segment::One(name),
                },
                None => Segment::Literal(s),
            },
        )
        .collect();
    let many = segments
        .iter()
        .filter(|s| matches!(s, Segment::Many(_)))
        .count();
    assert!(many <= 1, "route {pattern:?} has more than one {{name*}}");
    segments
}

/// Matches raw (still encoded) segments; returns the decoded parameters in
/// pattern order. Linear in the segments: a pattern has at most one
/// `{name*}`, which takes everything between the fixed segments before it
/// (matched from the front) and after it (matched from the end). Each
/// segment is read at most twice: compared, then decoded.
fn match_segments<S: AsRef<str>>(
    pattern: &[Segment],
    path: &[S],
) -> Option<Vec<(&'static str, String)>> {
    let many = pattern.iter().position(|s| matches!(s, Segment::Many(_)));
    let (head, tail) = match many {
        Some(at) => (&pattern[..at], &pattern[at + 1..]),
        None => (pattern, &[][..]),
    };
    let fixed = head.len() + tail.len();
    let fits = match many {
        Some(_) => path.len() > fixed,
        None => path.len() == fixed,
    };
    if !fits {
        return None;
    }
    let middle = &path[head.len()..path.len() - tail.len()];
    let tail_path = &path[path.len() - tail.len()..];
    let literals_match = |segments: &[Segment], raw: &[S]| {
        segments
            .iter()
            .zip(raw)
            .all(|(segment, raw)| match segment {
                Segment::Literal(lit) => *lit == raw.as_ref(),
                _ => true,
            })
    };
    if !literals_match(head, path) || !literals_match(tail, tail_path) {
        return None;
    }
    let mut params = Vec::new();
    one_params(head, path, &mut params);
    if let Some(Segment::Many(name)) = many.map(|at| &pattern[at]) {
        let joined: Vec<String> = middle.iter().map(|s| decode(s.as_ref())).collect();
        params.push((*name, joined.join("/")));
    }
    one_params(tail, tail_path, &mut params);
    Some(params)
}

/// The decoded `{name}` parameters of fixed segments.
fn one_params<S: AsRef<str>>(
    segments: &[Segment],
    raw: &[S],
    params: &mut Vec<(&'static str, String)>,
) {
    for (segment, raw) in segments.iter().zip(raw) {
        if let Segment::One(name) = segment {
            params.push((*name, decode(raw.as_ref())));
        }
    }
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// The routing table of a format.
#[derive(Default)]
pub struct Router {
    routes: Vec<RouteDef>,
    normalize: Option<fn(&str) -> String>,
    mergers: Vec<(&'static str, Merger)>,
}

impl Router {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rewrite the raw path before matching (e.g. npm joins `@scope/name`
    /// into one `@scope%2fname` segment).
    pub fn normalize(mut self, f: fn(&str) -> String) -> Self {
        self.normalize = Some(f);
        self
    }

    pub fn route(
        mut self,
        method: Method,
        pattern: &'static str,
        id: &'static str,
        need: Need,
        handler: Handler,
    ) -> Self {
        self.routes.push(RouteDef {
            method,
            pattern: parse_pattern(pattern),
            id,
            need,
            handler,
        });
        self
    }

    pub fn get(
        self,
        pattern: &'static str,
        id: &'static str,
        need: Need,
        handler: Handler,
    ) -> Self {
        self.route(Method::Get, pattern, id, need, handler)
    }
    pub fn put(
        self,
        pattern: &'static str,
        id: &'static str,
        need: Need,
        handler: Handler,
    ) -> Self {
        self.route(Method::Put, pattern, id, need, handler)
    }
    pub fn post(
        self,
        pattern: &'static str,
        id: &'static str,
        need: Need,
        handler: Handler,
    ) -> Self {
        self.route(Method::Post, pattern, id, need, handler)
    }
    pub fn patch(
        self,
        pattern: &'static str,
        id: &'static str,
        need: Need,
        handler: Handler,
    ) -> Self {
        self.route(Method::Patch, pattern, id, need, handler)
    }
    pub fn delete(
        self,
        pattern: &'static str,
        id: &'static str,
        need: Need,
        handler: Handler,
    ) -> Self {
        self.route(Method::Delete, pattern, id, need, handler)
    }

    /// In a group, the answers of route `id` are every member's, merged
    /// (an npm packument lists the versions of all), rather than the first
    /// member's that has one.
    pub fn merged(mut self, id: &'static str, merger: Merger) -> Self {
        self.mergers.push((id, merger));
        self
    }

    /// The ids of the routes whose group answers merge.
    pub fn merged_routes(&self) -> Vec<String> {
        self.mergers.iter().map(|(id, _)| id.to_string()).collect()
    }

    /// A group's answer from its members': the route's merger, whose
    /// errors take the format's shape. Only a rendered document merges.
    pub fn merge(
        &self,
        repo: RepoInfo,
        head: RequestHead,
        route_id: String,
        answers: Vec<MemberAnswer>,
        error: fn(u16, &str) -> Response,
    ) -> Merged {
        let merger = self.mergers.iter().find(|(id, _)| *id == route_id);
        let found = self.find(head.method, &head.raw_path);
        let response = match (merger, found) {
            (Some((_, merger)), Ok((_, params))) => {
                let request = Request {
                    repo,
                    head,
                    caller: Caller {
                        user: None,
                        roles: Vec::new(),
                    },
                    route: route_id,
                    params,
                    body: None,
                };
                merger(&request, answers).unwrap_or_else(|e| error(e.status, &e.message))
            }
            _ => error(500, &format!("route {route_id} does not merge")),
        };
        let response = match response.body {
            crate::types::ResponseBody::Bytes(_) | crate::types::ResponseBody::Empty => response,
            _ => error(500, "a merged answer must be a rendered document"),
        };
        let status = response.status;
        let headers = response.headers.clone();
        Merged {
            status,
            headers,
            body: response.body_bytes().to_vec(),
        }
    }

    /// Finds the route for a method and raw path.
    fn find(&self, method: Method, raw_path: &str) -> Result<(&RouteDef, Params), ClassifyError> {
        let path = match self.normalize {
            Some(f) => f(raw_path),
            None => raw_path.to_string(),
        };
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut allowed = Vec::new();
        for route in &self.routes {
            let Some(params) = match_segments(&route.pattern, &segments) else {
                continue;
            };
            let answers =
                route.method == method || (route.method == Method::Get && method == Method::Head);
            if answers {
                return Ok((route, Params(params)));
            }
            allowed.push(route.method);
            if route.method == Method::Get {
                allowed.push(Method::Head);
            }
        }
        if allowed.is_empty() {
            Err(ClassifyError::NotFound)
        } else {
            Err(ClassifyError::MethodNotAllowed(allowed))
        }
    }

    /// Phase one: what the request is and which permissions it needs.
    pub fn classify(&self, _repo: &RepoInfo, head: &RequestHead) -> Result<Route, ClassifyError> {
        let (route, params) = self.find(head.method, &head.raw_path)?;
        let body = match route.method {
            Method::Put | Method::Post | Method::Patch | Method::Delete => BodyMode::Stream,
            _ => BodyMode::None,
        };
        Ok(Route {
            id: route.id.to_string(),
            access: route.need.accesses(&params, head),
            body,
            // The router reads only the method and the path.
            vary: Vec::new(),
        })
    }

    /// Phase two: run the handler of the route; errors take the format's shape.
    pub fn handle(
        &self,
        ctx: RequestContext,
        body: Option<Body>,
        error: fn(u16, &str) -> Response,
    ) -> Response {
        let (route, params) = match self.find(ctx.head.method, &ctx.head.raw_path) {
            Ok(found) => found,
            Err(_) => return error(404, "not found"),
        };
        let mut request = Request {
            repo: ctx.repo,
            head: ctx.head,
            caller: ctx.caller,
            route: ctx.route_id,
            params,
            body,
        };
        match (route.handler)(&mut request) {
            Ok(response) => response,
            Err(e) => error(e.status, &e.message),
        }
    }
}

/// Shorthands for [`Need`].
pub mod need {
    use super::{Need, Params};
    use crate::types::{Access, Action};

    /// No access at all: a route anyone may call whatever the repository
    /// allows anonymous callers, such as a login, which proves who the
    /// caller is itself. Its body is bounded as a read-only route's.
    pub const fn anyone() -> Need {
        Need::Custom(no_access)
    }

    fn no_access(_: &Params) -> Vec<Access> {
        Vec::new()
    }

    pub const fn read_repo() -> Need {
        Need::Repo(Action::Read)
    }
    pub const fn write_repo() -> Need {
        Need::Repo(Action::Write)
    }
    pub const fn read(param: &'static str) -> Need {
        Need::Package(Action::Read, param)
    }
    pub const fn write(param: &'static str) -> Need {
        Need::Package(Action::Write, param)
    }
    pub const fn delete(param: &'static str) -> Need {
        Need::Package(Action::Delete, param)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(_: &mut Request) -> Result<Response, HttpError> {
        Ok(Response::empty(200))
    }

    fn router() -> Router {
        Router::new()
            .get("-/v1/search", "search", need::read_repo(), ok)
            .get(
                "v2/{name*}/manifests/{reference}",
                "manifest",
                need::read("name"),
                ok,
            )
            .get("{pkg}", "doc", need::read("pkg"), ok)
            .put("{pkg}", "publish", need::write("pkg"), ok)
    }

    fn classify(method: Method, path: &str) -> Result<Route, ClassifyError> {
        let repo = RepoInfo {
            name: "r".into(),
            kind: crate::types::RepoKind::Hosted,
            base_url: "http://x/r/".into(),
            settings_json: "{}".into(),
        };
        let head = RequestHead {
            method,
            raw_path: path.into(),
            raw_query: None,
            headers: vec![],
        };
        router().classify(&repo, &head)
    }

    #[test]
    fn literal_routes_win_in_order_and_params_are_decoded() {
        assert_eq!(classify(Method::Get, "-/v1/search").unwrap().id, "search");
        let route = classify(Method::Get, "@scope%2fname").unwrap();
        assert_eq!(route.id, "doc");
        assert_eq!(route.access[0].package.as_deref(), Some("@scope/name"));
    }

    #[test]
    fn many_segments_back_off_to_let_the_rest_match() {
        let route = classify(Method::Get, "v2/org/team/app/manifests/1.0").unwrap();
        assert_eq!(route.access[0].package.as_deref(), Some("org/team/app"));
    }

    /// A segment that counts how often its text is read.
    struct Counted<'a> {
        text: &'a str,
        reads: &'a std::cell::Cell<usize>,
    }

    impl AsRef<str> for Counted<'_> {
        fn as_ref(&self) -> &str {
            self.reads.set(self.reads.get() + 1);
            self.text
        }
    }

    /// `v2/a/a/…/a` with `n` segments of `a`, then `suffix`.
    fn deep(n: usize, suffix: &[&'static str]) -> Vec<&'static str> {
        let mut path = vec!["v2"];
        path.extend(std::iter::repeat_n("a", n));
        path.extend(suffix);
        path
    }

    #[test]
    fn many_segments_match_in_linear_steps() {
        let pattern = parse_pattern("v2/{name*}/manifests/{reference}");
        for n in [30_000, 100_000] {
            for (suffix, matches) in [
                (&["manifests", "1.0"][..], true),
                (&["tags", "list"][..], false),
                (&[][..], false),
            ] {
                let reads = std::cell::Cell::new(0);
                let raw = deep(n, suffix);
                let path: Vec<Counted> = raw
                    .iter()
                    .map(|text| Counted {
                        text,
                        reads: &reads,
                    })
                    .collect();
                let params = match_segments(&pattern, &path);
                assert_eq!(params.is_some(), matches, "{n} {suffix:?}");
                if let Some(params) = params {
                    assert_eq!(params[0].1.len(), 2 * n - 1);
                    assert_eq!(params[1], ("reference", "1.0".to_string()));
                }
                // Compared once and decoded once at most: backtracking read
                // the segments once per length tried, n² times.
                assert!(
                    reads.get() <= 2 * path.len(),
                    "{n} {suffix:?}: {}",
                    reads.get()
                );
            }
        }
    }

    #[test]
    fn a_path_of_100_000_segments_classifies_at_once() {
        for n in [30_000, 100_000] {
            let start = std::time::Instant::now();
            let found = classify(Method::Get, &deep(n, &["manifests", "x"]).join("/"));
            assert_eq!(found.unwrap().id, "manifest");
            let missing = classify(Method::Get, &deep(n, &[]).join("/"));
            assert!(matches!(missing, Err(ClassifyError::NotFound)));
            // Generous for a debug build on a busy machine: this takes a few
            // ms; the backtracking matcher spent the whole classify budget.
            let took = start.elapsed();
            assert!(
                took < std::time::Duration::from_millis(500),
                "{n}: {took:?}"
            );
        }
    }

    #[test]
    #[should_panic(expected = "more than one {name*}")]
    fn too_many_segments_are_a_programming_error() {
        Router::new().get("{a*}/x/{b*}", "two", need::read_repo(), ok);
    }

    #[test]
    fn head_follows_get_and_wrong_methods_are_listed() {
        assert_eq!(classify(Method::Head, "pkg").unwrap().id, "doc");
        assert!(matches!(
            classify(Method::Put, "pkg").unwrap().body,
            BodyMode::Stream
        ));
        match classify(Method::Delete, "pkg") {
            Err(ClassifyError::MethodNotAllowed(m)) => {
                assert_eq!(m, vec![Method::Get, Method::Head, Method::Put])
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            classify(Method::Get, "a/b/c"),
            Err(ClassifyError::NotFound)
        ));
    }
}
