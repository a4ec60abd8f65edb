//! The plugin's `handler` export: what `register_format!` generates, except
//! that `classify` also declares read on a mount's `from` repository, so the
//! host checks it before `handle` runs. `from` is a query parameter and the
//! SDK router computes accesses from path parameters only.

use crate::{Oci, upload};
use std::sync::OnceLock;
use wharf_sdk::bindings::exports::wharf::plugin::handler::Guest;
use wharf_sdk::bindings::wharf::plugin::blobs::IncomingBody;
use wharf_sdk::types::{
    Access, Action, Caller, ClassifyError, Denial, PluginInfo, RepoInfo, RequestContext,
    RequestHead, Route, WitResponse,
};
use wharf_sdk::{Body, Format, Params, Request, Response, Router, denial_status};

pub fn router() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(Oci::router)
}

/// Phase one: the router's route, plus read on `from` for a mount. The host
/// memoizes routes per query, so reading the query keeps classify pure.
pub fn classify(repo: &RepoInfo, head: &RequestHead) -> Result<Route, ClassifyError> {
    let mut route = router().classify(repo, head)?;
    if route.id == "upload-start" {
        // A bare request decodes the query exactly as the handler will.
        let req = Request {
            repo: repo.clone(),
            head: head.clone(),
            caller: Caller {
                user: None,
                roles: Vec::new(),
            },
            route: route.id.clone(),
            params: Params::default(),
            body: None,
        };
        if let Some((_, from)) = upload::mount_query(&req) {
            route.access.push(Access {
                action: Action::Read,
                package: Some(from),
                repository: None,
            });
        }
    }
    Ok(route)
}

/// Phase two, errors in the spec's shape.
pub fn handle(ctx: RequestContext, body: Option<Body>) -> Response {
    router().handle(ctx, body, Oci::error)
}

/// Public like the rest of this module: native builds do not export it.
pub struct Export;

impl Guest for Export {
    fn describe() -> PluginInfo {
        Oci::info()
    }

    fn classify(repo: RepoInfo, head: RequestHead) -> Result<Route, ClassifyError> {
        classify(&repo, &head)
    }

    fn handle(ctx: RequestContext, body: Option<IncomingBody>) -> WitResponse {
        handle(ctx, body.map(Body::from_host)).into_wit()
    }

    fn render_error(
        _repo: RepoInfo,
        _head: RequestHead,
        denial: Denial,
        message: String,
    ) -> WitResponse {
        Oci::error(denial_status(denial), &message).into_wit()
    }
}

#[cfg(target_arch = "wasm32")]
wharf_sdk::bindings::export_plugin!(Export with_types_in wharf_sdk::bindings);
