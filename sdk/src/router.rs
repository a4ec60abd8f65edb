//! Method + path pattern → route id, required access, handler.
//!
//! Patterns are `/`-separated segments: a literal, `{name}` (one segment) or
//! `{name*}` (one or more segments). The first route whose pattern and method
//! match wins. A `GET` route also answers `HEAD`. `PUT`, `POST`, `PATCH` and
//! `DELETE` routes receive the body as a stream (cargo sends one with DELETE).

use crate::body::Body;
use crate::http::{HttpError, Request, Response};
use crate::types::{
    Access, Action, BodyMode, ClassifyError, Method, RepoInfo, RequestContext, RequestHead, Route,
};
use percent_encoding::percent_decode_str;

pub type Handler = fn(&mut Request) -> Result<Response, HttpError>;

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

fn parse_pattern(pattern: &'static str) -> Vec<Segment> {
    pattern
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
        .collect()
}

/// Matches raw (still encoded) segments; collects decoded parameters.
fn match_segments(
    pattern: &[Segment],
    path: &[&str],
    out: &mut Vec<(&'static str, String)>,
) -> bool {
    let Some((first, rest)) = pattern.split_first() else {
        return path.is_empty();
    };
    match first {
        Segment::Literal(lit) => path.first() == Some(lit) && match_segments(rest, &path[1..], out),
        Segment::One(name) => {
            let Some(seg) = path.first() else {
                return false;
            };
            out.push((name, decode(seg)));
            if match_segments(rest, &path[1..], out) {
                return true;
            }
            out.pop();
            false
        }
        Segment::Many(name) => {
            // Greedy, then back off: the longest prefix that lets the rest match.
            for take in (1..=path.len()).rev() {
                let mark = out.len();
                out.push((
                    name,
                    path[..take]
                        .iter()
                        .map(|s| decode(s))
                        .collect::<Vec<_>>()
                        .join("/"),
                ));
                if match_segments(rest, &path[take..], out) {
                    return true;
                }
                out.truncate(mark);
            }
            false
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

    /// Finds the route for a method and raw path.
    fn find(&self, method: Method, raw_path: &str) -> Result<(&RouteDef, Params), ClassifyError> {
        let path = match self.normalize {
            Some(f) => f(raw_path),
            None => raw_path.to_string(),
        };
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut allowed = Vec::new();
        for route in &self.routes {
            let mut params = Vec::new();
            if !match_segments(&route.pattern, &segments, &mut params) {
                continue;
            }
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
    use super::Need;
    use crate::types::Action;

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
