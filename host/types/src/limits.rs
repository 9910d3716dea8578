//! What one guest call may use. The sandbox enforces these; manifests, callers' requests and
//! the host's configuration produce them, so the shape lives here, with no wasmtime in sight.

use std::time::Duration;

use crate::World;

/// Budgets for one guest call. Built from a module manifest (or a caller's request), checked
/// against the runtime's ceilings before any call uses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest size any single linear memory may reach.
    pub memory_bytes: u64,
    /// Wall-clock budget of the whole call, enforced by epoch interruption inside the guest
    /// and by a timer around host calls.
    pub timeout: Duration,
    /// Deterministic instruction budget. Only components loaded with metering accept it.
    pub fuel: Option<u64>,
    /// Cap on what the guest hands back: bytes of the `code` result, approximate bytes of
    /// emitted products for transformers, of classifications for classifiers.
    pub max_output_bytes: u64,
    /// Cap on elements of any table (function tables of the guest).
    pub max_table_elements: u32,
    /// Cap on core instances, memories and tables one component may create.
    pub max_instances: u32,
}

pub const MIB: u64 = 1 << 20;

impl Limits {
    /// Safe defaults per world: parsers get time and output room, code gets little of both.
    pub fn for_world(world: World) -> Self {
        let (timeout, max_output_bytes) = match world {
            World::Transformer => (Duration::from_secs(300), 1024 * MIB),
            World::Classifier | World::Enricher => (Duration::from_secs(60), 16 * MIB),
            World::Code => (Duration::from_secs(5), MIB),
        };
        Self {
            memory_bytes: 64 * MIB,
            timeout,
            fuel: None,
            max_output_bytes,
            max_table_elements: 100_000,
            max_instances: 32,
        }
    }

    /// Lower (never raise) these limits with a caller's request.
    #[must_use]
    pub fn lowered_by(
        &self,
        memory_bytes: Option<u64>,
        timeout: Option<Duration>,
        fuel: Option<u64>,
    ) -> Self {
        Self {
            memory_bytes: memory_bytes.map_or(self.memory_bytes, |m| m.min(self.memory_bytes)),
            timeout: timeout.map_or(self.timeout, |t| t.min(self.timeout)),
            fuel: match (self.fuel, fuel) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            ..self.clone()
        }
    }
}

/// Whether calls on an engine count fuel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metering {
    /// Epoch deadlines only: the fast path for trusted modules.
    Epoch,
    /// Epoch deadlines plus a deterministic fuel budget.
    Fuel,
}
