//! Where a transformer puts its products: batched across the component boundary.

use crate::{Product, Warning};

/// Products per `sink.emit` call, and a byte budget per batch, whichever is reached first.
/// Batching keeps the per-call cost negligible; the byte cap keeps a batch of huge
/// descriptions from doubling guest memory.
const BATCH_PRODUCTS: usize = 512;
const BATCH_BYTES: usize = 512 * 1024;

/// Receives products and warnings. Products are flushed to the host in batches; call
/// [`ProductSink::flush`] if you need them delivered before returning (the SDK flushes at the end).
pub struct ProductSink {
    target: Target,
    batch: Vec<Product>,
    batch_bytes: usize,
    emitted: u64,
    skipped: u64,
}

enum Target {
    #[cfg(guest_bindings)]
    #[cfg_attr(not(feature = "transformer"), allow(dead_code))]
    Host,
    Native(Box<dyn FnMut(Vec<Product>, Vec<Warning>)>),
}

impl std::fmt::Debug for ProductSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProductSink")
            .field("emitted", &self.emitted)
            .finish_non_exhaustive()
    }
}

impl ProductSink {
    /// A sink that hands each batch to `deliver` (native runs).
    pub fn native(deliver: impl FnMut(Vec<Product>, Vec<Warning>) + 'static) -> Self {
        Self::with_target(Target::Native(Box::new(deliver)))
    }

    #[cfg(guest_bindings)]
    #[cfg_attr(not(feature = "transformer"), allow(dead_code))]
    pub(crate) fn host() -> Self {
        Self::with_target(Target::Host)
    }

    fn with_target(target: Target) -> Self {
        Self {
            target,
            batch: Vec::with_capacity(BATCH_PRODUCTS),
            batch_bytes: 0,
            emitted: 0,
            skipped: 0,
        }
    }

    pub fn emit(&mut self, product: Product) {
        self.batch_bytes += product.approx_size();
        self.batch.push(product);
        self.emitted += 1;
        if self.batch.len() >= BATCH_PRODUCTS || self.batch_bytes >= BATCH_BYTES {
            self.flush();
        }
    }

    /// Report a problem the module survived. Delivered right away, in order with products.
    pub fn warn(&mut self, warning: Warning) {
        self.flush();
        self.deliver(Vec::new(), vec![warning]);
    }

    /// A record was read but not emitted; the warning says why.
    pub fn skip(&mut self, warning: Warning) {
        self.skipped += 1;
        self.warn(warning);
    }

    pub fn emitted(&self) -> u64 {
        self.emitted
    }

    /// Records read: emitted plus skipped.
    pub fn records_seen(&self) -> u64 {
        self.emitted + self.skipped
    }

    pub fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_PRODUCTS));
        self.batch_bytes = 0;
        self.deliver(batch, Vec::new());
    }

    fn deliver(&mut self, products: Vec<Product>, warnings: Vec<Warning>) {
        match &mut self.target {
            #[cfg(guest_bindings)]
            Target::Host => crate::bindings::deliver(products, warnings),
            Target::Native(f) => f(products, warnings),
        }
    }
}
