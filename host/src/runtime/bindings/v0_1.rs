//! Host bindings of `wharf:plugin@0.1.0`, kept so that components built
//! against 0.1 still load. Its `log` and `signing` interfaces did not change
//! and share the 0.2 implementations.

wasmtime::component::bindgen!({
    path: "../wit/v0.1",
    world: "format-plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "wharf:plugin/blobs.incoming-body": crate::runtime::body::IncomingBody,
        "wharf:plugin/blobs.blob-reader": crate::runtime::imports::BlobReader,
        "wharf:plugin/upstream.upstream-response": crate::runtime::imports::UpstreamResponse,
        "wharf:plugin/log": super::v0_2::wharf::plugin::log,
        "wharf:plugin/signing": super::v0_2::wharf::plugin::signing,
    },
});
