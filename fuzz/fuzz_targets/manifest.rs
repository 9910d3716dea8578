//! `module.toml` files come with modules, which may come from anyone who can write the
//! modules directory: parsing one must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = contextworker_manifest::Manifest::parse(
            std::path::Path::new("/modules/m/module.toml"),
            text,
            1 << 30,
        );
    }
});
