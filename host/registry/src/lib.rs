//! The module registry: what `modules/` holds, validated and loaded.
//!
//! A module is a directory with a `module.toml` manifest and a component file. Discovery
//! reads every manifest, refuses broken ones with a message naming the file and the reason,
//! and loads the rest through the runtime (compiled once, cached on disk).

mod error;
mod manifest;
mod registry;
mod selftest;

pub use error::RegistryError;
pub use manifest::{MANIFEST_FILE, Manifest, SelfTest, SelfTestExpectation};
pub use registry::{Discovery, Module, Registry};
pub use selftest::{SelfTestOutcome, run_self_tests};
