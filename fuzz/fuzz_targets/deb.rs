//! The deb plugin's routes, request parsing and `.deb` reading (ar, then
//! control.tar in gzip, xz or zstd), natively against the SDK's mock host
//! with its signing key granted (see `wharf_fuzz::requests`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: wharf_fuzz::seeds::write_if_asked("deb"),
    |data: &[u8]| {
    wharf_fuzz::requests::drive_with::<wharf_deb::Deb>(data, || {
        wharf_sdk::mock::grant_signing_key(wharf_deb::KEY_ID)
    });
});
