//! Host-side bindings of the WIT worlds. The transformer world generates the shared interfaces;
//! the other worlds reuse them, so the host implements `log`, `config` and `clock` once.

#![allow(missing_docs, unused_qualifications, clippy::all)]

pub mod transformer {
    wasmtime::component::bindgen!({
        path: "../../wit/module@0.1.0",
        world: "transformer",
        imports: {
            "contextworker:module/feed": async | trappable,
            "contextworker:module/sink": async | trappable,
            default: trappable,
        },
        exports: { default: async },
    });
}

pub mod classifier {
    wasmtime::component::bindgen!({
        path: "../../wit/module@0.1.0",
        world: "classifier",
        imports: { default: trappable },
        exports: { default: async },
        with: {
            "contextworker:module/types": super::transformer::contextworker::module::types,
            "contextworker:module/log": super::transformer::contextworker::module::log,
            "contextworker:module/config": super::transformer::contextworker::module::config,
            "contextworker:module/clock": super::transformer::contextworker::module::clock,
        },
    });
}

pub mod code {
    wasmtime::component::bindgen!({
        path: "../../wit/module@0.1.0",
        world: "code",
        imports: { default: trappable },
        exports: { default: async },
        with: {
            "contextworker:module/types": super::transformer::contextworker::module::types,
            "contextworker:module/log": super::transformer::contextworker::module::log,
            "contextworker:module/config": super::transformer::contextworker::module::config,
            "contextworker:module/clock": super::transformer::contextworker::module::clock,
        },
    });
}

pub use transformer::contextworker::module::{clock, config, feed, log, sink, types};
