//! One guest call: a fresh store with its limits, the world's entry point under a deadline,
//! and the outcome classified into a [`CallError`] with a receipt either way.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use contextworker_types::{Limits, Metering, Receipt, World};
use tokio_util::sync::CancellationToken;
use wasmtime::{Store, UpdateDeadline};

use crate::Runtime;
use crate::component::LoadedComponent;
use crate::entry::Entry;
use crate::error::{CallError, GuestError};
use crate::state::{CallLabel, CallState, HostStop};
use crate::stdio::Captured;

mod classify;

use classify::classify;

/// Who is calling and within which budget.
#[derive(Debug, Clone)]
pub struct CallSpec {
    /// Module name (or file name) for logs and the receipt.
    pub module: String,
    pub version: String,
    pub limits: Limits,
    /// Configuration the guest reads through `config.get`.
    pub config: Vec<(String, String)>,
    /// Cancelling stops the guest at its next epoch tick (or its current host call).
    pub cancel: CancellationToken,
}

impl CallSpec {
    pub fn new(module: impl Into<String>, version: impl Into<String>, limits: Limits) -> Self {
        Self {
            module: module.into(),
            version: version.into(),
            limits,
            config: Vec::new(),
            cancel: CancellationToken::new(),
        }
    }

    #[must_use]
    pub fn with_config(mut self, config: Vec<(String, String)>) -> Self {
        self.config = config;
        self
    }

    #[must_use]
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }
}

/// The result of a call plus what it cost, and what the guest printed.
#[derive(Debug)]
pub struct CallOutcome<T> {
    pub result: Result<T, CallError>,
    pub receipt: Receipt,
    pub stdout: Captured,
    pub stderr: Captured,
}

/// Guest stderr kept in a trap's message: where Rust prints a panic.
const STDERR_TAIL: usize = 2048;

pub(crate) type GuestFuture<'a, R> =
    Pin<Box<dyn Future<Output = wasmtime::Result<Result<R, GuestError>>> + Send + 'a>>;

impl Runtime {
    /// Instantiate `component` as a world `P` in a fresh store and run `body` on the instance.
    /// `prepare` fills per-call state (feed, sink) before the store is sealed.
    pub(crate) async fn call<P: Entry, R>(
        &self,
        component: &LoadedComponent,
        spec: &CallSpec,
        prepare: impl FnOnce(&mut CallState),
        body: impl for<'a> FnOnce(&'a mut Store<CallState>, P::Instance) -> GuestFuture<'a, R>,
        output_size: impl FnOnce(&R) -> u64,
    ) -> CallOutcome<R> {
        let Some(pre) = P::of(&component.pre) else {
            return wrong_pre(component, spec);
        };
        // The span the call was made in (an activity, an ExecuteCode request) gets the
        // receipt too, where it declares the fields: a trace answers "how long, how much"
        // at the level of the step as well as of each call.
        let caller = tracing::Span::current();
        // For the trace alone (TRACE_ONLY_TARGET): a log layer formatting this span's fields
        // cost each call several microseconds, for nothing its log lines do not carry anyway.
        let span = tracing::debug_span!(
            target: contextworker_types::TRACE_ONLY_TARGET,
            "guest.call",
            otel.name = %format_args!("guest {}", spec.module),
            otel.status_code = tracing::field::Empty,
            // Strings as `&str`, not `%` (Display): each layer would format them anew.
            module = spec.module.as_str(),
            version = spec.version.as_str(),
            digest = %component.digest(),
            world = component.world().as_str(),
            outcome = tracing::field::Empty,
            wall_time_us = tracing::field::Empty,
            fuel_used = tracing::field::Empty,
            peak_memory_bytes = tracing::field::Empty,
            input_bytes = tracing::field::Empty,
            output_items = tracing::field::Empty,
        );
        let outcome = tracing::Instrument::instrument(
            self.call_unobserved(component, pre, spec, prepare, body, output_size),
            span.clone(),
        )
        .await;
        let class = outcome.result.as_ref().err().map(CallError::class);
        contextworker_metrics::metrics().guest_call(&outcome.receipt, component.world(), class);
        let ended = class.map_or("ok", |c| c.name());
        let figures = ReceiptFields::of(&outcome.receipt);
        // One record per span, not one per field: each is a trip through every layer.
        tracing::record_all!(
            span,
            outcome = ended,
            otel.status_code = class.map(|_| "error"),
            wall_time_us = figures.wall_time_us,
            fuel_used = figures.fuel_used,
            peak_memory_bytes = figures.peak_memory_bytes,
            input_bytes = figures.input_bytes,
            output_items = figures.output_items,
        );
        tracing::record_all!(
            caller,
            call_outcome = ended,
            wall_time_us = figures.wall_time_us,
            fuel_used = figures.fuel_used,
            peak_memory_bytes = figures.peak_memory_bytes,
            input_bytes = figures.input_bytes,
            output_items = figures.output_items,
        );
        outcome
    }

    async fn call_unobserved<P: Entry, R>(
        &self,
        component: &LoadedComponent,
        pre: &P,
        spec: &CallSpec,
        prepare: impl FnOnce(&mut CallState),
        body: impl for<'a> FnOnce(&'a mut Store<CallState>, P::Instance) -> GuestFuture<'a, R>,
        output_size: impl FnOnce(&R) -> u64,
    ) -> CallOutcome<R> {
        let started = Instant::now();
        let label = Arc::new(CallLabel {
            module: spec.module.clone(),
            version: spec.version.clone(),
            digest: component.digest(),
        });
        // The call's share of the host-wide memory budget, held until its store is gone.
        let waiting = contextworker_metrics::metrics().waiting();
        let reservation = self.reserve_memory(&spec.limits).await;
        drop(waiting);
        let Some(_reservation) = reservation else {
            return CallOutcome {
                result: Err(CallError::Busy(format!(
                    "the host's memory budget for guests ({} MiB) is taken by running calls",
                    self.memory_budget_mib
                ))),
                receipt: receipt(component, spec, started, None, 0, 0, 0),
                stdout: Captured::default(),
                stderr: Captured::default(),
            };
        };
        let _running = contextworker_metrics::metrics().running();
        let mut state = CallState::new(label, Arc::new(spec.config.clone()), &spec.limits);
        if let Some(grant) = &component.http {
            state.http = crate::http::CallHttp::new(
                spec.module.clone(),
                Some(self.http.clone()),
                Some(grant.clone()),
            );
        }
        prepare(&mut state);
        let (stdout, stderr) = (state.stdout.clone(), state.stderr.clone());

        let (mut store, fuel_budget) = match self.new_store(component, spec, state) {
            Ok(s) => s,
            Err(error) => {
                return CallOutcome {
                    result: Err(error),
                    receipt: receipt(component, spec, started, None, 0, 0, 0),
                    stdout: Captured::default(),
                    stderr: Captured::default(),
                };
            }
        };

        // The epoch callback stops a running guest; this timer stops one blocked in a host
        // call (a stalled feed source, a stalled consumer), where epochs cannot reach it.
        // Time waiting on the network has a budget of its own, on top of the call's timeout.
        let network = component
            .http
            .as_ref()
            .map_or(Duration::ZERO, |h| h.grant.caps.network_time);
        let outer = spec.limits.timeout
            + network
            + (self.engines.config().epoch_tick * 5).max(Duration::from_millis(50));
        let raw = {
            let run = async {
                let instance = pre.instantiate(&mut store).await?;
                body(&mut store, instance).await
            };
            tokio::select! {
                r = tokio::time::timeout(outer, run) => r.unwrap_or_else(|_| Err(stop(HostStop::Timeout))),
                () = spec.cancel.cancelled() => Err(stop(HostStop::Cancelled)),
            }
        };

        let fuel_used =
            fuel_budget.and_then(|budget| store.get_fuel().ok().map(|left| budget - left));
        let state = store.data_mut();
        let stop_reason = state.stop.take().or_else(|| {
            raw.as_ref()
                .err()
                .and_then(|e| e.downcast_ref::<HostStop>().cloned())
        });
        let result = match raw {
            Ok(Ok(value)) => {
                let size = output_size(&value);
                if size > spec.limits.max_output_bytes {
                    Err(CallError::OutputTooLarge {
                        limit: spec.limits.max_output_bytes,
                        attempted: size,
                    })
                } else {
                    Ok(value)
                }
            }
            Ok(Err(guest)) => Err(CallError::Guest(guest)),
            Err(error) => Err(classify(
                &error,
                stop_reason,
                state,
                &spec.limits,
                fuel_budget,
                &stderr,
                component.world(),
            )),
        };
        let input_bytes = state.feed.as_ref().map_or(0, |f| f.bytes_read);
        let output_items = state.output_items;
        let peak = state.limiter.peak_memory as u64;
        let http = state.http.usage();
        drop(store);
        let mut receipt = receipt(
            component,
            spec,
            started,
            fuel_used,
            peak,
            input_bytes,
            output_items,
        );
        receipt.http = http;
        CallOutcome {
            result,
            receipt,
            stdout: stdout.take(),
            stderr: stderr.take(),
        }
    }

    /// Wait (briefly) for `limits.memory_bytes` of the memory budget. A limit larger than the
    /// whole budget takes all of it: such a call runs alone rather than never.
    async fn reserve_memory(&self, limits: &Limits) -> Option<tokio::sync::SemaphorePermit<'_>> {
        let mib = limits
            .memory_bytes
            .div_ceil(contextworker_types::MIB)
            .max(1);
        let mib = u32::try_from(mib)
            .unwrap_or(u32::MAX)
            .min(self.memory_budget_mib);
        tokio::time::timeout(
            self.engines.config().memory_wait,
            self.memory_budget.acquire_many(mib),
        )
        .await
        .ok()?
        .ok()
    }

    fn new_store(
        &self,
        component: &LoadedComponent,
        spec: &CallSpec,
        state: CallState,
    ) -> Result<(Store<CallState>, Option<u64>), CallError> {
        let sandbox = self
            .sandbox(component.metering)
            .map_err(|e| CallError::Host(e.to_string()))?;
        let mut store = Store::new(&sandbox.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_hostcall_fuel(hostcall_fuel(component.world(), &spec.limits));
        let fuel_budget = match (component.metering, spec.limits.fuel) {
            (Metering::Fuel, budget) => {
                let budget = budget.unwrap_or(u64::MAX);
                store
                    .set_fuel(budget)
                    .map_err(|e| CallError::Host(format!("cannot set fuel: {e}")))?;
                Some(budget)
            }
            (Metering::Epoch, Some(_)) => {
                return Err(CallError::Host(format!(
                    "a fuel budget was requested but {} was loaded without fuel metering",
                    component.origin()
                )));
            }
            (Metering::Epoch, None) => None,
        };
        if !self.engines.config().epoch_interruption {
            // Compiled code never checks the epoch, so a deadline would never be read.
            return Ok((store, fuel_budget));
        }
        let deadline = Instant::now() + spec.limits.timeout;
        // The deadline moves by the time requests spent waiting (capped by the grant's
        // network budget): the timeout bounds the guest's own work, not its server's.
        let network = store.data().http.clock();
        let network_cap = component
            .http
            .as_ref()
            .map_or(Duration::ZERO, |h| h.grant.caps.network_time);
        let cancel = spec.cancel.clone();
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |mut ctx| {
            let reason = if cancel.is_cancelled() {
                HostStop::Cancelled
            } else if Instant::now() >= deadline + network.spent().min(network_cap) {
                HostStop::Timeout
            } else {
                // Give the executor back every tick: a long parse never monopolizes a worker thread.
                return Ok(UpdateDeadline::YieldCustom(
                    1,
                    Box::pin(tokio::task::yield_now()),
                ));
            };
            ctx.data_mut().stop = Some(reason.clone());
            Err(stop(reason))
        });
        Ok((store, fuel_budget))
    }
}

/// Largest transformer import call (an `emit` batch); the SDK sends at most 512 KiB.
const TRANSFORMER_TRANSFER_BYTES: usize = 8 << 20;

/// Bytes the guest may hand the host in one crossing, enforced by wasmtime while it lifts
/// strings and lists (so nothing larger is ever copied into the host): a transformer's
/// import calls carry batches; a `code` or classifier call's result must fit its output cap
/// anyway (plus room for an error message).
fn hostcall_fuel(world: World, limits: &Limits) -> usize {
    match world {
        World::Transformer => TRANSFORMER_TRANSFER_BYTES,
        World::Classifier | World::Enricher | World::Code => {
            usize::try_from(limits.max_output_bytes)
                .unwrap_or(usize::MAX)
                .saturating_add(crate::error::MAX_ERROR_MESSAGE_BYTES + 64 * 1024)
        }
    }
}

fn transfer_limit(world: World, limits: &Limits) -> u64 {
    hostcall_fuel(world, limits) as u64
}

fn wrong_pre<R>(component: &LoadedComponent, spec: &CallSpec) -> CallOutcome<R> {
    // Unreachable through the public API (a LoadedComponent's world fixes its pre), kept total.
    CallOutcome {
        result: Err(CallError::Host(format!(
            "{} is a {} component",
            component.origin(),
            component.world()
        ))),
        receipt: Receipt {
            module: String::new(),
            version: String::new(),
            wall_time: Duration::ZERO,
            ..receipt(component, spec, Instant::now(), None, 0, 0, 0)
        },
        stdout: Default::default(),
        stderr: Default::default(),
    }
}

fn stop(reason: HostStop) -> wasmtime::Error {
    wasmtime::Error::new(reason)
}

impl std::fmt::Display for HostStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stopped by the host: {self:?}")
    }
}

impl std::error::Error for HostStop {}

fn receipt(
    component: &LoadedComponent,
    spec: &CallSpec,
    started: Instant,
    fuel_used: Option<u64>,
    peak_memory_bytes: u64,
    input_bytes: u64,
    output_items: u64,
) -> Receipt {
    Receipt {
        module: spec.module.clone(),
        version: spec.version.clone(),
        digest: component.digest(),
        wall_time: started.elapsed(),
        fuel_used,
        peak_memory_bytes,
        input_bytes,
        output_items,
        http: contextworker_types::HttpUsage::default(),
    }
}

/// A receipt's figures as span fields. `i64`: tracing-opentelemetry exports unsigned fields
/// as text.
struct ReceiptFields {
    wall_time_us: i64,
    fuel_used: Option<i64>,
    peak_memory_bytes: i64,
    input_bytes: i64,
    output_items: i64,
}

impl ReceiptFields {
    fn of(receipt: &Receipt) -> Self {
        let int = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        Self {
            wall_time_us: i64::try_from(receipt.wall_time.as_micros()).unwrap_or(i64::MAX),
            fuel_used: receipt.fuel_used.map(int),
            peak_memory_bytes: int(receipt.peak_memory_bytes),
            input_bytes: int(receipt.input_bytes),
            output_items: int(receipt.output_items),
        }
    }
}
