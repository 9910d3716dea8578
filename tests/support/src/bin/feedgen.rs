//! Write a synthetic feed: `feedgen yml|gmc|csv OFFERS SEED OUT`. The same generator the
//! streaming tests and throughput benchmarks use, for benchmarks run from scripts.

#![allow(clippy::print_stderr)]

use std::io::BufWriter;
use std::process::ExitCode;

use contextworker_test_support::feedgen;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [format, offers, seed, out] = args.as_slice() else {
        eprintln!("usage: feedgen yml|gmc|csv OFFERS SEED OUT");
        return ExitCode::from(2);
    };
    let (Ok(offers), Ok(seed)) = (offers.parse::<usize>(), seed.parse::<u64>()) else {
        eprintln!("feedgen: OFFERS and SEED must be whole numbers");
        return ExitCode::from(2);
    };
    let write: fn(BufWriter<std::fs::File>, usize, u64) -> std::io::Result<()> =
        match format.as_str() {
            "yml" => feedgen::write_yml,
            "gmc" => feedgen::write_gmc_rss,
            "csv" => feedgen::write_csv,
            other => {
                eprintln!("feedgen: unknown format {other:?} (yml, gmc or csv)");
                return ExitCode::from(2);
            }
        };
    let written = std::fs::File::create(out).and_then(|f| write(BufWriter::new(f), offers, seed));
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("feedgen: {out}: {e}");
            ExitCode::FAILURE
        }
    }
}
