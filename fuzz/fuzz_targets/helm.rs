//! The helm plugin's routes, request parsing (raw and multipart uploads,
//! provenance files) and chart reading, natively against the SDK's mock host
//! (see `wharf_fuzz::requests`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: wharf_fuzz::seeds::write_if_asked("helm"),
    |data: &[u8]| {
    wharf_fuzz::requests::drive::<wharf_helm::Helm>(data);
});
