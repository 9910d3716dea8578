//! `modules list | validate | test`.

mod enrich;
mod list;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use contextworker_registry::{Registry, RegistryError, run_self_tests};
use contextworker_runtime::{
    CallSpec, FeedInput, Limits, LoadError, Metering, Ndjson, ProductSink, Runtime,
};
use contextworker_types::{Product, Warning, World};

use crate::cli::{GlobalArgs, TestArgs};
use crate::commands::{EXIT_FAILED, EXIT_OK, EXIT_SETUP, cancel_on_ctrl_c};
use crate::{context, report};

pub use list::list;
pub(crate) use list::short;

pub async fn validate(args: &GlobalArgs) -> anyhow::Result<u8> {
    let config = context::host_config(args)?;
    let runtime = context::runtime(&config)?;
    let discovery =
        Registry::discover(&runtime, &config.modules_dir, config.modules.as_deref()).await?;
    let mut failed = discovery.failures.len();
    for failure in &discovery.failures {
        println!("FAIL {failure}");
    }
    for module in discovery.registry.modules() {
        let label = format!("{}@{}", module.name(), module.manifest.version);
        let outcomes = run_self_tests(&runtime, module).await;
        if outcomes.is_empty() {
            println!(
                "ok   {label}: loads and implements `{}` (no self-tests)",
                module.manifest.world
            );
        }
        for outcome in outcomes {
            let input = outcome.input.display();
            match outcome.result {
                Ok(what) => println!(
                    "ok   {label}: {input}: {what} ({})",
                    report::millis(outcome.wall_time)
                ),
                Err(why) => {
                    failed += 1;
                    println!("FAIL {label}: {input}: {why}");
                }
            }
        }
    }
    println!(
        "{} module(s) checked, {failed} failure(s)",
        discovery.registry.len() + discovery.failures.len()
    );
    Ok(if failed == 0 { EXIT_OK } else { EXIT_FAILED })
}

/// A transformer or an enricher from the modules directory, or straight from a .wasm file.
async fn resolve_testable(
    runtime: &Runtime,
    modules_dir: &Path,
    module: &str,
) -> Result<(Arc<contextworker_runtime::LoadedComponent>, CallSpec), anyhow::Error> {
    let testable = |world| matches!(world, World::Transformer | World::Enricher);
    let as_path = Path::new(module);
    if module.ends_with(".wasm") || as_path.is_file() {
        let component = match runtime
            .load_file(as_path, World::Transformer, Metering::Epoch)
            .await
        {
            Err(LoadError::WrongWorld {
                found: Some(World::Enricher),
                ..
            }) => {
                runtime
                    .load_file(as_path, World::Enricher, Metering::Epoch)
                    .await?
            }
            other => other?,
        };
        let name = as_path
            .file_stem()
            .map_or_else(|| module.to_owned(), |s| s.to_string_lossy().into_owned());
        let limits = Limits::for_world(component.world());
        return Ok((component, CallSpec::new(name, "file", limits)));
    }
    let only = [module.to_owned()];
    let discovery = Registry::discover(runtime, modules_dir, Some(&only)).await?;
    if let Some(m) = discovery.registry.get(module) {
        if !testable(m.manifest.world) {
            anyhow::bail!(
                "module `{module}` is a {} module; `modules test` runs transformers and enrichers",
                m.manifest.world
            );
        }
        return Ok((Arc::clone(&m.component), m.call_spec(&[])));
    }
    let reason = discovery.failures.into_iter().next().map_or_else(
        || {
            RegistryError::NotFound {
                name: module.to_owned(),
                dir: modules_dir.to_path_buf(),
            }
            .to_string()
        },
        |e| e.to_string(),
    );
    anyhow::bail!("{reason}")
}

pub async fn test(args: &GlobalArgs, test: TestArgs) -> anyhow::Result<u8> {
    let config = context::host_config(args)?;
    let runtime = context::runtime(&config)?;
    let (component, base_spec) =
        match resolve_testable(&runtime, &config.modules_dir, &test.module).await {
            Ok(found) => found,
            Err(e) => {
                eprintln!("error: {}", super::chain(&e));
                return Ok(EXIT_SETUP);
            }
        };
    let mut merged: std::collections::BTreeMap<String, String> =
        base_spec.config.iter().cloned().collect();
    merged.extend(test.config);
    let spec = base_spec
        .with_config(merged.into_iter().collect())
        .with_cancel(cancel_on_ctrl_c());
    if component.world() == World::Enricher {
        return enrich::test(&runtime, &component, &spec, &test.input).await;
    }
    let input = match FeedInput::open(&test.input).await {
        Ok(input) => input,
        Err(e) => {
            eprintln!("error: cannot open the input {}: {e}", test.input.display());
            return Ok(EXIT_SETUP);
        }
    };
    // Products stream to stdout while the guest parses: a huge feed never sits in memory.
    let printer = Printer(Ndjson::new(
        tokio::io::BufWriter::with_capacity(256 * 1024, tokio::io::stdout()),
        0,
    ));
    let (outcome, printer) = runtime
        .transform_into(&component, &spec, input, printer)
        .await;
    let Printer(mut out) = printer.context("cannot write to stdout")?;
    out.flush().await.context("cannot write to stdout")?;
    let (products, warnings) = (out.products, out.warnings_seen);
    let receipt = &outcome.receipt;
    report::print_guest_stream("stderr", &outcome.stderr);
    match outcome.result {
        Ok(summary) => {
            let secs = receipt.wall_time.as_secs_f64().max(1e-9);
            eprintln!(
                "{}@{}: {products} products, {warnings} warnings from {} records; {:.2} MB in {} ({:.1} MB/s, {:.0} products/s); {}",
                receipt.module,
                receipt.version,
                summary.records_seen,
                receipt.input_bytes as f64 / 1e6,
                report::millis(receipt.wall_time),
                receipt.input_bytes as f64 / 1e6 / secs,
                products as f64 / secs,
                report::receipt_line(receipt)
            );
            Ok(EXIT_OK)
        }
        Err(e) => {
            eprintln!("{}", report::error_line(&e));
            eprintln!(
                "{products} products were emitted before the failure; {}",
                report::receipt_line(receipt)
            );
            Ok(EXIT_FAILED)
        }
    }
}

/// `modules test`'s output: products as NDJSON on stdout, each warning on stderr as it comes
/// (after the products before it, so the two streams interleave in order on a terminal).
struct Printer(Ndjson<tokio::io::BufWriter<tokio::io::Stdout>>);

impl ProductSink for Printer {
    type Error = std::io::Error;

    async fn products(&mut self, batch: Vec<Product>) -> std::io::Result<()> {
        self.0.products(batch).await
    }

    async fn warnings(&mut self, batch: Vec<Warning>) -> std::io::Result<()> {
        self.0.flush().await?;
        for w in &batch {
            eprintln!("{}", report::warning_line(w));
        }
        self.0.warnings(batch).await
    }
}
