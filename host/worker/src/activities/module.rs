//! A module called as an activity by its own name, with JSON in and JSON out, so workflows in
//! any Temporal SDK can use it without knowing about blobs or WIT:
//!
//! | world | arguments | result |
//! |---|---|---|
//! | `code` | one value: a string is passed as text, bytes (`binary/plain`) as binary, anything else as its JSON text | the output parsed as JSON when it is JSON, else a string; binary output as bytes |
//! | `transformer` | the feed as a string, or `{"feed": "...", "config": {...}}`, or `{"feed_blob": {digest, size}}` | `{"products": [...], "warnings": [...], "records_seen", "module"}`; products over 192 KiB come back as `products_blob` instead |
//! | `classifier` | a list of products, or `{"products": [...]}` | a list of classifications |
//! | `enricher` | a list of products, or `{"products": [...]}` | one enrichment per product, in order |

use std::collections::BTreeMap;

use contextworker_registry::Module;
use contextworker_runtime::{CancellationToken, Collecting, Data, FeedInput, ProductSink};
use contextworker_storage::BlobRef;
use contextworker_types::{ErrorClass, Product, Warning, World};
use serde::{Deserialize, Serialize};
use temporalio_common::data_converters::RawValue;
use temporalio_sdk::activities::ActivityContext;

use super::steps::module_used;
use super::supervise::{Progress, supervise};
use super::{Outcome, call_failed};
use crate::args::{ArgError, binary_payload, decode, encode};
use crate::failure::{Failure, InputKind};
use crate::messages::ModuleUsed;
use crate::services::Services;

/// Inline products above this size go to the blob store instead (Temporal warns at 256 KiB).
const INLINE_PRODUCTS_BYTES: usize = 192 * 1024;

type Result<T> = std::result::Result<T, Outcome>;

pub(super) async fn call(
    services: &Services,
    ctx: &ActivityContext,
    name: &str,
    input: &RawValue,
) -> Result<RawValue> {
    let module = services.module(name).ok_or_else(|| {
        Failure::new(
            ErrorClass::UnknownModule,
            format!("no activity or module `{name}` on this worker"),
        )
    })?;
    crate::activities::note_module(&module);
    one_argument(input)?;
    let call = ModuleCall {
        services,
        ctx,
        module: &module,
    };
    match module.manifest.world {
        World::Code => call.code(input).await,
        World::Transformer => call.transform(input).await,
        World::Classifier | World::Enricher => call.on_products(input).await,
    }
}

/// What a call of a module by name works with, whatever its world.
#[derive(Clone, Copy)]
struct ModuleCall<'a> {
    services: &'a Services,
    ctx: &'a ActivityContext,
    module: &'a Module,
}

fn one_argument(input: &RawValue) -> std::result::Result<(), ArgError> {
    if input.payloads.len() == 1 {
        Ok(())
    } else {
        Err(ArgError::Shape {
            reason: format!("{} arguments given", input.payloads.len()),
            expected: "exactly one argument",
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransformArgs {
    #[serde(default)]
    feed: Option<String>,
    #[serde(default)]
    feed_blob: Option<BlobRef>,
    #[serde(default)]
    config: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Serialize)]
struct TransformOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    products: Option<Vec<Product>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    products_blob: Option<BlobRef>,
    products_count: u64,
    warnings: Vec<Warning>,
    records_seen: u64,
    module: ModuleUsed,
}

impl ModuleCall<'_> {
    async fn code(self, input: &RawValue) -> Result<RawValue> {
        let is_binary = input.payloads[0]
            .metadata
            .get("encoding")
            .is_some_and(|e| e == b"binary/plain");
        let data = if is_binary {
            Data::Binary(input.payloads[0].data.clone())
        } else {
            match decode(input)?.remove(0) {
                serde_json::Value::String(s) => Data::Text(s),
                other => Data::Text(other.to_string()),
            }
        };
        let cancel = CancellationToken::new();
        let spec = self.module.call_spec(&[]).with_cancel(cancel.clone());
        let outcome = supervise(
            self.ctx,
            "code",
            &Progress::default(),
            &cancel,
            self.services
                .runtime
                .run_code(&self.module.component, &spec, data),
        )
        .await?;
        match outcome
            .result
            .map_err(|e| call_failed(e, InputKind::Data))?
        {
            Data::Binary(bytes) => Ok(binary_payload(bytes)),
            Data::Text(text) => Ok(match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(value) => encode(&value),
                Err(_) => encode(&text),
            }),
        }
    }

    async fn transform(self, input: &RawValue) -> Result<RawValue> {
        let args = match decode(input)?.remove(0) {
            serde_json::Value::String(feed) => TransformArgs {
                feed: Some(feed),
                feed_blob: None,
                config: BTreeMap::new(),
            },
            other => serde_json::from_value(other).map_err(|e| ArgError::Shape {
                reason: e.to_string(),
                expected: "the feed as a string, or {feed | feed_blob, config?}",
            })?,
        };
        let feed = match (args.feed, args.feed_blob) {
            (Some(text), None) => FeedInput::from_bytes(text.into_bytes()),
            (None, Some(blob)) => {
                let reader = self.services.open_blob(&blob).await?;
                FeedInput::from_reader(reader, Some(blob.size))
            }
            _ => {
                return Err(ArgError::Shape {
                    reason: "give exactly one of feed and feed_blob".to_owned(),
                    expected: "{feed | feed_blob, config?}",
                }
                .into());
            }
        };
        let config: Vec<(String, String)> = args
            .config
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect();
        let cancel = CancellationToken::new();
        let spec = self.module.call_spec(&config).with_cancel(cancel.clone());
        let progress = Progress::default();
        // Everything in memory: a self.module activity's whole output is bounded by the self.module's
        // output cap, and small outputs travel inline.
        let sink = Counted {
            all: Collecting::default(),
            progress: progress.clone(),
        };
        let call = self
            .services
            .runtime
            .transform_into(&self.module.component, &spec, feed, sink);
        let (outcome, sink) = supervise(self.ctx, "transform", &progress, &cancel, call).await?;
        let Collecting {
            products,
            mut warnings,
        } = sink
            .map(|s| s.all)
            .map_err(|e| Failure::new(ErrorClass::HostError, e.to_string()))?;
        let summary = outcome
            .result
            .map_err(|e| call_failed(e, InputKind::Feed))?;
        warnings.truncate(crate::messages::WARNING_SAMPLES);
        let mut ndjson = Vec::new();
        for p in &products {
            serde_json::to_writer(&mut ndjson, p)
                .map_err(|e| Failure::new(ErrorClass::HostError, e.to_string()))?;
            ndjson.push(b'\n');
        }
        let count = products.len() as u64;
        let (inline, blob) = if ndjson.len() <= INLINE_PRODUCTS_BYTES {
            (Some(products), None)
        } else {
            let blob = self
                .services
                .blobs
                .put(Box::new(std::io::Cursor::new(ndjson)), u64::MAX)
                .await
                .map_err(|e| Failure::from_blob(&e))?;
            (None, Some(blob))
        };
        Ok(encode(&TransformOutput {
            products: inline,
            products_blob: blob,
            products_count: count,
            warnings,
            records_seen: summary.records_seen,
            module: module_used(self.module),
        }))
    }

    /// A classifier's or an enricher's call: products in, one list out, supervised like every step.
    async fn on_products(self, input: &RawValue) -> Result<RawValue> {
        let products = products_argument(input)?;
        let cancel = CancellationToken::new();
        let spec = self.module.call_spec(&[]).with_cancel(cancel.clone());
        let (runtime, component) = (&self.services.runtime, &self.module.component);
        let progress = Progress::default();
        let answer = if self.module.manifest.world == World::Enricher {
            let work = runtime.enrich(component, &spec, &products);
            let outcome = supervise(self.ctx, "enrich", &progress, &cancel, work).await?;
            outcome.result.map(|list| encode(&list))
        } else {
            let work = runtime.classify(component, &spec, &products);
            let outcome = supervise(self.ctx, "classify", &progress, &cancel, work).await?;
            outcome.result.map(|list| encode(&list))
        };
        answer.map_err(|e| call_failed(e, InputKind::Data))
    }
}

/// Collects a module's output, counting products for the heartbeat.
struct Counted {
    all: Collecting,
    progress: Progress,
}

impl ProductSink for Counted {
    type Error = std::convert::Infallible;

    async fn products(&mut self, batch: Vec<Product>) -> std::result::Result<(), Self::Error> {
        self.progress.add(batch.len() as u64);
        self.all.products(batch).await
    }

    async fn warnings(&mut self, batch: Vec<Warning>) -> std::result::Result<(), Self::Error> {
        self.all.warnings(batch).await
    }
}

/// The one argument of a classifier or enricher: products, bare or as `{products: [...]}`.
fn products_argument(input: &RawValue) -> Result<Vec<Product>> {
    let value = decode(input)?.remove(0);
    let value = match value {
        serde_json::Value::Object(mut map) if map.contains_key("products") => {
            map.remove("products").unwrap_or_default()
        }
        other => other,
    };
    Ok(serde_json::from_value(value).map_err(|e| ArgError::Shape {
        reason: e.to_string(),
        expected: "a list of products, or {products: [...]}",
    })?)
}
