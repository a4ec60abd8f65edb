//! Host bindings of `wharf:plugin@0.2.0`, kept so that components built
//! against 0.2 still load (`imports/v0_2.rs` implements its imports).
//!
//! Its `types` interface is the same as 0.3's, field for field, and the
//! component model checks types by their shape: 0.3's Rust types stand in
//! for it, so only the records of the other interfaces need converting.

wasmtime::component::bindgen!({
    path: "../wit/v0.2",
    world: "format-plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "wharf:plugin/types@0.2.0": super::v0_3::wharf::plugin::types,
        "wharf:plugin/blobs.incoming-body": crate::runtime::body::IncomingBody,
        "wharf:plugin/blobs.blob-reader": crate::runtime::imports::BlobReader,
        "wharf:plugin/upstream.upstream-response": crate::runtime::imports::UpstreamResponse,
    },
});
