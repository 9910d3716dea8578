//! Transformers stream products back through the sink while they run.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use contextworker_runtime::{CallError, CallSpec, FeedInput, Limits, Metering, SinkEvent};
use contextworker_test_support::guest;
use contextworker_types::{Product, World};
use tokio::sync::mpsc;

async fn transform(
    feed: &str,
    limits: Limits,
) -> (Result<u64, CallError>, Vec<Product>, usize, u64) {
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
    let outcome = rt
        .transform(
            &tsv,
            &spec,
            FeedInput::from_bytes(feed.as_bytes().to_vec()),
            tx,
        )
        .await;
    let (products, warnings) = consumer.await.unwrap();
    (
        outcome.result.map(|s| s.records_seen),
        products,
        warnings,
        outcome.receipt.input_bytes,
    )
}

#[tokio::test]
async fn products_arrive_through_the_sink() {
    let feed = "offer_id\tname\tprice\tcurrency\n1\tKettle\t899,00\tuah\n2\tMug\tbad\tUAH\n3\tCup\t12\tUAH\n";
    let (result, products, warnings, input_bytes) =
        transform(feed, Limits::for_world(World::Transformer)).await;
    assert_eq!(result.unwrap(), 3);
    assert_eq!(products.len(), 2);
    assert_eq!(products[0].price.as_deref(), Some("899.00"));
    assert_eq!(products[0].currency.as_deref(), Some("UAH"));
    assert_eq!(warnings, 1);
    assert_eq!(input_bytes, feed.len() as u64);
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
    let (result, products, _, input_bytes) =
        transform(&feed, Limits::for_world(World::Transformer)).await;
    assert_eq!(result.unwrap(), 200_000);
    assert_eq!(products.len(), 200_000);
    assert_eq!(input_bytes, size);
    assert_eq!(products[199_999].offer_id, "199999");
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
    let (result, _, _, _) = transform(&feed, limits).await;
    assert!(
        matches!(
            result,
            Err(CallError::OutputTooLarge { limit: 100_000, .. })
        ),
        "{result:?}"
    );
}
