//! `modules test` for an enricher: products as NDJSON in, one enrichment per product out as
//! NDJSON, in batches of the gardener's size; a summary on stderr.

use std::path::Path;

use anyhow::Context as _;
use contextworker_runtime::{CallSpec, LoadedComponent, Runtime};
use contextworker_types::{Product, Verdict};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

use crate::commands::{EXIT_FAILED, EXIT_OK, EXIT_SETUP};
use crate::report;

/// Products per call, as the original gardener sent them to its classifier.
const BATCH: usize = 50;

/// Longest input line read as one product: a line past it is an error naming the line, not
/// an allocation the size of the file.
const MAX_LINE_BYTES: usize = 4 << 20;

pub async fn test(
    runtime: &Runtime,
    component: &LoadedComponent,
    spec: &CallSpec,
    input: &Path,
) -> anyhow::Result<u8> {
    let file = match tokio::fs::File::open(input).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot open the input {}: {e}", input.display());
            return Ok(EXIT_SETUP);
        }
    };
    let mut lines = BufReader::new(file).lines();
    let mut out = tokio::io::BufWriter::new(tokio::io::stdout());
    let (mut line_no, mut counts, mut tokens) = (0usize, [0u64; 3], 0u64);
    let mut batch: Vec<Product> = Vec::with_capacity(BATCH);
    loop {
        let line = lines
            .next_line()
            .await
            .with_context(|| format!("cannot read {}", input.display()))?;
        let done = line.is_none();
        if let Some(line) = line {
            line_no += 1;
            if line.trim().is_empty() {
                continue;
            }
            if line.len() > MAX_LINE_BYTES {
                eprintln!(
                    "error: {} line {line_no}: over {MAX_LINE_BYTES} bytes",
                    input.display()
                );
                return Ok(EXIT_SETUP);
            }
            match serde_json::from_str::<Product>(&line) {
                Ok(p) => batch.push(p),
                Err(e) => {
                    eprintln!(
                        "error: {} line {line_no} is not a product: {e}",
                        input.display()
                    );
                    return Ok(EXIT_SETUP);
                }
            }
        }
        if batch.len() == BATCH || (done && !batch.is_empty()) {
            let outcome = runtime.enrich(component, spec, &batch).await;
            report::print_guest_stream("stderr", &outcome.stderr);
            let answer = match outcome.result {
                Ok(answer) => answer,
                Err(e) => {
                    out.flush().await.context("cannot write to stdout")?;
                    eprintln!("{}", report::error_line(&e));
                    eprintln!("{}", report::receipt_line(&outcome.receipt));
                    return Ok(EXIT_FAILED);
                }
            };
            for e in &answer {
                let slot = match e.verdict {
                    Verdict::Classified(_) => 0,
                    Verdict::Abstained { .. } => 1,
                    Verdict::Failed { .. } => 2,
                };
                counts[slot] += 1;
                tokens += u64::from(e.tokens);
                let mut json = serde_json::to_vec(e).context("cannot encode an enrichment")?;
                json.push(b'\n');
                out.write_all(&json)
                    .await
                    .context("cannot write to stdout")?;
            }
            batch.clear();
        }
        if done {
            break;
        }
    }
    out.flush().await.context("cannot write to stdout")?;
    let [classified, abstained, failed] = counts;
    eprintln!(
        "{}: {} products: {classified} classified, {abstained} abstained, {failed} failed; {tokens} tokens",
        spec.module,
        classified + abstained + failed
    );
    Ok(EXIT_OK)
}
