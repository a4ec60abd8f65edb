//! What the fuzz targets share: the request text the plugin targets read,
//! and the seed inputs each target starts from.
//!
//! Each target in `fuzz_targets/` is one parser of untrusted input. They
//! run natively: the plugins against the SDK's mock host, the host's
//! parsers through `wharf::runtime::fuzzing` and the credential and scope
//! parsers. `cargo xtask fuzz` builds them with libFuzzer's coverage
//! instrumentation and runs each for a bounded time.

pub mod requests;
pub mod seeds;
