//! The raw plugin's routes, paths and listings, natively
//! against the SDK's mock host (see `wharf_fuzz::requests`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: wharf_fuzz::seeds::write_if_asked("raw"),
    |data: &[u8]| {
    wharf_fuzz::requests::drive::<wharf_raw::Raw>(data);
});
