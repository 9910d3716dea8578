//! What happens to the records of a feed, the same in every module: one that cannot become a
//! product is skipped with a warning at its place in lenient mode and fails the feed otherwise;
//! the others are emitted, with a warning for a repeated id and, at the end, for a needed field
//! no record had.

use contextworker_guest::{Location, ModuleError, Product, ProductSink, Warning};

use crate::{Coverage, Duplicates, Needed};

/// What a module keeps about the offers of one feed: whether bad records are skipped, the ids
/// seen, for duplicate warnings, and which needed fields the records had, for the coverage
/// warning at the end.
#[derive(Debug, Default)]
pub struct Offers {
    lenient: bool,
    duplicates: Duplicates,
    coverage: Coverage,
}

impl Offers {
    /// `lenient`: a record that cannot become a product is skipped instead of failing the feed.
    pub fn new(lenient: bool) -> Self {
        Self {
            lenient,
            ..Self::default()
        }
    }

    /// Skip the record at `location` with a warning (lenient) or fail the feed with `reason`.
    pub fn reject(
        &self,
        out: &mut ProductSink,
        location: &Location,
        reason: String,
    ) -> Result<(), ModuleError> {
        if self.lenient {
            out.skip(Warning::new(format!("record skipped: {reason}")).at(location.clone()));
            Ok(())
        } else {
            Err(ModuleError::invalid_input(reason).at(location.clone()))
        }
    }

    /// A record became `product` (count it before any check that may still refuse it).
    pub fn read(&mut self, product: &Product) {
        self.coverage.note_product(product);
    }

    /// Emit `product`, read at `location`; a warning first if its id was seen before.
    pub fn emit(&mut self, out: &mut ProductSink, product: Product, location: &Location) {
        if let Some(warning) = self.duplicates.check(&product.offer_id, location) {
            out.warn(warning);
        }
        out.emit(product);
    }

    /// The end of the feed: one warning per needed field no record had (see [`Coverage`]).
    pub fn finish(&self, out: &mut ProductSink, how_to_map: impl Fn(Needed) -> String) {
        self.coverage.warn(out, how_to_map);
    }
}
