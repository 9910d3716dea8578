//! Supplier files: parsing one must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = contextworker_config::Supplier::parse(
            std::path::Path::new("/suppliers/acme.toml"),
            text,
        );
    }
});
