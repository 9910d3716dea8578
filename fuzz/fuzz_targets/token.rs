//! Tokens arrive from any network peer, before anything else is checked: parsing and
//! verifying one must never panic, and a token that verifies must have a finite expiry.
#![no_main]

use std::collections::HashMap;

use contextworker_auth::{Key, Verifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut keys = HashMap::new();
    if let Ok(key) = Key::hmac(b"fuzzing-secret-of-at-least-32-bytes!".to_vec()) {
        keys.insert("k".to_owned(), key);
    }
    let verifier = Verifier::new(keys, true);
    for now in [0.0, 1.7e9, f64::MAX] {
        if let Ok(claims) = verifier.verify(text, now) {
            assert!(claims.exp_unix.is_some_and(f64::is_finite));
            let _ = claims.tenant(None);
            let _ = claims.is_admin();
        }
    }
});
