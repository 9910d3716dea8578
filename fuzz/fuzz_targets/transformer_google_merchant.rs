//! The `google_merchant` transformer's native parser on hostile feeds (see `common/transformer.rs`).
#![no_main]

#[path = "common/transformer.rs"]
mod transformer;

libfuzzer_sys::fuzz_target!(
    |data: &[u8]| transformer::run::<google_merchant::GoogleMerchant>(data)
);
