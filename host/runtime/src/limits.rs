//! The limiter that enforces a call's memory and table limits.

use contextworker_types::Limits;

/// Tracks memory and table growth for one store: denies growth past the limits, remembers
/// that it did (a denied grow usually surfaces as an opaque guest abort, wasmtime#3772), and
/// records the peak for the receipt.
///
/// The memory limit is the call's, not one memory's: a component may have several linear
/// memories (up to the pool's per-component count), and all of them together stay within
/// `memory_bytes`. Counts of instances, memories and tables never exceed what one pool slot
/// holds, so a call gets the same budget whether the pool or the on-demand allocator serves it.
#[derive(Debug)]
pub(crate) struct Limiter {
    memory_bytes: usize,
    table_elements: usize,
    instances: usize,
    memories: usize,
    tables: usize,
    /// Bytes of all linear memories of the store now.
    in_use: usize,
    pub(crate) peak_memory: usize,
    pub(crate) memory_denied: bool,
    pub(crate) table_denied: bool,
}

impl Limiter {
    pub(crate) fn new(limits: &Limits) -> Self {
        use crate::engine::{
            POOL_INSTANCES_PER_COMPONENT, POOL_MEMORIES_PER_COMPONENT, POOL_TABLES_PER_COMPONENT,
        };
        let cap = |pool: u32| (limits.max_instances.min(pool)) as usize;
        Self {
            memory_bytes: usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX),
            table_elements: limits.max_table_elements as usize,
            instances: cap(POOL_INSTANCES_PER_COMPONENT),
            memories: cap(POOL_MEMORIES_PER_COMPONENT),
            tables: cap(POOL_TABLES_PER_COMPONENT),
            in_use: 0,
            peak_memory: 0,
            memory_denied: false,
            table_denied: false,
        }
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // `current` is 0 when a memory is created, so creating and growing both add here.
        let total = self.in_use.saturating_sub(current).saturating_add(desired);
        if total > self.memory_bytes {
            self.memory_denied = true;
            return Ok(false);
        }
        self.in_use = total;
        self.peak_memory = self.peak_memory.max(total);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            self.table_denied = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.tables
    }

    fn memories(&self) -> usize {
        self.memories
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use contextworker_types::{MIB, World};

    use super::*;

    #[test]
    fn callers_can_lower_but_not_raise() {
        let base = Limits::for_world(World::Code);
        let lowered = base.lowered_by(Some(8 * MIB), Some(Duration::from_secs(60)), Some(1000));
        assert_eq!(lowered.memory_bytes, 8 * MIB);
        assert_eq!(
            lowered.timeout, base.timeout,
            "a longer timeout must not be granted"
        );
        assert_eq!(lowered.fuel, Some(1000));
        let raised = base.lowered_by(Some(1024 * MIB), None, None);
        assert_eq!(raised.memory_bytes, base.memory_bytes);
    }

    #[test]
    fn limiter_denies_and_remembers() {
        use wasmtime::ResourceLimiter;
        let mut l = Limiter::new(&Limits {
            memory_bytes: 2 * MIB,
            ..Limits::for_world(World::Code)
        });
        assert!(l.memory_growing(0, MIB as usize, None).unwrap_or(false));
        assert!(
            !l.memory_growing(MIB as usize, 3 * MIB as usize, None)
                .unwrap_or(true)
        );
        assert!(l.memory_denied);
        assert_eq!(l.peak_memory, MIB as usize);
    }

    #[test]
    fn the_limit_covers_all_memories_of_the_call_and_counts_fit_a_pool_slot() {
        use wasmtime::ResourceLimiter;
        let mib = MIB as usize;
        let mut l = Limiter::new(&Limits {
            memory_bytes: 4 * MIB,
            ..Limits::for_world(World::Code)
        });
        // Two memories of 2 MiB fill the budget; a third byte more is refused.
        assert!(l.memory_growing(0, 2 * mib, None).unwrap_or(false));
        assert!(l.memory_growing(0, 2 * mib, None).unwrap_or(false));
        assert!(!l.memory_growing(0, 64 * 1024, None).unwrap_or(true));
        assert_eq!(l.peak_memory, 4 * mib);
        assert!(l.memories() <= crate::engine::POOL_MEMORIES_PER_COMPONENT as usize);
        assert!(l.instances() <= crate::engine::POOL_INSTANCES_PER_COMPONENT as usize);
    }

    #[test]
    fn a_module_with_two_memories_gets_one_budget_in_a_real_store() {
        let engine = wasmtime::Engine::default();
        // Two memories of 3 MiB (48 pages) each: 6 MiB against a 4 MiB limit.
        // A fresh store limited to 4 MiB, instantiating `text`.
        let instantiate = |text: &str| {
            let module = wasmtime::Module::new(&engine, text).expect("valid");
            let mut store = wasmtime::Store::new(
                &engine,
                Limiter::new(&Limits {
                    memory_bytes: 4 * MIB,
                    ..Limits::for_world(World::Code)
                }),
            );
            store.limiter(|l| l);
            let instance = wasmtime::Instance::new(&mut store, &module, &[]);
            (store, instance)
        };
        let (store, refused) = instantiate("(module (memory 48) (memory 48))");
        assert!(refused.is_err(), "6 MiB of memories within a 4 MiB limit");
        assert!(store.data().memory_denied);
        let (store, fits) = instantiate("(module (memory 32) (memory 16))");
        assert!(fits.is_ok());
        assert_eq!(store.data().peak_memory, 3 * MIB as usize);
    }
}
