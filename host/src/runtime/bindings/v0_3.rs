//! Host bindings of `wharf:plugin@0.3.0`, the contract the host speaks.

wasmtime::component::bindgen!({
    path: "../wit/v0.3",
    world: "format-plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "wharf:plugin/blobs.incoming-body": crate::runtime::body::IncomingBody,
        "wharf:plugin/blobs.blob-reader": crate::runtime::imports::BlobReader,
        "wharf:plugin/upstream.upstream-response": crate::runtime::imports::UpstreamResponse,
    },
});
