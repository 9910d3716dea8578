//! Host-side bindings of the WIT worlds. The transformer world generates the shared interfaces;
//! the other worlds reuse them, so the host implements `log`, `config` and `clock` once.

#![allow(missing_docs, unused_qualifications, clippy::all)]

pub mod transformer {
    wasmtime::component::bindgen!({
        path: "../../wit/module@0.1.1",
        world: "transformer",
        imports: {
            "contextworker:module/feed": async | trappable,
            "contextworker:module/sink": async | trappable,
            default: trappable,
        },
        exports: { default: async },
    });
}

/// The bindings of a world that shares the transformer's interfaces rather than generating
/// its own copies: one host implementation of `log`, `config` and `clock` serves every world.
macro_rules! world_sharing_interfaces {
    ($world:tt) => {
        wasmtime::component::bindgen!({
            path: "../../wit/module@0.1.1",
            world: $world,
            imports: { default: trappable },
            exports: { default: async },
            with: {
                "contextworker:module/types": super::transformer::contextworker::module::types,
                "contextworker:module/log": super::transformer::contextworker::module::log,
                "contextworker:module/config": super::transformer::contextworker::module::config,
                "contextworker:module/clock": super::transformer::contextworker::module::clock,
            },
        });
    };
}

pub mod classifier {
    world_sharing_interfaces!("classifier");
}

pub mod code {
    world_sharing_interfaces!("code");
}

/// Contract 0.1.1's world. Guests built against 0.1.0 import `log@0.1.0` and the rest;
/// wasmtime links them to these 0.1.1 definitions because 0.1.x versions are semver-compatible.
pub mod enricher {
    world_sharing_interfaces!("enricher");
}

pub use transformer::contextworker::module::{clock, config, feed, log, sink, types};
