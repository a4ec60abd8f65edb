//! Host bindings of the WIT package `wharf:plugin@0.1.0`.
//!
//! When `0.2` is released it gets its own module beside this one (its own
//! `bindgen!`, `with:` pointing unchanged interfaces here) and the runtime
//! dispatches on the version a component exports. See docs/wit-versioning.md.

wasmtime::component::bindgen!({
    path: "../wit/v0.1",
    world: "format-plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "wharf:plugin/blobs.incoming-body": super::body::IncomingBody,
        "wharf:plugin/blobs.blob-reader": super::host_api::BlobReader,
        "wharf:plugin/upstream.upstream-response": super::host_api::UpstreamResponse,
    },
});

pub use exports::wharf::plugin::handler::{
    CacheHint, Denial, RequestContext, Response as PluginResponse, ResponseBody,
};
pub use wharf::plugin::types::{
    Access, Action, BlobInfo, BodyMode, Caller, ClassifyError, DigestSet, Digests, Method,
    RepoInfo, RepoKind, RequestHead, Route, StoreError,
};
