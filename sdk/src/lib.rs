//! The crate a Wharf format plugin depends on.
//!
//! A plugin implements [`Format`]: it describes itself, builds a [`Router`] that
//! maps method + path patterns to a route id, the permissions that route needs,
//! and a handler, and renders errors in its format's own shape. The router drives
//! both phases of a request (`classify` and `handle`) from the same table, so the
//! two can never disagree.
//!
//! Host capabilities are plain functions ([`blobs`], [`catalog`], [`auth`],
//! [`owners`], [`tokens`], [`signing`], [`upstream`], [`group`], [`log`]). Compiled for `wasm32-wasip2` they call the real host; compiled
//! natively they call the in-memory [`mock`] host, so a plugin's logic is tested
//! with plain `cargo test`.

pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/v0.3.3",
        world: "merging-format-plugin",
        pub_export_macro: true,
        export_macro_name: "export_plugin",
        default_bindings_module: "wharf_sdk::bindings",
        generate_all,
    });
}

pub mod archive;
mod blob_read;
mod body;
pub mod escape;
mod host;
mod http;
mod meta;
mod router;
pub mod time;
pub mod yaml;

#[cfg(not(target_arch = "wasm32"))]
pub mod mock;

pub use blob_read::BlobRead;
pub use body::{Body, FormFile, FormPart};
pub use host::{auth, blobs, catalog, group, log, owners, signing, tokens, upstream};
pub use http::{HttpError, Request, Response, default_message, query_pairs};
pub use meta::Meta;
pub use router::{Handler, Merger, Need, Params, Router, need};

/// Lower-case hex, the spelling formats use for digests.
pub fn hex(bytes: impl AsRef<[u8]>) -> String {
    ::hex::encode(bytes)
}

/// The WIT types a plugin works with, under short names.
pub mod types {
    pub use crate::bindings::exports::wharf::plugin::handler::{
        CacheHint, Denial, PluginInfo, RequestContext, Response as WitResponse, ResponseBody,
    };
    pub use crate::bindings::exports::wharf::plugin::merger::{MemberAnswer, Merged};
    pub use crate::bindings::wharf::plugin::catalog::{
        Asset, Owner, Publication, VersionRow, Write,
    };
    pub use crate::bindings::wharf::plugin::group::GroupAnswer;
    pub use crate::bindings::wharf::plugin::types::{
        Access, Action, BlobInfo, BodyMode, Caller, ClassifyError, DigestSet, Digests, Method,
        RepoInfo, RepoKind, RequestHead, Route, StoreError,
    };
}

/// What a format plugin implements. Register it with [`register_format!`].
pub trait Format: 'static {
    /// Format id and plugin version.
    fn info() -> crate::types::PluginInfo;
    /// The routing table of the format; built once per instance.
    fn router() -> Router;
    /// The format's own error document for `status` (npm `{"error": …}`, OCI
    /// error JSON, …). Host decisions (401, 403, 404, 413, 503) use it too.
    fn error(status: u16, message: &str) -> Response;
}

/// Status a host denial is rendered with.
pub fn denial_status(denial: crate::types::Denial) -> u16 {
    use crate::types::Denial::*;
    match denial {
        BadRequest => 400,
        Unauthenticated => 401,
        Forbidden => 403,
        NotFound => 404,
        MethodNotAllowed => 405,
        TooLarge => 413,
        Unavailable => 503,
        Internal => 500,
    }
}

/// Exports a [`Format`] as the plugin's `handler` interface.
#[macro_export]
macro_rules! register_format {
    ($format:ty) => {
        struct __WharfExport;

        fn __wharf_router() -> &'static $crate::Router {
            static ROUTER: ::std::sync::OnceLock<$crate::Router> = ::std::sync::OnceLock::new();
            ROUTER.get_or_init(<$format as $crate::Format>::router)
        }

        impl $crate::bindings::exports::wharf::plugin::handler::Guest for __WharfExport {
            fn describe() -> $crate::types::PluginInfo {
                <$format as $crate::Format>::info()
            }

            fn classify(
                repo: $crate::types::RepoInfo,
                head: $crate::types::RequestHead,
            ) -> Result<$crate::types::Route, $crate::types::ClassifyError> {
                __wharf_router().classify(&repo, &head)
            }

            fn handle(
                ctx: $crate::types::RequestContext,
                body: Option<$crate::bindings::wharf::plugin::blobs::IncomingBody>,
            ) -> $crate::types::WitResponse {
                __wharf_router()
                    .handle(ctx, body.map($crate::Body::from_host), <$format as $crate::Format>::error)
                    .into_wit()
            }

            fn render_error(
                _repo: $crate::types::RepoInfo,
                _head: $crate::types::RequestHead,
                denial: $crate::types::Denial,
                message: String,
            ) -> $crate::types::WitResponse {
                <$format as $crate::Format>::error($crate::denial_status(denial), &message).into_wit()
            }
        }

        impl $crate::bindings::exports::wharf::plugin::merger::Guest for __WharfExport {
            fn merged_routes() -> Vec<String> {
                __wharf_router().merged_routes()
            }

            fn merge(
                repo: $crate::types::RepoInfo,
                head: $crate::types::RequestHead,
                route_id: String,
                answers: Vec<$crate::types::MemberAnswer>,
            ) -> $crate::types::Merged {
                __wharf_router().merge(repo, head, route_id, answers, <$format as $crate::Format>::error)
            }
        }

        #[cfg(target_arch = "wasm32")]
        $crate::bindings::export_plugin!(__WharfExport with_types_in $crate::bindings);
    };
}
