//! `ContextUnit`: the envelope of every WorkerService call. The protobuf messages, generated
//! from `proto/contextunity/core`, and their conversion to and from JSON, which is where a
//! caller's payload enters the host. Apart from the gRPC service so the conversion can be
//! fuzzed without the rest of the host.

pub mod unit;

/// Generated from `proto/contextunity/core` by `build.rs`.
pub mod pb {
    pub mod core {
        #![allow(clippy::all, clippy::pedantic, unused_qualifications, missing_docs)]
        include!(concat!(env!("OUT_DIR"), "/contextunity.core.rs"));
    }
}
