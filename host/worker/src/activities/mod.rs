//! One dispatcher for every activity this host offers, native or module, chosen by the
//! activity type string at run time.
//!
//! Native activities are the harvest steps (under their current and original names); every
//! loaded module is also an activity under its own name, callable from any Temporal SDK with
//! JSON arguments. The SDK registers activities by type, so the names reach it through
//! numbered slots (see `slots.rs`); all slots land here.

mod module;
#[cfg(feature = "native-parsers")]
mod native_parse;
mod parsed;
mod shadow;
mod steps;
mod supervise;

use std::sync::Arc;

use contextworker_temporal::ids;
use temporalio_common::data_converters::RawValue;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

use crate::failure::Failure;
use crate::messages::names;
use crate::positional::Positional;
use crate::services::Services;

pub use supervise::HEARTBEAT_EVERY;

/// The activity implementer every slot shares.
#[derive(Debug)]
pub struct ActivityHost {
    services: Arc<Services>,
}

impl ActivityHost {
    pub fn new(services: Arc<Services>) -> Self {
        Self { services }
    }

    /// The names this host serves: the native steps and one per loaded module.
    pub fn activity_names(&self) -> Vec<String> {
        let mut out: Vec<String> = names::NATIVE.iter().map(|s| (*s).to_owned()).collect();
        for module in self.services.registry().modules() {
            let name = module.name().as_str();
            if names::NATIVE.contains(&name) {
                // A module cannot shadow a pipeline step; it stays reachable through
                // parse_products and the other steps, not by name.
                tracing::warn!(
                    module = name,
                    "module name collides with a native activity; not registered by name"
                );
            } else {
                out.push(name.to_owned());
            }
        }
        out
    }

    pub(crate) async fn dispatch(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: RawValue,
    ) -> Result<RawValue, ActivityError> {
        let info = ctx.info();
        let name = info.activity_type.clone();
        let carried = |key| crate::trace::carried(ctx.headers(), key);
        let trace_id = carried(crate::trace::TRACE_ID);
        let unit_id = carried(ids::MEMO_UNIT);
        let tenant = carried(ids::MEMO_TENANT);
        // Ids and the tenant come from whoever started the workflow: escaped, so a newline in
        // one cannot forge a log line; `module`, `version` and `digest` are recorded by the
        // steps that run a module, once they know which.
        let span = tracing::info_span!(
            "activity",
            otel.name = %format_args!("RunActivity:{name}"),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            activity = %name,
            workflow_id = %info.workflow_id.as_deref().unwrap_or("").escape_debug(),
            run_id = %info.workflow_run_id.as_deref().unwrap_or("").escape_debug(),
            // i64: tracing-opentelemetry exports unsigned fields as text.
            attempt = i64::from(info.attempt),
            trace_id = tracing::field::Empty,
            unit_id = tracing::field::Empty,
            tenant = tracing::field::Empty,
            module = tracing::field::Empty,
            version = tracing::field::Empty,
            digest = tracing::field::Empty,
            failure_type = tracing::field::Empty,
            // The receipt of the (last) guest call the attempt made, recorded by the runtime.
            call_outcome = tracing::field::Empty,
            wall_time_us = tracing::field::Empty,
            fuel_used = tracing::field::Empty,
            peak_memory_bytes = tracing::field::Empty,
            input_bytes = tracing::field::Empty,
            output_items = tracing::field::Empty,
        );
        // Only what the workflow carries: an activity started by a plain Temporal client has
        // no trace, and its lines say nothing rather than `trace_id=`.
        for (field, value) in [
            ("trace_id", trace_id),
            ("unit_id", unit_id),
            ("tenant", tenant),
        ] {
            if let Some(value) = value {
                span.record(field, tracing::field::display(value.escape_debug()));
            }
        }
        // The span that started the workflow, in whichever process that was: this attempt
        // joins its trace. A run started without one (by a schedule, or a client that does
        // not trace) is a trace of its own whose id is the run id, so its attempts on every
        // host are still one trace, found by the run id.
        let joined = carried(ids::MEMO_TRACEPARENT)
            .is_some_and(|parent| contextworker_telemetry::adopt_traceparent(&span, &parent));
        if !joined && let Some(run) = info.workflow_run_id.as_deref() {
            contextworker_telemetry::adopt_unit(&span, run, run);
        }
        let services = self.services.clone();
        let workflow_id = info.workflow_id.clone().unwrap_or_default();
        let attempt = info.attempt;
        let _on_board = self.services.board.start(&name, &workflow_id, attempt);
        let activity = name.clone();
        let result = tracing::Instrument::instrument(
            async move { run(&services, &ctx, &name, &input).await },
            span.clone(),
        )
        .await;
        match result {
            Ok(value) => Ok(value),
            Err(Outcome::Cancelled) => Err(ActivityError::cancelled()),
            Err(Outcome::Failed(failure)) => {
                self.services.board.failed(
                    &activity,
                    &workflow_id,
                    attempt,
                    failure.class.name(),
                    &failure.message,
                );
                span.record("otel.status_code", "error");
                span.record("failure_type", failure.class.name());
                span.in_scope(|| {
                    tracing::warn!(
                        failure_type = failure.class.name(),
                        retryable = failure.retryable,
                        "activity failed: {}",
                        failure.message
                    );
                });
                Err(failure.into_activity_error())
            }
        }
    }
}

/// The activity `name`: a native step, its input read in the step's positional form, or a
/// module called by its name.
async fn run(
    services: &Arc<Services>,
    ctx: &ActivityContext,
    name: &str,
    input: &RawValue,
) -> Result<RawValue, Outcome> {
    match name {
        names::RESOLVE_SUPPLIER => {
            steps::resolve_supplier(services, Positional::from_raw(input)?).await
        }
        names::LIST_SUPPLIERS => {
            steps::list_suppliers(services, Positional::from_raw(input)?).await
        }
        names::DOWNLOAD_FEED | names::FETCH_VENDOR_DATA => {
            steps::download_feed(services, ctx, Positional::from_raw(input)?).await
        }
        names::PARSE_PRODUCTS | names::PARSE_RAW_PAYLOAD => {
            steps::parse_products(services, ctx, Positional::from_raw(input)?).await
        }
        names::PIN_MODULE => steps::pin_module(services, Positional::from_raw(input)?).await,
        names::RESOLVE_ENRICHMENT => {
            steps::resolve_enrichment(services, Positional::from_raw(input)?).await
        }
        names::SELECT_PRODUCTS => {
            steps::select_products(services, Positional::from_raw(input)?).await
        }
        names::CLASSIFY_PRODUCTS => {
            steps::classify_products(services, ctx, Positional::from_raw(input)?).await
        }
        names::STORE_PRODUCTS | names::UPDATE_STAGING_BUFFER => {
            steps::store_products(services, ctx, Positional::from_raw(input)?).await
        }
        module => module::call(services, ctx, module, input).await,
    }
}

/// Name the module version an activity runs on its span, for its log lines (and traces).
pub(crate) fn note_module(module: &contextworker_registry::Module) {
    let span = tracing::Span::current();
    span.record("module", module.name().as_str());
    span.record("version", module.manifest.version.to_string());
    span.record("digest", module.component.digest().to_string());
}

/// A guest call's error as the activity's end: a cancelled call is a cancelled activity.
pub(crate) fn call_failed(
    e: contextworker_runtime::CallError,
    kind: crate::failure::InputKind,
) -> Outcome {
    match e {
        contextworker_runtime::CallError::Cancelled => Outcome::Cancelled,
        e => Failure::from_call(&e, kind).into(),
    }
}

/// How an activity ends when it does not return a value.
#[derive(Debug)]
pub(crate) enum Outcome {
    Failed(Failure),
    Cancelled,
}

/// `?` on any part's error fails the activity with that part's type name.
macro_rules! failed_from {
    ($($error:ty),*) => {$(
        impl From<$error> for Outcome {
            fn from(e: $error) -> Self {
                Self::Failed(e.into())
            }
        }
    )*};
}
failed_from!(
    Failure,
    crate::args::ArgError,
    contextworker_fetch::FetchError,
    contextworker_staging::StagingError
);

impl From<supervise::Cancelled> for Outcome {
    fn from(_: supervise::Cancelled) -> Self {
        Self::Cancelled
    }
}
