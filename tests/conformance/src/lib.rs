//! Running a transformer component over a file the way the host does, for conformance tests
//! and throughput measurements.

#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use contextworker_runtime::{
    CallError, CallSpec, FeedInput, Limits, LoadedComponent, Metering, ProductSink, Runtime,
    RuntimeConfig,
};
use contextworker_types::{Product, Receipt, Warning, World};

/// What one run produced. Products are counted, not kept: a large feed stays out of memory.
#[derive(Debug)]
pub struct Run {
    pub result: Result<u64, CallError>,
    pub products: u64,
    pub warnings: Vec<String>,
    pub receipt: Receipt,
}

/// The corpus beside the repository, if present.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = contextworker_test_support::workspace_root().join("../shared/feeds");
    dir.join("MANIFEST.tsv").is_file().then_some(dir)
}

pub fn runtime() -> Arc<Runtime> {
    let cache_dir = contextworker_test_support::target_dir().join("test-compile-cache");
    Runtime::new(RuntimeConfig {
        cache_dir: Some(cache_dir),
        ..RuntimeConfig::default()
    })
    .expect("runtime starts")
}

/// Build (once) and load the transformer module `name`.
pub async fn transformer(runtime: &Runtime, name: &str) -> Arc<LoadedComponent> {
    let path = contextworker_test_support::guest(name);
    runtime
        .load_file(&path, World::Transformer, Metering::Epoch)
        .await
        .expect("module loads")
}

/// Run `component` over `file` with `config`.
pub async fn run_file(
    runtime: &Runtime,
    component: &LoadedComponent,
    name: &str,
    file: &Path,
    config: &[(&str, &str)],
) -> Run {
    let input = FeedInput::open(file).await.expect("input opens");
    run(runtime, component, name, input, config).await
}

/// Counts products and keeps every warning's message.
#[derive(Default)]
struct Messages {
    products: u64,
    warnings: Vec<String>,
}

impl ProductSink for Messages {
    type Error = std::convert::Infallible;

    async fn products(&mut self, batch: Vec<Product>) -> Result<(), Self::Error> {
        self.products += batch.len() as u64;
        Ok(())
    }

    async fn warnings(&mut self, batch: Vec<Warning>) -> Result<(), Self::Error> {
        self.warnings.extend(batch.into_iter().map(|w| w.message));
        Ok(())
    }
}

pub async fn run(
    runtime: &Runtime,
    component: &LoadedComponent,
    name: &str,
    input: FeedInput,
    config: &[(&str, &str)],
) -> Run {
    let config = config
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let spec =
        CallSpec::new(name, "test", Limits::for_world(World::Transformer)).with_config(config);
    let (outcome, sink) = runtime
        .transform_into(component, &spec, input, Messages::default())
        .await;
    let Messages { products, warnings } = sink.expect("consumer");
    Run {
        result: outcome.result.map(|s| s.records_seen),
        products,
        warnings,
        receipt: outcome.receipt,
    }
}
