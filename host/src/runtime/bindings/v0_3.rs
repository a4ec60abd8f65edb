//! Host bindings of `wharf:plugin@0.3.1`, the contract the host speaks. A
//! 0.3.0 component links against them as it is: 0.3.1 only adds, and
//! wasmtime matches 0.3.x names (docs/wit-versioning.md).

wasmtime::component::bindgen!({
    path: "../wit/v0.3.1",
    world: "format-plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "wharf:plugin/blobs.incoming-body": crate::runtime::body::IncomingBody,
        "wharf:plugin/blobs.blob-reader": crate::runtime::imports::BlobReader,
        "wharf:plugin/upstream.upstream-response": crate::runtime::imports::UpstreamResponse,
    },
});
