//! The `simple_tsv` transformer's native parser on hostile feeds (see `common/transformer.rs`).
#![no_main]

#[path = "common/transformer.rs"]
mod transformer;

libfuzzer_sys::fuzz_target!(|data: &[u8]| transformer::run::<simple_tsv::SimpleTsv>(data));
