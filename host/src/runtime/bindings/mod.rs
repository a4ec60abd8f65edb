//! Host bindings, one module per supported contract version (the Zed way).
//!
//! The host speaks the newest version; `contract.rs` converts what an older
//! component sends and receives. See docs/wit-versioning.md.

pub mod v0_1;
pub mod v0_2;
pub mod v0_3;

pub use v0_3::exports::wharf::plugin::handler::{
    CacheHint, Denial, RequestContext, Response as PluginResponse, ResponseBody,
};
pub use v0_3::wharf::plugin::types::{
    Access, Action, BodyMode, Caller, ClassifyError, Method, RepoInfo, RepoKind, RequestHead, Route,
};
