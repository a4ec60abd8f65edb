//! The go plugin's routes, module path and version decoding, and the module
//! zip rules, natively against the SDK's mock host (see
//! `wharf_fuzz::requests`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: wharf_fuzz::seeds::write_if_asked("go"),
    |data: &[u8]| {
    wharf_fuzz::requests::drive::<wharf_go::Go>(data);
});
