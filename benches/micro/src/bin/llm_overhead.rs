//! The host's overhead per `llm-classifier` batch over the chat service's own latency.
//!
//! A loopback OpenAI-compatible server (the test suite's `LlmServer`) answers after a fixed
//! delay. Each pair runs, in turn, one batch of 50 products through the module in the sandbox
//! (loaded from `modules/` with its manifest, granted `wasi:http`, narrowed by the operator's
//! rule and given the key as the worker does) and the same request sent by plain `reqwest`:
//! the exact body the module sent, with the key. The difference of each pair is what the
//! host and the module add: instantiating, building the prompt, the capability's checks,
//! collecting the body under its caps, parsing the reply. Printed as one markdown table, one
//! row per server latency.
//!
//! `cargo run --release -p contextworker-bench --bin llm_overhead [PAIRS]`
//! (from the repository root, after `scripts/build-modules.sh`)

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use contextworker_bench::{Latencies, panic_with, tokio_runtime, warm_cache_dir};
use contextworker_registry::Module;
use contextworker_runtime::{HttpHostConfig, Runtime, RuntimeConfig, SecretHeader};
use contextworker_test_support::llm_server::{LlmServer, Mode};
use contextworker_types::{HttpRule, HttpScheme, Product, Verdict};

/// The gardener's batch size, and one request of the module.
const BATCH: usize = 50;
const WARMUP: usize = 3;
const KEY: &str = "Bearer sk-bench-not-a-secret";
/// No delay (the overhead alone, against a raw request's few hundred microseconds) and a
/// fast model's reply time.
const LATENCIES_MS: [u64; 2] = [0, 200];

fn main() {
    let pairs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    let rt = tokio_runtime();
    rt.block_on(async {
        let server = LlmServer::start();
        let runtime = Runtime::new(RuntimeConfig {
            cache_dir: Some(warm_cache_dir()),
            http: HttpHostConfig {
                outbound_allow: vec!["127.0.0.1/32".into()],
                narrowing: BTreeMap::from([(
                    "llm-classifier".to_owned(),
                    vec![
                        HttpRule::parse(&format!("POST http://127.0.0.1:{}/v1/", server.port()))
                            .unwrap_or_else(|e| panic_with(&format!("rule: {e}"))),
                    ],
                )]),
                secrets: vec![SecretHeader {
                    scheme: HttpScheme::Http,
                    host: "127.0.0.1".into(),
                    port: server.port(),
                    header: http::header::AUTHORIZATION,
                    value: http::HeaderValue::from_static(KEY),
                }],
            },
            ..RuntimeConfig::default()
        })
        .unwrap_or_else(|e| panic_with(&format!("sandbox starts: {e}")));
        let module = Module::load(&runtime, Path::new("modules/llm-classifier/module.toml"))
            .await
            .unwrap_or_else(|e| panic_with(&format!("llm-classifier loads: {e}")));
        let spec = module.call_spec(&[
            ("base_url".to_owned(), server.base_url()),
            (
                "slugs".to_owned(),
                "footwear.boots, accessories, clothing.jackets".to_owned(),
            ),
        ]);
        let products: Vec<Product> = (0..BATCH)
            .map(|i| Product {
                offer_id: format!("shop/sku-{i:05}"),
                name: format!("{} model {i}", ["Winter jacket", "Hiking boot", "Scarf"][i % 3]),
                brand: Some("Acme".into()),
                price: Some(format!("{}.00", 100 + i)),
                ..Product::default()
            })
            .collect();
        let through_module = || async {
            let started = Instant::now();
            let outcome = runtime.enrich(&module.component, &spec, &products).await;
            let took = started.elapsed();
            let enrichments = outcome
                .result
                .unwrap_or_else(|e| panic_with(&format!("the batch failed: {e}")));
            let classified = enrichments
                .iter()
                .filter(|e| matches!(e.verdict, Verdict::Classified(_)))
                .count();
            if classified != BATCH {
                panic_with(&format!("{classified} of {BATCH} classified"));
            }
            took
        };
        // The request the module sends, replayed byte for byte by the plain client.
        server.set_mode(Mode::Plain);
        through_module().await;
        let sent = server
            .seen()
            .pop()
            .unwrap_or_else(|| panic_with("the module sent no request"));
        let url = format!("http://127.0.0.1:{}{}", server.port(), sent.path);
        let client = reqwest::Client::new();
        let direct = || async {
            let started = Instant::now();
            let reply = client
                .post(&url)
                .header(http::header::AUTHORIZATION, KEY)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(sent.body.clone())
                .send()
                .await
                .unwrap_or_else(|e| panic_with(&format!("the direct request failed: {e}")));
            let status = reply.status();
            let body = reply
                .bytes()
                .await
                .unwrap_or_else(|e| panic_with(&format!("the direct reply failed: {e}")));
            if !status.is_success() || body.is_empty() {
                panic_with(&format!("the direct request got {status}"));
            }
            started.elapsed()
        };

        println!(
            "llm-classifier, one batch of {BATCH} products (one request, {} KB body) against a loopback chat service, {pairs} interleaved pairs per latency, {} cores",
            sent.body.len() / 1000,
            std::thread::available_parallelism().map_or(0, usize::from),
        );
        println!();
        println!(
            "| service latency | through the module (p50) | plain reqwest (p50) | host overhead per batch (p50 of pair differences) | p90 | max |"
        );
        println!("|---:|---:|---:|---:|---:|---:|");
        for latency in LATENCIES_MS {
            server.set_mode(Mode::Slow(Duration::from_millis(latency)));
            for _ in 0..WARMUP {
                through_module().await;
                direct().await;
            }
            let (mut module_times, mut direct_times, mut diffs) =
                (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..pairs {
                let a = through_module().await;
                let b = direct().await;
                module_times.push(a);
                direct_times.push(b);
                // Rarely negative on a noisy machine; counted as no overhead.
                diffs.push(a.saturating_sub(b));
            }
            let (m, d, o) = (
                Latencies::new(module_times),
                Latencies::new(direct_times),
                Latencies::new(diffs),
            );
            println!(
                "| {latency} ms | {} | {} | {} | {} | {} |",
                ms(m.percentile(50.0)),
                ms(d.percentile(50.0)),
                ms(o.percentile(50.0)),
                ms(o.percentile(90.0)),
                ms(o.max()),
            );
        }
    });
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
