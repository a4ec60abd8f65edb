//! The composer plugin's routes, request parsing and archive reading, natively
//! against the SDK's mock host (see `wharf_fuzz::requests`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: wharf_fuzz::seeds::write_if_asked("composer"),
    |data: &[u8]| {
    wharf_fuzz::requests::drive::<wharf_composer::Composer>(data);
});
