//! Host bindings of `wharf:plugin@0.3.3`, the contract the host speaks. A
//! 0.3.0, 0.3.1 or 0.3.2 component links against them as it is: each patch
//! only adds, and wasmtime matches 0.3.x names (docs/wit-versioning.md).

wasmtime::component::bindgen!({
    path: "../wit/v0.3.3",
    world: "format-plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "wharf:plugin/blobs.incoming-body": crate::runtime::body::IncomingBody,
        "wharf:plugin/blobs.blob-reader": crate::runtime::imports::BlobReader,
        "wharf:plugin/upstream.upstream-response": crate::runtime::imports::UpstreamResponse,
    },
});

/// The optional `merger` export (0.3.2) and the `group` import of merges
/// (0.3.3). The world's other imports are the ones above, and its handler
/// is looked up through `format-plugin`'s.
pub mod merging {
    wasmtime::component::bindgen!({
        path: "../wit/v0.3.3",
        world: "merging-format-plugin",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "wharf:plugin/types": super::wharf::plugin::types,
            "wharf:plugin/blobs": super::wharf::plugin::blobs,
            "wharf:plugin/catalog": super::wharf::plugin::catalog,
            "wharf:plugin/upstream": super::wharf::plugin::upstream,
            "wharf:plugin/auth": super::wharf::plugin::auth,
            "wharf:plugin/signing": super::wharf::plugin::signing,
            "wharf:plugin/log": super::wharf::plugin::log,
            "wharf:plugin/owners": super::wharf::plugin::owners,
            "wharf:plugin/tokens": super::wharf::plugin::tokens,
        },
    });
}
