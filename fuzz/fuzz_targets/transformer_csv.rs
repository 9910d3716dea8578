//! The `csv` transformer's native parser on hostile feeds (see `common/transformer.rs`).
#![no_main]

#[path = "common/transformer.rs"]
mod transformer;

libfuzzer_sys::fuzz_target!(|data: &[u8]| transformer::run::<csv_module::Csv>(data));
