//! A feed far larger than the guest's memory streams through the sandbox: guest memory stays
//! bounded by the chunk size plus the products in flight, not by the feed size. Every feed here
//! is larger than the bound, so a parser that buffered it whole could not pass.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::BufWriter;

use contextworker_conformance::{run_file, runtime, transformer};
use contextworker_test_support::feedgen;

/// Guest memory allowed for a 100,000-offer feed of tens of MB: the parser's working set,
/// its category map and one batch of products, not the feed.
const GUEST_MEMORY_BOUND: u64 = 48 << 20;

async fn check(
    module: &str,
    extension: &str,
    offers: usize,
    write: fn(BufWriter<std::fs::File>, usize, u64) -> std::io::Result<()>,
    config: &[(&str, &str)],
) {
    // One directory per case: two cases of one module run at once in this process.
    let dir = tempfile_dir(&format!("{module}-{offers}"));
    let path = dir.join(format!("generated.{extension}"));
    write(
        BufWriter::new(std::fs::File::create(&path).unwrap()),
        offers,
        42,
    )
    .unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(
        size > GUEST_MEMORY_BOUND,
        "the generated feed ({} MiB) must be larger than the memory bound it is checked against",
        size >> 20
    );

    let rt = runtime();
    let component = transformer(&rt, module).await;
    let run = run_file(&rt, &component, module, &path, config).await;
    run.result
        .as_ref()
        .unwrap_or_else(|e| panic!("{module}: {e}"));
    assert_eq!(run.products, offers as u64, "{module}");
    assert_eq!(run.receipt.input_bytes, size);
    assert!(
        run.receipt.peak_memory_bytes < GUEST_MEMORY_BOUND,
        "{module}: guest memory peaked at {} MiB for a {} MiB feed",
        run.receipt.peak_memory_bytes >> 20,
        size >> 20
    );
    eprintln!(
        "{module}: {} offers, {:.1} MB in {:.2} s ({:.1} MB/s), guest peak {:.1} MiB",
        offers,
        size as f64 / 1e6,
        run.receipt.wall_time.as_secs_f64(),
        size as f64 / 1e6 / run.receipt.wall_time.as_secs_f64(),
        run.receipt.peak_memory_bytes as f64 / f64::from(1 << 20)
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir(case: &str) -> std::path::PathBuf {
    let dir = contextworker_test_support::target_dir()
        .join(format!("streaming-{case}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yml_streams_100k_offers_in_bounded_memory() {
    check("yml", "xml", 100_000, feedgen::write_yml, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_merchant_streams_100k_items_in_bounded_memory() {
    check(
        "google-merchant",
        "xml",
        100_000,
        feedgen::write_gmc_rss,
        &[],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_streams_100k_wide_rows_in_bounded_memory() {
    // Rows with long descriptions, so 100,000 of them (as many ids as the other cases keep in
    // their duplicate index) are well over the bound in bytes.
    check(
        "csv-module",
        "csv",
        100_000,
        feedgen::write_csv_wide,
        &[("delimiter", ";")],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_streams_500k_short_rows_in_bounded_memory() {
    // Many short rows (about 60 MB): the duplicate-id index grows with the rows, and must
    // stay small enough for half a million of them.
    check(
        "csv-module",
        "csv",
        500_000,
        feedgen::write_csv,
        &[("delimiter", ";")],
    )
    .await;
}
