//! The guest SDK for ContextWorker modules.
//!
//! A module is a Rust crate built for `wasm32-wasip2` (plain `cargo build` or `cargo component
//! build`). It implements one of the traits [`Transformer`], [`Classifier`], [`Enricher`] or [`Code`] and
//! names its type in the matching export macro. The generated WIT bindings stay hidden: the same
//! crate also compiles natively, where [`native`] runs it in-process for unit tests and
//! benchmarks.
//!
//! ```ignore
//! use contextworker_guest::{Transformer, FeedReader, ProductSink, Config, ModuleError, Product};
//!
//! pub struct Lines;
//! impl Transformer for Lines {
//!     fn transform(input: &mut FeedReader, out: &mut ProductSink, _: &Config) -> Result<(), ModuleError> {
//!         for (i, line) in std::io::BufRead::lines(input.buffered()).enumerate() {
//!             let line = line.map_err(|e| ModuleError::invalid_input(e.to_string()).at_record(i))?;
//!             out.emit(Product::new(i.to_string(), line));
//!         }
//!         Ok(())
//!     }
//! }
//! contextworker_guest::export_transformer!(Lines);
//! ```

extern crate self as contextworker_guest;

mod config;
mod enrichment;
mod error;
#[cfg(feature = "http")]
pub mod http;
mod input;
pub mod log;
pub mod native;
mod output;
mod product;
mod worlds;

#[cfg(guest_bindings)]
#[doc(hidden)]
pub mod bindings;

#[cfg(all(
    target_arch = "wasm32",
    any(
        all(feature = "transformer", feature = "classifier"),
        all(feature = "transformer", feature = "code"),
        all(feature = "classifier", feature = "code"),
        all(feature = "enricher", feature = "transformer"),
        all(feature = "enricher", feature = "classifier"),
        all(feature = "enricher", feature = "code"),
    )
))]
compile_error!(
    "contextworker-guest: enable exactly one of the features `transformer`, `classifier`, `enricher`, `code` \
     for a wasm32 build (Cargo unifies features across one build: build modules one at a time)"
);

pub use config::Config;
pub use enrichment::{EnrichError, Enrichment, Facets, Gender, Verdict};
pub use error::{Location, ModuleError, Warning};
pub use input::FeedReader;
pub use output::ProductSink;
pub use product::{Attribute, Availability, Product};
pub use worlds::{Classification, Classifier, Code, Data, Enricher, Transformer};

/// Monotonic time since an arbitrary point fixed for the call (host clock in wasm).
pub fn monotonic_now() -> std::time::Duration {
    #[cfg(guest_bindings)]
    {
        std::time::Duration::from_nanos(
            bindings::active::contextworker::module::clock::monotonic_now(),
        )
    }
    #[cfg(not(guest_bindings))]
    {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START.get_or_init(std::time::Instant::now).elapsed()
    }
}
