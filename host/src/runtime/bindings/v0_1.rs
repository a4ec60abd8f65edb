//! Host bindings of `wharf:plugin@0.1.0`, kept so that components built
//! against 0.1 still load (`imports/v0_1.rs` implements its imports).

wasmtime::component::bindgen!({
    path: "../wit/v0.1",
    world: "format-plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "wharf:plugin/blobs.incoming-body": crate::runtime::body::IncomingBody,
        "wharf:plugin/blobs.blob-reader": crate::runtime::imports::BlobReader,
        "wharf:plugin/upstream.upstream-response": crate::runtime::imports::UpstreamResponse,
    },
});
