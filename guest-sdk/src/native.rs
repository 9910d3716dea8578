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
