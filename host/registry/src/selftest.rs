//! Running a module's self-tests: the manifest's own statement of what the module does.

use std::time::Duration;

use contextworker_runtime::{CallError, Counting, Data, FeedInput, Runtime};
use contextworker_types::{Product, ProductEnrichment, Verdict, World};

use crate::Module;
use contextworker_manifest::{SelfTest, SelfTestExpectation};

/// The result of one self-test.
#[derive(Debug)]
pub struct SelfTestOutcome {
    pub input: std::path::PathBuf,
    /// `Ok` with a short description of what matched, or `Err` with what went wrong.
    pub result: Result<String, String>,
    pub wall_time: Duration,
}

/// Run every self-test of `module`, in manifest order.
pub async fn run_self_tests(runtime: &Runtime, module: &Module) -> Vec<SelfTestOutcome> {
    let mut outcomes = Vec::new();
    for test in &module.manifest.self_tests {
        outcomes.push(run_one(runtime, module, test).await);
    }
    outcomes
}

async fn run_one(runtime: &Runtime, module: &Module, test: &SelfTest) -> SelfTestOutcome {
    let spec = module.call_spec(&test.config);
    let (result, wall_time) = match module.manifest.world {
        World::Transformer => {
            let input = match FeedInput::open(&test.input).await {
                Ok(i) => i,
                Err(e) => {
                    return SelfTestOutcome {
                        input: test.input.clone(),
                        result: Err(format!("cannot open the input: {e}")),
                        wall_time: Duration::ZERO,
                    };
                }
            };
            let (outcome, counted) = runtime
                .transform_into(&module.component, &spec, input, Counting::default())
                .await;
            let Counting { products, warnings } = counted.unwrap_or_default();
            let result = outcome
                .result
                .map_err(|e| describe(&e))
                .and_then(|_| check_counts(&test.expect, products, warnings));
            (result, outcome.receipt.wall_time)
        }
        World::Code => {
            let input = match tokio::fs::read(&test.input).await {
                Ok(bytes) => String::from_utf8(bytes)
                    .map_or_else(|e| Data::Binary(e.into_bytes()), Data::Text),
                Err(e) => {
                    return SelfTestOutcome {
                        input: test.input.clone(),
                        result: Err(format!("cannot read the input: {e}")),
                        wall_time: Duration::ZERO,
                    };
                }
            };
            let outcome = runtime.run_code(&module.component, &spec, input).await;
            let result = outcome
                .result
                .map_err(|e| describe(&e))
                .and_then(|out| check_output(&test.expect, &out));
            (result, outcome.receipt.wall_time)
        }
        World::Enricher => {
            let products = match read_products(&test.input).await {
                Ok(p) => p,
                Err(e) => {
                    return SelfTestOutcome {
                        input: test.input.clone(),
                        result: Err(e),
                        wall_time: Duration::ZERO,
                    };
                }
            };
            let outcome = runtime.enrich(&module.component, &spec, &products).await;
            let result = outcome
                .result
                .map_err(|e| describe(&e))
                .and_then(|answer| check_classified(&test.expect, &answer));
            (result, outcome.receipt.wall_time)
        }
        World::Classifier => (
            Err("classifier self-tests are not supported yet".to_owned()),
            Duration::ZERO,
        ),
    };
    SelfTestOutcome {
        input: test.input.clone(),
        result,
        wall_time,
    }
}

/// An enricher's self-test input: products, one JSON object per line.
async fn read_products(path: &std::path::Path) -> Result<Vec<Product>, String> {
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| format!("cannot read the input: {e}"))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| format!("line {} is not a product: {e}", i + 1))
        })
        .collect()
}

fn describe(e: &CallError) -> String {
    format!("{} ({})", e, e.class())
}

fn check_counts(
    expect: &SelfTestExpectation,
    products: u64,
    warnings: u64,
) -> Result<String, String> {
    match expect {
        SelfTestExpectation::Products {
            products: want,
            warnings: want_warnings,
        } => {
            if products != *want {
                return Err(format!("expected {want} products, got {products}"));
            }
            if let Some(w) = want_warnings
                && warnings != *w
            {
                return Err(format!("expected {w} warnings, got {warnings}"));
            }
            Ok(format!(
                "{}, {}",
                plural(products, "product"),
                plural(warnings, "warning")
            ))
        }
        _ => Ok(plural(products, "product")),
    }
}

fn check_classified(
    expect: &SelfTestExpectation,
    answer: &[ProductEnrichment],
) -> Result<String, String> {
    let classified = answer
        .iter()
        .filter(|e| matches!(e.verdict, Verdict::Classified(_)))
        .count() as u64;
    let said = format!(
        "{classified} of {} classified",
        plural(answer.len() as u64, "product")
    );
    match expect {
        SelfTestExpectation::Classified(want) if *want != classified => {
            Err(format!("expected {want} classified, got {said}"))
        }
        _ => Ok(said),
    }
}

fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn check_output(expect: &SelfTestExpectation, out: &Data) -> Result<String, String> {
    let text = match out {
        Data::Text(s) => s.clone(),
        Data::Binary(b) => String::from_utf8_lossy(b).into_owned(),
    };
    match expect {
        SelfTestExpectation::OutputContains(needle) if !text.contains(needle.as_str()) => {
            Err(format!("output does not contain {needle:?}: {text:?}"))
        }
        _ => Ok(format!("{} bytes of output", text.len())),
    }
}
