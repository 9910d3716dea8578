//! Run a module in-process, without wasm: for the module's unit tests and for benchmarks
//! that compare the native build of a parser with its component.

use std::cell::RefCell;
use std::io::Read;
use std::rc::Rc;

use crate::{Config, FeedReader, ModuleError, Product, ProductSink, Transformer, Warning};

/// Everything a native transformer run produced.
#[derive(Debug, Default)]
pub struct TransformRun {
    pub products: Vec<Product>,
    pub warnings: Vec<Warning>,
    pub records_seen: u64,
}

/// Run `T` over `input` with `config`, collecting every product and warning.
pub fn transform<T: Transformer>(
    input: impl Read + 'static,
    config: &Config,
) -> Result<TransformRun, ModuleError> {
    let collected = Rc::new(RefCell::new(TransformRun::default()));
    let sink_target = Rc::clone(&collected);
    let mut sink = ProductSink::native(move |products, warnings| {
        let mut run = sink_target.borrow_mut();
        run.products.extend(products);
        run.warnings.extend(warnings);
    });
    let mut reader = FeedReader::from_reader(input);
    T::transform(&mut reader, &mut sink, config)?;
    sink.flush();
    let records_seen = sink.records_seen();
    drop(sink);
    let mut run = collected.take();
    run.records_seen = records_seen;
    Ok(run)
}

/// Run `T` over `input`, handing products to `each` as they are emitted (no collection):
/// the shape a throughput benchmark needs. Returns the number of products.
pub fn transform_streaming<T: Transformer>(
    input: impl Read + 'static,
    config: &Config,
    mut each: impl FnMut(&Product) + 'static,
) -> Result<u64, ModuleError> {
    let mut sink = ProductSink::native(move |products, _| products.iter().for_each(&mut each));
    let mut reader = FeedReader::from_reader(input);
    T::transform(&mut reader, &mut sink, config)?;
    sink.flush();
    Ok(sink.emitted())
}

/// The helpers every module's unit tests need, written once.
pub mod testing {
    use super::{TransformRun, transform};
    use crate::{Config, Location, ModuleError, Product, Transformer};

    /// Run `T` over `feed` with `config` (key, value pairs).
    pub fn run<T: Transformer>(
        feed: &[u8],
        config: &[(&str, &str)],
    ) -> Result<TransformRun, ModuleError> {
        transform::<T>(
            std::io::Cursor::new(feed.to_vec()),
            &Config::new(config.iter().copied()),
        )
    }

    /// A file of the calling crate's `fixtures/` directory. Call it with
    /// `env!("CARGO_MANIFEST_DIR")`; a missing fixture fails the test with its path.
    #[allow(clippy::panic)]
    pub fn fixture(manifest_dir: &str, name: &str) -> Vec<u8> {
        let path = format!("{manifest_dir}/fixtures/{name}");
        std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
    }

    /// The messages of a run's warnings, in order: for asserting what a run warned about.
    pub fn warnings(run: &TransformRun) -> Vec<&str> {
        run.warnings.iter().map(|w| w.message.as_str()).collect()
    }

    /// Fail the test unless warning `index` of `run` exists and contains `needle`; the failure
    /// shows every warning.
    #[allow(clippy::panic)]
    pub fn assert_warning(run: &TransformRun, index: usize, needle: &str) {
        let all = warnings(run);
        match all.get(index) {
            Some(message) if message.contains(needle) => {}
            _ => panic!("warning {index} should contain {needle:?}; the warnings are {all:#?}"),
        }
    }

    /// The error of `result`, which must be one whose message contains `needle`: fails the test,
    /// naming `needle` and the value or the message, otherwise.
    #[allow(clippy::panic)]
    #[track_caller]
    pub fn expect_error<T: std::fmt::Debug>(
        result: Result<T, ModuleError>,
        needle: &str,
    ) -> ModuleError {
        match result {
            Err(err) if err.to_string().contains(needle) => err,
            Err(err) => panic!("the error should contain {needle:?}: {err}"),
            Ok(value) => panic!("expected an error containing {needle:?}, got {value:?}"),
        }
    }

    /// Fails the test unless `result` is an `unsupported` error (the feed is another format)
    /// whose message names `format`: a module refuses a feed it cannot read and says what the
    /// feed looks like, so the caller can pick the right module.
    #[allow(clippy::panic)]
    #[track_caller]
    pub fn expect_unsupported<T: std::fmt::Debug>(
        result: Result<T, ModuleError>,
        case: &str,
        format: &str,
    ) {
        match result {
            Err(ModuleError::Unsupported(message)) if message.contains(format) => {}
            other => panic!("{case}: expected `unsupported` naming {format:?}, got {other:?}"),
        }
    }

    /// The message and location of `err`, which must be an `invalid-input` error with a
    /// location: a feed's fault is reported where it is.
    #[allow(clippy::panic)]
    #[track_caller]
    pub fn invalid_input_at(err: &ModuleError) -> (&str, &Location) {
        match err {
            ModuleError::InvalidInput {
                message,
                location: Some(location),
            } => (message, location),
            other => panic!("expected invalid input with a location, got {other:?}"),
        }
    }

    /// The value of a product's attribute `name`, if it has one.
    pub fn attr<'a>(product: &'a Product, name: &str) -> Option<&'a str> {
        product
            .attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }
}
