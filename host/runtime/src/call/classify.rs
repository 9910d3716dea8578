//! What went wrong in a guest call, from what wasmtime and the store's own records say.

use contextworker_types::{Limits, World};
use wasmtime::{Trap, WasmBacktrace};

use super::{STDERR_TAIL, transfer_limit};
use crate::error::{CallError, capped_message};
use crate::state::{CallState, HostStop};

pub(super) fn classify(
    error: &wasmtime::Error,
    stop_reason: Option<HostStop>,
    state: &CallState,
    limits: &Limits,
    fuel_budget: Option<u64>,
    stderr: &crate::stdio::CappedOutput,
    world: World,
) -> CallError {
    if let Some(reason) = stop_reason {
        return match reason {
            HostStop::Timeout => CallError::Timeout {
                limit: limits.timeout,
            },
            HostStop::Cancelled => CallError::Cancelled,
            HostStop::OutputTooLarge { limit, attempted } => {
                CallError::OutputTooLarge { limit, attempted }
            }
            HostStop::FeedRead(e) => CallError::InputRead(e),
            HostStop::SinkClosed => CallError::SinkClosed,
        };
    }
    // A denied grow surfaces as whatever the guest does next (Rust aborts with `unreachable`),
    // so the limiter's record is the reliable signal.
    if state.limiter.memory_denied {
        return CallError::OutOfMemory {
            limit: limits.memory_bytes,
        };
    }
    let message = capped_message(format!("{error:#}"));
    // wasmtime refused to lift more than the store's hostcall fuel (its error type is private;
    // the text is the stable part of its API we can see).
    if message.contains("fuel allocated for hostcalls has been exhausted") {
        return CallError::TransferTooLarge {
            limit: transfer_limit(world, limits),
        };
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        match trap {
            Trap::StackOverflow => return CallError::StackOverflow,
            Trap::OutOfFuel => {
                return CallError::OutOfFuel {
                    budget: fuel_budget.unwrap_or(0),
                };
            }
            Trap::Interrupt => {
                return CallError::Timeout {
                    limit: limits.timeout,
                };
            }
            _ => {}
        }
    } else if message.contains("concurrent") && message.contains("limit") {
        return CallError::Busy(message);
    }
    let backtrace = error.downcast_ref::<WasmBacktrace>();
    if is_shadow_stack_overflow(error, backtrace) {
        return CallError::StackOverflow;
    }
    let backtrace = backtrace.map(|b| capped_message(b.to_string()));
    let tail = stderr.tail(STDERR_TAIL);
    let trap_message = error
        .downcast_ref::<Trap>()
        .map_or(message, ToString::to_string);
    CallError::Trap {
        message: trap_message,
        backtrace,
        stderr_tail: (!tail.is_empty()).then_some(tail),
    }
}

/// Rust (and C) guests keep address-taken locals on a shadow stack in linear memory that grows
/// down toward address 0; overflowing it is an out-of-bounds access, not wasmtime's stack
/// trap. Recognized by the trap plus a backtrace that is one function repeated to the limit.
fn is_shadow_stack_overflow(error: &wasmtime::Error, backtrace: Option<&WasmBacktrace>) -> bool {
    let Some(backtrace) = backtrace else {
        return false;
    };
    if error.downcast_ref::<Trap>() != Some(&Trap::MemoryOutOfBounds) {
        return false;
    }
    let frames = backtrace.frames();
    frames.len() >= 16
        && frames
            .iter()
            .all(|f| f.func_index() == frames[0].func_index())
}
