//! The RubyGems plugin's routes, .gem reading, gemspec YAML and Marshal
//! rendering, natively against the SDK's mock host (see `wharf_fuzz::requests`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: wharf_fuzz::seeds::write_if_asked("rubygems"),
    |data: &[u8]| {
    wharf_fuzz::requests::drive::<wharf_rubygems::RubyGems>(data);
});
