//! Transformers stream products back through the sink while they run.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use contextworker_runtime::{CallError, CallSpec, FeedInput, Limits, Metering, SinkEvent};
use contextworker_test_support::guest;
use contextworker_types::{Product, World};
use tokio::sync::mpsc;

/// What one transformer call produced and cost.
struct Run {
    result: Result<u64, CallError>,
    products: Vec<Product>,
    warnings: usize,
    input_bytes: u64,
    peak_memory_bytes: u64,
    /// Reads the host made from the feed's source.
    source_reads: usize,
}

/// An in-memory feed that counts the reads made from it.
struct CountingReader {
    inner: std::io::Cursor<Vec<u8>>,
    reads: Arc<AtomicUsize>,
}

impl tokio::io::AsyncRead for CountingReader {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

async fn transform(feed: &str, limits: Limits) -> Run {
    let rt = common::runtime();
    let tsv = rt
        .load_file(&guest("simple-tsv"), World::Transformer, Metering::Epoch)
        .await
        .unwrap();
    let (tx, mut rx) = mpsc::channel(4);
    let consumer = tokio::spawn(async move {
        let (mut products, mut warnings) = (Vec::new(), 0);
        while let Some(event) = rx.recv().await {
            match event {
                SinkEvent::Products(p) => products.extend(p),
                SinkEvent::Warnings(w) => warnings += w.len(),
            }
        }
        (products, warnings)
    });
    let spec = CallSpec::new("simple-tsv", "0.1.0", limits)
        .with_config(vec![("delimiter".into(), "\t".into())]);
    let reads = Arc::new(AtomicUsize::new(0));
    let source = CountingReader {
        inner: std::io::Cursor::new(feed.as_bytes().to_vec()),
        reads: Arc::clone(&reads),
    };
    let outcome = rt
        .transform(
            &tsv,
            &spec,
            FeedInput::from_reader(source, Some(feed.len() as u64)),
            tx,
        )
        .await;
    let (products, warnings) = consumer.await.unwrap();
    Run {
        result: outcome.result.map(|s| s.records_seen),
        products,
        warnings,
        input_bytes: outcome.receipt.input_bytes,
        peak_memory_bytes: outcome.receipt.peak_memory_bytes,
        source_reads: reads.load(Ordering::Relaxed),
    }
}

#[tokio::test]
async fn products_arrive_through_the_sink() {
    let feed = "offer_id\tname\tprice\tcurrency\n1\tKettle\t899,00\tuah\n2\tMug\tbad\tUAH\n3\tCup\t12\tUAH\n";
    let run = transform(feed, Limits::for_world(World::Transformer)).await;
    assert_eq!(run.result.unwrap(), 3);
    assert_eq!(run.products.len(), 2);
    assert_eq!(run.products[0].price.as_deref(), Some("899.00"));
    assert_eq!(run.products[0].currency.as_deref(), Some("UAH"));
    assert_eq!(run.warnings, 1);
    assert_eq!(run.input_bytes, feed.len() as u64);
}

#[tokio::test]
async fn a_large_feed_streams_in_chunks() {
    let mut feed = String::from("offer_id\tname\tprice\n");
    for i in 0..200_000 {
        feed.push_str(&format!(
            "{i}\tProduct number {i} with a longer name\t{}.{:02}\n",
            i % 5000,
            i % 100
        ));
    }
    let size = feed.len() as u64;
    let run = transform(&feed, Limits::for_world(World::Transformer)).await;
    assert_eq!(run.result.unwrap(), 200_000);
    assert_eq!(run.products.len(), 200_000);
    assert_eq!(run.input_bytes, size);
    assert_eq!(run.products[199_999].offer_id, "199999");
    // In chunks: the host read the source many times (chunks of at most 1 MiB for a feed of
    // about 9 MB), and the guest never held the feed whole.
    assert!(run.source_reads >= 9, "{} reads", run.source_reads);
    assert!(
        run.peak_memory_bytes < size / 2,
        "guest memory peaked at {} bytes for a {size}-byte feed",
        run.peak_memory_bytes
    );
}

#[tokio::test]
async fn transformer_output_is_capped() {
    let mut feed = String::from("offer_id\tname\n");
    for i in 0..10_000 {
        feed.push_str(&format!("{i}\tname {i}\n"));
    }
    let limits = Limits {
        max_output_bytes: 100_000,
        ..Limits::for_world(World::Transformer)
    };
    let run = transform(&feed, limits).await;
    assert!(
        matches!(
            run.result,
            Err(CallError::OutputTooLarge { limit: 100_000, .. })
        ),
        "{:?}",
        run.result
    );
}
