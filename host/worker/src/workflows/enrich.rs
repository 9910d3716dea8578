//! `EnrichmentWorkflow` and `GardenerWorkflow`: a tenant's products classified in batches by
//! its classifier module and written back to staging.
//!
//! The workflow holds references, never products: it pins the classifier once
//! (`resolve_enrichment`), pages through the pending products in (supplier, sku) order
//! (`select_products`), and runs `classify_products` on `parallel_batches` batches at a time.
//! Products that fail stay `pending` behind the cursor, so one pass tries each product once;
//! the next pass tries them again, until the tenant's `retry_max`. A long pass continues as
//! new with its cursor and counts, so its history stays bounded whatever the catalog's size.

use std::time::{Duration, SystemTime};

use contextworker_types::{ErrorClass, ProductRef};
use serde::{Deserialize, Serialize};
use temporalio_common::RetryPolicy;
use temporalio_common::WorkflowDefinition;
use temporalio_common::data_converters::RawValue;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::workflows::WorkflowImplementation;
use temporalio_sdk::{ActivityOptions, ContinueAsNewOptions, WorkflowContext, WorkflowResult};

use super::{fail, invalid_arguments, step};
use crate::args::{ArgError, decode, encode, from_args};
use crate::messages::{
    BatchOutcome, ClassifyInput, EnrichArgs, EnrichmentCounts, EnrichmentPlan, EnrichmentPlanInput,
    EnrichmentResult, EnrichmentTimings, GardenerArgs, SelectInput, SelectOutput, names,
};
use crate::positional::Positional;

/// Product ids one run accepts: they travel in the workflow's input and history.
pub const MAX_PRODUCT_IDS: usize = 10_000;

/// Rounds (a page selected, its batches classified) before the run continues as new: about
/// 2,000 history events with two batches a round, well under Temporal's 10,240-event warning.
const ROUNDS_PER_RUN: u32 = 250;

/// Where a pass that continued as new stands; absent on the first run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Carried {
    after: Option<ProductRef>,
    /// Product ids not yet classified (explicit ids only).
    #[serde(default)]
    remaining: Vec<ProductRef>,
    counts: EnrichmentCounts,
    #[serde(default)]
    timings: EnrichmentTimings,
    batches: u64,
    /// When the pass began, in ms since the epoch: `at` of every record it writes.
    started_ms: u64,
}

/// The workflow's input with what a continued run carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Input {
    #[serde(flatten)]
    args: EnrichArgs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    carried: Option<Carried>,
}

const EXPECTED: &str = "(tenant_id, product_ids?) or (tenant_id, batch_size?, max_batches?, classifier?), or one object with those fields and supplier_code?";

/// `(tenant_id, [ids])`, `(tenant_id, batch_size, max_batches, classifier)` or one object.
fn enrichment_input(input: &RawValue) -> Result<Input, ArgError> {
    let values = decode(input)?;
    if let [serde_json::Value::Object(map)] = values.as_slice() {
        let mut map = map.clone();
        let carried = match map.remove("carried") {
            Some(v) => Some(serde_json::from_value(v).map_err(|e| ArgError::Shape {
                reason: e.to_string(),
                expected: EXPECTED,
            })?),
            None => None,
        };
        let args = serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| {
            ArgError::Shape {
                reason: e.to_string(),
                expected: EXPECTED,
            }
        })?;
        return Ok(Input { args, carried });
    }
    let fields: &[&str] = if values.get(1).is_some_and(serde_json::Value::is_array) {
        &["tenant_id", "product_ids"]
    } else {
        &["tenant_id", "batch_size", "max_batches", "classifier"]
    };
    Ok(Input {
        args: from_args(input, fields, EXPECTED)?,
        carried: None,
    })
}

fn short_step() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(60))
        .retry_policy(backoff(5))
        .build()
}

fn backoff(attempts: u32) -> RetryPolicy {
    RetryPolicy::builder()
        .initial_interval(Duration::from_secs(1))
        .backoff_coefficient(2.0)
        .maximum_interval(Duration::from_secs(30))
        .maximum_attempts(attempts)
        .build()
}

/// A batch may take the classifier's timeout plus reading and writing staging; a 429, 5xx
/// or timeout is retried with backoff `retry_max` times in all (the activity records the last
/// attempt's failure per product instead of failing).
fn classify_step(plan: &EnrichmentPlan) -> ActivityOptions {
    let mut opts = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(
        plan.timeout_secs.saturating_mul(2).saturating_add(60),
    ))
    .retry_policy(backoff(plan.retry_max))
    .build();
    opts.heartbeat_timeout = Some(Duration::from_secs(20));
    opts
}

fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
        .to_string()
}

fn epoch_ms(t: Option<SystemTime>) -> u64 {
    t.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// One pass over the selected products (or one run of it, continued as new when long).
async fn enrich<W: WorkflowImplementation>(
    ctx: &WorkflowContext<W>,
    input: Input,
) -> WorkflowResult<EnrichmentResult>
where
    W::Run: WorkflowDefinition<Input = RawValue>,
{
    let Input { args, carried } = input;
    let mut carried = carried.unwrap_or_else(|| Carried {
        started_ms: epoch_ms(ctx.workflow_time()),
        remaining: args.product_ids.clone().unwrap_or_default(),
        ..Carried::default()
    });
    if args
        .product_ids
        .as_ref()
        .is_some_and(|ids| ids.len() > MAX_PRODUCT_IDS)
    {
        return Err(fail(
            ErrorClass::InvalidArguments,
            format!(
                "{} product ids; at most {MAX_PRODUCT_IDS} per run (leave them out to enrich every pending product)",
                args.product_ids.as_ref().map_or(0, Vec::len)
            ),
        ));
    }
    let plan: EnrichmentPlan = step(
        ctx,
        names::RESOLVE_ENRICHMENT,
        &EnrichmentPlanInput {
            tenant: args.tenant_id.clone(),
            classifier: args.classifier.clone(),
            batch_size: args.batch_size,
        },
        short_step(),
    )
    .await?;
    let at = rfc3339(carried.started_ms);
    let batch = plan.batch_size.max(1) as usize;
    let parallel = u64::from(plan.parallel_batches.max(1));
    let max_batches = args.max_batches.map_or(u64::MAX, u64::from);
    let explicit = args.product_ids.is_some();
    let mut more = true;
    for _ in 0..ROUNDS_PER_RUN {
        let room = max_batches.saturating_sub(carried.batches).min(parallel);
        if room == 0 {
            break;
        }
        let limit = batch.saturating_mul(usize::try_from(room).unwrap_or(1));
        let page: Vec<ProductRef> = if explicit {
            let take = limit.min(carried.remaining.len());
            carried.remaining.drain(..take).collect()
        } else {
            let selected: SelectOutput = step(
                ctx,
                names::SELECT_PRODUCTS,
                &SelectInput {
                    tenant: plan.tenant.clone(),
                    supplier: args.supplier_code.clone(),
                    after: carried.after.clone(),
                    limit: u32::try_from(limit).unwrap_or(u32::MAX),
                },
                short_step(),
            )
            .await?;
            carried.timings.select_ms += selected.select_ms;
            selected.products
        };
        let full = page.len() == limit;
        if let Some(last) = page.last() {
            carried.after = Some(last.clone());
        }
        let inputs: Vec<ClassifyInput> = page
            .chunks(batch)
            .map(|products| ClassifyInput {
                tenant: plan.tenant.clone(),
                products: products.to_vec(),
                classifier: plan.classifier.clone(),
                config: plan.config.clone(),
                retry_max: plan.retry_max,
                run: ctx.run_id().to_owned(),
                at: at.clone(),
            })
            .collect();
        let options = classify_step(&plan);
        let batches = inputs.iter().map(|input| {
            step::<W, ClassifyInput, BatchOutcome>(
                ctx,
                names::CLASSIFY_PRODUCTS,
                input,
                options.clone(),
            )
        });
        for outcome in temporalio_sdk::workflows::join_all(batches).await {
            let outcome = outcome?;
            carried.counts.add(&outcome.counts);
            carried.timings.add(&outcome.timings);
            carried.batches += 1;
        }
        more = if explicit {
            !carried.remaining.is_empty()
        } else {
            full
        };
        if !more {
            break;
        }
    }
    let stopped_by_limit = carried.batches >= max_batches;
    if more && !stopped_by_limit {
        // Rounds left in this pass: a fresh history carries on from the cursor.
        let next = Input {
            args,
            carried: Some(carried),
        };
        return match ctx.continue_as_new(encode(&next), ContinueAsNewOptions::default()) {
            Err(continued) => Err(continued),
            Ok(never) => match never {},
        };
    }
    Ok(EnrichmentResult {
        status: if more { "incomplete" } else { "completed" }.to_owned(),
        tenant: plan.tenant,
        workflow_id: ctx.workflow_id().to_owned(),
        run_id: ctx.run_id().to_owned(),
        classifier: plan.classifier,
        batches: carried.batches,
        counts: carried.counts,
        duration_ms: epoch_ms(ctx.workflow_time()).saturating_sub(carried.started_ms),
        timings: carried.timings,
    })
}

/// `EnrichmentWorkflow`: `{tenant_id, product_ids?}` or `{tenant_id, batch_size,
/// max_batches, classifier?}` (and `supplier_code?`): classify the given products, or the
/// tenant's pending ones.
#[workflow]
#[derive(Default)]
pub struct EnrichmentWorkflow;

#[workflow_methods]
impl EnrichmentWorkflow {
    #[run(name = "EnrichmentWorkflow")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: RawValue,
    ) -> WorkflowResult<EnrichmentResult> {
        let input = enrichment_input(&input).map_err(|e| invalid_arguments(&e))?;
        enrich(ctx, input).await
    }
}

/// `GardenerWorkflow(tenant_id, batch_size, max_batches)`: the original's scheduled entry
/// point, one pass over the tenant's pending products.
#[workflow]
#[derive(Default)]
pub struct GardenerWorkflow;

#[workflow_methods]
impl GardenerWorkflow {
    #[run(name = "GardenerWorkflow")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: RawValue,
    ) -> WorkflowResult<EnrichmentResult> {
        let values = decode(&input).map_err(|e| invalid_arguments(&e))?;
        // A continued pass carries its cursor in the object form.
        let input = if matches!(values.as_slice(), [serde_json::Value::Object(m)] if m.contains_key("carried"))
        {
            enrichment_input(&input)
        } else {
            GardenerArgs::from_raw(&input).map(|g| Input {
                args: EnrichArgs {
                    tenant_id: g.tenant_id,
                    batch_size: g.batch_size,
                    max_batches: g.max_batches,
                    ..EnrichArgs::default()
                },
                carried: None,
            })
        }
        .map_err(|e| invalid_arguments(&e))?;
        enrich(ctx, input).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(values: &[serde_json::Value]) -> RawValue {
        RawValue::new(
            values
                .iter()
                .map(|v| encode(v).payloads.remove(0))
                .collect(),
        )
    }

    #[test]
    fn the_originals_argument_shapes_all_read() {
        let ids = enrichment_input(&raw(&[
            serde_json::json!("acme"),
            serde_json::json!(["s/1", "s/2"]),
        ]))
        .expect("ids");
        assert_eq!(ids.args.product_ids.map(|v| v.len()), Some(2));
        let batches = enrichment_input(&raw(&[
            serde_json::json!("acme"),
            serde_json::json!(50),
            serde_json::json!(10),
        ]))
        .expect("batches");
        assert_eq!(
            (batches.args.batch_size, batches.args.max_batches),
            (Some(50), Some(10))
        );
        let object = enrichment_input(&raw(&[serde_json::json!({
            "tenant_id": "acme", "supplier_code": "demo"
        })]))
        .expect("object");
        assert_eq!(object.args.supplier_code.as_deref(), Some("demo"));
        for bad in [
            serde_json::json!({"tenant_id": "acme", "batchsize": 5}),
            serde_json::json!({"tenant_id": "acme", "product_ids": ["no-slash"]}),
        ] {
            let e = enrichment_input(&raw(std::slice::from_ref(&bad))).expect_err("refused");
            assert!(e.to_string().contains("tenant_id"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_record_time_is_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
