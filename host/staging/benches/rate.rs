//! Staging alone, rows per second, on both backends: a first run of N products into an empty
//! catalog (every row created), then a second run with 10% of them changed (the rest unchanged),
//! each closed with `finish_run` as the harvest's stage step does. Products are in memory and
//! sized like the generated YML feed's (about 700 bytes of JSON each), staged in the batches the
//! worker hands over. Backends and runs alternate (SQLite, PostgreSQL, SQLite, ...), each round
//! in a fresh catalog; the median per cell is printed as a markdown table.
//!
//!     cargo bench -p contextworker-staging --bench rate -- [PRODUCTS] [ROUNDS] [sqlite|postgres]
//!
//! PostgreSQL from `CONTEXTWORKER_TEST_POSTGRES` (default: the local server).

use std::time::Instant;

use contextworker_staging::{Batch, FeedKey, FeedState, STAGE_ROWS, Staging};
use contextworker_types::{Attribute, Availability, Product};

fn product(i: usize, changed: bool) -> Product {
    let price = if changed {
        1000 + i % 997 + 1
    } else {
        1000 + i % 997
    };
    Product {
        offer_id: format!("offer-{i:07}"),
        sku: Some(format!("SKU-{i:07}")),
        vendor_code: Some(format!("VC{:05}", i % 50_000)),
        name: format!("Тент туристичний модель {i} з посиленим каркасом, 3 місця"),
        description: Some(format!(
            "Опис товару {i}: водонепроникний тент для походів, вага 2,4 кг, розмір 210×150 см. \
             Комплект: чохол, кілочки, відтяжки. Гарантія 12 місяців від виробника."
        )),
        brand: Some(format!("Brand {}", i % 200)),
        category_path: vec![
            "Туризм".into(),
            "Намети".into(),
            format!("Серія {}", i % 40),
        ],
        category_id: Some(format!("{}", i % 40)),
        price: Some(format!("{price}.00")),
        old_price: Some(format!("{}.00", price + 150)),
        currency: Some("UAH".into()),
        quantity: Some((i % 17) as i64),
        availability: if i.is_multiple_of(11) {
            Availability::OutOfStock
        } else {
            Availability::InStock
        },
        url: Some(format!("https://shop.example/p/{i}")),
        image_urls: vec![
            format!("https://cdn.example/img/{i}/1.jpg"),
            format!("https://cdn.example/img/{i}/2.jpg"),
        ],
        barcodes: vec![format!("482{:010}", i)],
        attributes: vec![
            Attribute {
                name: "Колір".into(),
                value: ["зелений", "синій", "сірий"][i % 3].into(),
                unit: None,
            },
            Attribute {
                name: "Вага".into(),
                value: "2.4".into(),
                unit: Some("кг".into()),
            },
        ],
        variant_group_id: None,
    }
}

/// One run of `products` into `key` as `run`: rows per second, and the share of the time
/// spent preparing batches (the CPU half the worker overlaps with the writes).
async fn run(staging: &Staging, key: &FeedKey, run: &str, products: &[Product]) -> (f64, f64) {
    let started = Instant::now();
    let mut preparing = 0.0;
    for batch in products.chunks(STAGE_ROWS) {
        let prepared = Instant::now();
        let batch = Batch::prepare(batch.to_vec()).expect("valid");
        preparing += prepared.elapsed().as_secs_f64();
        staging
            .stage_prepared(key, run, &batch)
            .await
            .expect("stage");
    }
    let counts = staging
        .finish_run(key, run, &FeedState::default())
        .await
        .expect("finish");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(
        counts.created + counts.updated + counts.unchanged,
        products.len() as u64,
        "every product counted"
    );
    (products.len() as f64 / seconds, preparing / seconds)
}

/// The median run by rate, with its preparing share.
fn median(mut v: Vec<(f64, f64)>) -> (f64, f64) {
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let rounds: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let only = args.get(2).map(|a| a.to_lowercase());
    let first: Vec<Product> = (0..n).map(|i| product(i, false)).collect();
    let second: Vec<Product> = (0..n).map(|i| product(i, i.is_multiple_of(10))).collect();

    let dir = tempfile::tempdir().expect("tempdir");
    let postgres = std::env::var("CONTEXTWORKER_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let mut backends = Vec::new();
    if only.as_deref() != Some("postgres") {
        let url = Staging::sqlite_url(&dir.path().join("rate.db"));
        backends.push(("SQLite", Staging::open(&url).await.expect("sqlite")));
    }
    if only.as_deref() != Some("sqlite") {
        backends.push((
            "PostgreSQL",
            Staging::open(&postgres).await.expect("postgres"),
        ));
    }
    let mut rates = vec![(Vec::new(), Vec::new()); backends.len()];
    for round in 0..rounds {
        for (b, (_, staging)) in backends.iter().enumerate() {
            let key = FeedKey {
                tenant: format!("bench-rate-{}-{round}", std::process::id()),
                supplier: "acme".into(),
            };
            rates[b].0.push(run(staging, &key, "r1", &first).await);
            rates[b].1.push(run(staging, &key, "r2", &second).await);
            staging.delete_catalog(&key).await.expect("cleanup");
        }
    }
    println!(
        "| backend | first run (all created), rows/s | preparing | second run (10% changed), rows/s | preparing |"
    );
    println!("|---|---:|---:|---:|---:|");
    for ((name, _), (a, b)) in backends.iter().zip(rates) {
        let ((a, a_prep), (b, b_prep)) = (median(a), median(b));
        println!(
            "| {name} | {a:.0} | {:.0}% | {b:.0} | {:.0}% |",
            a_prep * 100.0,
            b_prep * 100.0
        );
    }
    println!("\n{n} products per run, {rounds} rounds, median; batches of {STAGE_ROWS}");
}
